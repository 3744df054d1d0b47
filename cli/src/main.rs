//! `rasura`: code generation and schema snapshots for Rasura services.

fn main() -> std::process::ExitCode {
    rasura_cli::run(std::env::args_os())
}
