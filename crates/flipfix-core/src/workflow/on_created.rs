//! A workflow's `on_created`: how the bot acknowledges, in the conversation,
//! that a review created records: a reaction on each source message, and
//! optionally one public reply rendered from a template.

use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Problem, Problems};
use crate::templates::Templates;

/// The reaction when a workflow does not say.
pub(crate) const DEFAULT_REACTION: &str = "✅";

/// As authors write it. Both keys are optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnCreatedDecl {
    /// The emoji put on every source message; `""` turns reactions off.
    #[serde(default)]
    pub react: Option<Spanned<String>>,
    /// A template under `prompts/` for one public reply listing the records;
    /// absent or `null` = no reply.
    #[serde(default)]
    pub reply: Option<Spanned<String>>,
}

/// After validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCreated {
    /// `None`: no reaction.
    pub react: Option<String>,
    /// `None`: no reply.
    pub reply_template: Option<String>,
}

impl Default for OnCreated {
    fn default() -> Self {
        Self {
            react: Some(DEFAULT_REACTION.to_string()),
            reply_template: None,
        }
    }
}

/// Checks the declaration; a missing section means the defaults.
pub(super) fn build(
    decl: Option<Spanned<OnCreatedDecl>>,
    path: &Path,
    templates: &Templates,
    problems: &mut Problems,
) -> OnCreated {
    let Some(decl) = decl else {
        return OnCreated::default();
    };
    let problem = |at: serde_saphyr::Location, message: String| {
        Problem::new(path, format!("on_created: {message}")).at_location(at)
    };
    let react = match decl.value.react {
        None => Some(DEFAULT_REACTION.to_string()),
        Some(react) if react.value.is_empty() => None,
        Some(react) => {
            if let Err(why) = check_emoji(&react.value) {
                problems.push(problem(
                    react.referenced,
                    format!("react `{}` {why}", react.value),
                ));
            }
            Some(react.value)
        }
    };
    let reply_template = decl.value.reply.map(|reply| {
        if let Some(missing) = templates.missing(&reply.value) {
            problems.push(problem(reply.referenced, format!("reply {missing}")));
        }
        reply.value
    });
    OnCreated {
        react,
        reply_template,
    }
}

/// Longest reaction accepted: the longest Unicode emoji sequences (flags,
/// families with skin tones) stay well below it.
const MAX_EMOJI_CHARS: usize = 16;

/// A Unicode emoji (no letters, digits or spaces: `✅`, `🔧`) or a custom
/// emoji as Discord's reaction routes take it (`name:id`).
fn check_emoji(emoji: &str) -> Result<(), &'static str> {
    if let Some((name, id)) = emoji.split_once(':') {
        let name_ok = (2..=32).contains(&name.chars().count())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let id_ok = !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
        return if name_ok && id_ok {
            Ok(())
        } else {
            Err("is not a custom emoji of the form name:id")
        };
    }
    if emoji.chars().count() > MAX_EMOJI_CHARS {
        return Err("is too long for an emoji");
    }
    if emoji
        .chars()
        .any(|c| c.is_whitespace() || c.is_ascii_alphanumeric() || c.is_ascii_punctuation())
    {
        return Err(
            "is not an emoji (write the emoji itself, like \"✅\", or name:id for a custom one)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_are_told_from_text() {
        for ok in ["✅", "🔧", "👍🏽", "🇺🇸", "flipfix:123456789012345678"] {
            assert_eq!(check_emoji(ok), Ok(()), "{ok}");
        }
        for bad in [
            ":white_check_mark:",
            "ok",
            "✅ ✅",
            "x:abc",
            "✅✅✅✅✅✅✅✅✅✅✅✅✅✅✅✅✅",
        ] {
            assert!(check_emoji(bad).is_err(), "{bad}");
        }
    }
}
