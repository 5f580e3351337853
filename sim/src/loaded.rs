//! A built model loaded into the process: the shared object (through
//! libloading) and the C ABI functions of templates/shim.inc.

use std::ffi::{c_char, c_void};
use std::path::Path;

use libloading::Library;

use crate::source::{ModelSource, PortSpec};
use crate::BuildError;

pub(crate) type NewFn = unsafe extern "C" fn(*const c_char) -> *mut c_void;
pub(crate) type FreeFn = unsafe extern "C" fn(*mut c_void);
pub(crate) type SetFn = unsafe extern "C" fn(*mut c_void, u32, u64);
pub(crate) type GetFn = unsafe extern "C" fn(*mut c_void, u32) -> u64;
pub(crate) type StepFn = unsafe extern "C" fn(*mut c_void, u64);
pub(crate) type RunFn = unsafe extern "C" fn(
    *mut c_void,
    *const u32,
    usize,
    *const u64,
    *const u32,
    usize,
    *mut u64,
    usize,
);
pub(crate) type TickFn =
    unsafe extern "C" fn(*mut c_void, *const u32, *const u64, usize, *const u32, *mut u64, usize);
pub(crate) type RunIdleFn = unsafe extern "C" fn(
    *mut c_void,
    *const u32,
    *const u64,
    usize,
    *const u32,
    usize,
    *const u32,
    usize,
    u64,
) -> u64;
pub(crate) type CyclesFn = unsafe extern "C" fn(*mut c_void) -> u64;

/// One loaded model. The function pointers stay valid while `_library`
/// is held, and every [`crate::Sim`] holds the model through an `Arc`.
pub(crate) struct LoadedModel {
    pub label: String,
    pub ports: Vec<PortSpec>,
    pub new: NewFn,
    pub free: FreeFn,
    pub set: SetFn,
    pub get: GetFn,
    pub step: StepFn,
    pub run: RunFn,
    pub tick: TickFn,
    pub run_idle: RunIdleFn,
    pub cycles: CyclesFn,
    _library: Library,
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModel")
            .field("label", &self.label)
            .finish()
    }
}

impl LoadedModel {
    /// Loads `path`, built from `source`, and resolves the shim's symbols.
    pub fn load(path: &Path, source: &ModelSource) -> Result<Self, BuildError> {
        let fail = |detail: String| BuildError::Load {
            path: path.to_path_buf(),
            detail,
        };
        // SAFETY: the library is a model kiln built from its own shim: its
        // initialisers only set up Verilator's statics.
        let library = unsafe { Library::new(path) }.map_err(|e| fail(e.to_string()))?;
        // SAFETY: each symbol is the shim function of that name, whose C
        // signature the type states (templates/shim.inc).
        unsafe {
            let new = *library
                .get::<NewFn>(b"kiln_model_new\0")
                .map_err(|e| fail(e.to_string()))?;
            let free = *library
                .get::<FreeFn>(b"kiln_model_free\0")
                .map_err(|e| fail(e.to_string()))?;
            let set = *library
                .get::<SetFn>(b"kiln_model_set\0")
                .map_err(|e| fail(e.to_string()))?;
            let get = *library
                .get::<GetFn>(b"kiln_model_get\0")
                .map_err(|e| fail(e.to_string()))?;
            let step = *library
                .get::<StepFn>(b"kiln_model_step\0")
                .map_err(|e| fail(e.to_string()))?;
            let run = *library
                .get::<RunFn>(b"kiln_model_run\0")
                .map_err(|e| fail(e.to_string()))?;
            let tick = *library
                .get::<TickFn>(b"kiln_model_tick\0")
                .map_err(|e| fail(e.to_string()))?;
            let run_idle = *library
                .get::<RunIdleFn>(b"kiln_model_run_idle\0")
                .map_err(|e| fail(e.to_string()))?;
            let cycles = *library
                .get::<CyclesFn>(b"kiln_model_cycles\0")
                .map_err(|e| fail(e.to_string()))?;
            Ok(Self {
                label: source.label.clone(),
                ports: source.ports.clone(),
                new,
                free,
                set,
                get,
                step,
                run,
                tick,
                run_idle,
                cycles,
                _library: library,
            })
        }
    }
}
