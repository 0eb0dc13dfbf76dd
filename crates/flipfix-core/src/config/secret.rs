//! A string that never prints itself.

use std::fmt;

/// A secret value (token, API key). `Debug` and `Display` print a mask, so a
/// secret that ends up in a log line or an error message stays hidden.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The clear value, for the one place that must send it (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A mask that tells whether a value is set without showing any of it.
    pub fn masked(&self) -> &'static str {
        if self.0.is_empty() {
            "(empty)"
        } else {
            "•••••• (set)"
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.masked())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let secret = Secret::new("sk-ant-very-secret");
        assert!(!format!("{secret:?}").contains("very-secret"));
        assert!(!format!("{secret}").contains("very-secret"));
        assert_eq!(secret.expose(), "sk-ant-very-secret");
    }
}
