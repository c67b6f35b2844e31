//! `tierctl`: the embedded Chronik Tier pipeline and operator tool.
//!
//! Exit codes: 0 success, 1 nothing found (a search or offset lookup without result), 2 error.
//! Errors are printed once to stderr with their cause chain. A closed stdout pipe exits 0.

mod args;
mod backends;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TIER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tierctl: error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(status) => status.exit_code(),
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tierctl: error: {}", output::error_line(&e));
            ExitCode::from(2)
        }
    }
}
