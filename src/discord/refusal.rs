//! What an action in Discord comes to when it may be declined: done, or
//! refused with the one sentence shown to the person (privately). A refusal
//! is not an error: nothing failed, the request was not possible, and the
//! person can act on the sentence. Errors stay in the `Result` around it.

use std::fmt;

/// The one sentence a person is told when their request is declined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(String);

impl Refusal {
    pub fn new(sentence: impl Into<String>) -> Self {
        Self(sentence.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An action's outcome: `Done` with its value, or `Refused` with the
/// sentence for the person. Used as `Result<Outcome<T>, E>` where `E` is
/// what failed.
#[derive(Debug)]
#[must_use]
pub enum Outcome<T> {
    Done(T),
    Refused(Refusal),
}

impl<T> Outcome<T> {
    /// Refused with `sentence`.
    pub fn refused(sentence: impl Into<String>) -> Self {
        Self::Refused(Refusal::new(sentence))
    }
}
