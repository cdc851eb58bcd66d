//! `countersign-cli`: Countersign's flows from a terminal, built on the same crates as the
//! desktop app. Each subcommand lives in its own module under `commands/`.

mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let (json, result) = match commands::Cli::try_parse() {
        Ok(cli) => (cli.json, commands::run(cli)),
        // Help and version are not errors; clap prints them and exits 0.
        Err(error) if !error.use_stderr() => error.exit(),
        Err(error) => {
            // The flag could not be parsed with the rest, so look for it directly: a script
            // that asked for JSON gets JSON even for a mistyped command line.
            let json = std::env::args_os().skip(1).any(|arg| arg == "--json");
            if !json {
                error.exit();
            }
            // clap's first paragraph, on one line: "the following required arguments were
            // not provided: --reason <REASON>".
            let rendered = error.render().to_string();
            let first = rendered.split("\n\n").next().unwrap_or_default();
            let words: Vec<&str> = first
                .trim_start_matches("error: ")
                .split_whitespace()
                .collect();
            let error = commands::CliError::invalid_input(anyhow::anyhow!(words.join(" ")));
            (json, Err(error))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let message = commands::Output::sanitize_line(&error.to_string());
            eprintln!("countersign-cli: {}: {message}", error.code());
            if json {
                commands::Output::new(true).json(&error.to_json());
            }
            ExitCode::from(error.exit_code())
        }
    }
}
