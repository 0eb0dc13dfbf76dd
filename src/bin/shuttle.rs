//! Entry point for Shuttle-compatible runtimes (`--features shuttle`). The
//! Shuttle platform closed in January 2026; the plain `flipfix-bot run`
//! binary is the default deployment. Both share every line past start-up.

use flipfix_bot::app::{App, RunConfig};
use flipfix_bot::config::Secrets;
use flipfix_bot::template_check::load_workflows;

#[shuttle_runtime::main]
async fn shuttle_main(
    #[shuttle_shared_db::Postgres(local_uri = "{secrets.DATABASE_URL}")] pool: sqlx::PgPool,
    #[shuttle_runtime::Secrets] store: shuttle_runtime::SecretStore,
) -> shuttle_serenity::ShuttleSerenity {
    // Shuttle hands secrets over as a store; the same keys as Secrets.toml.
    let secrets = Secrets::load_with(std::path::Path::new("/nonexistent"), |key| store.get(key))
        .map_err(shuttle_runtime::CustomError::new)?;
    flipfix_bot::db::migrate(&pool)
        .await
        .map_err(shuttle_runtime::CustomError::new)?;
    let workflows = load_workflows(&secrets.workflows_dir, &secrets.prompts_dir)
        .map_err(shuttle_runtime::CustomError::new)?;
    let config = RunConfig::from_secrets(secrets).map_err(shuttle_runtime::CustomError::new)?;
    let app = App::new(pool, config, workflows);
    let client = flipfix_bot::discord::build_client(app).await?;
    Ok(client.into())
}
