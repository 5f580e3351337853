use std::path::PathBuf;

/// Why a simulation could not be opened or driven.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The model could not be built or loaded.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The description the model is built from is wrong.
    #[error("{0}")]
    Spec(String),
    #[error("{model} has no port `{port}`; its ports: {known}")]
    UnknownPort {
        model: String,
        port: String,
        known: String,
    },
    #[error("port `{port}` of {model} is {width} bits wide; the simulator carries ports of 1 to 64 bits")]
    PortTooWide {
        model: String,
        port: String,
        width: u32,
    },
    #[error("port `{port}` of {model} is an output and cannot be driven")]
    NotAnInput { model: String, port: String },
    #[error("value {value:#x} does not fit the {width}-bit port `{port}`")]
    ValueTooWide {
        port: String,
        value: u64,
        width: u32,
    },
    #[error("input vectors hold {values} values, not a multiple of the {ports} input ports")]
    VectorShape { values: usize, ports: usize },
    #[error("trace file {path}: the name must end in .fst or .vcd")]
    TraceFormat { path: PathBuf },
    #[error("trace file {path}: {source}")]
    TraceIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Verilator could not create {model}{detail}")]
    Create { model: String, detail: String },
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

/// Why a model could not be Verilated, compiled or loaded. Nothing is left
/// in the cache after any of these.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error("cannot run `{tool}` ({why}); {hint}")]
    Tool {
        tool: String,
        why: String,
        hint: &'static str,
    },
    #[error("Verilator rejected the RTL of {model}:\n{messages}")]
    Verilator { model: String, messages: String },
    #[error("the C++ compiler failed on {model}:\n{messages}")]
    Compile { model: String, messages: String },
    #[error("cannot read RTL source {path}: {message}")]
    Source { path: PathBuf, message: String },
    #[error("a source of {model} changed while it was being Verilated; run again")]
    SourceChanged { model: String },
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("cannot load the built model {path}: {detail}")]
    Load { path: PathBuf, detail: String },
    #[error("simulator cache: {0}")]
    Cache(String),
}
