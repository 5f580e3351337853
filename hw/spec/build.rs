//! Embeds every board file (boards/), design file (hw/designs/, and the
//! test-only ones in hw/designs/dv/), engine description
//! (hw/ip/<engine>/engine.toml) and RTL source (hw/ip/<block>/rtl/ and the
//! test PEs of hw/ip/pe/dv/) so that adding one is adding a file, and an
//! installed `kiln` carries its hardware without the source tree.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.join("../..");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    embed(
        &root,
        &["boards"],
        &["toml"],
        "BOARD_FILES",
        "(file name, text) of every board file.",
        &out_dir.join("boards.rs"),
    );
    embed(
        &root,
        &["hw/designs", "hw/designs/dv"],
        &["toml"],
        "DESIGN_FILES",
        "(file name, text) of every design file, test-only ones included.",
        &out_dir.join("designs.rs"),
    );
    embed_engines(&root, &out_dir.join("engine_files.rs"));
    embed_rtl(&root, &out_dir.join("rtl_files.rs"));
}

/// Every SystemVerilog source and include of hw/ip/*/rtl and hw/ip/pe/dv,
/// as (path relative to the repository root, text).
fn embed_rtl(root: &std::path::Path, dest: &PathBuf) {
    let ip = root.join("hw/ip");
    let mut dirs: Vec<String> = fs::read_dir(&ip)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", ip.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("rtl").is_dir())
        .map(|p| format!("hw/ip/{}/rtl", p.file_name().unwrap().to_string_lossy()))
        .collect();
    dirs.push("hw/ip/pe/dv".to_string());
    dirs.sort();
    let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
    embed(
        root,
        &dirs,
        &["sv", "svh"],
        "RTL_FILES",
        "(path relative to the repository root, text) of every RTL file.",
        dest,
    );
}

/// Every `hw/ip/<name>/engine.toml`, as (name, text).
fn embed_engines(root: &std::path::Path, dest: &PathBuf) {
    let ip = root.join("hw/ip");
    println!("cargo:rerun-if-changed={}", ip.display());
    let mut names: Vec<String> = fs::read_dir(&ip)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", ip.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("engine.toml").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut out = String::from(
        "/// (engine name, text) of every hw/ip/<name>/engine.toml.\n\
         pub(crate) const ENGINE_FILES: &[(&str, &str)] = &[\n",
    );
    for name in &names {
        let file = ip.join(name).join("engine.toml");
        println!("cargo:rerun-if-changed={}", file.display());
        let abs = fs::canonicalize(&file).unwrap();
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    fs::write(dest, out).unwrap();
}

/// Writes `dest`: a const `name` of (path relative to `root`, text) for
/// every file of `dirs` whose extension is one of `exts`, sorted per folder.
fn embed(
    root: &std::path::Path,
    dirs: &[&str],
    exts: &[&str],
    name: &str,
    doc: &str,
    dest: &PathBuf,
) {
    let mut out = format!("/// {doc}\npub(crate) const {name}: &[(&str, &str)] = &[\n");
    for dir in dirs {
        let path = root.join(dir);
        println!("cargo:rerun-if-changed={}", path.display());
        let mut entries: Vec<PathBuf> = fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)))
            .collect();
        entries.sort();
        for file in &entries {
            println!("cargo:rerun-if-changed={}", file.display());
            let rel = format!("{dir}/{}", file.file_name().unwrap().to_string_lossy());
            let abs = fs::canonicalize(file).unwrap();
            out.push_str(&format!(
                "    ({rel:?}, include_str!({:?})),\n",
                abs.display().to_string()
            ));
        }
    }
    out.push_str("];\n");
    fs::write(dest, out).unwrap();
}
