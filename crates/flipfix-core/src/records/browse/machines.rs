//! The machines overview: every machine with its operational status, its
//! open records counted by the kind's `card_select` choice (problem reports
//! by priority), and its last activity, in one query. Only the kinds the
//! viewer may see are counted or dated.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::Visible;
use crate::workflow::RecordKinds;

/// One machine's line on the overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineOverview {
    pub slug: String,
    pub name: String,
    /// As stored: a declared status name, or a value no declaration knows.
    pub status: String,
    /// When its latest visible record happened.
    pub last_activity: Option<DateTime<Utc>>,
    /// Open visible records, in kind declaration order and, within a kind,
    /// in the order of its `card_select` choices.
    pub open: Vec<OpenCount>,
}

/// How many open records of `kind` a machine has with `choice` (its
/// `card_select` value; `None` for a kind without one, counted as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCount {
    pub kind: String,
    pub choice: Option<String>,
    pub count: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct OverviewRow {
    slug: String,
    name: String,
    status: String,
    last_activity: Option<DateTime<Utc>>,
    /// `[[kind, choice, count], …]`; choice is `""` for a kind without one.
    open_counts: sqlx::types::Json<Vec<(String, String, i64)>>,
}

/// Open means any status but the kind's closed ones (as everywhere, see
/// `records::open`). A btree cannot serve "not one of these", so the
/// statuses the records are actually in are listed first by walking the
/// `(kind, status)` index (one probe per distinct status), and each open one
/// is then read through the same index: the cost follows the open records,
/// not the history. `OFFSET 0` keeps that per-status read a nested loop.
const OVERVIEW_SQL: &str = "
WITH RECURSIVE
  open_kinds(kind, field) AS (SELECT * FROM unnest($2::text[], $3::text[])),
  closed(kind, status) AS (SELECT * FROM unnest($4::text[], $5::text[])),
  statuses(kind, status) AS (
    SELECT o.kind, (SELECT min(r.status) FROM records r WHERE r.kind = o.kind) FROM open_kinds o
    UNION ALL
    SELECT s.kind, (SELECT min(r.status) FROM records r WHERE r.kind = s.kind AND r.status > s.status)
    FROM statuses s WHERE s.status IS NOT NULL),
  open_statuses(kind, status) AS (
    SELECT s.kind, s.status FROM statuses s
    WHERE s.status IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM closed c WHERE c.kind = s.kind AND c.status = s.status)),
  open_records AS (
    SELECT r.machine_id, r.kind, r.fields FROM open_statuses s
    CROSS JOIN LATERAL (SELECT r.machine_id, r.kind, r.fields FROM records r
                        WHERE r.kind = s.kind AND r.status = s.status OFFSET 0) r
    UNION ALL
    SELECT r.machine_id, r.kind, r.fields FROM records r
    WHERE r.kind = ANY($2) AND r.status IS NULL),
  open_counts AS (
    SELECT g.machine_id, jsonb_agg(jsonb_build_array(g.kind, g.choice, g.n)) AS counts
    FROM (SELECT r.machine_id, r.kind, coalesce(r.fields ->> nullif(o.field, ''), '') AS choice,
                 count(*) AS n
          FROM open_records r JOIN open_kinds o ON o.kind = r.kind
          WHERE r.machine_id IS NOT NULL
          GROUP BY 1, 2, 3) g
    GROUP BY g.machine_id)
SELECT m.slug, m.name, m.status, last.occurred_at AS last_activity,
       coalesce(oc.counts, '[]'::jsonb) AS open_counts
FROM machines m
LEFT JOIN open_counts oc ON oc.machine_id = m.id
LEFT JOIN LATERAL (SELECT r.occurred_at FROM records r
                   WHERE r.machine_id = m.id AND r.kind = ANY($1)
                   ORDER BY r.occurred_at DESC, r.id DESC LIMIT 1) last ON true
ORDER BY lower(m.name), m.id";

/// What the overview's query is asked: the kinds the viewer may see (for
/// "last activity") and, of those that track open records, their
/// `card_select` fields and closed statuses. Equal arguments over an
/// unchanged database give equal rows, which is what lets
/// [`super::OverviewCache`] keep them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OverviewArgs {
    visible: Vec<String>,
    open_kinds: Vec<String>,
    card_fields: Vec<String>,
    closed_kinds: Vec<String>,
    closed_statuses: Vec<String>,
}

impl OverviewArgs {
    pub(super) fn new(kinds: &RecordKinds, visible: &Visible) -> Self {
        let open_kinds: Vec<_> = kinds
            .iter()
            .filter(|kind| kind.tracks_open() && visible.contains(&kind.name))
            .collect();
        let (mut closed_kinds, mut closed_statuses) = (Vec::new(), Vec::new());
        for kind in &open_kinds {
            for status in &kind.closed_statuses {
                closed_kinds.push(kind.name.clone());
                closed_statuses.push(status.clone());
            }
        }
        Self {
            visible: visible.kinds().to_vec(),
            card_fields: open_kinds
                .iter()
                .map(|k| k.card_select.clone().unwrap_or_default())
                .collect(),
            open_kinds: open_kinds.iter().map(|k| k.name.clone()).collect(),
            closed_kinds,
            closed_statuses,
        }
    }

    /// Runs the overview's query.
    pub(super) async fn fetch(
        &self,
        conn: &mut PgConnection,
    ) -> Result<Vec<OverviewRow>, sqlx::Error> {
        sqlx::query_as(OVERVIEW_SQL)
            .bind(&self.visible)
            .bind(&self.open_kinds)
            .bind(&self.card_fields)
            .bind(&self.closed_kinds)
            .bind(&self.closed_statuses)
            .fetch_all(conn)
            .await
    }
}

/// Every machine: out of service first, then in the declared order of
/// statuses (a status nobody declared last), then by name. Reads the
/// database every time; pages go through [`super::OverviewCache`].
pub async fn machines_overview(
    conn: &mut PgConnection,
    kinds: &RecordKinds,
    visible: &Visible,
) -> Result<Vec<MachineOverview>, sqlx::Error> {
    let rows = OverviewArgs::new(kinds, visible).fetch(conn).await?;
    Ok(arrange(kinds, rows))
}

/// The query's rows as the overview's lines, in the overview's order.
pub(super) fn arrange(kinds: &RecordKinds, rows: Vec<OverviewRow>) -> Vec<MachineOverview> {
    let statuses = kinds.machine_statuses();
    let mut machines: Vec<MachineOverview> = rows
        .into_iter()
        .map(|row| MachineOverview {
            open: ordered_counts(kinds, row.open_counts.0),
            slug: row.slug,
            name: row.name,
            status: row.status,
            last_activity: row.last_activity,
        })
        .collect();
    // Stable: machines of one rank keep the query's order by name.
    machines.sort_by_key(|m| {
        let rank = statuses.statuses.iter().position(|s| s.name == m.status);
        (
            !statuses.is_out_of_service(&m.status),
            rank.unwrap_or(usize::MAX),
        )
    });
    machines
}

/// Counts in declaration order: kinds as declared, choices as listed (a
/// value no longer among the choices after them, by name).
fn ordered_counts(kinds: &RecordKinds, counts: Vec<(String, String, i64)>) -> Vec<OpenCount> {
    let position = |kind: &str, choice: &str| {
        let kind_at = kinds.iter().position(|k| k.name == kind);
        let choice_at = kinds
            .get(kind)
            .and_then(|k| k.card_select.as_deref())
            .and_then(|field| kinds.get(kind)?.field(field))
            .and_then(|field| match &field.ty {
                crate::workflow::FieldType::Choice { choices } => {
                    choices.iter().position(|c| c == choice)
                }
                crate::workflow::FieldType::Text { .. } => None,
            });
        (
            kind_at.unwrap_or(usize::MAX),
            choice_at.unwrap_or(usize::MAX),
        )
    };
    let mut counts: Vec<OpenCount> = counts
        .into_iter()
        .map(|(kind, choice, count)| OpenCount {
            choice: (!choice.is_empty()).then_some(choice),
            kind,
            count,
        })
        .collect();
    counts.sort_by(|a, b| {
        let key = |c: &OpenCount| position(&c.kind, c.choice.as_deref().unwrap_or(""));
        key(a).cmp(&key(b)).then_with(|| a.choice.cmp(&b.choice))
    });
    counts
}
