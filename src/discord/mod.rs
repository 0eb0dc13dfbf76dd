//! The Discord adapter: the poise framework, its commands and startup. A
//! thin layer over the rest of the crate.

use std::sync::Arc;

use anyhow::Context as _;
use poise::serenity_prelude as serenity;

mod acknowledge;
mod add_to_flipfix;
mod admin;
mod card_menus;
pub mod cdn;
pub mod checks;
mod command_sync;
mod dispatch;
mod duplicate_ui;
mod find;
pub mod history;
pub mod home;
mod lifecycle_commands;
mod machine_status;
mod record_commands;
mod record_once;
pub mod refusal;
pub mod reply;
mod responder;
mod review_guard;
pub mod review_ui;
mod slash_trigger;
mod startup;
mod traced;
pub(crate) mod triggers;
mod workflow_commands;

use crate::app::App;
/// A review's cards are built outside Discord too (`flipfix-bot screenshots`).
pub(crate) use add_to_flipfix::{review_items, Requester};
pub use triggers::prompt_expiry::PromptExpiry;

pub type Data = Arc<App>;
pub type Error = anyhow::Error;
pub type Context<'a> = poise::Context<'a, Data, Error>;

/// Gateway intents: guild events (GUILDS, which also brings THREAD_CREATE
/// for the `thread_created:` trigger), messages in guilds (history and
/// replies), message content (privileged: enable it in the developer
/// portal), and reactions in guilds (the `reaction:` trigger; not
/// privileged).
pub fn intents() -> serenity::GatewayIntents {
    serenity::GatewayIntents::GUILDS
        | serenity::GatewayIntents::GUILD_MESSAGES
        | serenity::GatewayIntents::MESSAGE_CONTENT
        | serenity::GatewayIntents::GUILD_MESSAGE_REACTIONS
}

/// Permissions the bot needs where it is used: View Channel, Send Messages,
/// Read Message History, Embed Links, and for acknowledging created records
/// at the source, Add Reactions and Send Messages in Threads.
pub fn required_permissions() -> serenity::Permissions {
    serenity::Permissions::VIEW_CHANNEL
        | serenity::Permissions::SEND_MESSAGES
        | serenity::Permissions::READ_MESSAGE_HISTORY
        | serenity::Permissions::EMBED_LINKS
        | serenity::Permissions::ADD_REACTIONS
        | serenity::Permissions::SEND_MESSAGES_IN_THREADS
}

/// The URL that adds the bot to a server with the scopes and permissions it needs.
pub fn invite_url(application_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot+applications.commands&permissions={}",
        required_permissions().bits()
    )
}

/// The commands poise serves, fixed when the framework is built: the admin
/// commands, `/find` and `/history`. Commands that come from workflow files
/// are in `workflow_commands` and go through `dispatch`.
pub fn static_commands() -> Vec<poise::Command<Data, Error>> {
    let mut commands = vec![admin::flipfix(), find::find(), find::history()];
    commands.extend(lifecycle_commands::commands());
    commands.extend(machine_status::commands());
    commands
}

/// Every command the bot offers with `workflows`: the static ones, "Add to
/// Flipfix" (named by the first workflow with a message command), and one
/// direct record command per kind that declares one.
pub fn commands(workflows: &crate::workflow::Workflows) -> Vec<poise::Command<Data, Error>> {
    let statics = static_commands();
    let (dynamic, _) = workflow_commands::beside_static(&statics, workflows);
    statics.into_iter().chain(dynamic).collect()
}

/// Builds the serenity client with the poise framework. REST goes through
/// `DISCORD_PROXY_URL` when set (serenity ignores the proxy unless its
/// ratelimiter is off, so the proxy must rate-limit).
pub async fn build_client(app: Data) -> anyhow::Result<serenity::Client> {
    let http = rest_client(&app);

    let setup_app = app.clone();
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: static_commands(),
            on_error: |error| Box::pin(on_error(error)),
            event_handler: |framework, event| Box::pin(on_event(framework, event)),
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                tracing::info!(
                    user = %ready.user.name,
                    invite = %invite_url(ready.application.id.get()),
                    "connected to Discord; add the bot to a server with the invite URL"
                );
                let startup = setup_app.lifecycle.startup.clone();
                let commands = &framework.options().commands;
                if let Err(err) = startup::register_commands_with_retry(
                    ctx,
                    &setup_app,
                    commands,
                    startup.deadline(),
                )
                .await
                {
                    startup.failed(format!("{err:#}"));
                    return Err(err);
                }
                startup.ready();
                Ok(setup_app)
            })
        })
        .build();

    serenity::ClientBuilder::new_with_http(http, intents())
        .framework(traced::Traced(home::HomeOnly::new(framework, app)))
        .await
        .context("cannot build the Discord client")
}

/// Discord's REST API with the bot's token, through `DISCORD_PROXY_URL`
/// when set: the gateway client's, and background work's (the expiry of
/// review prompts) on processes without a gateway.
pub fn rest_client(app: &App) -> serenity::Http {
    let mut http = serenity::HttpBuilder::new(app.discord.token.expose());
    if let Some(proxy) = &app.secrets.discord_proxy_url {
        http = http.proxy(proxy.clone()).ratelimiter_disabled(true);
    }
    http.build()
}

/// Removes global commands an earlier version registered, so nothing is
/// offered elsewhere, then syncs the home server's commands by difference
/// (guild commands apply at once). The home server comes last: it marks
/// setup as done.
pub async fn register_commands(
    ctx: &serenity::Context,
    app: &App,
    statics: &[poise::Command<Data, Error>],
) -> anyhow::Result<()> {
    let global = serenity::Command::get_global_commands(&ctx.http)
        .await
        .context("cannot list global commands")?;
    if !global.is_empty() {
        serenity::Command::set_global_commands(&ctx.http, Vec::new())
            .await
            .context("cannot remove global commands")?;
        tracing::info!(
            count = global.len(),
            "removed global commands left over from an earlier version"
        );
    }
    sync_commands(&ctx.http, app, statics).await?;
    Ok(())
}

/// Makes the home server's commands those of `statics` and of the workflows
/// in force, by difference (see `command_sync`). One sync at a time per
/// process: a reload during start-up waits for it.
pub async fn sync_commands(
    http: &serenity::Http,
    app: &App,
    statics: &[poise::Command<Data, Error>],
) -> anyhow::Result<command_sync::SyncSummary> {
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    let guild_id = app.discord.home;
    let wanted = workflow_commands::wanted_commands(statics, &app.workflows());
    command_sync::sync_guild_commands(http, serenity::GuildId::new(guild_id), &wanted)
        .await
        .with_context(|| format!("cannot sync the commands of the home server {guild_id}"))
}

/// Gateway events poise does not route: commands that come from workflow
/// files (see `dispatch`), review buttons and modal submits.
async fn on_event(
    framework: poise::FrameworkContext<'_, Data, Error>,
    event: &serenity::FullEvent,
) -> Result<(), Error> {
    let (ctx, app) = (framework.serenity_context, framework.user_data);
    if let serenity::FullEvent::Message { new_message } = event {
        warn_if_content_missing(new_message);
        return Ok(());
    }
    if let serenity::FullEvent::ReactionAdd { add_reaction } = event {
        triggers::reaction::on_reaction_add(ctx, app, add_reaction);
        return Ok(());
    }
    if let serenity::FullEvent::ThreadCreate { thread } = event {
        triggers::thread_created::on_thread_create(ctx, app, thread);
        return Ok(());
    }
    let serenity::FullEvent::InteractionCreate { interaction } = event else {
        return Ok(());
    };
    if dispatch::route(framework, interaction).await {
        return Ok(());
    }
    let result = match interaction {
        serenity::Interaction::Component(component) => on_component(ctx, app, component).await,
        serenity::Interaction::Modal(modal) => review_ui::on_modal(ctx, app, modal).await,
        _ => Ok(()),
    };
    if let Err(err) = &result {
        tracing::error!(error = format!("{err:#}"), "review interaction failed");
    }
    result
}

/// Each component handler claims the clicks whose custom ids it owns, in
/// this order; the review card takes the rest.
async fn on_component(
    ctx: &serenity::Context,
    app: &Data,
    component: &serenity::ComponentInteraction,
) -> Result<(), Error> {
    if triggers::review_prompt::on_click(ctx, app, component).await? {
        return Ok(());
    }
    if find::on_component(ctx, app, component).await? {
        return Ok(());
    }
    if machine_status::on_component(ctx, app, component).await? {
        return Ok(());
    }
    review_ui::on_component(ctx, app, component).await
}

/// A human's message with no content, attachments, embeds or stickers is
/// what Discord sends when the privileged Message Content intent is off.
/// Said once per process, since every message would say it again.
fn warn_if_content_missing(message: &serenity::Message) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if looks_like_missing_content(message)
        && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed)
    {
        tracing::warn!(
            "a message arrived with empty content: the Message Content intent seems to be off; \
             enable it in the developer portal (Bot → Privileged Gateway Intents), see docs/setting-up-discord.md"
        );
    }
}

fn looks_like_missing_content(message: &serenity::Message) -> bool {
    message.content.is_empty()
        && message.attachments.is_empty()
        && message.embeds.is_empty()
        && message.sticker_items.is_empty()
        && message.poll.is_none()
        && !message.author.bot
        && message.guild_id.is_some()
}

async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    match error {
        // The startup report carries it to `serve`, which ends the process
        // with it as the cause: logged once, there.
        poise::FrameworkError::Setup { error, .. } => {
            tracing::debug!(error = format!("{error:#}"), "bot setup failed");
        }
        poise::FrameworkError::Command { error, ctx, .. } => {
            tracing::error!(command = %ctx.command().qualified_name, error = format!("{error:#}"), "command failed");
            let reply = poise::CreateReply::default()
                .content("Something went wrong on our side; the error was logged.")
                .ephemeral(true)
                .allowed_mentions(reply::no_mentions());
            let _ = ctx.send(reply).await;
        }
        // The check already answered the person.
        poise::FrameworkError::CommandCheckFailed { error: None, .. } => {}
        // A command from a workflow file: `dispatch` routes it next.
        poise::FrameworkError::UnknownInteraction { .. } => {}
        other => {
            if let Err(err) = poise::builtins::on_error(other).await {
                tracing::error!(error = %err, "error while handling an error");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(content: &str, bot: bool) -> serenity::Message {
        serde_json::from_value(serde_json::json!({
            "id": "1", "channel_id": "2", "guild_id": "3", "type": 0, "content": content,
            "author": {"id": "4", "username": "bob", "discriminator": "0", "global_name": null, "avatar": null, "bot": bot},
            "embeds": [], "attachments": [], "mentions": [], "mention_roles": [], "mention_everyone": false,
            "pinned": false, "tts": false, "timestamp": "2026-01-01T00:00:00.000000+00:00", "edited_timestamp": null, "flags": 0
        }))
        .expect("a valid message")
    }

    #[test]
    fn empty_human_messages_mean_the_content_intent_is_off() {
        assert!(looks_like_missing_content(&message("", false)));
        assert!(!looks_like_missing_content(&message("hello", false)));
        assert!(
            !looks_like_missing_content(&message("", true)),
            "bots may post embeds only"
        );
    }

    #[test]
    fn the_invite_url_asks_for_exactly_the_needed_scopes_and_permissions() {
        let url = invite_url(42);
        assert!(url.contains("client_id=42"));
        assert!(url.contains("scope=bot+applications.commands"));
        // View Channel, Send Messages, Embed Links, Read Message History,
        // Add Reactions, Send Messages in Threads.
        assert!(url.ends_with("permissions=274877992000"), "{url}");
    }

    #[test]
    fn the_core_knows_exactly_the_built_in_slash_commands() {
        // `check` refuses workflow and kind commands named like these.
        let mut served: Vec<String> = static_commands()
            .iter()
            .filter(|c| c.slash_action.is_some() || !c.subcommands.is_empty())
            .map(|c| c.name.to_string())
            .collect();
        served.sort();
        let mut known: Vec<String> = crate::workflow::BUILT_IN_SLASH_COMMANDS
            .iter()
            .map(|n| n.to_string())
            .collect();
        known.sort();
        assert_eq!(served, known);
    }
}
