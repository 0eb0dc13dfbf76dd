//! Deciding one day's summary, exactly once: the claim (a unique row per
//! summary and local date), the content, the rendered message and its
//! outbox row are written in one transaction. A second process, or the same
//! one after a restart, finds the claim and does nothing; a failure before
//! the commit leaves nothing behind, so the next attempt starts afresh.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

use super::content::{self, SummaryView, Window};
use crate::config::settings::bool_in;
use crate::config::SettingKey;
use crate::notify::message::{MAX_DESCRIPTION, MAX_TITLE};
use crate::templates::{RenderedMessage, TemplateError, Templates};
use crate::text::truncate_chars;
use crate::workflow::{Summary, Workflows};

/// What became of one day's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Queued for the webhook: `post` in `summary_posts`, `outbox` its row.
    Queued {
        post: i64,
        outbox: i64,
        records: usize,
    },
    /// No records in the window: nothing posted (claimed, so not asked again).
    NothingToSay,
    /// `DISCORD_WEBHOOKS_ENABLED` is off: nothing posted (claimed, so the
    /// day is not posted late when posting is switched on).
    WebhooksOff,
    /// Another process (or an earlier run) decided it already.
    AlreadyDecided,
}

#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("database error while preparing the summary: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the summary template failed: {0}")]
    Template(#[from] TemplateError),
}

/// Decides the summary for local `date`, due at `window.end`.
pub async fn decide(
    pool: &PgPool,
    workflows: &Workflows,
    summary: &Summary,
    window: Window,
    base_url: Option<&crate::config::PublicBaseUrl>,
    now: DateTime<Utc>,
) -> Result<Decision, SummaryError> {
    let mut tx = pool.begin().await?;
    // Concurrent claimers wait here for the first one's commit, then find
    // its row; if it rolled back, one of them claims instead.
    let claimed: Option<i64> = sqlx::query_scalar(
        "INSERT INTO summary_posts (summary, local_date, due_at, window_start, outcome, decided_at)
         VALUES ($1, $2, $3, $4, 'nothing_to_say', $5)
         ON CONFLICT (summary, local_date) DO NOTHING
         RETURNING id",
    )
    .bind(&summary.name)
    .bind(window.date)
    .bind(window.end)
    .bind(window.start)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(post) = claimed else {
        tx.rollback().await?;
        return Ok(Decision::AlreadyDecided);
    };
    let view = content::load(&mut tx, summary, &workflows.kinds, window, base_url).await?;
    if view.record_count == 0 {
        tx.commit().await?;
        return Ok(Decision::NothingToSay);
    }
    if !bool_in(&mut tx, SettingKey::DiscordWebhooksEnabled).await? {
        sqlx::query("UPDATE summary_posts SET outcome = 'webhooks_off' WHERE id = $1")
            .bind(post)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(Decision::WebhooksOff);
    }
    let message = render_fitted(&workflows.templates, &summary.template, &view)?;
    sqlx::query(
        "UPDATE summary_posts SET outcome = 'queued', title = $2, body = $3, record_count = $4
         WHERE id = $1",
    )
    .bind(post)
    .bind(&message.title)
    .bind(&message.body)
    .bind(i32::try_from(view.record_count).unwrap_or(i32::MAX))
    .execute(&mut *tx)
    .await?;
    let outbox = crate::outbox::enqueue_summary_in(&mut tx, post, now).await?;
    tx.commit().await?;
    Ok(Decision::Queued {
        post,
        outbox,
        records: view.record_count,
    })
}

/// How many items per list are tried, largest first, until the message
/// fits in one embed.
const CAPS: &[usize] = &[usize::MAX, 25, 15, 10, 5, 3, 1, 0];

/// Renders the summary within Discord's embed limits: every list is cut to
/// the same number of items (the template says "…and N more") until the
/// body fits; as a last resort the body is cut.
pub fn render_fitted(
    templates: &Templates,
    template: &str,
    view: &SummaryView,
) -> Result<RenderedMessage, TemplateError> {
    let mut last = None;
    for &cap in CAPS {
        let message = templates.render_message(template, view.capped(cap))?;
        if message.body.chars().count() <= MAX_DESCRIPTION {
            return Ok(fit_title(message));
        }
        last = Some(message);
    }
    let mut message = match last {
        Some(message) => message,
        None => templates.render_message(template, view)?,
    };
    message.body = truncate_chars(&message.body, MAX_DESCRIPTION);
    Ok(fit_title(message))
}

fn fit_title(mut message: RenderedMessage) -> RenderedMessage {
    message.title = truncate_chars(&message.title, MAX_TITLE);
    message
}

/// The window of the summary due for local `date`: from the previous day's
/// due time (exclusive) to this one (inclusive), so consecutive summaries
/// cover every record once, 23 or 25 hours across a DST change.
pub(crate) fn window_for(schedule: &super::Schedule, date: NaiveDate) -> Window {
    let end: DateTime<Utc> = schedule.due_on(date);
    let start = date
        .pred_opt()
        .map_or(end - chrono::Duration::days(1), |previous| {
            schedule.due_on(previous)
        });
    Window { date, start, end }
}

/// The most recent decision about the summary `name`: what `/flipfix
/// status` shows.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LastDecision {
    pub local_date: NaiveDate,
    /// `queued`, `nothing_to_say` or `webhooks_off`.
    pub outcome: String,
    pub record_count: i32,
}

pub async fn last_decision(
    pool: &sqlx::PgPool,
    name: &str,
) -> Result<Option<LastDecision>, sqlx::Error> {
    sqlx::query_as(
        "SELECT local_date, outcome, record_count FROM summary_posts
         WHERE summary = $1 ORDER BY local_date DESC LIMIT 1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await
}
