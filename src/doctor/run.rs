//! `flipfix-bot doctor` from the command line: opens the database without
//! migrating it (doctor only looks), runs every check, prints the report.

use std::process::ExitCode;

use crate::config::Secrets;
use crate::db::{self, embedded::EmbeddedPostgres};
use crate::template_check::load_workflows;

use super::{diagnose, Inputs};

pub async fn run(secrets: Secrets, quick: bool) -> ExitCode {
    let (pool, embedded) = match &secrets.database_url {
        Some(url) => (db::connect(url).await.map_err(|e| e.to_string()), None),
        None => match EmbeddedPostgres::start(&secrets.data_dir).await {
            Ok(cluster) => (
                db::connect(&cluster.url()).await.map_err(|e| e.to_string()),
                Some(cluster),
            ),
            Err(err) => (
                Err(format!("the embedded PostgreSQL could not start ({err:#})")),
                None,
            ),
        },
    };
    let workflows = load_workflows(&secrets.workflows_dir, &secrets.prompts_dir)
        .map_err(|problems| format!("{} problem(s)", problems.iter().count()));
    let report = diagnose(Inputs {
        secrets: &secrets,
        pool: pool.as_ref().map_err(Clone::clone),
        workflows,
        http: None,
        quick,
    })
    .await;
    print!("{}", report.render());
    if let Ok(pool) = pool {
        pool.close().await;
    }
    if let Some(cluster) = embedded {
        let _ = cluster.stop().await;
    }
    if report.has_failures() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
