//! `strata completions SHELL`: generated from the same clap definitions the binary parses with;
//! the results are checked in under `completions/`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell as Target;

use crate::cli::{Cli, CompletionsArgs, Shell};

pub fn run(args: CompletionsArgs, out: &mut impl Write) -> Result<ExitCode> {
    let target = match args.shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
        Shell::Elvish => Target::Elvish,
        Shell::Powershell => Target::PowerShell,
    };
    let mut buf = Vec::new();
    clap_complete::generate(target, &mut Cli::command(), "strata", &mut buf);
    out.write_all(&buf)?;
    Ok(ExitCode::SUCCESS)
}
