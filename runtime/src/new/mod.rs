//! `kiln new`: a project a user owns, outside kiln's tree, with one working
//! PE (a 3-bit power-of-two shift PE), a design of it and a README of the
//! loop. The files are written into a staging folder beside the target and
//! renamed into place ([`kiln_spec::publish`]), so a failure leaves nothing
//! half-written. The PE's RTL is kiln's own test PE `test_pot3` under the
//! name `pot3`: kiln's 3-bit RTL tests run the RTL a user starts from.

use std::path::{Path, PathBuf};

/// (path in the project, text) of every file; `@NAME@` is the project's name.
const TEMPLATE: &[(&str, &str)] = &[
    ("kiln.toml", include_str!("template/kiln.toml")),
    ("README.md", include_str!("template/README.md")),
    (
        "pe/pot3/codebook.toml",
        include_str!("template/pe/pot3/codebook.toml"),
    ),
    (
        "designs/gemm-pot3-8x8.toml",
        include_str!("template/designs/gemm-pot3-8x8.toml"),
    ),
];

/// kiln's 3-bit test PE, written into every new project as `pot3`.
const STARTER_PE_RTL: &str = include_str!("../../../hw/ip/pe/dv/test_pot3.sv");

/// Why a project could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NewError {
    #[error("{0} already exists and is not empty: give `kiln new` a new folder")]
    Exists(PathBuf),
    #[error(
        "project name `{0}` must be letters, digits, `-` or `_` (it names the folder's project)"
    )]
    Name(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes a new project into `dir` (which must not exist, or be empty) and
/// returns the files written, relative to `dir`.
pub fn scaffold(dir: &Path) -> Result<Vec<PathBuf>, NewError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(NewError::Name(name));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| NewError::Io { path, source }
    };
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(NewError::Exists(dir.to_path_buf()));
        }
        std::fs::remove_dir(dir).map_err(io(dir))?;
    }
    let pe_rtl = STARTER_PE_RTL.replace("test_pot3", "pot3");
    let mut written = Vec::new();
    kiln_spec::publish::publish_dir(
        dir,
        |_| false,
        |staging| {
            let files = TEMPLATE
                .iter()
                .map(|(path, text)| (*path, text.replace("@NAME@", &name)))
                .chain(std::iter::once(("pe/pot3/rtl/pot3.sv", pe_rtl.clone())));
            for (path, text) in files {
                let file = staging.join(path);
                if let Some(folder) = file.parent() {
                    std::fs::create_dir_all(folder).map_err(io(folder))?;
                }
                std::fs::write(&file, text).map_err(io(&file))?;
                written.push(PathBuf::from(path));
            }
            Ok(())
        },
        |path, source| NewError::Io {
            path: path.to_path_buf(),
            source,
        },
    )?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_opens_with_its_pe_and_design() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("demo");
        let files = scaffold(&dir).unwrap();
        assert_eq!(files.len(), TEMPLATE.len() + 1);
        let project = kiln_spec::Project::open(&dir).unwrap();
        assert_eq!(project.name, "demo");
        assert_eq!(project.pes, ["pot3"]);
        assert_eq!(project.designs[0].name, "gemm-pot3-8x8");
        assert_eq!(project.library.get("pot3").unwrap().weight_value(0b110), -4);
        // A second time into the same, now full, folder is refused.
        assert!(matches!(scaffold(&dir), Err(NewError::Exists(_))));
    }
}
