//! Daily summaries: a message posted to the webhook at a set local time
//! each day. Declared as a workflow with a `schedule:` trigger and a
//! `summary:` body, or in 0.x's `summaries:` section (still loaded, with a
//! warning showing its rewrite); both are checked here, by one function,
//! against the kinds and templates with line numbers, and scheduled and
//! rendered by `crate::summary`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use super::kinds::{FieldType, RecordKinds};
use super::{Problem, Problems};
use crate::templates::Templates;

/// What a schedule workflow posts, as authors write it under `summary:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryBodyDecl {
    /// A message template under `prompts/` with `title` and `body` blocks.
    pub template: Spanned<String>,
    /// The lists after the day's records, in order: each the records of
    /// one kind in some statuses, oldest first. Absent: open problem
    /// reports and parts waiting, as 0.3 listed them.
    #[serde(default)]
    pub listings: Option<Vec<Spanned<ListingDecl>>>,
}

/// One 0.x `summaries:` entry as authors wrote it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SummaryDecl {
    /// A short identifier (`daily`); a summary is posted once per name and
    /// local date.
    pub name: Spanned<String>,
    /// Local time of day, 24-hour `HH:MM`.
    pub at: Spanned<String>,
    /// IANA timezone (`Europe/London`) the time is in.
    pub timezone: Spanned<String>,
    pub template: Spanned<String>,
    #[serde(default)]
    pub listings: Option<Vec<Spanned<ListingDecl>>>,
    /// 0.3's first fixed slot, still read when `listings` is not written
    /// (default: `problem_report` with status `open`).
    #[serde(default)]
    pub open_reports: Option<Spanned<StatusListingDecl>>,
    /// 0.3's second fixed slot (default: `part_request` with status
    /// `requested` or `ordered`).
    #[serde(default)]
    pub parts_waiting: Option<Spanned<StatusListingDecl>>,
}

/// One listing as authors write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingDecl {
    /// The heading (`Parts waiting`).
    pub title: Spanned<String>,
    pub kind: Spanned<String>,
    pub statuses: Spanned<Vec<Spanned<String>>>,
}

/// 0.3's `open_reports` / `parts_waiting`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusListingDecl {
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
    /// What is listed after the day's records, in order.
    pub listings: Vec<StatusListing>,
    pub declared_in: PathBuf,
}

/// Records of `kind` whose status is one of `statuses`, under `title`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListing {
    pub title: String,
    pub kind: String,
    pub statuses: Vec<String>,
    /// For a listing read from 0.3's `open_reports` / `parts_waiting`: that
    /// name, under which templates written for 0.3 still find it.
    pub template_alias: Option<&'static str>,
}

/// Most listings one summary may declare: each takes room in one embed.
pub(crate) const MAX_LISTINGS: usize = 10;
/// Longest listing title.
const MAX_TITLE_CHARS: usize = 100;

/// 0.3's two slots: (key, title, default kind, default statuses).
pub(crate) const OLD_SLOTS: [(&str, &str, &str, &[&str]); 2] = [
    (
        "open_reports",
        "Open problem reports",
        "problem_report",
        &["open"],
    ),
    (
        "parts_waiting",
        "Parts waiting",
        "part_request",
        &["requested", "ordered"],
    ),
];

/// One summary's parts, from a schedule workflow or a `summaries:` entry,
/// before checking.
pub(crate) struct SummaryParts {
    pub name: String,
    /// The checked time and timezone; `None` when they were refused.
    pub schedule: Option<(NaiveTime, Tz)>,
    pub template: Spanned<String>,
    pub listings: Option<Vec<Spanned<ListingDecl>>>,
    /// 0.3's `open_reports` and `parts_waiting` (never in a workflow).
    pub old_slots: [Option<Spanned<StatusListingDecl>>; 2],
    /// Where the declaration starts, for problems with no better place.
    pub at: Location,
}

/// Checks one summary, whichever form declared it; `problem` names the
/// declaration in each message. `None` when anything was refused.
pub(crate) fn build_summary(
    path: &Path,
    parts: SummaryParts,
    kinds: &RecordKinds,
    templates: &Templates,
    problem: &dyn Fn(Location, String) -> Problem,
    problems: &mut Problems,
) -> Option<Summary> {
    let before = problems.0.len();
    let template = &parts.template;
    if let Some(missing) = templates.missing(&template.value) {
        problems.push(problem(template.referenced, missing));
    }
    let listings = match parts.listings {
        Some(listings) => {
            for old in parts.old_slots.iter().flatten() {
                problems.push(problem(
                    old.referenced,
                    "write either `listings:` or the old open_reports / parts_waiting, not both: move this one into `listings:` as `- {title: ..., kind: ..., statuses: [...]}`".into(),
                ));
            }
            if listings.len() > MAX_LISTINGS {
                problems.push(problem(
                    parts.at,
                    format!(
                        "{} listings; one summary shows at most {MAX_LISTINGS}",
                        listings.len()
                    ),
                ));
            }
            listings
                .into_iter()
                .map(|listing| {
                    checked_listing(listing.value, kinds, &mut |at, message| {
                        problems.push(problem(at, message))
                    })
                })
                .collect()
        }
        None => OLD_SLOTS
            .iter()
            .zip(parts.old_slots)
            .map(|(&(key, title, kind, statuses), given)| {
                let (kind, statuses, at) = match given {
                    Some(given) => (given.value.kind, given.value.statuses, given.referenced),
                    None => (
                        kind.to_string(),
                        statuses.iter().map(|s| s.to_string()).collect(),
                        parts.at,
                    ),
                };
                let listing = StatusListing {
                    title: title.into(),
                    kind,
                    statuses,
                    template_alias: Some(key),
                };
                if let Some(message) = listing_problem(&listing, kinds) {
                    problems.push(problem(at, format!("{key}: {message}")));
                }
                listing
            })
            .collect(),
    };
    let (at, timezone) = parts.schedule?;
    (problems.0.len() == before).then(|| Summary {
        name: parts.name,
        at,
        timezone,
        template: parts.template.value,
        listings,
        declared_in: path.to_path_buf(),
    })
}

/// A time and timezone as written (`at: "18:00"`, `timezone:
/// Europe/London`), checked; each mistake reported where it is written.
pub(crate) fn parse_schedule(
    at: &Spanned<String>,
    timezone: &Spanned<String>,
    problem: &dyn Fn(Location, String) -> Problem,
    problems: &mut Problems,
) -> Option<(NaiveTime, Tz)> {
    let time = parse_time(&at.value);
    if time.is_none() {
        problems.push(problem(
            at.referenced,
            format!("at `{}` must be a 24-hour time like \"18:00\"", at.value),
        ));
    }
    let zone = timezone.value.parse::<Tz>().ok();
    if zone.is_none() {
        problems.push(problem(
            timezone.referenced,
            format!(
                "timezone `{}` is not an IANA timezone name{}",
                timezone.value,
                closest_timezone(&timezone.value)
                    .map(|hint| format!(" (did you mean `{hint}`?)"))
                    .unwrap_or_else(|| " like Europe/London".into())
            ),
        ));
    }
    Some((time?, zone?))
}

/// Checks 0.x's `summaries:` entries; returns the sound ones. `taken` are
/// the schedule workflows' names (with where each is declared): a summary's
/// name is its key in `summary_posts`, so no two may share one.
pub(super) fn build_summaries(
    decls: Vec<(PathBuf, Spanned<SummaryDecl>)>,
    taken: &HashMap<String, String>,
    kinds: &RecordKinds,
    templates: &Templates,
    problems: &mut Problems,
) -> Vec<Summary> {
    let mut seen = std::collections::HashSet::new();
    let mut summaries = Vec::new();
    for (path, decl) in decls {
        let decl_at = decl.referenced;
        let decl = decl.value;
        let problem = |at: Location, message: String| {
            Problem::new(&path, format!("summary `{}`: {message}", decl.name.value)).at_location(at)
        };
        let name = &decl.name.value;
        let before = problems.0.len();
        if !super::load::is_identifier(name) {
            problems.push(problem(
                decl.name.referenced,
                "name must be lower_snake_case letters, digits and _".into(),
            ));
        } else if let Some(place) = taken.get(name) {
            problems.push(problem(
                decl.name.referenced,
                format!("workflow `{name}` at {place} has this name; names must be unique"),
            ));
        } else if !seen.insert(name.clone()) {
            problems.push(problem(decl.name.referenced, "declared twice".into()));
        }
        let schedule = parse_schedule(&decl.at, &decl.timezone, &problem, problems);
        let parts = SummaryParts {
            name: decl.name.value.clone(),
            schedule,
            template: decl.template,
            listings: decl.listings,
            old_slots: [decl.open_reports, decl.parts_waiting],
            at: decl_at,
        };
        let summary = build_summary(&path, parts, kinds, templates, &problem, problems);
        if let (Some(summary), true) = (summary, problems.0.len() == before) {
            summaries.push(summary);
        }
    }
    summaries
}

/// A listing from `listings:`, each mistake reported where it is written.
fn checked_listing(
    decl: ListingDecl,
    kinds: &RecordKinds,
    problem: &mut dyn FnMut(serde_saphyr::Location, String),
) -> StatusListing {
    let title = decl.title.value.trim().to_string();
    let length = title.chars().count();
    if length == 0 || length > MAX_TITLE_CHARS {
        problem(
            decl.title.referenced,
            format!("listing title must be 1–{MAX_TITLE_CHARS} characters"),
        );
    }
    let listing = StatusListing {
        title,
        kind: decl.kind.value.clone(),
        statuses: decl
            .statuses
            .value
            .iter()
            .map(|s| s.value.clone())
            .collect(),
        template_alias: None,
    };
    if let Some(message) = listing_problem(&listing, kinds) {
        // Point at the status that is wrong, else at the kind (or the
        // empty list).
        let at = decl
            .statuses
            .value
            .iter()
            .find(|status| message.contains(&format!("status `{}`", status.value)))
            .map(|status| status.referenced)
            .unwrap_or(
                if listing.statuses.is_empty() && kinds.get(&listing.kind).is_some() {
                    decl.statuses.referenced
                } else {
                    decl.kind.referenced
                },
            );
        problem(at, format!("listing `{}`: {message}", listing.title));
    }
    listing
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
