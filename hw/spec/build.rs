//! Embeds every board file (boards/) and design file (hw/designs/, and the
//! test-only ones in hw/designs/dv/) so that adding one is adding a file.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.join("../..");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    embed(
        &root,
        &["boards"],
        "BOARD_FILES",
        "(file name, text) of every board file.",
        &out_dir.join("boards.rs"),
    );
    embed(
        &root,
        &["hw/designs", "hw/designs/dv"],
        "DESIGN_FILES",
        "(file name, text) of every design file, test-only ones included.",
        &out_dir.join("designs.rs"),
    );
}

fn embed(root: &std::path::Path, dirs: &[&str], name: &str, doc: &str, dest: &PathBuf) {
    let mut out = format!("/// {doc}\npub(crate) const {name}: &[(&str, &str)] = &[\n");
    for dir in dirs {
        let path = root.join(dir);
        println!("cargo:rerun-if-changed={}", path.display());
        let mut entries: Vec<PathBuf> = fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
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
