//! Machines' operational statuses and the rules that change them, as
//! declared in `machine_statuses:` and `status_rules:`.

/// One declared status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineStatus {
    pub name: String,
    pub label: String,
    pub emoji: String,
    pub out_of_service: bool,
}

/// One declared rule: while an open record of `kind` has `field` =
/// `equals`, its machine is `sets`; closing the last one asks about
/// `restore_to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRule {
    pub kind: String,
    pub field: String,
    pub equals: String,
    pub sets: String,
    pub restore_to: String,
}

impl StatusRule {
    /// Whether a record of `kind` with `fields` matches (open or not).
    pub fn matches(&self, kind: &str, fields: &std::collections::BTreeMap<String, String>) -> bool {
        self.kind == kind && fields.get(&self.field) == Some(&self.equals)
    }
}

/// Every declared status (in declared order) and rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineStatuses {
    pub statuses: Vec<MachineStatus>,
    pub rules: Vec<StatusRule>,
}

impl MachineStatuses {
    pub fn get(&self, name: &str) -> Option<&MachineStatus> {
        self.statuses.iter().find(|s| s.name == name)
    }

    /// The status's label, or the name itself when it is not declared
    /// (a value imported before it was).
    pub fn label(&self, name: &str) -> String {
        self.get(name)
            .map_or_else(|| name.to_string(), |s| s.label.clone())
    }

    /// "❌ Broken", or the bare label without an emoji.
    pub fn display(&self, name: &str) -> String {
        match self.get(name) {
            Some(s) if !s.emoji.is_empty() => format!("{} {}", s.emoji, s.label),
            Some(s) => s.label.clone(),
            None => name.to_string(),
        }
    }

    /// The declared status `value` means, read as a name or a label,
    /// ignoring case and surrounding space ("Broken", "BROKEN", " broken ").
    pub fn resolve(&self, value: &str) -> Option<&MachineStatus> {
        let value = value.trim();
        self.statuses
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(value))
            .or_else(|| {
                let value = value.to_lowercase();
                self.statuses
                    .iter()
                    .find(|s| s.label.trim().to_lowercase() == value)
            })
    }

    pub fn names(&self) -> Vec<&str> {
        self.statuses.iter().map(|s| s.name.as_str()).collect()
    }

    /// Whether `name` is a declared status other than the first (`good`,
    /// normal service): worth showing where people look (the summary, the
    /// review card, the prompt). A value never declared (`unknown`, a
    /// machine not imported) is not shown as a problem.
    pub fn is_not_good(&self, name: &str) -> bool {
        self.statuses.iter().skip(1).any(|s| s.name == name)
    }

    pub fn is_out_of_service(&self, name: &str) -> bool {
        self.get(name).is_some_and(|s| s.out_of_service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> MachineStatuses {
        let status = |name: &str, label: &str| MachineStatus {
            name: name.into(),
            label: label.into(),
            emoji: String::new(),
            out_of_service: false,
        };
        MachineStatuses {
            statuses: vec![status("good", "Good"), status("out", "Out of order")],
            rules: Vec::new(),
        }
    }

    #[test]
    fn a_value_resolves_by_name_or_label_ignoring_case() {
        let statuses = declared();
        let name = |value: &str| statuses.resolve(value).map(|s| s.name.as_str());
        assert_eq!(name("good"), Some("good"));
        assert_eq!(name(" GOOD "), Some("good"));
        assert_eq!(name("out of ORDER"), Some("out"));
        assert_eq!(name("Out"), Some("out"));
        assert_eq!(name("kaput"), None);
        assert_eq!(name(""), None);
    }
}
