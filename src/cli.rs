//! Command-line interface: `run`, `migrate`, `check`, `import`, `export`,
//! `replay`, `eval`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::app::{self, Database};
use crate::catalog;
use crate::config::Secrets;
use crate::records::{self, import::ImportOptions};
use crate::template_check::load_workflows;
use crate::tools::{self, eval::EvalOptions, replay::ReplayOptions};
use crate::workflow::RecordKinds;

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
    /// Try the bot with no Discord and no model key: a sample workshop in a
    /// database of its own, the record pages, and one conversation walked
    /// through review. Ctrl-C stops it; each run starts afresh.
    Demo {
        /// Port for the record pages on 127.0.0.1.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The folder holding the sample (workshop.json, conversation/).
        #[arg(long, default_value = "demo")]
        demo_dir: PathBuf,
        /// Where the demo's embedded database goes (removed before and after;
        /// default: a folder in the system's temporary directory).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Refresh the docs' pictures: the demo's pages, a review card and a
    /// notification, drawn from the real templates and photographed with
    /// headless Chromium (chromium and chromedriver must be installed).
    /// `scripts/screenshots` runs it.
    Screenshots {
        /// Where the PNGs go.
        #[arg(long, default_value = "docs/images")]
        out: PathBuf,
        /// Keep the Discord-look pages (HTML) and their payloads (JSON) here.
        #[arg(long, value_name = "DIR")]
        html: Option<PathBuf>,
        /// The folder holding the sample (workshop.json, conversation/).
        #[arg(long, default_value = "demo")]
        demo_dir: PathBuf,
        /// Where the embedded database goes (removed before and after;
        /// default: a folder in the system's temporary directory).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Check the configuration: secrets, database, workflows, Discord (token,
    /// server, intents, channel permissions, commands), webhook, model key,
    /// pages. Exits non-zero when any check fails.
    Doctor {
        /// Skip the network checks (Discord, webhook, model key, pages).
        #[arg(long)]
        quick: bool,
    },
    /// Exit 0 when this machine's /healthz (on HTTP_BIND) answers: the
    /// container HEALTHCHECK, which needs no curl.
    Health,
    /// Check workflows and templates; list every problem as file:line:column.
    Check {
        /// Workflow directory (default: FLIPFIX_WORKFLOWS_DIR or ./workflows).
        #[arg(long)]
        workflows: Option<PathBuf>,
        /// Template directory (default: FLIPFIX_PROMPTS_DIR or ./prompts).
        #[arg(long)]
        prompts: Option<PathBuf>,
        /// Page template directory (default: FLIPFIX_PAGES_DIR or ./pages).
        #[arg(long)]
        pages: Option<PathBuf>,
    },
    /// Import data exported from the original system: the catalog, or the
    /// records' history.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Write every record (fields, status, parent, authors, Discord sources,
    /// photo references), the machines and maintainers as JSON that
    /// `import records` reads back: the portable backup.
    Export {
        /// Write to FILE instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Run one scenario through the analysis and show the review cards.
    Replay {
        /// A scenario file (../shared/scenarios/ format).
        scenario: PathBuf,
        /// A recorded Anthropic Messages API response body (JSON).
        #[arg(long, conflicts_with = "live")]
        response: Option<PathBuf>,
        /// Ask the live API (records usage in the database).
        #[arg(long)]
        live: bool,
        /// Model for --live (default: the workflow's).
        #[arg(long, requires = "live")]
        model: Option<String>,
        /// Create the suggested records as if each were confirmed.
        #[arg(long)]
        create: bool,
        /// Print the prompt and tool schema first.
        #[arg(long)]
        show_prompt: bool,
        /// Print JSON instead of cards.
        #[arg(long)]
        json: bool,
        /// The workflow whose analysis runs (default: the one with a
        /// message command; an error lists the names when there are several).
        #[arg(long = "workflow", value_name = "NAME")]
        workflow: Option<String>,
        /// Workflow directory (default: FLIPFIX_WORKFLOWS_DIR or ./workflows).
        #[arg(long)]
        workflows: Option<PathBuf>,
        /// Template directory (default: FLIPFIX_PROMPTS_DIR or ./prompts).
        #[arg(long)]
        prompts: Option<PathBuf>,
    },
    /// Score every scenario with an `expected` list in DIR.
    Eval {
        /// A scenario folder (with its _catalog.yaml).
        dir: PathBuf,
        /// Ask the live API (a few scenarios at a time; records cost).
        #[arg(long)]
        live: bool,
        /// Use recorded responses DIR/<scenario>.json instead.
        #[arg(long, conflicts_with = "live")]
        responses: Option<PathBuf>,
        /// Model for --live (default: the workflow's).
        #[arg(long)]
        model: Option<String>,
        /// Print the scores as JSON.
        #[arg(long)]
        json: bool,
        /// The workflow whose analysis runs (default: the one with a
        /// message command; an error lists the names when there are several).
        #[arg(long = "workflow", value_name = "NAME")]
        workflow: Option<String>,
        /// Workflow directory (default: FLIPFIX_WORKFLOWS_DIR or ./workflows).
        #[arg(long)]
        workflows: Option<PathBuf>,
        /// Template directory (default: FLIPFIX_PROMPTS_DIR or ./prompts).
        #[arg(long)]
        prompts: Option<PathBuf>,
    },
}

/// Parses the command line; `--help` ends with the environment keys.
pub fn parse() -> Cli {
    let command = Cli::command().after_help(environment_help());
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

/// Every key the bot reads, from the same list `Secrets.example.toml` and
/// docs/configuration.md document (tests/it/readme_tables.rs keeps them in step).
pub fn environment_help() -> String {
    let width = crate::config::secrets::KNOWN_KEYS
        .iter()
        .map(|(key, _)| key.len())
        .max()
        .unwrap_or(0);
    let mut help = String::from(
        "Environment (or Secrets.toml; the environment wins; see Secrets.example.toml,\n\
         docs/configuration.md and docs/operating.md \"Troubleshooting\"):\n",
    );
    for (key, what) in crate::config::secrets::KNOWN_KEYS {
        help.push_str(&format!("  {key:width$}  {what}\n"));
    }
    help.push_str("\nNot working? Run `flipfix-bot doctor`: each check says what to do.");
    help
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// machines.json: models with their instances. Each `operational_status`
    /// must be a declared machine status (by name or label); any other value
    /// is named and not stored, and the rest of the machine is imported.
    Machines {
        file: PathBuf,
        /// Workflow directory, for the declared statuses (default:
        /// FLIPFIX_WORKFLOWS_DIR or ./workflows).
        #[arg(long)]
        workflows: Option<PathBuf>,
        /// Template directory (default: FLIPFIX_PROMPTS_DIR or ./prompts).
        #[arg(long)]
        prompts: Option<PathBuf>,
    },
    /// accounts.json: admins and maintainers (terminals are skipped).
    Maintainers { file: PathBuf },
    /// logs_problems.json, part_requests.json: the records' history. Import
    /// machines and maintainers first; a second run adds nothing. Also reads
    /// back `flipfix-bot export` files (with their machines and maintainers).
    Records {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Add machines the catalog lacks, under the names the export gives
        /// (else their records are listed as not imported).
        #[arg(long)]
        add_missing_machines: bool,
        /// Post the imported records to the webhook (history is not posted
        /// otherwise).
        #[arg(long)]
        notify: bool,
        /// Workflow directory (default: FLIPFIX_WORKFLOWS_DIR or ./workflows).
        #[arg(long)]
        workflows: Option<PathBuf>,
        /// Template directory (default: FLIPFIX_PROMPTS_DIR or ./prompts).
        #[arg(long)]
        prompts: Option<PathBuf>,
    },
}

/// Runs the parsed command. Errors are returned for `main` to print.
pub async fn execute(cli: Cli, secrets: Secrets) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run => {
            app::run(secrets).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            port,
            demo_dir,
            data_dir,
        } => {
            let options = tools::demo::DemoOptions {
                port,
                demo_dir,
                data_dir: data_dir.unwrap_or_else(|| std::env::temp_dir().join("flipfix-demo")),
            };
            tools::demo::run(options, secrets).await
        }
        Command::Screenshots {
            out,
            html,
            demo_dir,
            data_dir,
        } => {
            let options = tools::screenshots::ScreenshotOptions {
                out,
                html_dir: html,
                demo_dir,
                data_dir: data_dir
                    .unwrap_or_else(|| std::env::temp_dir().join("flipfix-screenshots")),
            };
            tools::screenshots::run(options, secrets).await
        }
        Command::Doctor { quick } => Ok(crate::doctor::run::run(secrets, quick).await),
        Command::Health => Ok(crate::doctor::health::run(secrets.http_bind.0).await),
        Command::Migrate => {
            let database = Database::open(&secrets).await?;
            database.close().await;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            workflows,
            prompts,
            pages,
        } => Ok(check(
            &secrets,
            &workflows.unwrap_or_else(|| secrets.workflows_dir.clone()),
            &prompts.unwrap_or_else(|| secrets.prompts_dir.clone()),
            &pages.unwrap_or_else(|| secrets.pages_dir.clone()),
        )
        .await),
        Command::Replay {
            scenario,
            response,
            live,
            model,
            create,
            show_prompt,
            json,
            workflow,
            workflows,
            prompts,
        } => {
            let options = ReplayOptions {
                workflow,
                scenario,
                response,
                live,
                model,
                create,
                show_prompt,
                json,
                workflows_dir: workflows.unwrap_or_else(|| secrets.workflows_dir.clone()),
                prompts_dir: prompts.unwrap_or_else(|| secrets.prompts_dir.clone()),
            };
            tools::replay::run(options, secrets).await
        }
        Command::Eval {
            dir,
            live,
            responses,
            model,
            json,
            workflow,
            workflows,
            prompts,
        } => {
            let options = EvalOptions {
                workflow,
                dir,
                live,
                responses,
                model,
                json,
                workflows_dir: workflows.unwrap_or_else(|| secrets.workflows_dir.clone()),
                prompts_dir: prompts.unwrap_or_else(|| secrets.prompts_dir.clone()),
            };
            tools::eval::run(options, secrets).await
        }
        Command::Import { what } => import(what, &secrets).await,
        Command::Export { out } => tools::export::run(&secrets, out).await,
    }
}

/// `check`: the workflows, prompts and page templates, as the bot would
/// load them; every problem with its place, and the exit status says. With
/// `DATABASE_URL` set, machines in an undeclared status are named too (data,
/// not the files: the exit status stays).
async fn check(
    secrets: &Secrets,
    workflows_dir: &Path,
    prompts_dir: &Path,
    pages_dir: &Path,
) -> ExitCode {
    // Warnings do not change the exit status: the files load.
    for warning in crate::workflow::comment_warnings(workflows_dir) {
        println!("{warning}");
    }
    // The page templates are checked against the kinds that loaded.
    let loaded = load_workflows(workflows_dir, prompts_dir)
        .and_then(|loaded| crate::web::pages::check(pages_dir, &loaded.kinds).into_result(loaded));
    match loaded {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                println!("{warning}");
            }
            let menu: String = loaded
                .workflows
                .iter()
                .map(|w| match &w.analyze {
                    Some(a) => format!(
                        ", workflow {} (\"{}\", {})",
                        w.name, a.command_name, a.model
                    ),
                    None => format!(", workflow {}", w.name),
                })
                .collect();
            let summaries: Vec<String> = loaded
                .summaries
                .iter()
                .map(|s| format!("{} at {} {}", s.name, s.at.format("%H:%M"), s.timezone))
                .collect();
            let menu = if summaries.is_empty() {
                menu
            } else {
                format!("{menu}, summaries {}", summaries.join(", "))
            };
            println!(
                "ok: {} record kinds ({}){menu}, {} templates, version {}",
                loaded.kinds.names().len(),
                loaded.kinds.names().join(", "),
                loaded.templates.names().len(),
                loaded.version
            );
            let statuses = loaded.kinds.machine_statuses();
            if let Some(line) = tools::catalog_check::machine_statuses(secrets, statuses).await {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for problem in problems.iter() {
                println!("{problem}");
            }
            eprintln!("{} problem(s) found", problems.iter().count());
            ExitCode::FAILURE
        }
    }
}

/// `import machines|maintainers|records`.
async fn import(what: ImportWhat, secrets: &Secrets) -> anyhow::Result<ExitCode> {
    let (file, statuses) = match &what {
        ImportWhat::Machines {
            file,
            workflows,
            prompts,
        } => {
            let workflows = tools::replay::load(
                workflows.as_ref().unwrap_or(&secrets.workflows_dir),
                prompts.as_ref().unwrap_or(&secrets.prompts_dir),
            )?;
            (file, Some(workflows.kinds.machine_statuses().clone()))
        }
        ImportWhat::Maintainers { file } => (file, None),
        ImportWhat::Records {
            files,
            add_missing_machines,
            notify,
            workflows,
            prompts,
        } => {
            let options = ImportOptions {
                add_missing_machines: *add_missing_machines,
                notify: *notify,
            };
            let workflows = tools::replay::load(
                workflows.as_ref().unwrap_or(&secrets.workflows_dir),
                prompts.as_ref().unwrap_or(&secrets.prompts_dir),
            )?;
            return import_records(secrets, &workflows.kinds, files, options).await;
        }
    };
    let json = std::fs::read_to_string(file)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", file.display()))?;
    let database = Database::open(secrets).await?;
    let name = file.display().to_string();
    let result = match &statuses {
        Some(statuses) => catalog::import_machines(&database.pool, statuses, &name, &json).await,
        None => catalog::import_maintainers(&database.pool, &name, &json).await,
    };
    database.close().await;
    println!("{}", result?);
    Ok(ExitCode::SUCCESS)
}

/// `import records`: every file is read before the database is opened; the
/// exit status is 1 when some entry was not imported (the output says which
/// and why), so a script notices.
async fn import_records(
    secrets: &Secrets,
    kinds: &RecordKinds,
    files: &[PathBuf],
    options: ImportOptions,
) -> anyhow::Result<ExitCode> {
    let mut contents = Vec::with_capacity(files.len());
    for file in files {
        let json = std::fs::read_to_string(file)
            .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", file.display()))?;
        contents.push((file.display().to_string(), json));
    }
    let database = Database::open(secrets).await?;
    let result = records::import::import_records(
        &database.pool,
        kinds,
        &contents,
        options,
        crate::clock::system_now(),
    )
    .await;
    database.close().await;
    let report = result?;
    println!("{report}");
    Ok(if report.not_imported.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
