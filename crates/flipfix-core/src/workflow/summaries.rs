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
pub(crate) struct SummaryDecl {
    /// A short identifier (`daily`); a summary is posted once per name and
    /// local date.
    pub name: Spanned<String>,
    /// Local time of day, 24-hour `HH:MM`.
    pub at: Spanned<String>,
    /// IANA timezone (`Europe/London`) the time is in.
    pub timezone: Spanned<String>,
    /// A message template under `prompts/` with `title` and `body` blocks.
    pub template: Spanned<String>,
    /// The lists after the day's records, in order: each the records of
    /// one kind in some statuses, oldest first.
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
pub(crate) struct ListingDecl {
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
const OLD_SLOTS: [(&str, &str, &str, &[&str]); 2] = [
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
        let listings = match decl.listings {
            Some(listings) => {
                for old in [&decl.open_reports, &decl.parts_waiting]
                    .into_iter()
                    .flatten()
                {
                    problems.push(problem(
                        old.referenced,
                        "write either `listings:` or the old open_reports / parts_waiting, not both: move this one into `listings:` as `- {title: ..., kind: ..., statuses: [...]}`".into(),
                    ));
                }
                if listings.len() > MAX_LISTINGS {
                    problems.push(problem(
                        decl_at,
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
            None => {
                let old = [decl.open_reports, decl.parts_waiting];
                OLD_SLOTS
                    .iter()
                    .zip(old)
                    .map(|(&(key, title, kind, statuses), given)| {
                        let (kind, statuses, at) = match given {
                            Some(given) => {
                                (given.value.kind, given.value.statuses, given.referenced)
                            }
                            None => (
                                kind.to_string(),
                                statuses.iter().map(|s| s.to_string()).collect(),
                                decl_at,
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
                    .collect()
            }
        };
        if let (Some(at), Some(timezone), true) = (at, timezone, problems.0.len() == before) {
            summaries.push(Summary {
                name: decl.name.value,
                at,
                timezone,
                template: decl.template.value,
                listings,
                declared_in: path.clone(),
            });
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
