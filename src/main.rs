use std::process::ExitCode;

use flipfix_bot::cli;
use flipfix_bot::config::Secrets;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::parse();
    let secrets = match Secrets::load(&cli.secrets) {
        Ok(secrets) => secrets,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    flipfix_bot::telemetry::init_with(secrets.log_filter.as_deref(), secrets.log_format.as_deref());
    match cli::execute(cli, secrets).await {
        Ok(code) => code,
        Err(err) => {
            // One line, with the cause chain: what failed and why.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
