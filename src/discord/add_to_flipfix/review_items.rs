//! The analysis' suggestions as review items: machine, sources, time,
//! media and attribution for each, children after their parent.

use std::collections::BTreeMap;

use poise::serenity_prelude as serenity;

use crate::analysis::validate::{MachineMatch, SuggestedAuthor, Suggestion};
use crate::analysis::Analysis;
use crate::app::App;
use crate::catalog::attribution::{attribute, Attribution, DiscordPerson};
use crate::catalog::{machines, maintainers};
use crate::discord::Error;
use crate::records::{Author, Media, SourceMessage};
use crate::review::ReviewItem;

/// The roles of `user_id` when Discord told them: the invoker's member
/// object, or the clicked message's member. Other authors' roles are not
/// known (no member lookup per author), so with `DISCORD_MAINTAINER_ROLE`
/// set they are not linked by username until they use the bot themselves
/// or an admin links them.
fn known_roles(
    interaction: &serenity::CommandInteraction,
    target: &serenity::Message,
    user_id: u64,
) -> Option<Vec<u64>> {
    let ids = |roles: &[serenity::RoleId]| roles.iter().map(|r| r.get()).collect();
    if interaction.user.id.get() == user_id {
        if let Some(member) = &interaction.member {
            return Some(ids(&member.roles));
        }
    }
    if target.author.id.get() == user_id {
        if let Some(member) = &target.member {
            return Some(ids(&member.roles));
        }
    }
    None
}

/// The suggestions as review items, children after their parent.
pub(super) async fn review_items(
    app: &App,
    interaction: &serenity::CommandInteraction,
    target: &serenity::Message,
    analysis: &Analysis,
) -> Result<Vec<(ReviewItem, Option<usize>)>, Error> {
    let mut items = Vec::new();
    let mut stack: Vec<(&Suggestion, Option<usize>)> = analysis
        .suggestions
        .iter()
        .rev()
        .map(|s| (s, None))
        .collect();
    while let Some((suggestion, parent)) = stack.pop() {
        let position = items.len();
        items.push((
            review_item(app, interaction, target, analysis, suggestion).await?,
            parent,
        ));
        stack.extend(
            suggestion
                .children
                .iter()
                .rev()
                .map(|child| (child, Some(position))),
        );
    }
    Ok(items)
}

async fn review_item(
    app: &App,
    interaction: &serenity::CommandInteraction,
    target: &serenity::Message,
    analysis: &Analysis,
    suggestion: &Suggestion,
) -> Result<ReviewItem, Error> {
    let conversation = &analysis.conversation;
    let guild_id = interaction.guild_id.map(|g| g.get());
    let (machine_id, machine_hint) = match &suggestion.machine {
        MachineMatch::Known {
            id: Some(id), name, ..
        } => (Some(*id), Some(name.clone())),
        MachineMatch::Known {
            id: None,
            slug,
            name,
        } => (
            machines::by_slug(&app.pool, slug).await?.map(|m| m.id),
            Some(name.clone()),
        ),
        MachineMatch::Unknown { said } => (None, said.clone()),
        MachineMatch::None => (None, None),
    };
    let mut ids: Vec<u64> = suggestion.source_message_ids.clone();
    if !ids.contains(&target.id.get()) {
        ids.push(target.id.get());
    }
    let sources: Vec<SourceMessage> = ids
        .iter()
        .map(|id| SourceMessage {
            guild_id,
            channel_id: conversation
                .get(*id)
                .map(|m| m.message.channel_id)
                .unwrap_or(target.channel_id.get()),
            message_id: *id,
        })
        .collect();
    let occurred_at = ids
        .iter()
        .filter_map(|id| conversation.get(*id))
        .map(|m| m.message.timestamp)
        .max()
        .unwrap_or_else(|| app.clock.now());
    let media = ids
        .iter()
        .filter_map(|id| conversation.get(*id))
        .flat_map(|m| m.message.attachments.iter())
        .filter_map(|a| media_from_url(&a.url))
        .collect();
    let role = app
        .settings
        .get_role(crate::config::SettingKey::DiscordMaintainerRole)
        .await?;
    let attribution = match &suggestion.author {
        Some(SuggestedAuthor::Discord {
            id,
            username,
            display_name,
        }) => {
            let person = DiscordPerson {
                user_id: *id,
                username: username.clone(),
                global_name: Some(display_name.clone()),
                nickname: None,
                roles: known_roles(interaction, target, *id),
            };
            attribute(&app.pool, &person, role).await?
        }
        Some(SuggestedAuthor::Records { name }) => {
            let author = match maintainers::by_username(&app.pool, name).await? {
                Some(maintainer) => Author::Maintainer(maintainer.id),
                None => Author::Name(name.clone()),
            };
            Attribution { author, hint: None }
        }
        None => {
            let author = &target.author;
            let person = DiscordPerson {
                user_id: author.id.get(),
                username: author.name.clone(),
                global_name: author.global_name.clone(),
                nickname: target.member.as_ref().and_then(|m| m.nick.clone()),
                roles: known_roles(interaction, target, author.id.get()),
            };
            attribute(&app.pool, &person, role).await?
        }
    };
    Ok(ReviewItem {
        kind: suggestion.kind.clone(),
        machine_id,
        machine_hint,
        description: suggestion.description.clone(),
        fields: suggestion
            .fields
            .clone()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        parent_record_id: suggestion.parent_record_id,
        sources,
        author: attribution.author,
        author_hint: attribution.hint,
        occurred_at,
        media,
        resolves: suggestion.resolves,
    })
}

/// An attachment URL as record media, when it is a photo or video.
fn media_from_url(url: &str) -> Option<Media> {
    let parsed = url::Url::parse(url).ok()?;
    let filename = parsed.path_segments()?.next_back()?.to_string();
    Media::is_photo_or_video(None, &filename).then(|| Media {
        url: url.to_string(),
        filename,
        content_type: None,
        size_bytes: None,
    })
}
