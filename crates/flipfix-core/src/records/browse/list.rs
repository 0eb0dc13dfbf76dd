//! Lists: the latest records (filters, full-text search) and a machine's
//! timeline (roots newest first, children under their parents).

use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::page::{Cursor, Limit, PageRequest, Seek};
use super::{
    attach_thumbnails, Filter, Summary, SummaryRow, Visible, SUMMARY_COLUMNS, SUMMARY_JOINS,
};
use crate::catalog::Machine;

/// One page of a list. `has_next` comes from reading one row past the page,
/// so no count (which would cost a scan) is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub items: Vec<Summary>,
    pub page: PageRequest,
    pub has_next: bool,
    /// Where the newer page ends ([`super::Seek::Before`]), if there is one.
    pub newer: Option<Cursor>,
    /// Where the older page starts ([`super::Seek::After`]), if there is one.
    pub older: Option<Cursor>,
}

fn key(row: &SummaryRow) -> Cursor {
    Cursor {
        occurred_at: row.occurred_at,
        id: row.id,
    }
}

/// The latest visible records matching `filter`, newest first.
///
/// Every filter is a condition on `records`' own columns (the machine's id,
/// the matching maintainers' ids). With a machine, the page's ids are found
/// first, on `records` alone, so its records can be filtered by kind and
/// author inside `records_machine_list_idx` without visiting the rows that
/// do not match (an author with no logs on the busiest machine: 1 ms
/// instead of 7 ms on 100,000 records); only the page's rows are then read
/// and joined. Without one, that second step would only add a join (0.1 to
/// 0.3 ms), so the page is read in one.
pub async fn latest(
    conn: &mut PgConnection,
    visible: &Visible,
    filter: &Filter,
    page: PageRequest,
) -> Result<Listed, sqlx::Error> {
    let ids_first = filter.machine_slug.is_some();
    let mut query = QueryBuilder::<Postgres>::new(if ids_first {
        "WITH hits AS (SELECT r.id FROM records r".to_string()
    } else {
        format!("SELECT {SUMMARY_COLUMNS}{SUMMARY_JOINS}")
    });
    query
        .push(" WHERE r.kind = ANY(")
        .push_bind(visible.kinds().to_vec())
        .push(")");
    if let Some(kind) = &filter.kind {
        query.push(" AND r.kind = ").push_bind(kind.clone());
    }
    if let Some(slug) = &filter.machine_slug {
        query
            .push(" AND r.machine_id = (SELECT id FROM machines WHERE slug = ")
            .push_bind(slug.clone())
            .push(")");
    }
    if let Some(status) = &filter.status {
        query.push(" AND r.status = ").push_bind(status.clone());
    }
    if let Some(author) = &filter.author {
        push_author(&mut query, author);
    }
    if let Some(from) = filter.from {
        query.push(" AND r.occurred_at >= ").push_bind(from);
    }
    if let Some(until) = filter.until {
        query.push(" AND r.occurred_at < ").push_bind(until);
    }
    if let Some(text) = &filter.text {
        query
            .push(" AND r.search @@ websearch_to_tsquery('english', ")
            .push_bind(text.clone())
            .push(")");
    }
    page.push_tail(&mut query, Limit::Bound);
    if !matches!(page.seek, Seek::Offset(_)) {
        // A bound OFFSET of 0 changes no result, but without one Postgres'
        // generic plan (sqlx prepares statements) takes `LIMIT $n` as a few
        // rows and walks the whole time index past a selective filter
        // (machine and author: 33 ms instead of 2.5 ms on 100,000 records).
        query.push(" OFFSET ").push_bind(0_i64);
    }
    if ids_first {
        query
            .push(") SELECT ")
            .push(SUMMARY_COLUMNS)
            .push(SUMMARY_JOINS)
            .push(" WHERE r.id IN (SELECT id FROM hits)")
            .push(page.order_by());
    }
    let rows: Vec<SummaryRow> = query.build_query_as().fetch_all(&mut *conn).await?;
    let cut = page.cut(rows, key);
    let mut items: Vec<Summary> = cut.rows.into_iter().map(Summary::from).collect();
    attach_thumbnails(conn, &mut items).await?;
    Ok(Listed {
        items,
        page,
        has_next: cut.older.is_some(),
        newer: cut.newer,
        older: cut.older,
    })
}

/// ` AND <r is by author>`: a maintainer's username or display name, or a
/// kept author name, case-insensitively; as a condition on `records`' own
/// columns (the maintainers' ids are looked up once, before the scan), so
/// an index that carries them can decide it. The last arm keeps what the
/// join this replaced matched for an empty name: records with no
/// maintainer.
fn push_author(query: &mut QueryBuilder<'_, Postgres>, author: &str) {
    query
        .push(" AND (lower(coalesce(r.author_name, '')) = lower(")
        .push_bind(author.to_string())
        .push(
            ") OR r.author_maintainer_id = ANY(ARRAY(SELECT a.id FROM maintainers a \
             WHERE lower(coalesce(a.username, '')) = lower(",
        )
        .push_bind(author.to_string())
        .push(") OR lower(coalesce(a.display_name, '')) = lower(")
        .push_bind(author.to_string())
        .push("))) OR (r.author_maintainer_id IS NULL AND ")
        .push_bind(author.is_empty())
        .push("))");
}

/// A machine's records as a timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    pub machine: Machine,
    /// Roots (records without a visible parent), newest first.
    pub entries: Vec<TimelineEntry>,
    pub page: PageRequest,
    pub has_next: bool,
    /// Where the newer page ends, if there is one.
    pub newer: Option<Cursor>,
    /// Where the older page starts, if there is one.
    pub older: Option<Cursor>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub record: Summary,
    /// Visible children, oldest first (the story as it happened).
    pub children: Vec<Summary>,
}

#[derive(sqlx::FromRow)]
struct FamilyRow {
    #[sqlx(flatten)]
    summary: SummaryRow,
    is_root: bool,
}

/// The timeline of the machine `slug`; `None` when there is no such machine.
/// Paged by roots, so a parent and its children stay on one page. The roots
/// and their children come in one query (the roots' page is a CTE), and the
/// thumbnails of both in one more.
pub async fn machine_timeline(
    conn: &mut PgConnection,
    visible: &Visible,
    slug: &str,
    page: PageRequest,
) -> Result<Option<Timeline>, sqlx::Error> {
    let Some(machine) = crate::catalog::machines::by_slug(&mut *conn, slug).await? else {
        return Ok(None);
    };
    let kinds = visible.kinds().to_vec();
    let mut query = QueryBuilder::<Postgres>::new("WITH roots AS (SELECT r.id FROM ");
    if matches!(page.seek, Seek::Offset(_)) {
        push_counted_roots(&mut query, machine.id, &kinds);
    } else {
        push_roots(&mut query, machine.id, &kinds);
    }
    // The machine's list index in order, whatever the values: planned once.
    page.push_tail(&mut query, Limit::Written);
    query
        .push(") SELECT ")
        .push(SUMMARY_COLUMNS)
        .push(", true AS is_root")
        .push(SUMMARY_JOINS)
        .push(" WHERE r.id IN (SELECT id FROM roots) UNION ALL SELECT ")
        .push(SUMMARY_COLUMNS)
        .push(", false AS is_root")
        .push(SUMMARY_JOINS)
        .push(" WHERE r.parent_id IN (SELECT id FROM roots) AND r.kind = ANY(")
        .push_bind(kinds)
        .push(")");
    let rows: Vec<FamilyRow> = query.build_query_as().fetch_all(&mut *conn).await?;
    let (roots, children): (Vec<FamilyRow>, Vec<FamilyRow>) =
        rows.into_iter().partition(|row| row.is_root);
    let mut roots: Vec<SummaryRow> = roots.into_iter().map(|row| row.summary).collect();
    // The order the page was read in, so `cut` drops the row past it.
    roots.sort_by_key(|row| std::cmp::Reverse(key(row)));
    if page.backwards() {
        roots.reverse();
    }
    let cut = page.cut(roots, key);
    let root_count = cut.rows.len();
    let mut children: Vec<SummaryRow> = children.into_iter().map(|row| row.summary).collect();
    children.sort_by_key(key);
    let mut all: Vec<Summary> = cut
        .rows
        .into_iter()
        .chain(children)
        .map(Summary::from)
        .collect();
    attach_thumbnails(conn, &mut all).await?;
    let mut children = all.split_off(root_count);
    let entries = all
        .into_iter()
        .map(|record| {
            // Children of the row read past the page stay behind.
            let (mine, rest): (Vec<Summary>, Vec<Summary>) = std::mem::take(&mut children)
                .into_iter()
                .partition(|child| child.parent_id == Some(record.id));
            children = rest;
            TimelineEntry {
                record,
                children: mine,
            }
        })
        .collect();
    Ok(Some(Timeline {
        machine,
        entries,
        page,
        has_next: cut.older.is_some(),
        newer: cut.newer,
        older: cut.older,
    }))
}

/// `records r WHERE <r is a root>` of the machine: a record whose parent
/// the viewer may not see stands on its own. A page found by position reads
/// about a page of candidates, so each parent is probed: `OFFSET 0` keeps
/// the check a probe per candidate (as an anti-join, the planner hashed
/// every visible record instead), and a record with no parent needs none.
fn push_roots(query: &mut QueryBuilder<'_, Postgres>, machine: i64, kinds: &[String]) {
    query
        .push("records r WHERE r.machine_id = ")
        .push_bind(machine)
        .push(" AND r.kind = ANY(")
        .push_bind(kinds.to_vec())
        .push(
            ") AND (r.parent_id IS NULL OR NOT EXISTS (SELECT 1 FROM records p \
             WHERE p.id = r.parent_id AND p.kind = ANY(",
        )
        .push_bind(kinds.to_vec())
        .push(") OFFSET 0))");
}

/// The same roots for a page found by counting (an old `?page=N` link),
/// which reads every record before it: a probe apiece cost 7 ms on page 40
/// of a machine with 2,000 records. The machine's own records, read once
/// from its list index into a hash, say whether a parent on the same
/// machine is visible (1.3 ms); only a parent elsewhere is probed.
fn push_counted_roots(query: &mut QueryBuilder<'_, Postgres>, machine: i64, kinds: &[String]) {
    query
        .push(
            "(SELECT c.id, c.parent_id, c.occurred_at, sib.kind AS parent_kind, \
             sib.id IS NOT NULL AS parent_here FROM records c \
             LEFT JOIN records sib ON sib.id = c.parent_id AND sib.machine_id = ",
        )
        .push_bind(machine)
        .push(" WHERE c.machine_id = ")
        .push_bind(machine)
        .push(" AND c.kind = ANY(")
        .push_bind(kinds.to_vec())
        .push(
            ") OFFSET 0) r WHERE (r.parent_id IS NULL \
             OR (r.parent_here AND NOT r.parent_kind = ANY(",
        )
        .push_bind(kinds.to_vec())
        .push(
            ")) OR (NOT r.parent_here AND NOT EXISTS (SELECT 1 FROM records p \
             WHERE p.id = r.parent_id AND p.kind = ANY(",
        )
        .push_bind(kinds.to_vec())
        .push(") OFFSET 0)))");
}

/// Visible children of `parent`, oldest first. One parent, as `= $1`:
/// with an array (`= ANY($1)`) Postgres' one plan for any value expects ten
/// parents, looks dearer than a plan for the one it gets, and so was planned
/// again at every record page (0.3 ms against 0.03 ms to run, `pages` bench
/// data); with a scalar both estimates agree and the plan is kept.
pub(super) async fn children_of(
    conn: &mut PgConnection,
    kinds: &[String],
    parent: i64,
) -> Result<Vec<Summary>, sqlx::Error> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}{SUMMARY_JOINS} WHERE r.parent_id = $1 AND r.kind = ANY($2) \
         ORDER BY r.occurred_at, r.id"
    );
    let rows: Vec<SummaryRow> = sqlx::query_as(&sql)
        .bind(parent)
        .bind(kinds)
        .fetch_all(&mut *conn)
        .await?;
    let mut items: Vec<Summary> = rows.into_iter().map(Summary::from).collect();
    attach_thumbnails(conn, &mut items).await?;
    Ok(items)
}
