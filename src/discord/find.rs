//! `/find` and `/history`: search the records from Discord. Both are for
//! every member of the home server (not only managers): the home-server
//! gate already refuses everyone else, so in Discord a person is a member
//! and sees every kind. The visibility filter stays in the call, so a
//! future rule (say, per-role) has one place to go.

use poise::serenity_prelude as serenity;

use super::{reply, Context, Data, Error};
use crate::app::App;
use crate::records::browse::{self, Filter, PageRequest, Summary, Visible};
use crate::text::truncate_chars;

/// Records per `/find` answer and per `/history` page.
const FIND_LIMIT: u32 = 10;
const HISTORY_PAGE: u32 = 10;
/// `/history` page buttons: `fxh:<machine id>:<page>`. Not `ff:`, which
/// belongs to the review.
const HISTORY_PREFIX: &str = "fxh:";

/// In Discord, everyone past the home-server gate is a member.
fn visible_in_discord(app: &App) -> Visible {
    Visible::for_viewer(&app.workflows().kinds, |_| true)
}

/// Find records by text, optionally on one machine or of one kind.
#[poise::command(slash_command, guild_only)]
pub async fn find(
    ctx: Context<'_>,
    #[description = "Words to look for"] text: String,
    #[description = "Only this machine"]
    #[autocomplete = "super::admin::autocomplete_machine"]
    machine: Option<String>,
    #[description = "Only this kind of record"]
    #[autocomplete = "autocomplete_kind"]
    kind: Option<String>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let app = ctx.data();
    if let Some(kind) = &kind {
        if app.workflows().kinds.get(kind).is_none() {
            return reply::ephemeral(
                ctx,
                format!(
                    "There is no record kind `{}`; pick one from the list.",
                    reply::escape_markdown(kind)
                ),
            )
            .await;
        }
    }
    let filter = Filter {
        text: Some(text.clone()),
        machine_slug: machine.clone(),
        kind,
        ..Filter::default()
    };
    let listed = browse::latest(
        &mut *app.pool.acquire().await?,
        &visible_in_discord(app),
        &filter,
        PageRequest::new(1, FIND_LIMIT),
    )
    .await?;
    let title = format!("Records matching “{}”", truncate_chars(&text, 100));
    if listed.items.is_empty() {
        return reply::ephemeral_embed(ctx, &title, "Nothing matches. Try fewer or other words.")
            .await;
    }
    let mut body = lines(app, &listed.items);
    if listed.has_next {
        body.push_str(&format!(
            "\nShowing the newest {FIND_LIMIT}; add words to narrow."
        ));
    }
    reply::ephemeral_embed(ctx, &title, &body).await
}

/// The last records of a machine, newest first, with buttons to page.
#[poise::command(slash_command, guild_only)]
pub async fn history(
    ctx: Context<'_>,
    #[description = "Machine"]
    #[autocomplete = "super::admin::autocomplete_machine"]
    machine: String,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let app = ctx.data();
    let Some(found) = crate::catalog::machines::by_slug(&app.pool, &machine).await? else {
        return reply::ephemeral(
            ctx,
            format!(
                "There is no machine `{}`; pick one from the list.",
                reply::escape_markdown(&machine)
            ),
        )
        .await;
    };
    let (embed, buttons) = history_page(app, &found, 1).await?;
    ctx.send(
        poise::CreateReply::default()
            .embed(embed)
            .components(buttons)
            .ephemeral(true)
            .allowed_mentions(reply::no_mentions()),
    )
    .await?;
    Ok(())
}

/// A `/history` page button: shows that page in place.
pub async fn on_component(
    ctx: &serenity::Context,
    app: &Data,
    component: &serenity::ComponentInteraction,
) -> Result<bool, Error> {
    let Some(rest) = component.data.custom_id.strip_prefix(HISTORY_PREFIX) else {
        return Ok(false);
    };
    let parsed = rest
        .split_once(':')
        .and_then(|(m, p)| Some((m.parse::<i64>().ok()?, p.parse::<u32>().ok()?)));
    let machine = match parsed {
        Some((id, _)) => crate::catalog::machines::by_id(&app.pool, id).await?,
        None => None,
    };
    let response = match (machine, parsed) {
        (Some(machine), Some((_, page))) => {
            let (embed, buttons) = history_page(app, &machine, page).await?;
            serenity::CreateInteractionResponseMessage::new()
                .embed(embed)
                .components(buttons)
                .allowed_mentions(reply::no_mentions())
        }
        _ => serenity::CreateInteractionResponseMessage::new()
            .content("That machine no longer exists; run /history again.")
            .components(Vec::new())
            .allowed_mentions(reply::no_mentions()),
    };
    component
        .create_response(
            &ctx.http,
            serenity::CreateInteractionResponse::UpdateMessage(response),
        )
        .await?;
    Ok(true)
}

async fn history_page(
    app: &App,
    machine: &crate::catalog::Machine,
    page: u32,
) -> Result<(serenity::CreateEmbed, Vec<serenity::CreateActionRow>), Error> {
    let filter = Filter {
        machine_slug: Some(machine.slug.clone()),
        ..Filter::default()
    };
    let request = PageRequest::new(page, HISTORY_PAGE);
    let listed = browse::latest(
        &mut *app.pool.acquire().await?,
        &visible_in_discord(app),
        &filter,
        request,
    )
    .await?;
    let body = if listed.items.is_empty() {
        "No records on this page.".to_string()
    } else {
        lines(app, &listed.items)
    };
    let embed = serenity::CreateEmbed::new()
        .title(truncate_chars(
            &format!(
                "{} · {} · page {}",
                machine.name,
                app.workflows()
                    .kinds
                    .machine_statuses()
                    .display(&machine.status),
                request.number
            ),
            reply::EMBED_TITLE_LIMIT,
        ))
        .description(truncate_chars(&body, reply::EMBED_DESCRIPTION_LIMIT));
    let mut buttons = Vec::new();
    if request.number > 1 {
        buttons.push(
            serenity::CreateButton::new(format!(
                "{HISTORY_PREFIX}{}:{}",
                machine.id,
                request.number - 1
            ))
            .label("Newer")
            .style(serenity::ButtonStyle::Secondary),
        );
    }
    if listed.has_next {
        buttons.push(
            serenity::CreateButton::new(format!(
                "{HISTORY_PREFIX}{}:{}",
                machine.id,
                request.number + 1
            ))
            .label("Older")
            .style(serenity::ButtonStyle::Secondary),
        );
    }
    let rows = if buttons.is_empty() {
        Vec::new()
    } else {
        vec![serenity::CreateActionRow::Buttons(buttons)]
    };
    Ok((embed, rows))
}

/// One line per record, linked to its page when `PUBLIC_BASE_URL` is set.
fn lines(app: &App, items: &[Summary]) -> String {
    let workflows = app.workflows();
    let mut out = String::new();
    for item in items {
        let kind = workflows.kinds.get(&item.kind);
        let label = kind.map_or(item.kind.as_str(), |k| k.label.as_str());
        let emoji = kind.map_or("", |k| k.emoji.as_str());
        let name = format!("{label} #{}", item.id);
        let title = match (&app.secrets.public_base_url, kind) {
            (Some(base), Some(kind)) => {
                format!("[{name}](<{}>)", base.record(&kind.link_path, item.id))
            }
            _ => format!("**{name}**"),
        };
        let machine = item
            .machine_name
            .as_deref()
            .map(|m| format!(" · {}", reply::escape_markdown(m)))
            .unwrap_or_default();
        let line = format!(
            "{emoji} {title}{machine} · {}\n{}\n",
            item.occurred_at.format("%Y-%m-%d"),
            reply::escape_markdown(&truncate_chars(&item.description, 120)),
        );
        // Whole lines only: a cut link would show as markup.
        if out.len() + line.len() > reply::EMBED_DESCRIPTION_LIMIT - 100 {
            break;
        }
        out.push_str(&line);
    }
    out
}

async fn autocomplete_kind<'a>(
    ctx: Context<'a>,
    partial: &'a str,
) -> serenity::CreateAutocompleteResponse {
    let partial = partial.to_lowercase();
    let choices = ctx
        .data()
        .workflows()
        .kinds
        .iter()
        .filter(|k| k.name.contains(&partial) || k.label.to_lowercase().contains(&partial))
        .take(25)
        .map(|k| serenity::AutocompleteChoice::new(k.label.clone(), k.name.clone()))
        .collect::<Vec<_>>();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}
