use super::*;
use clap::CommandFactory;

#[test]
fn clap_definitions_are_consistent() {
    Cli::command().debug_assert();
}

/// Every visible command has an example section, and every visible argument a
/// description (the man pages and completions are made from these).
#[test]
fn every_command_has_examples_and_every_argument_a_description() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            let builtin = matches!(a.get_id().as_str(), "help" | "version");
            if !a.is_hide_set() && !builtin && a.get_help().is_none() {
                missing.push(format!(
                    "{path}: argument {} has no description",
                    a.get_id()
                ));
            }
        }
        for sub in cmd.get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            let p = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() {
                missing.push(format!("{p}: no description"));
            }
            let examples = sub
                .get_after_help()
                .is_some_and(|h| h.to_string().starts_with("Examples:\n  "));
            if !examples {
                missing.push(format!("{p}: no `Examples:` in its help"));
            }
            walk(sub, &p, missing);
        }
    }
    let mut missing = Vec::new();
    let mut cli = Cli::command();
    cli.build();
    walk(&cli, "strata", &mut missing);
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn sizes_take_binary_suffixes() {
    assert_eq!(parse_size("1048576"), Ok(1 << 20));
    assert_eq!(parse_size("512K"), Ok(512 << 10));
    assert_eq!(parse_size("10m"), Ok(10 << 20));
    assert_eq!(parse_size("2G"), Ok(2 << 30));
    assert!(parse_size("1X").is_err());
    assert!(parse_size("G").is_err());
    assert!(parse_size("99999999999T").is_err());
}

#[test]
fn human_flag_accepts_docker_forms() {
    let parse = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
        Command::History(h) => h.human,
        _ => unreachable!(),
    };
    assert!(parse(&["strata", "history", "x"]));
    assert!(parse(&["strata", "history", "-H", "x"]));
    assert!(!parse(&["strata", "history", "--human=false", "x"]));
    assert!(!parse(&["strata", "history", "-H=false", "x"]));
}
