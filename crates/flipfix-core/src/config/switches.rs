//! Webhook switches that record kinds declare in YAML: boolean settings
//! whose names come from the workflows, not from Rust. A new kind gets its
//! own switch, read and set through the same paths as a fixed setting.

use super::settings::{SettingKey, SettingType, HOME_SERVER_KEY};

/// What a kind switch is until an admin changes it: on, as the original
/// system's three switches were.
pub(crate) const SWITCH_DEFAULT: &str = "true";

/// Longest switch name (Discord's autocomplete shows up to 100 characters
/// per choice, with the value and description after the name).
const MAX_SWITCH_LEN: usize = 64;

/// The name of a kind's webhook switch, checked: upper-case `A-Z0-9_`,
/// starting with a letter, and not the name of a fixed setting.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SwitchKey(String);

impl SwitchKey {
    /// Checks a name an author wrote; the error is one sentence saying why.
    pub fn parse(name: &str) -> Result<Self, String> {
        let well_formed = !name.is_empty()
            && name.len() <= MAX_SWITCH_LEN
            && name.starts_with(|c: char| c.is_ascii_uppercase())
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !well_formed {
            return Err(format!(
                "`{name}` must be 1–{MAX_SWITCH_LEN} upper-case letters, digits and _, starting with a letter"
            ));
        }
        if name == HOME_SERVER_KEY || SettingKey::from_name(name).is_some() {
            return Err(format!(
                "`{name}` is a fixed setting; a kind's switch needs a name of its own"
            ));
        }
        Ok(Self(name.to_string()))
    }

    /// The switch a kind gets when it names none: `DISCORD_WEBHOOKS_` and
    /// its name in upper case (`tournament` → `DISCORD_WEBHOOKS_TOURNAMENT`).
    pub(crate) fn derived_name(kind: &str) -> String {
        format!("DISCORD_WEBHOOKS_{}", kind.to_ascii_uppercase())
    }

    /// A placeholder for a kind whose switch was refused: the load that
    /// holds it reports problems and is never used.
    pub(crate) fn refused() -> Self {
        Self(String::new())
    }

    pub fn name(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SwitchKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One declared switch and what it governs, as admins see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredSwitch {
    pub key: SwitchKey,
    /// "post new part request and part request update records".
    pub description: String,
}

/// The switches the loaded workflows declare, in declaration order, each
/// once (kinds may share one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeclaredSwitches(Vec<DeclaredSwitch>);

impl DeclaredSwitches {
    /// Groups `(switch, kind label)` pairs by switch, first declared first.
    pub(crate) fn from_kinds<'a>(
        kinds: impl IntoIterator<Item = (&'a SwitchKey, &'a str)>,
    ) -> Self {
        let mut grouped: Vec<(SwitchKey, Vec<String>)> = Vec::new();
        for (key, label) in kinds {
            let label = label.to_lowercase();
            match grouped.iter_mut().find(|(k, _)| k == key) {
                Some((_, labels)) => labels.push(label),
                None => grouped.push((key.clone(), vec![label])),
            }
        }
        Self(
            grouped
                .into_iter()
                .map(|(key, labels)| DeclaredSwitch {
                    key,
                    description: format!("post new {} records", labels.join(" and ")),
                })
                .collect(),
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = &DeclaredSwitch> {
        self.0.iter()
    }

    /// The switch named `name`, case-insensitively (admins type it).
    pub fn find(&self, name: &str) -> Option<&DeclaredSwitch> {
        let name = name.trim();
        self.0
            .iter()
            .find(|switch| switch.key.name().eq_ignore_ascii_case(name))
    }
}

/// Any setting an admin can read or set: a fixed one, or a kind's switch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Fixed(SettingKey),
    Switch(SwitchKey),
}

impl Key {
    pub fn name(&self) -> &str {
        match self {
            Self::Fixed(key) => key.name(),
            Self::Switch(key) => key.name(),
        }
    }

    pub fn ty(&self) -> SettingType {
        match self {
            Self::Fixed(key) => key.def().ty,
            Self::Switch(_) => SettingType::Bool,
        }
    }

    pub fn default_value(&self) -> Option<&'static str> {
        match self {
            Self::Fixed(key) => key.def().default,
            Self::Switch(_) => Some(SWITCH_DEFAULT),
        }
    }
}

impl From<SettingKey> for Key {
    fn from(key: SettingKey) -> Self {
        Self::Fixed(key)
    }
}

impl From<SwitchKey> for Key {
    fn from(key: SwitchKey) -> Self {
        Self::Switch(key)
    }
}

impl From<&SwitchKey> for Key {
    fn from(key: &SwitchKey) -> Self {
        Self::Switch(key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switch_names_are_upper_case_and_not_fixed_settings() {
        assert!(SwitchKey::parse("DISCORD_WEBHOOKS_PARTS").is_ok());
        assert!(SwitchKey::parse("TOURNAMENTS2").is_ok());
        for bad in ["", "discord_webhooks_parts", "2FAST", "A-B", "A B", "_X"] {
            assert!(SwitchKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(SwitchKey::parse(&"A".repeat(65)).is_err());
        let clash = SwitchKey::parse("DISCORD_WEBHOOKS_ENABLED").unwrap_err();
        assert!(clash.contains("is a fixed setting"), "{clash}");
        assert!(SwitchKey::parse("DISCORD_GUILD_ID").is_err());
    }

    #[test]
    fn shared_switches_are_listed_once_naming_their_kinds() {
        let parts = SwitchKey::parse("DISCORD_WEBHOOKS_PARTS").unwrap();
        let logs = SwitchKey::parse("DISCORD_WEBHOOKS_LOG_ENTRIES").unwrap();
        let declared = DeclaredSwitches::from_kinds([
            (&parts, "Part request"),
            (&logs, "Log entry"),
            (&parts, "Part request update"),
        ]);
        let listed: Vec<_> = declared
            .iter()
            .map(|s| (s.key.name(), s.description.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                (
                    "DISCORD_WEBHOOKS_PARTS",
                    "post new part request and part request update records"
                ),
                ("DISCORD_WEBHOOKS_LOG_ENTRIES", "post new log entry records"),
            ]
        );
        assert_eq!(
            declared.find("discord_webhooks_parts").map(|s| &s.key),
            Some(&parts)
        );
    }
}
