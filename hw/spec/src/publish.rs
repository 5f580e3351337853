//! Writing a folder so that readers see all of it or none of it.
//!
//! kiln writes several folders that others may read while they are being
//! made: the built-in RTL and the simulator's models in the cache (which
//! other kiln processes share), and a new project. Each is filled in a
//! staging folder beside its destination and renamed into place, which is
//! atomic on one file system; a failure removes the staging folder.

use std::path::{Path, PathBuf};

/// Fills a staging folder with `fill` and renames it to `dest`. When the
/// rename fails because `dest` is already there and `done(dest)` says it is
/// whole (another process made the same folder meanwhile), that one is
/// kept and this is not an error. `io` turns a file-system error on a path
/// into the caller's error type.
pub fn publish_dir<E>(
    dest: &Path,
    done: impl Fn(&Path) -> bool,
    fill: impl FnOnce(&Path) -> Result<(), E>,
    io: impl Fn(&Path, std::io::Error) -> E,
) -> Result<(), E> {
    let staging = staging_path(dest);
    let result = std::fs::create_dir_all(&staging)
        .map_err(|e| io(&staging, e))
        .and_then(|()| fill(&staging))
        .and_then(|()| match std::fs::rename(&staging, dest) {
            Ok(()) => Ok(()),
            Err(_) if done(dest) => {
                let _ = std::fs::remove_dir_all(&staging);
                Ok(())
            }
            Err(e) => Err(io(dest, e)),
        });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// `.tmp-<name>-<pid>-<nanos>` beside `dest`: no two writers share one.
fn staging_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join(format!(".tmp-{name}-{}-{nanos}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(path: &Path, e: std::io::Error) -> String {
        format!("{}: {e}", path.display())
    }

    #[test]
    fn a_failed_fill_leaves_nothing_and_a_made_folder_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        let dest = base.join("out");
        let err = publish_dir(&dest, |_| false, |_| Err("no".to_string()), io);
        assert_eq!(err, Err("no".into()));
        assert_eq!(std::fs::read_dir(base).unwrap().count(), 0, "nothing left");
        let write = |dir: &Path| std::fs::write(dir.join("f"), "1").map_err(|e| io(dir, e));
        publish_dir(&dest, |_| false, write, io).unwrap();
        assert!(dest.join("f").is_file());
        // Made again while it is there: kept when whole, an error when not.
        publish_dir(&dest, |d| d.join("f").is_file(), write, io).unwrap();
        assert!(publish_dir(&dest, |_| false, write, io).is_err());
        assert_eq!(std::fs::read_dir(base).unwrap().count(), 1, "only `out`");
    }
}
