//! The content-addressed cache of built simulation models.
//!
//! A model's key is the SHA-256 of everything its build reads: the tool
//! versions, flags and shim ([`verilate::recipe`]), the trace format, the
//! top, its parameters and ports, and the bytes of every source, generated
//! file and file in an include directory. The entry for a key is a folder
//! `<cache>/sim/models/<key>` holding `model.so` and `model.txt` (what it
//! is and how long it took).
//!
//! Builds are safe across processes and threads: a build holds an
//! exclusive lock on `<key>.lock`, works in a private staging folder and
//! renames the finished folder into place, so an entry is either whole or
//! absent. A failed build removes its staging folder. A finished entry is
//! never rebuilt in place or changed: different inputs make another key.
//! After a build the sources are hashed again; if one changed while
//! Verilator read it, the result is thrown away rather than filed under
//! the wrong key.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::loaded::LoadedModel;
use crate::source::ModelSource;
use crate::verilate::{self, Toolchain};
use crate::{BuildError, TraceFormat};

/// Bumped when the layout of an entry changes.
const FORMAT: &str = "kiln-sim cache 1";

/// What a build reports as it goes (see [`set_build_observer`]).
#[derive(Debug, Clone, PartialEq)]
pub enum BuildEvent {
    /// A model is being Verilated and compiled.
    Started { model: String },
    /// It finished, taking `seconds`.
    Finished { model: String, seconds: f64 },
    /// It failed (the error follows as the open's result).
    Failed { model: String, seconds: f64 },
}

type Observer = Box<dyn Fn(&BuildEvent) + Send + Sync>;

static OBSERVER: OnceLock<Observer> = OnceLock::new();

/// Installs the function told about every build (the CLI prints a progress
/// line with it). The first call wins; builds are silent without one.
pub fn set_build_observer(observer: impl Fn(&BuildEvent) + Send + Sync + 'static) {
    let _ = OBSERVER.set(Box::new(observer));
}

fn notify(event: BuildEvent) {
    if let Some(observer) = OBSERVER.get() {
        observer(&event);
    }
}

/// Where the simulation models live: `<cache>/sim`.
pub fn cache_root() -> Result<PathBuf, BuildError> {
    kiln_spec::rtl::cache_dir()
        .map(|d| d.join("sim"))
        .map_err(|e| BuildError::Cache(e.to_string()))
}

/// Models loaded in this process, by key: a second open costs a hash.
fn loaded() -> &'static Mutex<HashMap<String, Arc<LoadedModel>>> {
    static LOADED: OnceLock<Mutex<HashMap<String, Arc<LoadedModel>>>> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// The built model for `source` with `trace`, built into the cache first
/// if it is not there.
pub(crate) fn model(
    source: &ModelSource,
    trace: Option<TraceFormat>,
) -> Result<Arc<LoadedModel>, BuildError> {
    let tools = verilate::toolchain()?;
    let key = key(tools, source, trace)?;
    if let Some(model) = loaded().lock().map_err(poisoned)?.get(&key) {
        return Ok(model.clone());
    }
    let root = cache_root()?;
    let entry = root.join("models").join(&key);
    if !entry.join("model.so").is_file() {
        build(tools, source, trace, &key, &root)?;
    }
    let model = Arc::new(LoadedModel::load(&entry.join("model.so"), source)?);
    let mut map = loaded().lock().map_err(poisoned)?;
    Ok(map.entry(key).or_insert(model).clone())
}

fn poisoned<T>(_: T) -> BuildError {
    BuildError::Cache("the model table was poisoned by a panic in another thread".into())
}

/// The cache key of a build, in hex.
fn key(
    tools: &Toolchain,
    source: &ModelSource,
    trace: Option<TraceFormat>,
) -> Result<String, BuildError> {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(FORMAT.as_bytes());
    field(verilate::recipe(tools).as_bytes());
    field(format!("{trace:?}").as_bytes());
    field(source.top.as_bytes());
    for (name, value) in &source.parameters {
        field(format!("-G{name}={value}").as_bytes());
    }
    for port in &source.ports {
        field(format!("{}:{:?}:{}", port.name, port.dir, port.width).as_bytes());
    }
    for (path, bytes) in input_files(source)? {
        field(path.as_os_str().as_encoded_bytes());
        field(&bytes);
    }
    for (name, text) in &source.generated {
        field(name.as_bytes());
        field(text.as_bytes());
    }
    Ok(kiln_spec::rtl::hex(&h.finalize())[..32].to_string())
}

/// Every file the build reads from disk, with its bytes: the sources, then
/// each include directory's files (sorted), since any of them may be
/// included.
fn input_files(source: &ModelSource) -> Result<Vec<(PathBuf, Vec<u8>)>, BuildError> {
    let mut files = Vec::new();
    for path in &source.files {
        let bytes = fs::read(path).map_err(|e| BuildError::Source {
            path: path.clone(),
            message: e.to_string(),
        })?;
        files.push((path.clone(), bytes));
    }
    for dir in &source.include_dirs {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(|e| BuildError::Source {
                path: dir.clone(),
                message: e.to_string(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        entries.sort();
        for path in entries {
            if source.files.contains(&path) {
                continue;
            }
            let bytes = fs::read(&path).map_err(|e| BuildError::Source {
                path: path.clone(),
                message: e.to_string(),
            })?;
            files.push((path, bytes));
        }
    }
    Ok(files)
}

/// Builds the entry for `key` unless another process finishes it first.
fn build(
    tools: &Toolchain,
    source: &ModelSource,
    trace: Option<TraceFormat>,
    key: &str,
    root: &Path,
) -> Result<(), BuildError> {
    let models = root.join("models");
    fs::create_dir_all(&models).map_err(|e| verilate::io(&models, e))?;
    let runtime = runtime(tools, root)?;
    let label = match trace {
        None => source.label.clone(),
        Some(TraceFormat::Fst) => format!("{} (FST trace)", source.label),
        Some(TraceFormat::Vcd) => format!("{} (VCD trace)", source.label),
    };
    build_once(
        &models.join(key),
        |entry| entry.join("model.so").is_file(),
        &label,
        |staging, start| {
            // The class name carries the key, so models never share symbols.
            let class = format!("Vk{}", &key[..12]);
            verilate::build_model(tools, source, trace, &class, staging, &runtime)?;
            if self::key(tools, source, trace)? != key {
                return Err(BuildError::SourceChanged {
                    model: source.label.clone(),
                });
            }
            let about = format!(
                "{label}\ntop: {}\nbuilt in {:.1} s\nfiles:\n{}\n",
                source.top,
                start.elapsed().as_secs_f64(),
                source
                    .files
                    .iter()
                    .map(|f| format!("  {}", f.display()))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            let about_path = staging.join("model.txt");
            fs::write(&about_path, about).map_err(|e| verilate::io(&about_path, e))
        },
    )
}

/// The Verilator runtime's objects, compiled once per tool versions.
fn runtime(tools: &Toolchain, root: &Path) -> Result<Vec<PathBuf>, BuildError> {
    let recipe = verilate::runtime_recipe(tools);
    let key = kiln_spec::rtl::hex(&Sha256::digest(recipe.as_bytes()))[..16].to_string();
    let dir = root.join(format!("runtime-{key}"));
    let objects = verilate::runtime_objects(&dir);
    let whole = |dir: &Path| verilate::runtime_objects(dir).iter().all(|o| o.is_file());
    if !whole(&dir) {
        fs::create_dir_all(root).map_err(|e| verilate::io(root, e))?;
        build_once(&dir, whole, "the Verilator runtime", |staging, _| {
            verilate::build_runtime(tools, staging)
        })?;
    }
    Ok(objects)
}

/// Makes the cache folder `dest` with `fill` unless it is already whole
/// (`done`): under an exclusive lock on `<dest>.lock`, so one process or
/// thread builds while the others wait and then find it made; in a staging
/// folder renamed into place ([`kiln_spec::publish`]). Tells the build
/// observer what is being built, and how it ended.
fn build_once(
    dest: &Path,
    done: impl Fn(&Path) -> bool,
    label: &str,
    fill: impl FnOnce(&Path, Instant) -> Result<(), BuildError>,
) -> Result<(), BuildError> {
    let mut lock_path = dest.as_os_str().to_owned();
    lock_path.push(".lock");
    let _lock = lock(Path::new(&lock_path))?;
    if done(dest) {
        return Ok(());
    }
    notify(BuildEvent::Started {
        model: label.to_string(),
    });
    let start = Instant::now();
    let result =
        kiln_spec::publish::publish_dir(dest, &done, |staging| fill(staging, start), verilate::io);
    let seconds = start.elapsed().as_secs_f64();
    let model = label.to_string();
    notify(match result {
        Ok(()) => BuildEvent::Finished { model, seconds },
        Err(_) => BuildEvent::Failed { model, seconds },
    });
    result
}

/// An exclusive lock on `path`, released when the file is dropped. Each
/// open is its own lock, so threads of one process exclude each other too.
fn lock(path: &Path) -> Result<File, BuildError> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| verilate::io(path, e))?;
    file.lock().map_err(|e| verilate::io(path, e))?;
    Ok(file)
}

/// One built model in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    /// Its key (the folder's name).
    pub key: String,
    /// What it is, from its model.txt (`PE pot3`, `design gemm-pot-8x8 (FST trace)`).
    pub label: String,
    /// Bytes on disk.
    pub bytes: u64,
}

/// The built models in the cache, largest first.
pub fn entries() -> Result<Vec<CacheEntry>, BuildError> {
    let models = cache_root()?.join("models");
    let mut entries = Vec::new();
    let Ok(read) = fs::read_dir(&models) else {
        return Ok(entries);
    };
    for dir in read.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
        let key = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if key.starts_with('.') {
            continue;
        }
        let label = fs::read_to_string(dir.join("model.txt"))
            .ok()
            .and_then(|t| t.lines().next().map(str::to_string))
            .unwrap_or_default();
        let bytes = fs::read_dir(&dir)
            .map(|r| {
                r.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        entries.push(CacheEntry { key, label, bytes });
    }
    entries.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.key.cmp(&b.key)));
    Ok(entries)
}

/// Removes every built model (each under its lock, so a build in progress
/// finishes first) and returns how many went and their bytes. Models
/// loaded by running processes stay usable: their files are unlinked, not
/// overwritten.
pub fn clean() -> Result<(usize, u64), BuildError> {
    let models = cache_root()?.join("models");
    let mut removed = (0, 0);
    for entry in entries()? {
        let _lock = lock(&models.join(format!("{}.lock", entry.key)))?;
        let dir = models.join(&entry.key);
        fs::remove_dir_all(&dir).map_err(|e| verilate::io(&dir, e))?;
        removed.0 += 1;
        removed.1 += entry.bytes;
    }
    Ok(removed)
}
