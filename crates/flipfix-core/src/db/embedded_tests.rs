//! The embedded cluster's password file, as docs/configuration.md "The embedded database" states it: mode
//! 0600, created exclusively, never written through a symlink.

use std::os::unix::fs::PermissionsExt;

use super::write_private;

#[test]
fn the_password_file_is_private_to_its_owner() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pg.password");
    write_private(&path, "secret").expect("write");
    let meta = std::fs::metadata(&path).expect("metadata");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "secret");
}

#[test]
fn a_symlink_at_the_path_is_replaced_and_its_target_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, "untouched").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path = dir.path().join("pg.password");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    write_private(&path, "secret").expect("write");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
    assert_eq!(
        std::fs::metadata(&target).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_file(), "a regular file, not the link");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    // A dangling link too: the file is created in its place.
    let dangling = dir.path().join("dangling.password");
    std::os::unix::fs::symlink(dir.path().join("missing"), &dangling).unwrap();
    write_private(&dangling, "secret").expect("write");
    assert!(
        !dir.path().join("missing").exists(),
        "nothing at the link's target"
    );
    assert!(std::fs::symlink_metadata(&dangling)
        .unwrap()
        .file_type()
        .is_file());
}

#[test]
fn a_leftover_file_is_replaced_with_a_private_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("pg.password");
    std::fs::write(&path, "old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    write_private(&path, "new").expect("write");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
