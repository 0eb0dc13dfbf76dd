//! One entry of `workflows:`: a named flow with its triggers, where it may
//! run, what it gathers, how it analyses, and what happens afterwards.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{AnalyzeDecl, WindowsDecl};

/// A workflow as authors write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDecl {
    /// A short identifier (`add_to_flipfix`), unique across files.
    pub name: Spanned<String>,
    /// What starts a run; at least one.
    pub triggers: Vec<Spanned<TriggerDecl>>,
    /// Channels (or threads' parent channels) it may run in; empty = all.
    #[serde(default)]
    pub channels: Vec<Spanned<Snowflake>>,
    /// Roles allowed to start it; empty = every member.
    #[serde(default)]
    pub roles: Vec<Spanned<Snowflake>>,
    /// Roles exempt from the daily cap.
    #[serde(default)]
    pub exempt_roles: Vec<Spanned<Snowflake>>,
    /// Runs and/or US dollars per UTC day across all members.
    #[serde(default)]
    pub daily_cap: Option<Spanned<DailyCapDecl>>,
    /// How much conversation is read around what started the run.
    #[serde(default)]
    pub gather: Option<Spanned<WindowsDecl>>,
    #[serde(default)]
    pub analyze: Option<Spanned<AnalyzeDecl>>,
    #[serde(default)]
    pub review: Option<Spanned<ReviewDecl>>,
    /// How the conversation learns that records were created (a reaction,
    /// optionally a reply); missing = react ✅, no reply.
    #[serde(default)]
    pub on_created: Option<Spanned<crate::workflow::on_created::OnCreatedDecl>>,
    /// What a `schedule:` workflow posts: a template and its listings. A
    /// schedule workflow has this and nothing of the analysis sections.
    #[serde(default)]
    pub summary: Option<Spanned<crate::workflow::summaries::SummaryBodyDecl>>,
}

/// One trigger, written as a one-key map (`- message_command: Add to Flipfix`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TriggerDecl {
    /// A command in Discord's message menu (Apps → NAME).
    MessageCommand(String),
    /// A member adds this emoji to a message.
    Reaction(ReactionDecl),
    /// A `/name` command with a free-text option.
    SlashCommand(SlashCommandDecl),
    /// A new forum post or thread in a channel.
    ThreadCreated(ThreadCreatedDecl),
    /// A set local time each day.
    Schedule(ScheduleDecl),
}

/// `reaction: 🔧`, or `reaction: {emoji: 🔧, channels: [ID, ...]}`.
#[derive(Debug, Clone)]
pub struct ReactionDecl {
    pub emoji: String,
    pub channels: Vec<Snowflake>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReactionTableDecl {
    emoji: String,
    #[serde(default)]
    channels: Vec<Snowflake>,
}

impl<'de> Deserialize<'de> for ReactionDecl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ReactionDecl;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an emoji, or a table with `emoji` and `channels`")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(ReactionDecl {
                    emoji: value.to_string(),
                    channels: Vec::new(),
                })
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                let table = ReactionTableDecl::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(ReactionDecl {
                    emoji: table.emoji,
                    channels: table.channels,
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `slash_command: {name: report, description: ...}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlashCommandDecl {
    /// Lowercase, 1-32 letters, digits, `-` or `_`.
    pub name: String,
    /// 1-100 characters, shown under the command.
    pub description: String,
    /// The free-text option's name (`note` when absent).
    #[serde(default)]
    pub text_option: Option<String>,
    /// Offer an optional machine option (autocompleted); on when absent.
    #[serde(default)]
    pub machine_option: Option<bool>,
    /// Offer an optional attachment option; on when absent.
    #[serde(default)]
    pub attachment_option: Option<bool>,
    /// The channel's last N messages read before the typed text (0 when
    /// absent).
    #[serde(default)]
    pub history: Option<usize>,
}

/// `thread_created: {channel: ID}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadCreatedDecl {
    /// A forum channel (new posts) or a text channel (new threads).
    pub channel: Snowflake,
    /// Messages of the new thread read with its starter (10 when absent).
    #[serde(default)]
    pub first_messages: Option<usize>,
}

/// `schedule: {at: "18:00", timezone: Europe/London}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDecl {
    /// Local time of day, 24-hour `HH:MM`.
    pub at: Spanned<String>,
    /// IANA timezone (`Europe/London`); daylight saving is followed.
    pub timezone: Spanned<String>,
}

/// `daily_cap:` — either or both bounds.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyCapDecl {
    #[serde(default)]
    pub runs: Option<u32>,
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

/// `review:` — who may review the suggestions of a run.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecl {
    /// `starter` (the member whose command, reaction or post started the
    /// run), the only reviewer this version knows.
    #[serde(default)]
    pub reviewer: ReviewerDecl,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewerDecl {
    #[default]
    Starter,
}

/// A Discord id, written as a number or a quoted string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Snowflake(pub u64);

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Snowflake;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a Discord id (digits)")
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Self::Value, E> {
                Ok(Snowflake(value))
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Self::Value, E> {
                u64::try_from(value)
                    .map(Snowflake)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                value
                    .trim()
                    .parse()
                    .map(Snowflake)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(value), &self))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}
