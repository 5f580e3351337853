use std::path::PathBuf;

/// Why a simulation could not be opened or driven.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    #[error("no simulation model `{name}` is compiled in; available: {known}")]
    UnknownModel { name: String, known: String },
    #[error("model `{model}` has no port `{port}`; its ports: {known}")]
    UnknownPort {
        model: &'static str,
        port: String,
        known: String,
    },
    #[error("port `{port}` of model `{model}` is an output and cannot be driven")]
    NotAnInput {
        model: &'static str,
        port: &'static str,
    },
    #[error("value {value:#x} does not fit the {width}-bit port `{port}`")]
    ValueTooWide {
        port: &'static str,
        value: u64,
        width: u32,
    },
    #[error("input vectors hold {values} values, not a multiple of the {ports} input ports")]
    VectorShape { values: usize, ports: usize },
    #[error("trace file {path}: the name must end in .fst or .vcd")]
    TraceFormat { path: PathBuf },
    #[error("model `{model}` is built without this trace format ({path}); use a .fst file")]
    TraceUnsupported { model: &'static str, path: PathBuf },
    #[error("trace file {path}: {source}")]
    TraceIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Verilator could not create model `{model}`{detail}")]
    Create { model: &'static str, detail: String },
    #[error("the accelerator did not raise its interrupt within {cycles} cycles")]
    Timeout { cycles: u64 },
    #[error("the AXI4-Lite control bus hung: no {what} handshake in {cycles} cycles")]
    BusHung { what: &'static str, cycles: u64 },
    #[error("PE `{pe}` gave {got} of {expected} results: valid_o stayed low for {cycles} cycles after the last input")]
    Watchdog {
        pe: String,
        got: usize,
        expected: usize,
        cycles: u64,
    },
}
