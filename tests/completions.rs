//! The checked-in completion scripts in completions/ must be what the binary generates now.
//! Regenerate with e.g. `cargo run -- completions bash > completions/strata.bash`.

use crate::common::run;

#[test]
fn completions_are_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let mut stale = Vec::new();
    for (shell, file) in [
        ("bash", "strata.bash"),
        ("zsh", "_strata"),
        ("fish", "strata.fish"),
        ("elvish", "strata.elv"),
        ("powershell", "_strata.ps1"),
    ] {
        let r = run(args!["completions", shell]);
        assert_eq!(r.code, 0, "completions {shell}: {r}");
        assert!(
            !r.stdout.trim().is_empty(),
            "completions {shell} printed nothing"
        );
        let path = root.join(file);
        match std::fs::read_to_string(&path) {
            Ok(committed) if committed == r.stdout => {}
            Ok(_) => stale.push(format!("{file} differs from `strata completions {shell}`")),
            Err(e) => stale.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        stale.is_empty(),
        "stale completions (regenerate with `strata completions <shell>`):\n{}",
        stale.join("\n")
    );
}

#[test]
fn completions_mention_every_subcommand() {
    let r = run(args!["completions", "bash"]);
    assert_eq!(r.code, 0, "{r}");
    for sub in ["inspect", "history", "chainid", "verify", "completions"] {
        assert!(r.stdout.contains(sub), "bash completions lack {sub}");
    }
}
