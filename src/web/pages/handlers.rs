//! The page handlers: parse the request, read through `browse`, render.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::views::{
    machine_context, record_context, record_link, record_page, IndexContext, IndexQuery,
    KindOption, MachineOption, Paging, RecordLink,
};
use super::{visible, Pages, Viewer, WebState};
use crate::records::browse::{self, Cursor, Filter, PageRequest, Seek};
use crate::web::Error;

/// Records per page on the index and roots per page on a machine page.
const PAGE_SIZE: u32 = 25;

fn set(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

fn page_number(page: Option<&str>) -> u32 {
    page.and_then(|p| p.trim().parse().ok()).unwrap_or(1)
}

/// The page a query string asks for: by position (`after`/`before`, what
/// this site's links carry; `page` is then only the number shown) or, for
/// old links, by number alone (`?page=N`, read with OFFSET).
fn page_request(
    page: Option<&str>,
    after: Option<&str>,
    before: Option<&str>,
) -> Result<PageRequest, Error> {
    let number = page_number(page);
    let position = |field: &str, value: &str| {
        Cursor::parse(value).ok_or_else(|| {
            Error::BadRequest(format!(
                "“{field}” must be a page position from one of this site's links."
            ))
        })
    };
    let seek = match (after.and_then(set_ref), before.and_then(set_ref)) {
        (Some(after), _) => Seek::After(position("after", after)?),
        (None, Some(before)) => Seek::Before(position("before", before)?),
        (None, None) => return Ok(PageRequest::new(number, PAGE_SIZE)),
    };
    Ok(PageRequest::at(number, PAGE_SIZE, seek))
}

fn set_ref(value: &str) -> Option<&str> {
    let value = value.trim();
    (!value.is_empty()).then_some(value)
}

/// The newer/older links of a page; `pairs` is the rest of the query
/// string. The newer link of page 2 is page 1 itself (no position).
fn paging(
    pairs: &[(&str, &str)],
    page: PageRequest,
    newer: Option<Cursor>,
    older: Option<Cursor>,
) -> Paging {
    let href = |position: Option<(&str, Cursor)>, number: u32| {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in pairs {
            if !value.trim().is_empty() {
                out.append_pair(key, value);
            }
        }
        if let Some((key, cursor)) = position {
            out.append_pair(key, &cursor.encode());
            out.append_pair("page", &number.to_string());
        }
        match out.finish() {
            query if query.is_empty() => "./".to_string(),
            query => format!("?{query}"),
        }
    };
    let previous_number = page.number.saturating_sub(1).max(1);
    Paging {
        number: page.number,
        previous: newer.map(|cursor| {
            let position = (previous_number > 1).then_some(("before", cursor));
            href(position, previous_number)
        }),
        next: older.map(|cursor| href(Some(("after", cursor)), page.number + 1)),
    }
}

/// A `YYYY-MM-DD` date as the start of that day (UTC); `Err` names the field.
fn day(value: &str, field: &str, days_after: i64) -> Result<Option<chrono::DateTime<Utc>>, String> {
    let Some(value) = set(value) else {
        return Ok(None);
    };
    let date = NaiveDate::parse_from_str(&value, "%Y-%m-%d")
        .map_err(|_| format!("“{field}” must be a date like 2025-01-31."))?;
    let start = date
        .checked_add_days(chrono::Days::new(days_after.unsigned_abs()))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| format!("“{field}” is out of range."))?;
    Ok(Some(Utc.from_utc_datetime(&start)))
}

pub async fn index(
    State(state): State<WebState>,
    Extension(pages): Extension<Arc<Pages>>,
    viewer: Viewer,
    Query(query): Query<IndexQuery>,
) -> Result<Response, Error> {
    let visible = visible(&state, &viewer);
    let workflows = state.app.workflows();
    let filter = match (day(&query.from, "from", 0), day(&query.to, "to", 1)) {
        (Ok(from), Ok(until)) => Filter {
            kind: set(&query.kind),
            machine_slug: set(&query.machine),
            status: set(&query.status),
            author: set(&query.author),
            from,
            until,
            text: set(&query.q),
        },
        (Err(message), _) | (_, Err(message)) => return Err(Error::BadRequest(message)),
    };
    let page = page_request(
        query.page.as_deref(),
        query.after.as_deref(),
        query.before.as_deref(),
    )?;
    // One connection for the page's queries (see `browse`).
    let mut conn = state.app.pool.acquire().await?;
    let listed = browse::latest(&mut conn, &visible, &filter, page).await?;
    let all_machines = crate::catalog::machines::list(&mut *conn).await?;
    drop(conn);
    let statuses = workflows.kinds.machine_statuses();
    let out_of_service = all_machines
        .iter()
        .filter(|m| statuses.is_out_of_service(&m.status))
        .count();
    let machines = all_machines
        .into_iter()
        .map(|m| MachineOption {
            slug: m.slug,
            name: m.name,
        })
        .collect::<Vec<_>>();
    let kinds = workflows
        .kinds
        .iter()
        .filter(|kind| visible.contains(&kind.name))
        .map(|kind| KindOption {
            name: &kind.name,
            label: &kind.label,
        })
        .collect::<Vec<_>>();
    let records: Vec<RecordLink> = listed
        .items
        .iter()
        .map(|s| record_link(&workflows.kinds, s))
        .collect();
    let pairs = [
        ("q", query.q.as_str()),
        ("kind", &query.kind),
        ("machine", &query.machine),
        ("status", &query.status),
        ("author", &query.author),
        ("from", &query.from),
        ("to", &query.to),
    ];
    let paging = paging(&pairs, page, listed.newer, listed.older);
    Ok(pages.render(
        StatusCode::OK,
        "index.html.j2",
        IndexContext {
            viewer: (&viewer).into(),
            records,
            query: &query,
            kinds,
            machines,
            paging,
            out_of_service,
        },
    ))
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

pub async fn machine(
    State(state): State<WebState>,
    Extension(pages): Extension<Arc<Pages>>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, Error> {
    let visible = visible(&state, &viewer);
    let workflows = state.app.workflows();
    let page = page_request(
        query.page.as_deref(),
        query.after.as_deref(),
        query.before.as_deref(),
    )?;
    let mut conn = state.app.pool.acquire().await?;
    let timeline = browse::machine_timeline(&mut conn, &visible, &slug, page)
        .await?
        .ok_or(Error::NotFound("There is no such machine."))?;
    drop(conn);
    let entries = timeline
        .entries
        .iter()
        .map(|entry| {
            (
                record_link(&workflows.kinds, &entry.record),
                entry
                    .children
                    .iter()
                    .map(|c| record_link(&workflows.kinds, c))
                    .collect(),
            )
        })
        .collect::<Vec<_>>();
    let paging = paging(&[], page, timeline.newer, timeline.older);
    Ok(pages.render(
        StatusCode::OK,
        "machine.html.j2",
        machine_context(
            &viewer,
            &timeline.machine,
            entries,
            paging,
            workflows
                .kinds
                .machine_statuses()
                .display(&timeline.machine.status),
        ),
    ))
}

pub async fn record(
    State(state): State<WebState>,
    Extension(pages): Extension<Arc<Pages>>,
    viewer: Viewer,
    Path((section, id)): Path<(String, String)>,
) -> Result<Response, Error> {
    let workflows = state.app.workflows();
    let path = crate::config::record_path(&section, &id);
    let (Some(kind), Ok(id)) = (workflows.kinds.by_link_path(&section), id.parse::<i64>()) else {
        return Ok(pages.no_such_record(&viewer, &path));
    };
    let visible = visible(&state, &viewer);
    let lookup = browse::record_detail(&mut *state.app.pool.acquire().await?, &visible, id).await?;
    Ok(match lookup {
        browse::DetailLookup::Found(detail) => {
            if detail.record.kind != kind.name {
                // Another kind's number: send the reader to its real page.
                let path = super::views::record_path(&workflows.kinds, &detail.record.kind, id);
                return Ok(Redirect::permanent(&path).into_response());
            }
            pages.render(
                StatusCode::OK,
                "record.html.j2",
                record_context(&viewer, record_page(&workflows.kinds, &detail)),
            )
        }
        // Hidden (members-only) and missing answer alike, byte for byte.
        _ => pages.no_such_record(&viewer, &path),
    })
}
