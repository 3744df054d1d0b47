//! The benchmark kit (`cargo run --release -p rasura-bench --features kit --bin rasura-benchkit`):
//! what `bench/run.sh` and `bench/soak.sh` need beyond `wrk` and `oha`.
//!
//! - `startup`: the time from spawning a service to its first answered request.
//! - `report`: `BENCHMARKS.md` and its chart from the measurements `bench/run.sh` recorded.
//! - `soak`: a fixed-rate mix of actions and event deliveries, playing Hasura's retries, then
//!   checks that every event's effect is in Postgres exactly once.

mod chart;
mod report;
mod soak;
mod startup;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "rasura-benchkit", about = "Rasura's benchmark kit")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Spawns COMMAND, polls URL until it answers, prints a `startup` record (JSON line)
    /// with the median over `--runs`.
    Startup {
        /// The system's name in the record.
        #[arg(long)]
        system: String,
        /// What to poll (`http://127.0.0.1:PORT/healthz`).
        #[arg(long)]
        url: String,
        /// How many starts.
        #[arg(long, default_value_t = 10)]
        runs: usize,
        /// The service's command line.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Writes the Markdown report and the chart from `bench/run.sh`'s records.
    Report {
        /// The records (one JSON object per line).
        #[arg(long)]
        results: PathBuf,
        /// The Markdown file to write.
        #[arg(long)]
        markdown: PathBuf,
        /// The PNG chart to write.
        #[arg(long)]
        chart: PathBuf,
        /// The chart's path as the Markdown links it.
        #[arg(long)]
        chart_link: String,
    },
    /// Drives a running example service at a fixed rate, then checks Postgres.
    Soak(soak::SoakArgs),
}

fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::Startup {
            system,
            url,
            runs,
            command,
        } => startup::run(&system, &url, runs, &command),
        Command::Report {
            results,
            markdown,
            chart,
            chart_link,
        } => report::run(&results, &markdown, &chart, &chart_link),
        Command::Soak(args) => soak::run(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
