//! Button, select menu and modal ids. Stable and short: `ff:<session>:<position>:<action>`
//! (Discord allows 100 characters), so any instance can route a click.

use std::fmt;
use std::str::FromStr;

const PREFIX: &str = "ff";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Edit,
    Skip,
    Cancel,
    /// The submitted edit modal.
    EditSubmit,
    /// The card's machine menu (a machine id, or "Other…").
    PickMachine,
    /// The card's menu for the kind's `card_select` choice field.
    PickChoice,
    /// Attach the suggestion to its likely duplicate instead of creating it.
    Attach,
    /// Create it and close its parent (`resolves_parent`).
    CreateAndClose,
    /// Attach it to its likely duplicate and close that record.
    AttachAndClose,
}

impl Action {
    fn code(self) -> &'static str {
        match self {
            Self::Create => "c",
            Self::Edit => "e",
            Self::Skip => "s",
            Self::Cancel => "x",
            Self::EditSubmit => "m",
            Self::PickMachine => "p",
            Self::PickChoice => "f",
            Self::Attach => "a",
            Self::CreateAndClose => "k",
            Self::AttachAndClose => "l",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "c" => Self::Create,
            "e" => Self::Edit,
            "s" => Self::Skip,
            "x" => Self::Cancel,
            "m" => Self::EditSubmit,
            "p" => Self::PickMachine,
            "f" => Self::PickChoice,
            "a" => Self::Attach,
            "k" => Self::CreateAndClose,
            "l" => Self::AttachAndClose,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomId {
    pub session_id: i64,
    pub position: i32,
    pub action: Action,
}

impl fmt::Display for CustomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}:{}:{}:{}",
            self.session_id,
            self.position,
            self.action.code()
        )
    }
}

/// A custom id that is not ours (another bot's component) or is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a flipfix review component id")]
pub struct NotOurs;

impl FromStr for CustomId {
    type Err = NotOurs;

    fn from_str(raw: &str) -> Result<Self, NotOurs> {
        let mut parts = raw.split(':');
        if parts.next() != Some(PREFIX) {
            return Err(NotOurs);
        }
        let session_id = parts.next().and_then(|p| p.parse().ok()).ok_or(NotOurs)?;
        let position = parts.next().and_then(|p| p.parse().ok()).ok_or(NotOurs)?;
        let action = parts.next().and_then(Action::from_code).ok_or(NotOurs)?;
        if parts.next().is_some() {
            return Err(NotOurs);
        }
        Ok(Self {
            session_id,
            position,
            action,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_stays_short() {
        for action in [
            Action::Create,
            Action::Edit,
            Action::Skip,
            Action::Cancel,
            Action::EditSubmit,
            Action::PickMachine,
            Action::PickChoice,
            Action::Attach,
            Action::CreateAndClose,
            Action::AttachAndClose,
        ] {
            let id = CustomId {
                session_id: i64::MAX,
                position: i32::MAX,
                action,
            };
            let text = id.to_string();
            assert!(text.len() <= 100, "{text}");
            assert_eq!(text.parse::<CustomId>(), Ok(id));
        }
    }

    #[test]
    fn foreign_or_malformed_ids_are_refused() {
        for raw in [
            "",
            "ff",
            "ff:1:2",
            "ff:1:2:z",
            "xx:1:2:c",
            "ff:a:2:c",
            "ff:1:2:c:extra",
        ] {
            assert_eq!(raw.parse::<CustomId>(), Err(NotOurs), "{raw}");
        }
    }
}
