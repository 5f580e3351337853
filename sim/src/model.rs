//! The safe handle on one Verilated model instance.

use std::ffi::{c_void, CString};
use std::fs;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

use crate::loaded::LoadedModel;
use crate::source::{ModelSource, PortSpec};
use crate::{cache, SimError};

/// Direction of a top-level port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortDir {
    In,
    Out,
}

/// A port resolved by name, ready for fast access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    pub(crate) index: u32,
    dir: PortDir,
    width: u32,
}

impl Port {
    pub fn dir(&self) -> PortDir {
        self.dir
    }

    /// Width in bits.
    pub fn width(&self) -> u32 {
        self.width
    }
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

/// One running instance of a Verilated model.
///
/// The clock port `clk_i` is driven by [`Sim::step`]; a cycle is a falling
/// edge then a rising edge, and inputs set before it are sampled at that
/// rising edge. Outputs read after a step show the registers it updated.
pub struct Sim {
    handle: NonNull<c_void>,
    model: Arc<LoadedModel>,
    /// (file being written, where it goes when the run closes cleanly)
    trace: Option<(PathBuf, PathBuf)>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("model", &self.model.label)
            .field("trace", &self.trace)
            .finish()
    }
}

impl Sim {
    /// Opens a fresh instance of the model `source` describes, optionally
    /// tracing every signal to `trace` (`.fst` or `.vcd`). The model is
    /// Verilated and compiled into the cache on first use (see
    /// [`crate::cache`]); later opens load it from there. The waveform is
    /// written to `<trace>.partial` and renamed to `trace` when the
    /// instance is closed, so an interrupted run never leaves a truncated
    /// file under the requested name.
    pub fn open(source: &ModelSource, trace: Option<&Path>) -> Result<Sim, SimError> {
        let format = trace.map(TraceFormat::from_path).transpose()?;
        if let Some(port) = source.ports.iter().find(|p| !(1..=64).contains(&p.width)) {
            return Err(SimError::PortTooWide {
                model: source.label.clone(),
                port: port.name.clone(),
                width: port.width,
            });
        }
        let model = cache::model(source, format)?;
        let trace = match trace {
            None => None,
            Some(path) => {
                let mut partial = path.as_os_str().to_owned();
                partial.push(".partial");
                let partial = PathBuf::from(partial);
                // Creating it here turns a bad directory or permission into a
                // clear error; Verilator then truncates and writes it.
                fs::File::create(&partial).map_err(|source| SimError::TraceIo {
                    path: path.to_path_buf(),
                    source,
                })?;
                Some((partial, path.to_path_buf()))
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
            (model.new)(c_path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()))
        };
        let handle = NonNull::new(raw).ok_or_else(|| SimError::Create {
            model: model.label.clone(),
            detail: match &trace {
                Some((partial, _)) => format!(" (could not open trace {})", partial.display()),
                None => String::new(),
            },
        })?;
        Ok(Sim {
            handle,
            model,
            trace,
        })
    }

    /// What the model is (`PE shift_pot`, `design gemm-pot-8x8`).
    pub fn label(&self) -> &str {
        &self.model.label
    }

    /// The model's ports, in index order.
    pub fn ports(&self) -> &[PortSpec] {
        &self.model.ports
    }

    /// Resolves a port by name.
    pub fn port(&self, name: &str) -> Result<Port, SimError> {
        let ports = &self.model.ports;
        ports
            .iter()
            .position(|p| p.name == name)
            .map(|i| Port {
                index: i as u32,
                dir: ports[i].dir,
                width: ports[i].width,
            })
            .ok_or_else(|| SimError::UnknownPort {
                model: self.model.label.clone(),
                port: name.to_string(),
                known: ports
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn port_name(&self, port: Port) -> String {
        self.model.ports[port.index as usize].name.clone()
    }

    fn check_input(&self, port: Port, value: u64) -> Result<(), SimError> {
        if port.dir != PortDir::In {
            return Err(SimError::NotAnInput {
                model: self.model.label.clone(),
                port: self.port_name(port),
            });
        }
        if port.width < 64 && value >> port.width != 0 {
            return Err(SimError::ValueTooWide {
                port: self.port_name(port),
                value,
                width: port.width,
            });
        }
        Ok(())
    }

    /// Drives an input port; it takes effect at the next evaluation.
    pub fn set(&mut self, port: Port, value: u64) -> Result<(), SimError> {
        self.check_input(port, value)?;
        // SAFETY: handle is live; the index came from this model's table.
        unsafe { (self.model.set)(self.handle.as_ptr(), port.index, value) };
        Ok(())
    }

    /// Reads a port, evaluating the model first if an input changed.
    pub fn get(&mut self, port: Port) -> u64 {
        // SAFETY: as in `set`.
        unsafe { (self.model.get)(self.handle.as_ptr(), port.index) }
    }

    /// Advances `cycles` clock cycles.
    pub fn step(&mut self, cycles: u64) {
        // SAFETY: handle is live.
        unsafe { (self.model.step)(self.handle.as_ptr(), cycles) }
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
        unsafe { (self.model.cycles)(self.handle.as_ptr()) }
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
            (self.model.run)(
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

    /// One cycle of a bus model in one call: the `inputs` take `values` with
    /// the falling edge, the `outputs` are sampled into `sampled` between
    /// the edges, then the clock rises. Only for logic clocked on the
    /// rising edge: inputs applied with the falling edge are seen by
    /// falling-edge logic one edge earlier than with [`Sim::set`] and
    /// [`Sim::step`]. Values are not checked against the ports' widths
    /// here (see [`Sim::check_inputs`]): this is the per-cycle path.
    pub fn tick(
        &mut self,
        inputs: &PortList,
        values: &[u64],
        outputs: &PortList,
        sampled: &mut [u64],
    ) {
        assert!(
            inputs.len() == values.len() && outputs.len() == sampled.len(),
            "one value per port"
        );
        let (in_idx, out_idx) = (&inputs.indices, &outputs.indices);
        // SAFETY: handle is live; each buffer holds one value per port.
        unsafe {
            (self.model.tick)(
                self.handle.as_ptr(),
                in_idx.as_ptr(),
                values.as_ptr(),
                in_idx.len(),
                out_idx.as_ptr(),
                sampled.as_mut_ptr(),
                out_idx.len(),
            )
        }
    }

    /// Runs at most `max_cycles` cycles with `inputs` held at `values`
    /// (applied with the first falling edge, as in [`Sim::tick`]), for a
    /// bus that stays idle until the model asks for it. It stops between
    /// the edges of the next cycle as soon as a port of `stop_between` is
    /// nonzero (that cycle is left for [`Sim::tick`] to finish), or after a
    /// rising edge once a port of `stop_after` is nonzero. Returns the
    /// cycles completed.
    pub fn run_idle(
        &mut self,
        inputs: &PortList,
        values: &[u64],
        stop_between: &PortList,
        stop_after: &PortList,
        max_cycles: u64,
    ) -> u64 {
        assert_eq!(inputs.len(), values.len(), "one value per port");
        let (in_idx, between, after) =
            (&inputs.indices, &stop_between.indices, &stop_after.indices);
        // SAFETY: handle is live; each buffer holds one value per port.
        unsafe {
            (self.model.run_idle)(
                self.handle.as_ptr(),
                in_idx.as_ptr(),
                values.as_ptr(),
                in_idx.len(),
                between.as_ptr(),
                between.len(),
                after.as_ptr(),
                after.len(),
                max_cycles,
            )
        }
    }

    /// Checks that each value suits its input port (direction, width), as
    /// [`Sim::set`] does, for callers of [`Sim::tick`].
    pub fn check_inputs(&self, inputs: &[Port], values: &[u64]) -> Result<(), SimError> {
        for (port, value) in inputs.iter().zip(values) {
            self.check_input(*port, *value)?;
        }
        Ok(())
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
            unsafe { (self.model.free)(handle.as_ptr()) }
        }
    }
}

/// Ports resolved for the per-cycle calls ([`Sim::tick`],
/// [`Sim::run_idle`]): their indices, gathered once rather than per call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortList {
    indices: Vec<u32>,
}

impl PortList {
    pub fn new(ports: &[Port]) -> Self {
        Self {
            indices: ports.iter().map(|p| p.index).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

// SAFETY: a `Sim` owns its instance outright: the handle is never shared,
// and every call through it takes `&mut self` (or `&self` for `cycles`,
// which only reads a counter), so one thread at a time uses it. The shim
// keeps no per-thread state of its own about an instance and points
// Verilator's thread-local context at the instance's own context on every
// entry (templates/shim.inc), so an instance may move to another thread
// between calls. Each instance has its own VerilatedContext; what the
// instances of one model share in the library is guarded by a lock there.
// The loaded model (`Arc<LoadedModel>`) holds only function pointers and
// the library handle, which are `Send + Sync`.
unsafe impl Send for Sim {}

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
