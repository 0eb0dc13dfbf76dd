//! Rendering a review message: the current suggestion's card (from its
//! kind's card template, with notes and menus) or the closing summary.

use poise::serenity_prelude as serenity;

use super::item_view::item_view;
use crate::app::App;
use crate::discord::{reply, Error};
use crate::records::Media;
use crate::review::{ItemState, Session, SessionStatus};
use crate::text::truncate_chars;
use crate::workflow::Workflows;

/// A rendered review message: one card, or the closing summary.
#[derive(Debug, Clone)]
pub struct ReviewMessage {
    pub content: String,
    pub embed: Option<serenity::CreateEmbed>,
    pub components: Vec<serenity::CreateActionRow>,
}

impl ReviewMessage {
    /// For editing the ephemeral review message.
    pub fn into_edit(self) -> serenity::EditInteractionResponse {
        serenity::EditInteractionResponse::new()
            .content(truncate_chars(&self.content, reply::CONTENT_LIMIT))
            .embeds(self.embed.into_iter().collect())
            .components(self.components)
            .allowed_mentions(reply::no_mentions())
    }

    /// For answering a modal submit by updating the message.
    pub fn into_update(self) -> serenity::CreateInteractionResponse {
        serenity::CreateInteractionResponse::UpdateMessage(
            serenity::CreateInteractionResponseMessage::new()
                .content(truncate_chars(&self.content, reply::CONTENT_LIMIT))
                .embeds(self.embed.into_iter().collect())
                .components(self.components)
                .allowed_mentions(reply::no_mentions()),
        )
    }
}

/// The message for a session: the current card, or the summary when over,
/// shown with the workflow version the review started on.
pub async fn render(app: &App, session: &Session) -> Result<ReviewMessage, Error> {
    let workflows = app.review_display_workflows(session.id).await;
    match (session.status, session.current()) {
        (SessionStatus::Reviewing, Some(current)) => {
            card(app, &workflows, session, current.position).await
        }
        _ => summary(app, &workflows, session).await,
    }
}

async fn card(
    app: &App,
    workflows: &Workflows,
    session: &Session,
    position: usize,
) -> Result<ReviewMessage, Error> {
    let entry = &session.items[position];
    let item = &entry.item;
    let Some(kind) = workflows.kinds.get(&item.kind) else {
        anyhow::bail!("review item of undeclared kind {}", item.kind);
    };
    let view = item_view(app, workflows, kind, session, position).await?;
    let message = workflows
        .templates
        .render_message(&kind.card_template, &view)?;
    let total = session.items.len();
    let mut embed = serenity::CreateEmbed::new()
        .title(truncate_chars(&message.title, reply::EMBED_TITLE_LIMIT))
        .description(truncate_chars(
            &message.body,
            reply::EMBED_DESCRIPTION_LIMIT,
        ))
        .footer(serenity::CreateEmbedFooter::new(format!(
            "Suggestion {} of {total}",
            position + 1
        )));
    if let Some(photo) = item
        .media
        .iter()
        .find(|m| Media::is_image(m.content_type.as_deref(), &m.filename))
    {
        embed = embed.thumbnail(photo.url.clone());
    }
    let needs_machine = item.needs_machine(&workflows.kinds, entry.parent_position.is_some());
    let mut notes = Vec::new();
    if needs_machine {
        notes.push(match &item.machine_hint {
            Some(hint) => format!(
                "⚠️ The machine `{}` is not in the catalog. Choose one below (or with **Edit**) before creating.",
                hint.replace('`', "'")
            ),
            None => "⚠️ This needs a machine. Choose one below (or with **Edit**) before creating.".to_string(),
        });
    }
    if let Some(hint) = &item.author_hint {
        notes.push(format!("ℹ️ {}", reply::escape_markdown(hint)));
    }
    notes.extend(crate::discord::duplicate_ui::notes(
        app, workflows, session, position,
    ));
    let content = notes.join("\n");
    let mut components = crate::discord::card_menus::card_rows(
        app,
        workflows,
        kind,
        session,
        position,
        needs_machine,
    )
    .await?;
    components.extend(crate::discord::duplicate_ui::attach_row(
        workflows, session, position,
    ));
    Ok(ReviewMessage {
        content,
        embed: Some(embed),
        components,
    })
}

/// What was created (with links) and skipped; no buttons.
async fn summary(
    app: &App,
    workflows: &Workflows,
    session: &Session,
) -> Result<ReviewMessage, Error> {
    let heading = match session.status {
        SessionStatus::Cancelled => "Review cancelled.",
        SessionStatus::Expired => "This review expired.",
        SessionStatus::Failed => "This review could not finish.",
        _ => "Review finished.",
    };
    let mut lines = Vec::new();
    for entry in &session.items {
        let kind = workflows.kinds.get(&entry.item.kind);
        let label = kind
            .map(|k| format!("{} {}", k.emoji, k.label))
            .unwrap_or_else(|| entry.item.kind.clone());
        let snippet = truncate_chars(
            entry.item.description.lines().next().unwrap_or_default(),
            80,
        );
        match (entry.state, entry.record_id) {
            (ItemState::Created, Some(id)) => {
                let link = match (&app.secrets.public_base_url, kind) {
                    (Some(base), Some(kind)) => format!(" — {}", base.record(&kind.link_path, id)),
                    _ => String::new(),
                };
                lines.push(format!("✅ {label} #{id}{link}"));
            }
            (ItemState::Skipped, _) => lines.push(format!(
                "⏭️ Skipped {label}: {}",
                reply::escape_markdown(&snippet)
            )),
            _ => lines.push(format!(
                "◻️ Not created: {label}: {}",
                reply::escape_markdown(&snippet)
            )),
        }
    }
    let created = session
        .items
        .iter()
        .filter(|i| i.state == ItemState::Created)
        .count();
    let embed = serenity::CreateEmbed::new()
        .title(format!("{heading} {created} record(s) created."))
        .description(truncate_chars(
            &lines.join("\n"),
            reply::EMBED_DESCRIPTION_LIMIT,
        ));
    Ok(ReviewMessage {
        content: String::new(),
        embed: Some(embed),
        components: Vec::new(),
    })
}
