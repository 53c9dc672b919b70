//! The strata binary: parse the command line, run the command, and print any error once.

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser;
use strata::render::color::{paint, Paint, Stream};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    strata::render::color::set(match cli.color {
        cli::ColorWhen::Auto => strata::render::color::Choice::Auto,
        cli::ColorWhen::Always => strata::render::color::Choice::Always,
        cli::ColorWhen::Never => strata::render::color::Choice::Never,
    });
    match cmd::run(cli) {
        Ok(code) => code,
        // `strata history x | head` closing the pipe early is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let text = e.to_string();
            let lines: Vec<String> = text
                .lines()
                .map(|l| strata::rawname::escape_for_message(l, 2000))
                .collect();
            let head = paint(Stream::Stderr, Paint::Bad, "error:");
            eprintln!("{head} {}", lines.join("\n"));
            for cause in e.chain().skip(1) {
                let text = cause.to_string();
                // Our own errors already print their direct cause inline.
                if !e.to_string().ends_with(&text) {
                    // Parser messages may quote raw archive bytes.
                    eprintln!("caused by: {}", strata::render::cause_excerpt(&text));
                }
            }
            ExitCode::from(cmd::EXIT_ERROR)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
