//! `strata man [COMMAND]`: the man page of strata or of one of its commands, in roff, generated
//! from the same clap definitions the binary parses with; the results are checked in under
//! `man/` (tests/man.rs keeps them current).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};

pub fn run(args: ManArgs, out: &mut impl Write) -> Result<ExitCode> {
    if args.list {
        for name in page_names() {
            writeln!(out, "{name}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut top = Cli::command();
    top.build();
    let page = match args.command.as_deref() {
        None => top,
        Some(name) => match top
            .get_subcommands()
            .find(|c| c.get_name() == name && !c.is_hide_set())
        {
            Some(c) => c.clone(),
            None => bail!(
                "no command `{}`; man pages exist for: {}",
                strata::rawname::escape_for_message(name, 60),
                page_names().join(", ")
            ),
        },
    };
    let mut buf = Vec::new();
    clap_mangen::Man::new(page).render(&mut buf)?;
    out.write_all(&buf)?;
    Ok(ExitCode::SUCCESS)
}

/// The commands with a page of their own.
fn page_names() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect()
}
