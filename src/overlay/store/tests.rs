use super::*;
use std::os::unix::fs::PermissionsExt;

fn digest(byte: &str) -> Digest {
    Digest::parse(&format!("sha256:{}", byte.repeat(64))).unwrap()
}

#[test]
fn a_new_store_is_private_and_a_readable_one_is_tightened() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("s");
    Store::open(root.clone(), false).unwrap();
    for sub in [
        ".",
        "layers",
        "layers/sha256",
        "l",
        "tmp",
        "locks",
        "mounts",
    ] {
        let mode = std::fs::metadata(root.join(sub))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{sub}");
    }
    std::fs::set_permissions(root.join("l"), std::fs::Permissions::from_mode(0o755)).unwrap();
    Store::open(root.clone(), false).unwrap();
    let mode = std::fs::metadata(root.join("l"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn a_store_others_can_write_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("s");
    Store::open(root.clone(), false).unwrap();
    std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = Store::open(root.clone(), false).err().expect("refused");
    assert!(
        err.to_string().contains("writable by group or others"),
        "{err}"
    );
    assert!(err.to_string().contains("/s/tmp"), "{err}");
}

#[test]
fn only_a_layer_with_its_completion_record_is_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path().join("s"), false).unwrap();
    let id = digest("a");
    assert_eq!(store.layer_state(&id).unwrap(), LayerState::Missing);
    let staging = store.staging(&id).unwrap();
    store.commit(&staging, &id, &digest("b"), None, 5).unwrap();
    assert_eq!(store.layer_state(&id).unwrap(), LayerState::Complete);
    let layer = store.read_layer(id.hex()).unwrap();
    assert_eq!(layer.diff_id, digest("b").as_str());
    std::fs::remove_file(store.layer_dir(&id).join("complete")).unwrap();
    assert_eq!(store.layer_state(&id).unwrap(), LayerState::Incomplete);
    assert!(store.read_layer(id.hex()).is_none());
    assert!(store.layers().unwrap().is_empty());
}

#[test]
fn a_symlink_in_place_of_a_layer_is_foreign_and_not_removed_through() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path().join("s"), false).unwrap();
    let victim = tmp.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::create_dir(victim.join("diff")).unwrap();
    std::fs::write(victim.join("precious"), b"x").unwrap();
    let id = digest("c");
    std::os::unix::fs::symlink(&victim, store.layer_dir(&id)).unwrap();
    assert!(matches!(
        store.layer_state(&id).unwrap(),
        LayerState::Foreign(_)
    ));
    assert!(store.open_diff(&id).is_err());
    assert!(store.remove_layer(&id).is_err());
    assert!(victim.join("precious").exists());
}

#[test]
fn a_planted_lock_symlink_is_neither_followed_nor_truncated() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path().join("s"), false).unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, b"keep me").unwrap();
    let id = digest("d");
    std::os::unix::fs::symlink(
        &victim,
        store.root.join("locks").join(format!("{}.lock", id.hex())),
    )
    .unwrap();
    assert!(store.lock(&id, LockMode::Exclusive, true).is_err());
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
}

#[test]
fn dead_staging_is_removed_and_live_staging_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path().join("s"), false).unwrap();
    let live = store.staging(&digest("e")).unwrap();
    let dead = store
        .root
        .join("tmp")
        .join(format!("{}.stage.999999999.1", "f".repeat(64)));
    std::fs::create_dir_all(dead.join("diff/x")).unwrap();
    let removed = store.remove_dead_leftovers();
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(!dead.exists());
    assert!(live.path.exists());
}
