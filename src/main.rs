//! Thin binary: parse the command line, run it, map errors to a message and exit code.

use clap::Parser;
use interview_agent::cli::{run, Cli};

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        // Errors are built redacted; print the message, never a Debug dump.
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
