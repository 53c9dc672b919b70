//! Small things a user reads: counts take the right noun, help ends with examples.

use crate::common;

use crate::common::{fixtures, run};

#[test]
fn counts_of_one_are_singular() {
    // hello.tar's tree has one symlink (bin/hi).
    let dir = tempfile::tempdir().unwrap();
    let r = run(args![
        "extract",
        fixtures::committed_hello_path(),
        dir.path().join("root")
    ]);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains(", 1 symlink, 0 hardlinks, "), "{r}");
    // A one-layer pre-1.10 save verifies with one check (its diffID).
    let entry = std::path::Path::new(common::corpus::CORPUS).join("ggcr.tarball.no_manifest");
    let Some(tar) = common::corpus::find_archive(&entry) else {
        eprintln!(
            "skipped the one-check case: ../shared/corpus/ggcr.tarball.no_manifest is not here"
        );
        return;
    };
    let r = run(args!["verify", tar]);
    assert!(r.stdout.contains(": 1 check, all ok"), "{r}");
}

#[test]
fn every_subcommand_help_ends_with_examples() {
    for cmd in [
        "inspect",
        "images",
        "history",
        "chainid",
        "verify",
        "extract",
        "mount",
        "umount",
        "store",
        "shell",
        "completions",
        "man",
    ] {
        let r = run(args![cmd, "--help"]);
        assert_eq!(r.code, 0, "{cmd} --help: {r}");
        assert!(
            r.stdout.contains("\nExamples:\n  "),
            "{cmd} --help has no examples:\n{r}"
        );
    }
}
