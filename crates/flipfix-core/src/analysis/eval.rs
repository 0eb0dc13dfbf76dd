//! Scoring suggestions against a scenario's `expected` list, as the
//! original system's evaluator does: every expected entry must be matched
//! by one suggestion (comparing only the keys it gives), and no suggestion
//! may be left over.

use serde::Serialize;

use super::scenario::Expected;
use super::validate::Suggestion;

#[derive(Debug, Clone, Serialize)]
pub struct Score {
    pub passed: bool,
    pub matched: usize,
    /// Expected entries no suggestion matched.
    pub missing: Vec<Expected>,
    /// Suggestions (index, kind, machine) no entry matched.
    pub extra: Vec<String>,
    /// Expected entries a suggestion matched on kind and machine but not on
    /// the other keys, with what differed.
    pub partial: Vec<String>,
}

/// Scores top-level suggestions against `expected`.
pub fn score(expected: &[Expected], suggestions: &[Suggestion]) -> Score {
    let mut used = vec![false; suggestions.len()];
    let mut missing = Vec::new();
    let mut partial = Vec::new();
    let mut matched = 0;
    for entry in expected {
        let full = suggestions
            .iter()
            .enumerate()
            .find(|(i, s)| !used[*i] && differences(entry, s).is_empty());
        if let Some((i, _)) = full {
            used[i] = true;
            matched += 1;
            continue;
        }
        let near = suggestions.iter().enumerate().find(|(i, s)| {
            !used[*i] && s.kind == entry.kind && s.machine.slug() == entry.machine.as_deref()
        });
        if let Some((_, s)) = near {
            partial.push(format!(
                "{} {}: {}",
                entry.kind,
                entry.machine.as_deref().unwrap_or("(no machine)"),
                differences(entry, s).join("; ")
            ));
        }
        missing.push(entry.clone());
    }
    let extra: Vec<String> = suggestions
        .iter()
        .enumerate()
        .filter(|(i, _)| !used[*i])
        .map(|(i, s)| {
            format!(
                "#{} {} {}",
                i + 1,
                s.kind,
                s.machine.slug().unwrap_or("(no machine)")
            )
        })
        .collect();
    Score {
        passed: missing.is_empty() && extra.is_empty(),
        matched,
        missing,
        extra,
        partial,
    }
}

/// What differs between an entry and a suggestion (empty = a match).
fn differences(entry: &Expected, s: &Suggestion) -> Vec<String> {
    let mut out = Vec::new();
    if entry.kind != s.kind {
        out.push(format!("kind {} ≠ {}", s.kind, entry.kind));
    }
    if entry.machine.as_deref() != s.machine.slug() {
        out.push(format!(
            "machine {} ≠ {}",
            s.machine.slug().unwrap_or("none"),
            entry.machine.as_deref().unwrap_or("none")
        ));
    }
    if let Some(parent) = entry.parent_record_id {
        if s.parent_record_id != Some(parent) {
            out.push(format!("parent {:?} ≠ {parent}", s.parent_record_id));
        }
    }
    if let Some(author) = &entry.author {
        let got = s.author.as_ref().map(|a| a.key());
        if got.as_deref() != Some(author.as_str()) {
            out.push(format!(
                "author {} ≠ {author}",
                got.unwrap_or_else(|| "none".into())
            ));
        }
    }
    if let Some(ids) = &entry.source_message_ids {
        let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
        let got_owned: Vec<String> = s.source_message_ids.iter().map(u64::to_string).collect();
        let mut got: Vec<&str> = got_owned.iter().map(String::as_str).collect();
        want.sort_unstable();
        got.sort_unstable();
        if want != got {
            out.push(format!("sources {got:?} ≠ {want:?}"));
        }
    }
    if let Some(children) = entry.children {
        if s.children.len() != children {
            out.push(format!("children {} ≠ {children}", s.children.len()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::validate::{MachineMatch, SuggestedAuthor};

    fn suggestion(kind: &str, machine: Option<&str>) -> Suggestion {
        Suggestion {
            kind: kind.into(),
            machine: match machine {
                Some(slug) => MachineMatch::Known {
                    id: None,
                    slug: slug.into(),
                    name: slug.into(),
                },
                None => MachineMatch::None,
            },
            description: "d".into(),
            fields: Default::default(),
            source_message_ids: vec![4, 5],
            author: Some(SuggestedAuthor::Records {
                name: "Tom Baker".into(),
            }),
            parent_record_id: None,
            resolves: false,
            children: Vec::new(),
        }
    }

    fn expected(kind: &str, machine: Option<&str>) -> Expected {
        Expected {
            kind: kind.into(),
            machine: machine.map(Into::into),
            parent_record_id: None,
            author: None,
            source_message_ids: None,
            children: None,
        }
    }

    #[test]
    fn every_entry_matched_and_nothing_left_over_passes() {
        let score = score(
            &[
                expected("log_entry", Some("gorgar")),
                expected("part_request", None),
            ],
            &[
                suggestion("part_request", None),
                suggestion("log_entry", Some("gorgar")),
            ],
        );
        assert!(score.passed, "{score:?}");
        assert_eq!(score.matched, 2);
    }

    #[test]
    fn missing_extra_and_partial_are_reported() {
        let mut want = expected("log_entry", Some("gorgar"));
        want.children = Some(1);
        want.author = Some("flipfix/Tom Baker".into());
        want.source_message_ids = Some(vec!["5".into(), "4".into()]);
        let score = score(
            &[want, expected("problem_report", Some("ballyhoo"))],
            &[
                suggestion("log_entry", Some("gorgar")),
                suggestion("part_request", None),
            ],
        );
        assert!(!score.passed);
        assert_eq!(score.missing.len(), 2);
        assert_eq!(score.extra.len(), 2);
        assert_eq!(
            score.partial,
            vec!["log_entry gorgar: children 0 ≠ 1".to_string()]
        );
    }

    #[test]
    fn an_empty_expectation_fails_on_any_suggestion() {
        assert!(score(&[], &[]).passed);
        let score = score(&[], &[suggestion("log_entry", None)]);
        assert!(!score.passed);
        assert_eq!(score.extra, vec!["#1 log_entry (no machine)".to_string()]);
    }
}
