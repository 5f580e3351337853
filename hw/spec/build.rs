//! Embeds every board file in boards/ so that adding a board is adding a file.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let boards_dir = manifest.join("../../boards");
    println!("cargo:rerun-if-changed={}", boards_dir.display());
    let mut entries: Vec<PathBuf> = fs::read_dir(&boards_dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", boards_dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    entries.sort();
    let mut out = String::from("/// (file name, text) of every board file.\npub(crate) const BOARD_FILES: &[(&str, &str)] = &[\n");
    for path in &entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let file = path.file_name().unwrap().to_string_lossy();
        let abs = fs::canonicalize(path).unwrap();
        out.push_str(&format!(
            "    (\"boards/{file}\", include_str!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(env::var("OUT_DIR").unwrap()).join("boards.rs");
    fs::write(dest, out).unwrap();
}
