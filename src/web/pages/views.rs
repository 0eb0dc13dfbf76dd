//! What page templates see: plain serializable views, times already
//! formatted, links already built.

use serde::{Deserialize, Serialize};

use super::Viewer;
use crate::records::browse::{Detail, MediaRow, Summary};
use crate::workflow::RecordKinds;

#[derive(Debug, Serialize)]
pub struct ViewerView {
    pub signed_in: bool,
    pub username: Option<String>,
}

impl From<&Viewer> for ViewerView {
    fn from(viewer: &Viewer) -> Self {
        match viewer {
            Viewer::Visitor => Self {
                signed_in: false,
                username: None,
            },
            Viewer::Member { username, .. } => Self {
                signed_in: true,
                username: Some(username.clone()),
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct KindLink {
    pub name: String,
    pub label: String,
    pub emoji: String,
}

#[derive(Debug, Serialize)]
pub struct PhotoLink {
    pub url: String,
    pub filename: String,
    pub is_image: bool,
    /// "photo pending" while the durable copy is being made, "photo
    /// unavailable" when it could not be; none once it is stored.
    pub note: Option<&'static str>,
}

impl From<&MediaRow> for PhotoLink {
    fn from(media: &MediaRow) -> Self {
        use crate::media::store::CopyState;
        // The stored copy outlives Discord's signed CDN URL; until it
        // exists, the CDN URL is all there is (it works for about a day).
        let (url, note) = match media.copy_state {
            CopyState::Stored => (format!("/media/{}", media.id), None),
            CopyState::Skipped => (media.url.clone(), None),
            state => (media.url.clone(), Some(state.label())),
        };
        Self {
            url,
            filename: media.filename.clone(),
            is_image: media.is_image(),
            note,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RecordLink {
    pub id: i64,
    pub url: String,
    pub kind: KindLink,
    pub machine: Option<MachineLink>,
    pub status: Option<String>,
    pub description: String,
    pub author: String,
    /// "2025-01-15 15:23 UTC".
    pub time: String,
    /// RFC 3339, for `<time datetime>`.
    pub time_iso: String,
    pub thumbnail: Option<PhotoLink>,
}

#[derive(Debug, Serialize)]
pub struct MachineLink {
    pub slug: String,
    pub name: String,
    pub url: String,
}

/// The page path of record `id` of `kind`; unknown kinds (a kind removed
/// from the workflows) fall back to `records`.
pub fn record_path(kinds: &RecordKinds, kind: &str, id: i64) -> String {
    let section = kinds.get(kind).map_or("records", |k| k.link_path.as_str());
    crate::config::record_path(section, id)
}

pub fn record_link(kinds: &RecordKinds, summary: &Summary) -> RecordLink {
    let kind = kinds.get(&summary.kind);
    RecordLink {
        id: summary.id,
        url: record_path(kinds, &summary.kind, summary.id),
        kind: KindLink {
            name: summary.kind.clone(),
            label: kind.map_or_else(|| summary.kind.clone(), |k| k.label.clone()),
            emoji: kind.map_or_else(String::new, |k| k.emoji.clone()),
        },
        machine: summary
            .machine_slug
            .as_ref()
            .zip(summary.machine_name.as_ref())
            .map(|(slug, name)| MachineLink {
                slug: slug.clone(),
                name: name.clone(),
                url: format!("/machines/{slug}/"),
            }),
        status: summary.status.clone(),
        description: summary.description.clone(),
        author: summary.author.clone(),
        time: summary.occurred_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        time_iso: summary.occurred_at.to_rfc3339(),
        thumbnail: summary.thumbnail.as_ref().map(PhotoLink::from),
    }
}

#[derive(Debug, Serialize)]
pub struct FieldLine {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct RecordPage {
    pub record: RecordLink,
    /// Declared fields that have a value, in declaration order.
    pub fields: Vec<FieldLine>,
    pub parent: Option<RecordLink>,
    pub children: Vec<RecordLink>,
    pub photos: Vec<PhotoLink>,
    pub sources: Vec<String>,
    /// Status changes, oldest first.
    pub history: Vec<HistoryLine>,
}

/// One status change on a record's page.
#[derive(Debug, Serialize)]
pub struct HistoryLine {
    pub from: Option<String>,
    pub to: String,
    pub who: Option<String>,
    pub time: String,
    pub time_iso: String,
    /// The record that made it (`#N`), linked when it is on the page.
    pub via_id: Option<i64>,
    pub via_url: Option<String>,
}

pub fn record_page(kinds: &RecordKinds, detail: &Detail) -> RecordPage {
    let fields = kinds
        .get(&detail.record.kind)
        .map(|kind| {
            kind.fields
                .iter()
                .filter(|field| Some(&field.name) != kind.status_field.as_ref())
                .filter_map(|field| {
                    let value = detail.fields.get(&field.name)?.as_str()?;
                    Some(FieldLine {
                        label: field.label.clone(),
                        value: value.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    RecordPage {
        record: record_link(kinds, &detail.record),
        fields,
        parent: detail.parent.as_ref().map(|p| record_link(kinds, p)),
        children: detail
            .children
            .iter()
            .map(|c| record_link(kinds, c))
            .collect(),
        photos: detail.media.iter().map(PhotoLink::from).collect(),
        sources: detail.sources.iter().map(|s| s.jump_url()).collect(),
        history: detail
            .history
            .iter()
            .map(|change| HistoryLine {
                from: change.from_status.clone(),
                to: change.to_status.clone(),
                who: change.who(),
                time: change.changed_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                time_iso: change.changed_at.to_rfc3339(),
                via_id: change.via_record_id,
                via_url: change.via_record_id.and_then(|via| {
                    detail
                        .children
                        .iter()
                        .find(|c| c.id == via)
                        .map(|c| record_path(kinds, &c.kind, c.id))
                }),
            })
            .collect(),
    }
}

/// The index's query string, as a form sends it (empty means unset).
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct IndexQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub machine: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub page: Option<String>,
    /// Keyset position of an "older" link (see `browse::Cursor`).
    #[serde(default)]
    pub after: Option<String>,
    /// Keyset position of a "newer" link.
    #[serde(default)]
    pub before: Option<String>,
}

#[derive(Serialize)]
pub struct Paging {
    pub number: u32,
    pub previous: Option<String>,
    pub next: Option<String>,
}

/// A kind in the index's filter.
#[derive(Debug, Serialize)]
pub struct KindOption<'a> {
    pub name: &'a str,
    pub label: &'a str,
}

/// A machine in the index's filter.
#[derive(Debug, Serialize)]
pub struct MachineOption {
    pub slug: String,
    pub name: String,
}

// The contexts are typed and borrow what they can: minijinja reads them as
// they are, with no `serde_json::Value` copy of every string in between.

/// The index page's context.
#[derive(Serialize)]
pub struct IndexContext<'a> {
    pub viewer: ViewerView,
    pub records: Vec<RecordLink>,
    pub query: &'a IndexQuery,
    pub kinds: Vec<KindOption<'a>>,
    pub machines: Vec<MachineOption>,
    pub paging: Paging,
    /// Machines out of service, for the link to the overview.
    pub out_of_service: usize,
}

/// A machine page's context: each root with its children.
#[derive(Serialize)]
pub struct MachineContext<'a> {
    pub viewer: ViewerView,
    pub machine: MachineHeader<'a>,
    pub entries: Vec<Entry>,
    pub paging: Paging,
}

#[derive(Serialize)]
pub struct MachineHeader<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub status: &'a str,
    pub status_label: String,
    pub location: Option<&'a str>,
}

/// A root on a machine page and its children.
#[derive(Serialize)]
pub struct Entry {
    pub record: RecordLink,
    pub children: Vec<RecordLink>,
}

pub fn machine_context<'a>(
    viewer: &Viewer,
    machine: &'a crate::catalog::Machine,
    entries: Vec<(RecordLink, Vec<RecordLink>)>,
    paging: Paging,
    status_label: String,
) -> MachineContext<'a> {
    MachineContext {
        viewer: ViewerView::from(viewer),
        machine: MachineHeader {
            slug: &machine.slug,
            name: &machine.name,
            status: &machine.status,
            status_label,
            location: machine.location.as_deref(),
        },
        entries: entries
            .into_iter()
            .map(|(record, children)| Entry { record, children })
            .collect(),
        paging,
    }
}

/// A record page's context.
#[derive(Serialize)]
pub struct RecordContext {
    pub viewer: ViewerView,
    pub page: RecordPage,
}

pub fn record_context(viewer: &Viewer, page: RecordPage) -> RecordContext {
    RecordContext {
        viewer: ViewerView::from(viewer),
        page,
    }
}

/// The error page's context.
#[derive(Serialize)]
pub struct ErrorContext<'a> {
    pub viewer: ViewerView,
    pub status: u16,
    pub message: &'a str,
    /// Where to sign in to see a members-only page (a visitor's "not
    /// found" carries it, whether or not the page exists).
    pub sign_in: Option<&'a str>,
}

pub fn error_context<'a>(
    viewer: &Viewer,
    status: u16,
    message: &'a str,
    sign_in: Option<&'a str>,
) -> ErrorContext<'a> {
    ErrorContext {
        viewer: ViewerView::from(viewer),
        status,
        message,
        sign_in,
    }
}
