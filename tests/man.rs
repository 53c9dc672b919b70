//! The checked-in man pages in man/ must be what the binary generates now, one per visible
//! command. Regenerate with:
//!   B=target/debug/strata; $B man > man/strata.1
//!   for c in $($B man --list); do $B man "$c" > "man/strata-$c.1"; done

use crate::common::run;

#[test]
fn man_pages_are_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let list = run(args!["man", "--list"]);
    assert_eq!(list.code, 0, "{list}");
    let commands: Vec<&str> = list.stdout.lines().collect();
    for c in ["inspect", "images", "history", "verify", "extract", "store"] {
        assert!(commands.contains(&c), "man --list lacks {c}: {commands:?}");
    }
    let mut pages = vec![(None, "strata.1".to_string())];
    pages.extend(commands.iter().map(|c| (Some(*c), format!("strata-{c}.1"))));
    let mut stale = Vec::new();
    for (command, file) in &pages {
        let r = match command {
            None => run(args!["man"]),
            Some(c) => run(args!["man", c]),
        };
        assert_eq!(r.code, 0, "man {command:?}: {r}");
        assert!(
            r.stdout.starts_with(".ie "),
            "man {command:?} is not roff:\n{r}"
        );
        match std::fs::read_to_string(root.join(file)) {
            Ok(committed) if committed == r.stdout => {}
            Ok(_) => stale.push(format!(
                "{file} differs from `strata man {}`",
                command.unwrap_or("")
            )),
            Err(e) => stale.push(format!("man/{file}: {e}")),
        }
    }
    // No page of a command that is gone.
    for e in std::fs::read_dir(&root).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if !pages.iter().any(|(_, f)| *f == name) {
            stale.push(format!("man/{name} is no command's page"));
        }
    }
    assert!(
        stale.is_empty(),
        "stale man pages (see this file's header):\n{}",
        stale.join("\n")
    );
}

#[test]
fn an_unknown_command_has_no_page_and_the_error_lists_those_that_do() {
    let r = run(args!["man", "nope"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .contains("no command `nope`; man pages exist for: inspect, images"),
        "{r}"
    );
}
