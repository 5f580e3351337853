//! Real DNN models with their GEMMs offloaded: ONNX through tract,
//! decluttered; every EinSum and Conv that maps onto GEMMs replaced by an
//! offload op; run on a backend beside tract's own result, layer by layer.

pub mod compare;
pub mod cycles;
pub mod dataset;
pub mod exec;
pub mod graph;
pub mod load;
pub mod npy;
pub mod op;
pub mod quant;
pub mod report;
pub mod report_html;
pub mod report_text;
pub mod run;
pub mod site;
pub mod task;
pub mod throughput;
