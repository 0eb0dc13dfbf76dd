//! Values in the original system's exports, in this system's terms: times,
//! part statuses, and the identity an imported entry is remembered by.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;

/// The original's part statuses in ours: it has `installed` after
/// `received`; here a part that arrived is `received` (see ../shared/README).
pub fn part_status(raw: &str) -> String {
    match lower(raw).as_str() {
        "installed" => "received".to_string(),
        other => other.to_string(),
    }
}

/// The export's times: RFC 3339, or without an offset (read as UTC: the
/// export names no zone), or a date alone (midnight UTC).
pub fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(raw) {
        return Some(time.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(naive.and_utc());
        }
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc())
}

pub(super) fn identity(kind: &str, id: Option<&Value>, parts: &[&str]) -> String {
    match id {
        Some(id) if !id.is_null() => format!("{kind}#{id}"),
        // The unit separator cannot be confused with the text around it.
        _ => std::iter::once(kind)
            .chain(parts.iter().map(|part| part.trim()))
            .collect::<Vec<_>>()
            .join("\u{1f}"),
    }
}

pub(super) fn lower(raw: &str) -> String {
    raw.trim().to_lowercase()
}

pub(super) fn insert(fields: &mut BTreeMap<String, String>, name: &str, value: Option<String>) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        fields.insert(name.to_string(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_and_without_offsets_and_dates_alone() {
        let utc = |s: &str| parse_time(s).map(|t| t.to_rfc3339());
        assert_eq!(
            utc("2025-08-02T10:58:00"),
            Some("2025-08-02T10:58:00+00:00".into())
        );
        assert_eq!(
            utc("2025-08-02T10:58:00-07:00"),
            Some("2025-08-02T17:58:00+00:00".into())
        );
        assert_eq!(utc("2024-01-06"), Some("2024-01-06T00:00:00+00:00".into()));
        assert_eq!(utc("last tuesday"), None);
    }

    #[test]
    fn installed_parts_are_received() {
        assert_eq!(part_status(" Installed "), "received");
        assert_eq!(part_status("ordered"), "ordered");
    }
}
