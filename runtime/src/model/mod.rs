//! Real DNN models with their MAC layers offloaded: ONNX through tract,
//! decluttered; every EinSum, Conv and ConvTranspose an engine of the run
//! takes replaced by an offload op lowered by that engine; run on a backend
//! beside tract's own result, layer by layer.

pub mod bin_chain;
pub mod compare;
pub mod cycles;
pub mod dataset;
pub mod exec;
pub mod graph;
pub mod load;
pub mod lower;
pub mod matrix;
pub mod npy;
pub mod op;
pub mod permute;
pub mod quant;
pub mod run;
pub mod site;
pub mod system;
pub mod task;
pub mod throughput;
