//! `store ls` shows short IDs and says what its size counts, lists the upper dirs `umount
//! --keep-upper` kept; `store rm` takes a unique chainID prefix and removes kept upper dirs.
//! Needs root and overlayfs (to make a store by mounting); skips, saying why, otherwise.

use crate::common;

use crate::common::fixtures::committed_hello_path;
use crate::common::overlay::{ready, sel, MountEnv};

#[test]
fn short_ids_kept_uppers_and_removal_by_prefix() {
    if !ready() {
        return;
    }
    let env = MountEnv::new();
    let hello = committed_hello_path();
    let mp = env.mountpoint("mp");
    env.mount_ok(&sel(&hello, &[]), &mp, &[]);
    std::fs::write(mp.join("new.txt"), "hello\n").unwrap();

    let ls = env.store_cmd(&["ls"]);
    ls.assert_ok("store ls");
    let text = String::from_utf8_lossy(&ls.stdout).into_owned();
    // hello.tar's layer 0: 50 bytes of file content (inspect's SIZE, 55B, adds symlink targets).
    assert!(
        text.starts_with("CHAIN ID       DIFF ID        FILE BYTES   USED BY\n"),
        "{text}"
    );
    assert!(
        text.contains("\n18f6e3c2a79b   18f6e3c2a79b   50B          "),
        "{text}"
    );

    // At 50 columns the table fits: the diffID column goes, the chainID stays.
    let narrow = common::strata()
        .env("COLUMNS", "50")
        .args(["store", "ls", "--store"])
        .arg(&env.store)
        .output()
        .unwrap();
    let narrow = String::from_utf8_lossy(&narrow.stdout).into_owned();
    assert!(
        narrow
            .lines()
            .all(|l| unicode_width::UnicodeWidthStr::width(l) <= 50),
        "{narrow}"
    );
    assert!(
        narrow.starts_with("CHAIN ID ") && !narrow.contains("DIFF ID"),
        "{narrow}"
    );
    assert!(narrow.contains("18f6e3c2a79b"), "{narrow}");

    env.umount_ok(&mp, &["--keep-upper"]);
    let all = env.store_ls_all();
    let kept: Vec<&serde_json::Value> = all.iter().filter(|e| e["kind"] == "kept").collect();
    assert_eq!(kept.len(), 1, "{all:?}");
    assert_eq!(kept[0]["size"], 6);
    let name = kept[0]["name"].as_str().unwrap().to_string();
    let text = String::from_utf8_lossy(&env.store_cmd(&["ls"]).stdout).into_owned();
    assert!(
        text.contains("\n\nKEPT UPPER DIR") && text.contains(&name),
        "{text}"
    );

    let out = env.store_cmd(&["rm", &name]);
    out.assert_ok("store rm kept/…");
    assert!(env.store_ls_all().iter().all(|e| e["kind"] == "layer"));

    // A prefix one layer alone has removes it; one no layer has is refused, naming the store.
    let out = env.store_cmd(&["rm", "bac8c1067f16"]);
    out.assert_ok("store rm PREFIX");
    assert!(String::from_utf8_lossy(&out.stdout).contains(
        "removed sha256:bac8c1067f1674d4da9f3c1eee37cf21d2b8dfe4181c55436b984d85083f0451"
    ));
    let out = env.store_cmd(&["rm", "0000"]);
    assert_eq!(out.code, Some(2), "{out}");
    let err = out.stderr.clone();
    assert!(err.contains("has a chainID starting with 0000"), "{err}");
    let out = env.store_cmd(&["prune"]);
    out.assert_ok("store prune");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("removed 2 unused layers"),
        "{out}"
    );
}
