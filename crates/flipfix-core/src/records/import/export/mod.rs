//! The original system's record exports, read into entries ready to store:
//! `logs_problems.json` (problem reports, each with its log entries, and log
//! entries on their own) and `part_requests.json` (part requests with their
//! updates). A file that is not JSON, or not such an export, is an error
//! naming file:line:column; an entry that cannot be read is refused on its
//! own, with its place in the file, and the others are read.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

mod json;

use super::values::{identity, insert, lower, parse_time, part_status};
use crate::catalog::ImportError;
use json::{ExportJson, LogJson, PartJson, ProblemJson, UpdateJson};

pub(crate) const PROBLEM_REPORT: &str = "problem_report";
pub(crate) const LOG_ENTRY: &str = "log_entry";
pub(crate) const PART_REQUEST: &str = "part_request";
pub(crate) const PART_REQUEST_UPDATE: &str = "part_request_update";

/// Where an entry is in the export: the file, the JSON path (counted from
/// 0, as `jq` does) and, to find it by eye, its machine and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub path: String,
    pub label: String,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.file, self.path)?;
        if !self.label.is_empty() {
            write!(f, " ({})", self.label)?;
        }
        Ok(())
    }
}

/// One exported record, read.
#[derive(Debug, Clone)]
pub struct Entry {
    pub place: Place,
    pub kind: String,
    /// What makes this entry this entry: its `id` when the export has one,
    /// else its kind, parent, machine, time, authors and text. Stored as a
    /// digest, so a second import finds it.
    pub identity: String,
    pub machine: Option<String>,
    pub description: String,
    pub fields: BTreeMap<String, String>,
    /// A username; the first maintainer of a log entry that names several.
    pub author: String,
    pub occurred_at: DateTime<Utc>,
    /// Photo file names: the export has no contents for them.
    pub media: Vec<String>,
    /// The entry as exported, without its children (they are kept with
    /// their own records).
    pub original: Value,
    pub children: Vec<Read>,
    /// Set for a `flipfix-bot export` record: restored as it was.
    pub restore: Option<Box<super::backup::Restore>>,
}

/// An entry that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable {
    pub place: Place,
    pub reason: String,
    /// Its children, not imported with it.
    pub children: usize,
}

pub type Read = Result<Entry, Unreadable>;

const FORMAT: &str = "records export";

/// Reads one export file. Problem reports come before log entries, so a
/// log entry is stored after the report it belongs to.
pub(crate) fn read_export(file: &str, json: &str) -> Result<Vec<Read>, ImportError> {
    let export: ExportJson = serde_json::from_str(json).map_err(|err| ImportError::Format {
        source_name: file.to_string(),
        format: FORMAT,
        line: err.line(),
        column: err.column(),
        message: err.to_string(),
    })?;
    if export.problem_reports.is_none()
        && export.log_entries.is_none()
        && export.part_requests.is_none()
    {
        return Err(ImportError::Format {
            source_name: file.to_string(),
            format: FORMAT,
            line: 1,
            column: 1,
            message: "none of `problem_reports`, `log_entries`, `part_requests` is there".into(),
        });
    }
    let mut entries = Vec::new();
    for (i, value) in export.problem_reports.into_iter().flatten().enumerate() {
        entries.push(problem(file, format!("problem_reports[{i}]"), value));
    }
    for (i, value) in export.log_entries.into_iter().flatten().enumerate() {
        let place = place(file, format!("log_entries[{i}]"), &value);
        entries.push(log_entry(place, None, value));
    }
    for (i, value) in export.part_requests.into_iter().flatten().enumerate() {
        entries.push(part_request(file, format!("part_requests[{i}]"), value));
    }
    Ok(entries)
}

fn problem(file: &str, path: String, mut value: Value) -> Read {
    let place = place(file, path, &value);
    let children = take_list(&mut value, "log_entries");
    let parsed: ProblemJson = parse(&place, &value, children.len())?;
    let occurred_at = time(&place, &parsed.occurred_at, children.len())?;
    let mut fields = BTreeMap::new();
    insert(&mut fields, "status", parsed.status.as_deref().map(lower));
    insert(
        &mut fields,
        "priority",
        parsed.priority.as_deref().map(lower),
    );
    insert(
        &mut fields,
        "problem_type",
        parsed.problem_type.as_deref().map(lower),
    );
    let identity = identity(
        PROBLEM_REPORT,
        parsed.id.as_ref(),
        &[
            &parsed.machine,
            &parsed.occurred_at,
            &parsed.reported_by,
            &parsed.description,
        ],
    );
    let children = children
        .into_iter()
        .enumerate()
        .map(|(i, child)| {
            let child_place = place.child("log_entries", i, &child);
            log_entry(child_place, Some(&identity), child)
        })
        .collect();
    Ok(Entry {
        kind: PROBLEM_REPORT.to_string(),
        identity,
        machine: Some(parsed.machine.trim().to_string()),
        description: parsed.description,
        fields,
        author: parsed.reported_by.trim().to_string(),
        occurred_at,
        media: parsed.media,
        original: value,
        children,
        restore: None,
        place,
    })
}

fn log_entry(place: Place, parent: Option<&str>, value: Value) -> Read {
    let parsed: LogJson = parse(&place, &value, 0)?;
    let occurred_at = time(&place, &parsed.occurred_at, 0)?;
    let people: Vec<&str> = parsed
        .maintainers
        .iter()
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
        .collect();
    let Some(author) = people.first() else {
        return Err(Unreadable {
            place,
            reason: "`maintainers` names nobody".into(),
            children: 0,
        });
    };
    let identity = identity(
        LOG_ENTRY,
        parsed.id.as_ref(),
        &[
            parent.unwrap_or_default(),
            parsed.machine.as_deref().unwrap_or_default(),
            &parsed.occurred_at,
            &people.join(","),
            &parsed.text,
        ],
    );
    Ok(Entry {
        kind: LOG_ENTRY.to_string(),
        identity,
        machine: parsed.machine.as_deref().map(str::trim).map(str::to_string),
        description: parsed.text,
        fields: BTreeMap::new(),
        author: author.to_string(),
        occurred_at,
        media: parsed.media,
        original: value,
        children: Vec::new(),
        restore: None,
        place,
    })
}

fn part_request(file: &str, path: String, mut value: Value) -> Read {
    let place = place(file, path, &value);
    let children = take_list(&mut value, "updates");
    let parsed: PartJson = parse(&place, &value, children.len())?;
    let occurred_at = time(&place, &parsed.occurred_at, children.len())?;
    let mut fields = BTreeMap::new();
    insert(
        &mut fields,
        "status",
        parsed.status.as_deref().map(part_status),
    );
    let identity = identity(
        PART_REQUEST,
        parsed.id.as_ref(),
        &[
            parsed.machine.as_deref().unwrap_or_default(),
            &parsed.occurred_at,
            &parsed.requested_by,
            &parsed.text,
        ],
    );
    let children = children
        .into_iter()
        .enumerate()
        .map(|(i, child)| {
            let child_place = place.child("updates", i, &child);
            update(child_place, &identity, child)
        })
        .collect();
    Ok(Entry {
        kind: PART_REQUEST.to_string(),
        identity,
        machine: parsed.machine.as_deref().map(str::trim).map(str::to_string),
        description: parsed.text,
        fields,
        author: parsed.requested_by.trim().to_string(),
        occurred_at,
        media: parsed.media,
        original: value,
        children,
        restore: None,
        place,
    })
}

fn update(place: Place, parent: &str, value: Value) -> Read {
    let parsed: UpdateJson = parse(&place, &value, 0)?;
    let occurred_at = time(&place, &parsed.occurred_at, 0)?;
    let mut fields = BTreeMap::new();
    insert(
        &mut fields,
        "new_status",
        parsed.new_status.as_deref().map(part_status),
    );
    let identity = identity(
        PART_REQUEST_UPDATE,
        parsed.id.as_ref(),
        &[parent, &parsed.occurred_at, &parsed.posted_by, &parsed.text],
    );
    Ok(Entry {
        kind: PART_REQUEST_UPDATE.to_string(),
        identity,
        machine: None,
        description: parsed.text,
        fields,
        author: parsed.posted_by.trim().to_string(),
        occurred_at,
        media: parsed.media,
        original: value,
        children: Vec::new(),
        restore: None,
        place,
    })
}

fn time(place: &Place, raw: &str, children: usize) -> Result<DateTime<Utc>, Unreadable> {
    parse_time(raw).ok_or_else(|| Unreadable {
        place: place.clone(),
        reason: format!("`occurred_at` is `{raw}`, not a date and time (e.g. 2025-08-02T10:58:00)"),
        children,
    })
}

fn parse<T: for<'de> Deserialize<'de>>(
    place: &Place,
    value: &Value,
    children: usize,
) -> Result<T, Unreadable> {
    T::deserialize(value).map_err(|err| Unreadable {
        place: place.clone(),
        reason: format!("cannot be read: {err}"),
        children,
    })
}

fn place(file: &str, path: String, value: &Value) -> Place {
    let label = [string_at(value, "machine"), string_at(value, "occurred_at")]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    Place {
        file: file.to_string(),
        path,
        label,
    }
}

impl Place {
    /// Where the `index`-th entry of this entry's `list` is.
    fn child(&self, list: &str, index: usize, child: &Value) -> Place {
        Place {
            file: self.file.clone(),
            path: format!("{}.{list}[{index}]", self.path),
            label: string_at(child, "occurred_at"),
        }
    }
}

fn string_at(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(|s| crate::text::truncate_chars(s.trim(), 60))
        .unwrap_or_default()
}

/// Removes the nested list `key` (children are stored as their own records).
fn take_list(value: &mut Value, key: &str) -> Vec<Value> {
    match value.as_object_mut().and_then(|object| object.remove(key)) {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => Vec::new(),
        // Not a list: put it back so the entry is refused with a reason.
        Some(other) => {
            if let Some(object) = value.as_object_mut() {
                object.insert(key.to_string(), other);
            }
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_read_under_their_parent_and_a_bad_one_alone_is_refused() {
        let json = r#"{"part_requests": [{"machine": "Gorgar", "text": "Transformer",
            "status": "installed", "requested_by": "william", "occurred_at": "2025-05-20T09:00:00",
            "updates": [{"text": "Ordered", "posted_by": "ken", "new_status": "ordered",
                         "occurred_at": "2025-05-22T10:00:00"},
                        {"text": "Lost", "posted_by": "ken", "occurred_at": "soon"}]}]}"#;
        let entries = read_export("parts.json", json).unwrap();
        let [Ok(request)] = entries.as_slice() else {
            panic!("{entries:?}");
        };
        assert_eq!(
            request.fields.get("status").map(String::as_str),
            Some("received")
        );
        assert!(request.original.get("updates").is_none());
        let [Ok(ordered), Err(soon)] = request.children.as_slice() else {
            panic!("{:?}", request.children);
        };
        assert_eq!(ordered.kind, PART_REQUEST_UPDATE);
        assert_ne!(ordered.identity, request.identity);
        assert_eq!(
            soon.place.to_string(),
            "parts.json part_requests[0].updates[1] (soon)"
        );
        assert!(
            soon.reason.contains("`occurred_at` is `soon`"),
            "{}",
            soon.reason
        );
    }

    #[test]
    fn an_export_id_is_the_identity() {
        let json = r#"{"log_entries": [{"id": 17, "machine": "Gorgar", "text": "Fixed",
            "maintainers": ["ken", "brian"], "occurred_at": "2025-05-20"}]}"#;
        let entries = read_export("logs.json", json).unwrap();
        let Ok(entry) = &entries[0] else {
            panic!("{entries:?}")
        };
        assert_eq!(entry.identity, "log_entry#17");
        assert_eq!(entry.author, "ken");
    }

    #[test]
    fn not_an_export_is_an_error_at_its_place() {
        let err = read_export("x.json", "{\n  \"machines\": []\n}").unwrap_err();
        assert!(err.to_string().starts_with("x.json:2:"), "{err}");
        let err = read_export("x.json", "{}").unwrap_err();
        assert!(err.to_string().contains("none of"), "{err}");
    }
}
