//! `man` and `completions`: the commands about strata itself.

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata man > strata.1
  strata man inspect | man -l -")]
pub struct ManArgs {
    /// The command whose page to print (`inspect`, `store`, …); strata's own page without it.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,

    /// List the commands that have a page, one per line, instead.
    #[arg(long, conflicts_with = "command")]
    pub list: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata completions bash > ~/.local/share/bash-completion/completions/strata
  strata completions zsh > ~/.zfunc/_strata
  strata completions fish > ~/.config/fish/completions/strata.fish")]
pub struct CompletionsArgs {
    /// The shell to print the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}
