//! Finding a machine from what a person (or the model) typed: by slug,
//! name, short name or alias, ignoring case and punctuation, then fuzzily.

use super::Machine;
use crate::text::{edit_distance, loose_key};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MachineMatch {
    Found(Machine),
    /// Nothing matches well enough; the closest names, best first.
    Unknown {
        closest: Vec<String>,
    },
}

/// Every name a machine answers to.
fn names(machine: &Machine) -> impl Iterator<Item = &String> {
    std::iter::once(&machine.slug)
        .chain(std::iter::once(&machine.name))
        .chain(machine.short_name.iter())
        .chain(machine.aliases.iter())
}

/// The machine `typed` names exactly (slug, name, short name or alias,
/// ignoring case and punctuation), with no typo tolerance: for bulk imports,
/// where nobody looks at each match ("Godzilla (Premium) #2" must not become
/// "Godzilla (Premium)").
pub(crate) fn match_exactly<'a>(machines: &'a [Machine], typed: &str) -> Option<&'a Machine> {
    let key = loose_key(typed);
    if key.is_empty() {
        return None;
    }
    machines
        .iter()
        .find(|m| names(m).any(|n| loose_key(n) == key))
}

/// Matches `typed` against the catalog. Exact (loose) matches win; otherwise
/// a single machine within a small edit distance is taken (typos such as
/// "Gorgr"); anything else is unknown, with suggestions.
pub fn match_machine(machines: &[Machine], typed: &str) -> MachineMatch {
    let key = loose_key(typed);
    if key.is_empty() {
        return MachineMatch::Unknown {
            closest: Vec::new(),
        };
    }
    if let Some(found) = machines
        .iter()
        .find(|m| names(m).any(|n| loose_key(n) == key))
    {
        return MachineMatch::Found(found.clone());
    }
    let mut scored: Vec<(usize, &Machine)> = machines
        .iter()
        .map(|m| {
            (
                names(m)
                    .map(|n| edit_distance(&key, &loose_key(n)))
                    .min()
                    .unwrap_or(usize::MAX),
                m,
            )
        })
        .collect();
    scored.sort_by_key(|(distance, m)| (*distance, m.name.clone()));
    // Allow about one typo per five characters, at most three.
    let tolerance = (key.chars().count() / 5).clamp(1, 3);
    let close: Vec<&(usize, &Machine)> = scored.iter().filter(|(d, _)| *d <= tolerance).collect();
    if let [(_, only)] = close.as_slice() {
        return MachineMatch::Found((*only).clone());
    }
    MachineMatch::Unknown {
        closest: scored.iter().take(3).map(|(_, m)| m.name.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(id: i64, slug: &str, name: &str, short: Option<&str>, aliases: &[&str]) -> Machine {
        Machine {
            id,
            slug: slug.into(),
            name: name.into(),
            short_name: short.map(Into::into),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            status: "good".into(),
            location: None,
        }
    }

    fn catalog() -> Vec<Machine> {
        vec![
            machine(
                1,
                "eight-ball-deluxe-limited-edition",
                "Eight Ball Deluxe (Limited Edition)",
                Some("EBD LE"),
                &["EBD"],
            ),
            machine(2, "gorgar", "Gorgar", None, &[]),
            machine(3, "star-trek", "Star Trek", None, &[]),
            machine(4, "star-trip", "Star Trip", None, &[]),
        ]
    }

    #[test]
    fn exact_names_in_any_form_match() {
        for typed in [
            "ebd",
            "EBD LE",
            "eight ball deluxe limited edition",
            "eight-ball-deluxe-limited-edition",
        ] {
            assert!(
                matches!(match_machine(&catalog(), typed), MachineMatch::Found(m) if m.id == 1),
                "{typed}"
            );
        }
    }

    #[test]
    fn an_exact_match_takes_no_typos() {
        assert_eq!(match_exactly(&catalog(), "ebd le").map(|m| m.id), Some(1));
        assert_eq!(match_exactly(&catalog(), "Gorgr"), None);
        assert_eq!(match_exactly(&catalog(), " "), None);
    }

    #[test]
    fn a_typo_matches_when_only_one_machine_is_close() {
        assert!(matches!(match_machine(&catalog(), "Gorgr"), MachineMatch::Found(m) if m.id == 2));
    }

    #[test]
    fn ambiguous_or_unknown_names_give_suggestions() {
        // "Star Trx" is as far from Star Trek as from Star Trip.
        let MachineMatch::Unknown { closest } = match_machine(&catalog(), "Star Trx") else {
            panic!("ambiguous must not match");
        };
        assert_eq!(
            &closest[..2],
            &["Star Trek".to_string(), "Star Trip".to_string()]
        );
        assert!(matches!(
            match_machine(&catalog(), "Medieval Madness"),
            MachineMatch::Unknown { .. }
        ));
        assert!(
            matches!(match_machine(&catalog(), "  "), MachineMatch::Unknown { closest } if closest.is_empty())
        );
    }
}
