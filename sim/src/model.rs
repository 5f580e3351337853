//! The safe handle on one Verilated model instance.

use std::ffi::{c_char, c_void, CString};
use std::fs;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use crate::SimError;

/// Direction of a top-level port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortDir {
    In,
    Out,
}

/// A top-level port of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortInfo {
    pub name: &'static str,
    pub dir: PortDir,
    /// Width in bits (at most 64).
    pub width: u32,
}

/// A model compiled into this crate.
#[derive(Debug)]
pub struct ModelInfo {
    /// Name to open it by, e.g. `pe_shift_pot`.
    pub name: &'static str,
    /// Its top SystemVerilog module.
    pub top: &'static str,
    pub ports: &'static [PortInfo],
}

/// The C ABI of one Verilated variant (see templates/shim.inc).
pub(crate) struct Variant {
    new: unsafe extern "C" fn(*const c_char) -> *mut c_void,
    free: unsafe extern "C" fn(*mut c_void),
    set: unsafe extern "C" fn(*mut c_void, u32, u64),
    get: unsafe extern "C" fn(*mut c_void, u32) -> u64,
    step: unsafe extern "C" fn(*mut c_void, u64),
    #[allow(clippy::type_complexity)]
    run: unsafe extern "C" fn(
        *mut c_void,
        *const u32,
        usize,
        *const u64,
        *const u32,
        usize,
        *mut u64,
        usize,
    ),
    cycles: unsafe extern "C" fn(*mut c_void) -> u64,
}

pub(crate) struct ModelEntry {
    info: ModelInfo,
    /// Untraced, FST, VCD; a model may leave a trace format out.
    variants: [Option<Variant>; 3],
}

include!(concat!(env!("OUT_DIR"), "/models.rs"));

/// Every model compiled into this build.
pub fn models() -> impl Iterator<Item = &'static ModelInfo> {
    MODELS.iter().map(|m| &m.info)
}

/// Waveform format, chosen by the trace file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// GTKWave's compressed format (`.fst`).
    Fst,
    /// Value change dump (`.vcd`), readable by every waveform viewer.
    Vcd,
}

impl TraceFormat {
    pub fn from_path(path: &Path) -> Result<Self, SimError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("fst") => Ok(TraceFormat::Fst),
            Some("vcd") => Ok(TraceFormat::Vcd),
            _ => Err(SimError::TraceFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// A port resolved by name, ready for fast access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    pub(crate) index: u32,
    info: PortInfo,
}

impl Port {
    pub fn info(&self) -> PortInfo {
        self.info
    }
}

/// One running instance of a Verilated model.
///
/// The clock port `clk_i` is driven by [`Sim::step`]; a cycle is a falling
/// edge then a rising edge, and inputs set before it are sampled at that
/// rising edge. Outputs read after a step show the registers it updated.
pub struct Sim {
    handle: NonNull<c_void>,
    entry: &'static ModelEntry,
    variant: &'static Variant,
    /// (file being written, where it goes when the run closes cleanly)
    trace: Option<(PathBuf, PathBuf)>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("model", &self.entry.info.name)
            .field("trace", &self.trace)
            .finish()
    }
}

impl Sim {
    /// Opens a fresh instance of `model`, optionally tracing every signal to
    /// `trace` (`.fst` or `.vcd`). The waveform is written to `<trace>.partial`
    /// and renamed to `trace` when the instance is closed, so an interrupted
    /// run never leaves a truncated file under the requested name.
    pub fn open(model: &str, trace: Option<&Path>) -> Result<Sim, SimError> {
        let entry = MODELS
            .iter()
            .find(|m| m.info.name == model)
            .ok_or_else(|| SimError::UnknownModel {
                name: model.to_string(),
                known: models().map(|m| m.name).collect::<Vec<_>>().join(", "),
            })?;
        let (variant, trace) = match trace {
            None => (entry.variants[0].as_ref().expect("untraced variant"), None),
            Some(path) => {
                let format = TraceFormat::from_path(path)?;
                let slot = match format {
                    TraceFormat::Fst => &entry.variants[1],
                    TraceFormat::Vcd => &entry.variants[2],
                };
                let variant = slot.as_ref().ok_or_else(|| SimError::TraceUnsupported {
                    model: entry.info.name,
                    path: path.to_path_buf(),
                })?;
                let mut partial = path.as_os_str().to_owned();
                partial.push(".partial");
                let partial = PathBuf::from(partial);
                // Creating it here turns a bad directory or permission into a
                // clear error; Verilator then truncates and writes it.
                fs::File::create(&partial).map_err(|source| SimError::TraceIo {
                    path: path.to_path_buf(),
                    source,
                })?;
                (variant, Some((partial, path.to_path_buf())))
            }
        };
        let c_path = match &trace {
            Some((partial, _)) => Some(
                CString::new(partial.as_os_str().as_encoded_bytes()).map_err(|_| {
                    SimError::TraceFormat {
                        path: partial.clone(),
                    }
                })?,
            ),
            None => None,
        };
        let raw = unsafe {
            // SAFETY: the shim copies the path before returning; c_path
            // outlives the call.
            (variant.new)(c_path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()))
        };
        let handle = NonNull::new(raw).ok_or_else(|| SimError::Create {
            model: entry.info.name,
            detail: match &trace {
                Some((partial, _)) => format!(" (could not open trace {})", partial.display()),
                None => String::new(),
            },
        })?;
        Ok(Sim {
            handle,
            entry,
            variant,
            trace,
        })
    }

    pub fn info(&self) -> &'static ModelInfo {
        &self.entry.info
    }

    /// Resolves a port by name.
    pub fn port(&self, name: &str) -> Result<Port, SimError> {
        let info = self.info();
        info.ports
            .iter()
            .position(|p| p.name == name)
            .map(|i| Port {
                index: i as u32,
                info: info.ports[i],
            })
            .ok_or_else(|| SimError::UnknownPort {
                model: info.name,
                port: name.to_string(),
                known: info
                    .ports
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn check_input(&self, port: Port, value: u64) -> Result<(), SimError> {
        if port.info.dir != PortDir::In {
            return Err(SimError::NotAnInput {
                model: self.info().name,
                port: port.info.name,
            });
        }
        if port.info.width < 64 && value >> port.info.width != 0 {
            return Err(SimError::ValueTooWide {
                port: port.info.name,
                value,
                width: port.info.width,
            });
        }
        Ok(())
    }

    /// Drives an input port; it takes effect at the next evaluation.
    pub fn set(&mut self, port: Port, value: u64) -> Result<(), SimError> {
        self.check_input(port, value)?;
        // SAFETY: handle is live; the index came from this model's table.
        unsafe { (self.variant.set)(self.handle.as_ptr(), port.index, value) };
        Ok(())
    }

    /// Reads a port, evaluating the model first if an input changed.
    pub fn get(&mut self, port: Port) -> u64 {
        // SAFETY: as in `set`.
        unsafe { (self.variant.get)(self.handle.as_ptr(), port.index) }
    }

    /// Advances `cycles` clock cycles.
    pub fn step(&mut self, cycles: u64) {
        // SAFETY: handle is live.
        unsafe { (self.variant.step)(self.handle.as_ptr(), cycles) }
    }

    /// Holds `rst_ni` low for `cycles` cycles, then releases it.
    pub fn reset(&mut self, cycles: u64) -> Result<(), SimError> {
        let rst = self.port("rst_ni")?;
        self.set(rst, 0)?;
        self.step(cycles.max(1));
        self.set(rst, 1)?;
        Ok(())
    }

    /// Cycles simulated since the instance was opened.
    pub fn cycles(&self) -> u64 {
        // SAFETY: handle is live.
        unsafe { (self.variant.cycles)(self.handle.as_ptr()) }
    }

    /// Runs one cycle per row of `values` (one value per port in `inputs`),
    /// all inside the model's own loop, and returns the `outputs` sampled
    /// after each rising edge, row by row.
    pub fn run(
        &mut self,
        inputs: &[Port],
        values: &[u64],
        outputs: &[Port],
    ) -> Result<Vec<u64>, SimError> {
        if inputs.is_empty() || !values.len().is_multiple_of(inputs.len()) {
            return Err(SimError::VectorShape {
                values: values.len(),
                ports: inputs.len(),
            });
        }
        for row in values.chunks(inputs.len()) {
            for (port, value) in inputs.iter().zip(row) {
                self.check_input(*port, *value)?;
            }
        }
        let cycles = values.len() / inputs.len();
        let in_idx: Vec<u32> = inputs.iter().map(|p| p.index).collect();
        let out_idx: Vec<u32> = outputs.iter().map(|p| p.index).collect();
        let mut sampled = vec![0u64; cycles * outputs.len()];
        // SAFETY: every buffer is sized as the shim expects: in_values holds
        // cycles * n_in values, out_values cycles * n_out.
        unsafe {
            (self.variant.run)(
                self.handle.as_ptr(),
                in_idx.as_ptr(),
                in_idx.len(),
                values.as_ptr(),
                out_idx.as_ptr(),
                out_idx.len(),
                sampled.as_mut_ptr(),
                cycles,
            )
        };
        Ok(sampled)
    }

    /// Ends the run: finishes the waveform and moves it to its final name.
    pub fn close(mut self) -> Result<(), SimError> {
        self.release();
        match self.trace.take() {
            Some((partial, dest)) => fs::rename(&partial, &dest)
                .map_err(|source| SimError::TraceIo { path: dest, source }),
            None => Ok(()),
        }
    }

    fn release(&mut self) {
        // SAFETY: called once: `close` consumes self and Drop then finds the
        // handle dangling, so it is replaced before freeing.
        let handle = std::mem::replace(&mut self.handle, NonNull::dangling());
        if handle != NonNull::dangling() {
            unsafe { (self.variant.free)(handle.as_ptr()) }
        }
    }
}

impl Drop for Sim {
    /// A run dropped without `close` (an early error, say) still finishes
    /// its waveform, since that is when a user most wants to look at it;
    /// only a rename failure goes unreported.
    fn drop(&mut self) {
        self.release();
        if let Some((partial, dest)) = self.trace.take() {
            let _ = fs::rename(partial, dest);
        }
    }
}
