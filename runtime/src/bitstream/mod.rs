//! Bitstreams: the manifest that ties a built .bit or .xclbin to the design
//! it implements, and the Vivado sources that build one.

pub mod manifest;
pub mod vivado;
