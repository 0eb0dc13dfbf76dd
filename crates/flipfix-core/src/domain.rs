//! Small types every part of the core shares: Discord ids as Postgres
//! stores them ([`Snowflake`]), who a record is attributed to, how it came to be, and the
//! photos it carries. They sit below `catalog`, `records`, `media` and
//! `outbox` so those never need each other for a type.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

/// A Discord id (user, channel, message, server) as the bot keeps it.
///
/// Discord's ids are u64; Postgres has no unsigned type, so a `Snowflake`
/// is stored as the BIGINT with the same bits. Snowflakes stay below 2^63
/// until the year 2084, so stored ids also sort and compare as numbers. It
/// is bound and read as itself (`.bind(Snowflake(id))`, a row field of type
/// `Snowflake`): no query converts by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Snowflake(pub u64);

impl Snowflake {
    pub fn get(self) -> u64 {
        self.0
    }

    /// The BIGINT Postgres stores.
    fn stored(self) -> i64 {
        i64::from_ne_bytes(self.0.to_ne_bytes())
    }

    fn from_stored(stored: i64) -> Self {
        Self(u64::from_ne_bytes(stored.to_ne_bytes()))
    }
}

impl From<u64> for Snowflake {
    fn from(id: u64) -> Self {
        Self(id)
    }
}

impl From<Snowflake> for u64 {
    fn from(id: Snowflake) -> Self {
        id.0
    }
}

impl Type<Postgres> for Snowflake {
    fn type_info() -> PgTypeInfo {
        <i64 as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <i64 as Type<Postgres>>::compatible(ty)
    }
}

impl PgHasArrayType for Snowflake {
    fn array_type_info() -> PgTypeInfo {
        <i64 as PgHasArrayType>::array_type_info()
    }
}

impl Encode<'_, Postgres> for Snowflake {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<Postgres>>::encode_by_ref(&self.stored(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for Snowflake {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <i64 as Decode<Postgres>>::decode(value).map(Self::from_stored)
    }
}

/// Who a record is attributed to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Author {
    Maintainer(i64),
    /// A name without a maintainer account (a Discord display name).
    Name(String),
}

/// How a record came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreatedVia {
    /// "Add to Flipfix" on a Discord message.
    DiscordMessage,
    /// A direct slash command.
    SlashCommand,
    Cli,
    Api,
    /// The original system's history (`import records`): posted to the
    /// webhook only when the import asks for it.
    Import {
        notify: bool,
    },
}

impl CreatedVia {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DiscordMessage => "discord_message",
            Self::SlashCommand => "slash_command",
            Self::Cli => "cli",
            Self::Api => "api",
            Self::Import { .. } => "import",
        }
    }
}

/// Bound into `records.created_via` (TEXT, by the names above) through
/// `sqlx::Type`. Written only: an import's `notify` is not stored, so the
/// column is never read back into this type.
impl sqlx::Type<sqlx::Postgres> for CreatedVia {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <&str as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl sqlx::Encode<'_, sqlx::Postgres> for CreatedVia {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.as_str(), buf)
    }
}

/// An image or video attached to a source message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Media {
    pub url: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
}

impl Media {
    /// Images only: what Discord can show as a thumbnail or in a gallery.
    pub fn is_image(content_type: Option<&str>, filename: &str) -> bool {
        match content_type {
            Some(ct) => ct.starts_with("image/"),
            None => {
                let lower = filename.to_ascii_lowercase();
                [".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic"]
                    .iter()
                    .any(|ext| lower.ends_with(ext))
            }
        }
    }

    /// Images and videos are kept; other attachments (PDFs, logs) are not media.
    pub fn is_photo_or_video(content_type: Option<&str>, filename: &str) -> bool {
        match content_type {
            Some(ct) => ct.starts_with("image/") || ct.starts_with("video/"),
            None => {
                let lower = filename.to_ascii_lowercase();
                [
                    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".mp4", ".mov", ".webm",
                ]
                .iter()
                .any(|ext| lower.ends_with(ext))
            }
        }
    }
}
