//! `summaries:` — messages posted to the webhook at a set local time each
//! day. Declared here, checked against the kinds and templates with line
//! numbers; scheduled and rendered by `crate::summary`.

use std::collections::HashSet;
use std::path::PathBuf;

use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::kinds::{FieldType, RecordKinds};
use super::{Problem, Problems};
use crate::templates::Templates;

/// One summary as authors write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryDecl {
    /// A short identifier (`daily`); a summary is posted once per name and
    /// local date.
    pub name: Spanned<String>,
    /// Local time of day, 24-hour `HH:MM`.
    pub at: Spanned<String>,
    /// IANA timezone (`Europe/London`) the time is in.
    pub timezone: Spanned<String>,
    /// A message template under `prompts/` with `title` and `body` blocks.
    pub template: Spanned<String>,
    /// Which records count as open problem reports (default:
    /// `problem_report` with status `open`).
    #[serde(default)]
    pub open_reports: Option<Spanned<StatusListingDecl>>,
    /// Which records count as parts waiting (default: `part_request` with
    /// status `requested` or `ordered`).
    #[serde(default)]
    pub parts_waiting: Option<Spanned<StatusListingDecl>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusListingDecl {
    pub kind: String,
    pub statuses: Vec<String>,
}

/// A checked summary.
#[derive(Debug, Clone)]
pub struct Summary {
    pub name: String,
    pub at: NaiveTime,
    pub timezone: Tz,
    pub template: String,
    pub open_reports: StatusListing,
    pub parts_waiting: StatusListing,
    pub declared_in: PathBuf,
}

/// Records of `kind` whose status is one of `statuses`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListing {
    pub kind: String,
    pub statuses: Vec<String>,
}

impl StatusListing {
    fn default_open_reports() -> Self {
        Self {
            kind: "problem_report".into(),
            statuses: vec!["open".into()],
        }
    }

    fn default_parts_waiting() -> Self {
        Self {
            kind: "part_request".into(),
            statuses: vec!["requested".into(), "ordered".into()],
        }
    }
}

/// Checks every declared summary; returns the sound ones.
pub(super) fn build_summaries(
    decls: Vec<(PathBuf, Spanned<SummaryDecl>)>,
    kinds: &RecordKinds,
    templates: &Templates,
    problems: &mut Problems,
) -> Vec<Summary> {
    let mut seen = HashSet::new();
    let mut summaries = Vec::new();
    for (path, decl) in decls {
        let decl_at = decl.referenced;
        let decl = decl.value;
        let before = problems.0.len();
        let problem = |at: serde_saphyr::Location, message: String| {
            Problem::new(&path, format!("summary `{}`: {message}", decl.name.value)).at_location(at)
        };
        let name = &decl.name.value;
        if !is_identifier(name) {
            problems.push(problem(
                decl.name.referenced,
                "name must be lower_snake_case letters, digits and _".into(),
            ));
        } else if !seen.insert(name.clone()) {
            problems.push(problem(decl.name.referenced, "declared twice".into()));
        }
        let at = parse_time(&decl.at.value);
        if at.is_none() {
            problems.push(problem(
                decl.at.referenced,
                format!(
                    "at `{}` must be a 24-hour time like \"18:00\"",
                    decl.at.value
                ),
            ));
        }
        let timezone = decl.timezone.value.parse::<Tz>().ok();
        if timezone.is_none() {
            problems.push(problem(
                decl.timezone.referenced,
                format!(
                    "timezone `{}` is not an IANA timezone name{}",
                    decl.timezone.value,
                    closest_timezone(&decl.timezone.value)
                        .map(|hint| format!(" (did you mean `{hint}`?)"))
                        .unwrap_or_else(|| " like Europe/London".into())
                ),
            ));
        }
        if !templates.exists(&decl.template.value) && !templates.is_broken(&decl.template.value) {
            problems.push(problem(
                decl.template.referenced,
                format!(
                    "template `{}` not found in the prompts directory",
                    decl.template.value
                ),
            ));
        }
        let mut listing =
            |given: Option<Spanned<StatusListingDecl>>, key: &str, default: StatusListing| {
                let (listing, at) = match given {
                    Some(given) => (
                        StatusListing {
                            kind: given.value.kind,
                            statuses: given.value.statuses,
                        },
                        given.referenced,
                    ),
                    None => (default, decl_at),
                };
                if let Some(message) = listing_problem(&listing, kinds) {
                    problems.push(problem(at, format!("{key}: {message}")));
                }
                listing
            };
        let open_reports = listing(
            decl.open_reports,
            "open_reports",
            StatusListing::default_open_reports(),
        );
        let parts_waiting = listing(
            decl.parts_waiting,
            "parts_waiting",
            StatusListing::default_parts_waiting(),
        );
        if let (Some(at), Some(timezone), true) = (at, timezone, problems.0.len() == before) {
            summaries.push(Summary {
                name: decl.name.value,
                at,
                timezone,
                template: decl.template.value,
                open_reports,
                parts_waiting,
                declared_in: path.clone(),
            });
        }
    }
    summaries
}

/// Why `listing` cannot be used with the declared kinds, if it cannot.
fn listing_problem(listing: &StatusListing, kinds: &RecordKinds) -> Option<String> {
    let Some(kind) = kinds.get(&listing.kind) else {
        return Some(format!(
            "kind `{}` is not declared (declared: {})",
            listing.kind,
            kinds.names().join(", ")
        ));
    };
    let Some(status_field) = kind.status_field.as_deref() else {
        return Some(format!("kind `{}` has no status_field", listing.kind));
    };
    let choices = match kind.field(status_field).map(|f| &f.ty) {
        Some(FieldType::Choice { choices }) => choices,
        _ => return None, // reported with the kind
    };
    if listing.statuses.is_empty() {
        return Some("statuses must list at least one status".into());
    }
    listing
        .statuses
        .iter()
        .find(|status| !choices.contains(status))
        .map(|status| {
            format!(
                "status `{status}` is not a choice of `{}`.{status_field} ({})",
                listing.kind,
                choices.join(", ")
            )
        })
}

/// `HH:MM`, 00:00 to 23:59, the hour with one or two digits.
fn parse_time(raw: &str) -> Option<NaiveTime> {
    let (hour, minute) = raw.trim().split_once(':')?;
    let valid = |part: &str, max_len: usize| {
        !part.is_empty() && part.len() <= max_len && part.bytes().all(|b| b.is_ascii_digit())
    };
    if !valid(hour, 2) || !valid(minute, 2) || minute.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(hour.parse().ok()?, minute.parse().ok()?, 0)
}

/// The known timezone nearest to a misspelt one, when one is near.
fn closest_timezone(raw: &str) -> Option<&'static str> {
    let lower = raw.to_lowercase();
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .map(|name| {
            (
                crate::text::edit_distance(&lower, &name.to_lowercase()),
                name,
            )
        })
        .filter(|(distance, _)| *distance <= 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_24_hour_hh_mm() {
        assert_eq!(parse_time("18:00"), NaiveTime::from_hms_opt(18, 0, 0));
        assert_eq!(parse_time("7:05"), NaiveTime::from_hms_opt(7, 5, 0));
        for bad in [
            "24:00", "18:60", "18", "18:0", "6pm", "18:00:00", "-1:00", "",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn misspelt_timezones_get_a_hint() {
        assert_eq!(closest_timezone("Europe/Londn"), Some("Europe/London"));
        assert_eq!(closest_timezone("Nowhere/Atall"), None);
    }
}
