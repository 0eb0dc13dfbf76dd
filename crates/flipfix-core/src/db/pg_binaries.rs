//! Which PostgreSQL server binaries run the embedded cluster. An existing
//! cluster needs the major version that created it: installing a newer
//! PostgreSQL beside it must not break it.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::embedded::EmbeddedError;

/// The major version that created the cluster in `data_dir` (its
/// `PG_VERSION` file), or `None` for a new cluster.
pub fn cluster_version(data_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(data_dir.join("PG_VERSION"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The server binaries to use: for an existing cluster, those of its
/// major version (a newer PostgreSQL installed beside it must not break
/// it); for a new one, the first on PATH, else the newest under
/// `/usr/lib/postgresql` (Debian's layout).
pub fn find_bin_dir(needed: Option<u32>, data_dir: &Path) -> Result<PathBuf, EmbeddedError> {
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    choose_bin_dir(needed, &path_dirs, Path::new("/usr/lib/postgresql")).ok_or_else(|| match needed
    {
        Some(needed) => EmbeddedError::WrongVersion {
            needed,
            data_dir: data_dir.to_path_buf(),
        },
        None => EmbeddedError::NoBinaries,
    })
}

/// [`find_bin_dir`]'s choice over explicit places, for tests: `path_dirs`
/// (PATH, in order) and `lib_root` (holding `<major>/bin`).
pub fn choose_bin_dir(
    needed: Option<u32>,
    path_dirs: &[PathBuf],
    lib_root: &Path,
) -> Option<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(lib_root)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_all(dir))
        .collect();
    versions.sort();
    let on_path = path_dirs.iter().find(|dir| has_all(dir));
    match needed {
        Some(needed) => versions
            .into_iter()
            .find(|(version, _)| *version == needed)
            .map(|(_, dir)| dir)
            .or_else(|| {
                on_path
                    .filter(|dir| binary_major(dir) == Some(needed))
                    .cloned()
            }),
        None => on_path
            .cloned()
            .or_else(|| versions.pop().map(|(_, dir)| dir)),
    }
}

/// The major version of `dir/postgres`, from `postgres --version`
/// ("postgres (PostgreSQL) 15.4 (Debian 15.4-1)").
fn binary_major(dir: &Path) -> Option<u32> {
    let output = std::process::Command::new(dir.join("postgres"))
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?;
    version.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn fake_bin(dir: &Path, version: &str) {
        std::fs::create_dir_all(dir).unwrap();
        for tool in ["initdb", "pg_ctl"] {
            std::fs::write(dir.join(tool), "").unwrap();
        }
        let postgres = dir.join("postgres");
        std::fs::write(
            &postgres,
            format!("#!/bin/sh\necho 'postgres (PostgreSQL) {version} (Debian)'\n"),
        )
        .unwrap();
        std::fs::set_permissions(&postgres, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn an_existing_cluster_gets_the_binaries_of_its_version() {
        let root = tempfile::tempdir().unwrap();
        let lib = root.path().join("usr/lib/postgresql");
        fake_bin(&lib.join("15/bin"), "15.8");
        fake_bin(&lib.join("17/bin"), "17.2");
        let none: &[PathBuf] = &[];
        assert_eq!(
            choose_bin_dir(Some(15), none, &lib),
            Some(lib.join("15/bin"))
        );
        assert_eq!(
            choose_bin_dir(Some(17), none, &lib),
            Some(lib.join("17/bin"))
        );
        assert_eq!(
            choose_bin_dir(None, none, &lib),
            Some(lib.join("17/bin")),
            "a new cluster gets the newest"
        );
        assert_eq!(choose_bin_dir(Some(14), none, &lib), None);

        // PATH wins for a new cluster, and serves an old one only when its
        // `postgres --version` is that major.
        let path_dir = root.path().join("opt/pg14/bin");
        fake_bin(&path_dir, "14.11");
        let path = [path_dir.clone()];
        assert_eq!(choose_bin_dir(None, &path, &lib), Some(path_dir.clone()));
        assert_eq!(choose_bin_dir(Some(14), &path, &lib), Some(path_dir));
        assert_eq!(
            choose_bin_dir(Some(15), &path, &lib),
            Some(lib.join("15/bin"))
        );
    }

    #[test]
    fn a_missing_version_is_named_in_the_error() {
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("PG_VERSION"), "9\n").unwrap();
        assert_eq!(cluster_version(data.path()), Some(9));
        let err = find_bin_dir(cluster_version(data.path()), data.path()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("created by PostgreSQL 9"), "{message}");
        assert!(message.contains("postgresql-9"), "{message}");
    }
}
