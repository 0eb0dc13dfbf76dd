//! Command-line interface: `run`, `migrate`, `check`, `import`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::{self, Database};
use crate::catalog;
use crate::config::Secrets;
use crate::workflow::load_workflows;

#[derive(Debug, Parser)]
#[command(
    name = "flipfix-bot",
    version,
    about = "Turns Discord conversations into maintenance records"
)]
pub struct Cli {
    /// Secrets file (Shuttle's flat TOML format); the environment wins over it.
    #[arg(long, global = true, default_value = "Secrets.toml")]
    pub secrets: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bot: database, migrations, workflows, Discord, background tasks.
    Run,
    /// Apply database migrations and exit.
    Migrate,
    /// Check workflows and templates; list every problem as file:line:column.
    Check {
        /// Workflow directory (default: FLIPFIX_WORKFLOWS_DIR or ./workflows).
        #[arg(long)]
        workflows: Option<PathBuf>,
        /// Template directory (default: FLIPFIX_PROMPTS_DIR or ./prompts).
        #[arg(long)]
        prompts: Option<PathBuf>,
    },
    /// Import catalog data exported from the original system.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// machines.json: models with their instances.
    Machines { file: PathBuf },
    /// accounts.json: admins and maintainers (terminals are skipped).
    Maintainers { file: PathBuf },
}

/// Runs the parsed command. Errors are returned for `main` to print.
pub async fn execute(cli: Cli, secrets: Secrets) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run => {
            app::run(secrets).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let database = Database::open(&secrets).await?;
            database.close().await;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { workflows, prompts } => {
            let workflows_dir = workflows.unwrap_or(secrets.workflows_dir);
            let prompts_dir = prompts.unwrap_or(secrets.prompts_dir);
            match load_workflows(&workflows_dir, &prompts_dir) {
                Ok(loaded) => {
                    println!(
                        "ok: {} record kinds ({}), {} templates, version {}",
                        loaded.kinds.names().len(),
                        loaded.kinds.names().join(", "),
                        loaded.templates.names().len(),
                        loaded.version
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(problems) => {
                    for problem in problems.iter() {
                        println!("{problem}");
                    }
                    eprintln!("{} problem(s) found", problems.iter().count());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Import { what } => {
            let (file, is_machines) = match &what {
                ImportWhat::Machines { file } => (file, true),
                ImportWhat::Maintainers { file } => (file, false),
            };
            let json = std::fs::read_to_string(file)
                .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", file.display()))?;
            let database = Database::open(&secrets).await?;
            let name = file.display().to_string();
            let result = if is_machines {
                catalog::import_machines(&database.pool, &name, &json).await
            } else {
                catalog::import_maintainers(&database.pool, &name, &json).await
            };
            database.close().await;
            println!("{}", result?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
