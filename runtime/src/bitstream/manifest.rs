//! Bitstream manifests (being written).
