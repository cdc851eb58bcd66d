//! `countersign-cli hash`: recompute a job hash by hand, to check what a gateway claims.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use countersign_core::jobhash::{canonical_bytes, job_hash, to_hex};
use countersign_core::jobrequest::{Generation, JobRequest};

use super::CliError;

#[derive(Debug, Args)]
pub struct HashArgs {
    /// A JobRequest in protojson; standard input when absent or `-`.
    file: Option<PathBuf>,
    /// Print the hashed bytes (the stripped, deterministic protobuf encoding) as hex instead.
    #[arg(long)]
    canonical: bool,
    /// Whose JobRequest schema and hash rules: `new` (the newest Cordum, CAP v2.13.3: field 17
    /// `compensation`, the label `policy.attachment_id` stripped) or `v0.9`.
    #[arg(long, default_value = "new", value_parser = parse_generation)]
    generation: Generation,
}

fn parse_generation(text: &str) -> Result<Generation, String> {
    Generation::from_name(text)
        .ok_or_else(|| format!("unknown Cordum generation {text:?}: expected `v0.9` or `new`"))
}

pub fn run(args: &HashArgs) -> Result<(), CliError> {
    let input = read_input(args.file.as_deref()).map_err(CliError::invalid_input)?;
    // The parse error already says "invalid JobRequest: …".
    let request = JobRequest::from_protojson(&input, args.generation)
        .map_err(|error| CliError::invalid_input(anyhow::Error::new(error)))?;
    let line = if args.canonical {
        to_hex(&canonical_bytes(&request, args.generation))
    } else {
        job_hash(&request, args.generation)
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not worth an error message.
    let _ = writeln!(stdout, "{line}");
    Ok(())
}

fn read_input(path: Option<&std::path::Path>) -> anyhow::Result<Vec<u8>> {
    match path {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))
        }
        _ => {
            let mut input = Vec::new();
            std::io::stdin()
                .read_to_end(&mut input)
                .context("reading standard input")?;
            Ok(input)
        }
    }
}
