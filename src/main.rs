use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(espcheck::cli::run_from_env().code())
}
