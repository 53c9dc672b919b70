//! The classic mount(2) path, taken on kernels without `lowerdir+` (forced here with
//! STRATA_MOUNT_API=classic): short `l/` names relative to the store root, as docker does.

use crate::common;

use std::process::Command;

#[test]
fn classic_mount_uses_short_names_and_shows_the_image() {
    if !rustix::process::geteuid().is_root() {
        common::skipped("mounting needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let strata = env!("CARGO_BIN_EXE_strata");
    let image = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/hello.tar");
    let out = Command::new(strata)
        .args(["mount", image])
        .arg(&mnt)
        .env("STRATA_STORE", dir.path().join("store"))
        .env("STRATA_MOUNT_API", "classic")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("overlayfs is not available") || stderr.contains("Operation not permitted") {
        common::skipped(format!("overlay mounts are not possible here: {stderr}"));
        return;
    }
    assert!(out.status.success(), "{stderr}");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = mountinfo
        .lines()
        .find(|l| l.contains(&format!(" {} ", mnt.display())))
        .map(str::to_string);
    let greeting = std::fs::read_to_string(mnt.join("usr/share/greeting.txt"));
    let conf_hidden = !mnt.join("etc/hello.conf").exists();
    let umount = Command::new(strata)
        .arg("umount")
        .arg(&mnt)
        .env("STRATA_STORE", dir.path().join("store"))
        .output()
        .unwrap();
    let line = line.expect("the mount is listed in mountinfo");
    assert!(
        line.contains("lowerdir=l/"),
        "classic mounts use the short l/ names: {line}"
    );
    assert_eq!(greeting.unwrap(), "hello world\n");
    assert!(conf_hidden, "layer 2's whiteout hides etc/hello.conf");
    assert!(
        umount.status.success(),
        "{}",
        String::from_utf8_lossy(&umount.stderr)
    );
    let after = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !after.contains(&format!(" {} ", mnt.display())),
        "still mounted after umount"
    );
}
