//! The read model behind record pages and search: lists with filters and
//! full-text search, the machines overview, a machine's timeline, one record
//! with its family, sources and media. No HTTP and no Discord here; every query takes a
//! [`Visible`] set of kinds so a record the caller may not see never appears
//! in any list, timeline or family. Each read takes one connection and runs
//! all its queries on it: a page is one pool checkout (each checkout pings
//! the connection first, a round trip of its own), and a page's queries
//! never wait for a second connection while holding the first.

mod detail;
mod list;
mod machines;
mod overview_cache;
mod page;

pub use detail::{record_detail, Detail, DetailLookup, MediaRow, SourceRow};
pub use list::{latest, machine_timeline, Listed, Timeline, TimelineEntry};
pub use machines::{machines_overview, MachineOverview, OpenCount};
pub use overview_cache::OverviewCache;
pub use page::{Cursor, PageRequest, Seek};

use chrono::{DateTime, Utc};

use crate::workflow::{RecordKinds, WebAccess};

/// Largest page any caller may ask for.
pub const MAX_PAGE_SIZE: u32 = 100;

/// The kinds a viewer may see. Built from the kinds' `web` declarations and
/// a rule for the viewer, so callers cannot forget the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visible(Vec<String>);

impl Visible {
    pub fn for_viewer(kinds: &RecordKinds, can_see: impl Fn(WebAccess) -> bool) -> Self {
        Self(
            kinds
                .iter()
                .filter(|kind| can_see(kind.web))
                .map(|kind| kind.name.clone())
                .collect(),
        )
    }

    pub fn contains(&self, kind: &str) -> bool {
        self.0.iter().any(|k| k == kind)
    }

    pub fn kinds(&self) -> &[String] {
        &self.0
    }
}

/// Narrowing of a list; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub kind: Option<String>,
    pub machine_slug: Option<String>,
    pub status: Option<String>,
    /// Matches a maintainer's username or display name, or a kept author
    /// name, case-insensitively.
    pub author: Option<String>,
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
    /// Full-text search (web-search syntax: words, "phrases", -not, or).
    pub text: Option<String>,
}

/// A record as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub id: i64,
    pub kind: String,
    pub parent_id: Option<i64>,
    pub machine_slug: Option<String>,
    pub machine_name: Option<String>,
    pub status: Option<String>,
    pub description: String,
    pub author: String,
    pub occurred_at: DateTime<Utc>,
    /// The first photo, for a thumbnail.
    pub thumbnail: Option<MediaRow>,
}

/// Columns every summary query selects (`r` records, `m` machines, `a`
/// maintainers).
const SUMMARY_COLUMNS: &str = "r.id, r.kind, r.parent_id, m.slug AS machine_slug, \
     m.name AS machine_name, r.status, r.description, \
     coalesce(a.display_name, a.username, r.author_name, '') AS author, r.occurred_at";

const SUMMARY_JOINS: &str = " FROM records r LEFT JOIN machines m ON m.id = r.machine_id \
     LEFT JOIN maintainers a ON a.id = r.author_maintainer_id";

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    kind: String,
    parent_id: Option<i64>,
    machine_slug: Option<String>,
    machine_name: Option<String>,
    status: Option<String>,
    description: String,
    author: String,
    occurred_at: DateTime<Utc>,
}

impl From<SummaryRow> for Summary {
    fn from(row: SummaryRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            parent_id: row.parent_id,
            machine_slug: row.machine_slug,
            machine_name: row.machine_name,
            status: row.status,
            description: row.description,
            author: row.author,
            occurred_at: row.occurred_at,
            thumbnail: None,
        }
    }
}

/// Attaches the first image of each summary, in one query.
async fn attach_thumbnails(
    conn: &mut sqlx::PgConnection,
    summaries: &mut [Summary],
) -> Result<(), sqlx::Error> {
    let ids: Vec<i64> = summaries.iter().map(|s| s.id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<(i64, MediaRow)> = detail::media_for(conn, &ids).await?;
    for summary in summaries.iter_mut() {
        summary.thumbnail = rows
            .iter()
            .find(|(record_id, media)| *record_id == summary.id && media.is_image())
            .map(|(_, media)| media.clone());
    }
    Ok(())
}
