//! What a daily summary says: the window's records per machine, then each
//! declared listing by age. Read from the records in the
//! claiming transaction; every text from records is escaped Discord
//! markdown on one line, so it shows as typed and cannot break the layout.

use chrono::{DateTime, NaiveDate, Utc};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use sqlx::PgConnection;

use crate::records::view::MachineStatusView;
use crate::workflow::{RecordKinds, StatusListing, Summary};

/// Longest one-line text shown for a record.
const LINE_CHARS: usize = 100;
/// Heading of records with no machine.
const NO_MACHINE: &str = "No machine";

/// The template's context.
#[derive(Debug, Clone)]
pub struct SummaryView {
    /// The summary's name (`daily`).
    pub name: String,
    /// The local date covered, `2026-11-24`.
    pub date: String,
    /// The same, for people: `Tuesday 24 November 2026`.
    pub date_long: String,
    pub timezone: String,
    /// Records in the window (all of them, shown or not).
    pub record_count: usize,
    pub machines: Vec<MachineGroup>,
    /// Machines left out to fit Discord's limit.
    pub machines_more: usize,
    /// The declared listings, in order.
    pub listings: Vec<Listing>,
    /// Machines not in normal service (not `good`), out of service first.
    pub machine_statuses: Vec<MachineStatusLine>,
    /// Machines left out of `machine_statuses` to fit.
    pub machine_statuses_more: usize,
}

/// Every field by name; a listing read from 0.3's `open_reports` /
/// `parts_waiting` also under that name, so a template written for 0.3
/// still renders.
impl Serialize for SummaryView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("date", &self.date)?;
        map.serialize_entry("date_long", &self.date_long)?;
        map.serialize_entry("timezone", &self.timezone)?;
        map.serialize_entry("record_count", &self.record_count)?;
        map.serialize_entry("machines", &self.machines)?;
        map.serialize_entry("machines_more", &self.machines_more)?;
        map.serialize_entry("listings", &self.listings)?;
        map.serialize_entry("machine_statuses", &self.machine_statuses)?;
        map.serialize_entry("machine_statuses_more", &self.machine_statuses_more)?;
        for listing in &self.listings {
            if let Some(alias) = listing.template_alias {
                map.serialize_entry(alias, listing)?;
            }
        }
        map.end()
    }
}

/// One machine's records in the window.
#[derive(Debug, Clone, Serialize)]
pub struct MachineGroup {
    pub name: String,
    pub records: Vec<Line>,
    /// Records left out to fit.
    pub more: usize,
}

/// A machine not in normal service, with its status.
#[derive(Debug, Clone, Serialize)]
pub struct MachineStatusLine {
    /// The machine's short name or name, escaped.
    pub machine: String,
    pub status: MachineStatusView,
}

/// One declared listing's records: oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// The declared heading (`Parts waiting`).
    pub title: String,
    pub kind: String,
    /// The statuses listed; a template shows each line's status when there
    /// are several.
    pub statuses: Vec<String>,
    #[serde(skip)]
    pub template_alias: Option<&'static str>,
    pub items: Vec<Line>,
    /// How many there are in all.
    pub total: usize,
    /// Items left out to fit.
    pub more: usize,
}

/// One record on one line.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub id: i64,
    pub kind: String,
    pub label: String,
    pub emoji: String,
    /// The description's first line, escaped and cut.
    pub text: String,
    pub status: Option<String>,
    /// The machine's name, escaped (empty when none).
    pub machine: String,
    /// Whole days since it happened, at the due time.
    pub age_days: i64,
    /// The record's page, when `PUBLIC_BASE_URL` is set.
    pub url: Option<String>,
}

/// The time span and place a summary covers.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub date: NaiveDate,
    /// Exclusive: the previous day's due time.
    pub start: DateTime<Utc>,
    /// Inclusive: this day's due time.
    pub end: DateTime<Utc>,
}

/// id, kind, description, status, occurred_at, machine name, machine id.
type Row = (
    i64,
    String,
    String,
    Option<String>,
    DateTime<Utc>,
    Option<String>,
    Option<i64>,
);

/// Reads the summary's content on `conn` (the claiming transaction).
pub async fn load(
    conn: &mut PgConnection,
    summary: &Summary,
    kinds: &RecordKinds,
    window: Window,
    base_url: Option<&crate::config::PublicBaseUrl>,
) -> Result<SummaryView, sqlx::Error> {
    // The window's records by when they entered the bot (imports excepted:
    // they are old history), grouped by machine, machineless last.
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.id, r.kind, r.description, r.status, r.occurred_at,
                COALESCE(m.short_name, m.name), m.id
         FROM records r LEFT JOIN machines m ON m.id = r.machine_id
         WHERE r.created_at > $1 AND r.created_at <= $2 AND r.created_via <> 'import'
         ORDER BY COALESCE(m.short_name, m.name) NULLS LAST, m.id, r.created_at, r.id",
    )
    .bind(window.start)
    .bind(window.end)
    .fetch_all(&mut *conn)
    .await?;
    let record_count = rows.len();
    let mut machines: Vec<MachineGroup> = Vec::new();
    // Rows come sorted by machine; a new machine id starts a new group.
    let mut current: Option<Option<i64>> = None;
    for row in rows {
        let machine_id = row.6;
        let group_name = row
            .5
            .as_deref()
            .map_or_else(|| NO_MACHINE.to_string(), escape_markdown);
        let line = line_of(row, kinds, window.end, base_url);
        match machines.last_mut() {
            Some(group) if current == Some(machine_id) => group.records.push(line),
            _ => {
                current = Some(machine_id);
                machines.push(MachineGroup {
                    name: group_name,
                    records: vec![line],
                    more: 0,
                });
            }
        }
    }
    let mut listings = Vec::with_capacity(summary.listings.len());
    for declared in &summary.listings {
        listings.push(listing(conn, declared, kinds, window.end, base_url).await?);
    }
    let machine_statuses = machines_not_good(conn, kinds).await?;
    Ok(SummaryView {
        name: summary.name.clone(),
        date: window.date.format("%Y-%m-%d").to_string(),
        date_long: window.date.format("%A %-d %B %Y").to_string(),
        timezone: summary.timezone.name().to_string(),
        record_count,
        machines,
        machines_more: 0,
        listings,
        machine_statuses,
        machine_statuses_more: 0,
    })
}

/// Every machine in a declared status other than normal service, as it is
/// now: out of service first, then by name.
async fn machines_not_good(
    conn: &mut PgConnection,
    kinds: &RecordKinds,
) -> Result<Vec<MachineStatusLine>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT COALESCE(short_name, name), status FROM machines ORDER BY COALESCE(short_name, name), id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let statuses = kinds.machine_statuses();
    let mut lines: Vec<MachineStatusLine> = rows
        .into_iter()
        .filter(|(_, status)| statuses.is_not_good(status))
        .map(|(name, status)| MachineStatusLine {
            machine: escape_markdown(&name),
            status: MachineStatusView::new(statuses, &status),
        })
        .collect();
    // Stable: names stay in order within each group.
    lines.sort_by_key(|line| !line.status.out_of_service);
    Ok(lines)
}

/// Records of the listing's kind and statuses that existed at `at`,
/// oldest first.
async fn listing(
    conn: &mut PgConnection,
    listing: &StatusListing,
    kinds: &RecordKinds,
    at: DateTime<Utc>,
    base_url: Option<&crate::config::PublicBaseUrl>,
) -> Result<Listing, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.id, r.kind, r.description, r.status, r.occurred_at,
                COALESCE(m.short_name, m.name), m.id
         FROM records r LEFT JOIN machines m ON m.id = r.machine_id
         WHERE r.kind = $1 AND r.status = ANY($2) AND r.created_at <= $3
         ORDER BY r.occurred_at, r.id",
    )
    .bind(&listing.kind)
    .bind(&listing.statuses)
    .bind(at)
    .fetch_all(&mut *conn)
    .await?;
    let items: Vec<Line> = rows
        .into_iter()
        .map(|row| line_of(row, kinds, at, base_url))
        .collect();
    Ok(Listing {
        total: items.len(),
        more: 0,
        ..empty_listing(listing, items)
    })
}

fn empty_listing(declared: &StatusListing, items: Vec<Line>) -> Listing {
    Listing {
        title: declared.title.clone(),
        kind: declared.kind.clone(),
        statuses: declared.statuses.clone(),
        template_alias: declared.template_alias,
        items,
        total: 0,
        more: 0,
    }
}

fn line_of(
    row: Row,
    kinds: &RecordKinds,
    at: DateTime<Utc>,
    base_url: Option<&crate::config::PublicBaseUrl>,
) -> Line {
    let (id, kind_name, description, status, occurred_at, machine, _) = row;
    let kind = kinds.get(&kind_name);
    let first_line = description
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    Line {
        id,
        label: kind.map_or_else(|| kind_name.clone(), |k| k.label.clone()),
        emoji: kind.map(|k| k.emoji.clone()).unwrap_or_default(),
        url: kind.and_then(|k| base_url.map(|base| base.record(&k.link_path, id))),
        kind: kind_name,
        text: escape_markdown(&crate::text::truncate_chars(first_line.trim(), LINE_CHARS)),
        status,
        machine: machine.as_deref().map(escape_markdown).unwrap_or_default(),
        age_days: (at - occurred_at).num_days().max(0),
    }
}

impl SummaryView {
    /// At most `cap` machines, records per machine and items per listing,
    /// with counts of what was left out.
    pub fn capped(&self, cap: usize) -> Self {
        let mut view = self.clone();
        view.machines_more = view.machines.len().saturating_sub(cap);
        view.machines.truncate(cap);
        for group in &mut view.machines {
            group.more = group.records.len().saturating_sub(cap);
            group.records.truncate(cap);
        }
        for listing in &mut view.listings {
            listing.more = listing.items.len().saturating_sub(cap);
            listing.items.truncate(cap);
        }
        view.machine_statuses_more = view.machine_statuses.len().saturating_sub(cap);
        view.machine_statuses.truncate(cap);
        view
    }

    /// Sample content for `check`: everything present (with text that
    /// needs escaping), or the smallest summary that is still posted.
    pub fn sample(summary: &Summary, full: bool) -> Self {
        let line = |id: i64, kind: &str, label: &str, status: Option<&str>| Line {
            id,
            kind: kind.into(),
            label: label.into(),
            emoji: "⚠️".into(),
            text: escape_markdown("Left flipper *weak*; adjusted the EOS switch"),
            status: status.map(Into::into),
            machine: "EBD LE".into(),
            age_days: 3,
            url: full
                .then(|| crate::config::PublicBaseUrl::example().record("problem-reports", id)),
        };
        let listing = |listing: &StatusListing, id: i64| {
            let items = if full {
                vec![line(
                    id,
                    &listing.kind,
                    "Sample",
                    listing.statuses.first().map(String::as_str),
                )]
            } else {
                Vec::new()
            };
            Listing {
                total: items.len(),
                more: usize::from(full),
                ..empty_listing(listing, items)
            }
        };
        let machine_names: &[&str] = if full {
            &["EBD LE", NO_MACHINE]
        } else {
            &["EBD LE"]
        };
        Self {
            name: summary.name.clone(),
            date: "2026-11-24".into(),
            date_long: "Tuesday 24 November 2026".into(),
            timezone: summary.timezone.name().into(),
            record_count: machine_names.len(),
            machines: machine_names
                .iter()
                .map(|name| MachineGroup {
                    name: (*name).into(),
                    records: vec![line(41, "log_entry", "Log entry", None)],
                    more: usize::from(full),
                })
                .collect(),
            machines_more: usize::from(full),
            listings: summary
                .listings
                .iter()
                .zip(7..)
                .map(|(declared, id)| listing(declared, id))
                .collect(),
            machine_statuses: if full {
                vec![MachineStatusLine {
                    machine: escape_markdown("Gorgar *LE*"),
                    status: MachineStatusView::sample(),
                }]
            } else {
                Vec::new()
            },
            machine_statuses_more: usize::from(full),
        }
    }
}

/// Escapes Discord markdown so record text shows as typed.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '(' | ')' | '\\' | '<' | '@'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
