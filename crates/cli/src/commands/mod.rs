//! The command line: argument parsing, dispatch, and the exit codes scripts rely on.

mod hash;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "countersign-cli",
    version,
    about = "Review AI-agent approvals from a terminal"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print Cordum's job hash of a JobRequest given in protojson.
    Hash(hash::HashArgs),
}

/// A failed command: what went wrong, and the process exit code that tells scripts why.
#[derive(Debug)]
pub struct CliError {
    error: anyhow::Error,
    exit_code: u8,
}

/// Exit codes are part of the CLI's contract with scripts: never renumber them.
pub mod exit {
    /// The input (a file, standard input or an argument) was invalid.
    pub const INVALID_INPUT: u8 = 2;
}

impl CliError {
    pub fn invalid_input(error: anyhow::Error) -> Self {
        Self {
            error,
            exit_code: exit::INVALID_INPUT,
        }
    }

    pub fn exit_code(&self) -> u8 {
        self.exit_code
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `{:#}` prints the whole context chain on one line: "reading x: No such file".
        write!(f, "{:#}", self.error)
    }
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Hash(args) => hash::run(&args),
    }
}
