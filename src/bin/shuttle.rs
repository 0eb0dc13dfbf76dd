//! Entry point for Shuttle-compatible runtimes (`--features shuttle`). The
//! Shuttle platform closed in January 2026; the plain `flipfix-bot run`
//! binary is the default deployment. Both share every line past start-up.

use flipfix_bot::app::App;
use flipfix_bot::config::{Secret, Secrets};
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
    let token: Secret = secrets
        .discord_token
        .clone()
        .ok_or(flipfix_bot::app::MissingToken)
        .map_err(shuttle_runtime::CustomError::new)?;
    if secrets.discord_guild_id.is_none() {
        return Err(shuttle_runtime::CustomError::new(flipfix_bot::app::MissingHomeServer).into());
    }
    let app = App::new(pool, secrets, workflows);
    let client = flipfix_bot::discord::build_client(app, &token).await?;
    Ok(client.into())
}
