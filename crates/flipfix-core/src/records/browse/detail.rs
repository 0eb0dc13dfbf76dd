//! One record with its parent, children, source messages and media.

use sqlx::PgConnection;

use crate::domain::Snowflake;

use super::{list::children_of, Summary, SummaryRow, Visible, SUMMARY_COLUMNS, SUMMARY_JOINS};

/// A photo or video kept with a record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MediaRow {
    pub id: i64,
    pub url: String,
    pub filename: String,
    pub content_type: Option<String>,
    /// Whether a durable copy exists (`media::store::CopyState`).
    pub copy_state: crate::media::store::CopyState,
}

impl MediaRow {
    pub fn is_image(&self) -> bool {
        crate::records::Media::is_image(self.content_type.as_deref(), &self.filename)
    }
}

/// A Discord message a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SourceRow {
    pub guild_id: Option<u64>,
    pub channel_id: u64,
    pub message_id: u64,
}

impl SourceRow {
    /// Discord's jump link; `@me` for a message outside a server.
    pub fn jump_url(&self) -> String {
        let guild = self
            .guild_id
            .map_or_else(|| "@me".to_string(), |g| g.to_string());
        format!(
            "https://discord.com/channels/{guild}/{}/{}",
            self.channel_id, self.message_id
        )
    }
}

/// A record with everything its page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    pub record: Summary,
    pub fields: serde_json::Value,
    /// `None` when there is none or the viewer may not see it.
    pub parent: Option<Summary>,
    pub children: Vec<Summary>,
    pub sources: Vec<SourceRow>,
    pub media: Vec<MediaRow>,
    /// Every change of its status, oldest first.
    pub history: Vec<crate::records::status::StatusChange>,
}

/// What looking a record up found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetailLookup {
    Found(Box<Detail>),
    /// The record exists but its kind is not visible: the caller decides
    /// (a sign-in redirect on the web), and must not show anything of it.
    Hidden {
        kind: String,
    },
    NotFound,
}

pub async fn record_detail(
    conn: &mut PgConnection,
    visible: &Visible,
    id: i64,
) -> Result<DetailLookup, sqlx::Error> {
    let sql = format!("SELECT {SUMMARY_COLUMNS}, r.fields{SUMMARY_JOINS} WHERE r.id = $1");
    let Some(row) = sqlx::query_as::<_, DetailRow>(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(DetailLookup::NotFound);
    };
    if !visible.contains(&row.summary.kind) {
        return Ok(DetailLookup::Hidden {
            kind: row.summary.kind,
        });
    }
    let record = Summary::from(row.summary);
    let parent = match record.parent_id {
        Some(parent_id) => {
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS}{SUMMARY_JOINS} WHERE r.id = $1 AND r.kind = ANY($2)"
            );
            sqlx::query_as::<_, SummaryRow>(&sql)
                .bind(parent_id)
                .bind(visible.kinds())
                .fetch_optional(&mut *conn)
                .await?
                .map(Summary::from)
        }
        None => None,
    };
    let children = children_of(conn, visible.kinds(), id).await?;
    let sources = sqlx::query_as::<_, (Option<Snowflake>, Snowflake, Snowflake)>(
        "SELECT guild_id, channel_id, message_id FROM record_sources WHERE record_id = $1 \
         ORDER BY message_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(guild, channel, message)| SourceRow {
        guild_id: guild.map(Snowflake::get),
        channel_id: channel.get(),
        message_id: message.get(),
    })
    .collect();
    let media = media_for(conn, &[id])
        .await?
        .into_iter()
        .map(|(_, media)| media)
        .collect();
    let history = crate::records::status::history(&mut *conn, id).await?;
    Ok(DetailLookup::Found(Box::new(Detail {
        record,
        fields: row.fields,
        parent,
        children,
        sources,
        media,
        history,
    })))
}

#[derive(sqlx::FromRow)]
struct DetailRow {
    #[sqlx(flatten)]
    summary: SummaryRow,
    fields: serde_json::Value,
}

/// The media of `records`, in the order they were kept.
pub(super) async fn media_for(
    conn: &mut PgConnection,
    records: &[i64],
) -> Result<Vec<(i64, MediaRow)>, sqlx::Error> {
    let rows: Vec<(
        i64,
        i64,
        String,
        String,
        Option<String>,
        crate::media::store::CopyState,
    )> = sqlx::query_as(
        "SELECT record_id, id, url, filename, content_type, copy_state FROM record_media \
         WHERE record_id = ANY($1) ORDER BY record_id, id",
    )
    .bind(records)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(record_id, id, url, filename, content_type, copy_state)| {
            (
                record_id,
                MediaRow {
                    id,
                    url,
                    filename,
                    content_type,
                    copy_state,
                },
            )
        })
        .collect())
}
