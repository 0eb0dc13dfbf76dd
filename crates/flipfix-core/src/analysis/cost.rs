//! What an analysis costs: the most one call can cost (for the budget
//! reservation) and the accounting of every API attempt it made.

use sqlx::PgPool;

use super::prompt::Prompt;
use super::vision;
use crate::llm::budget::{self, Reservation};
use crate::llm::usage::{self, UsageRecord};
use crate::llm::ApiAttempt;
use crate::workflow::{Analyze, TokenUsage};

/// The most one call of `prompt` can cost, for the budget reservation:
/// input counted at two characters a token (denser than any real text),
/// each image at its ceiling ([`vision::MAX_TOKENS_PER_IMAGE`]), all at
/// the cache-write price (the dearest input), plus the whole output
/// allowance. Zero when the model has no price (the budget cannot see it).
pub fn estimated_max_cost(menu: &Analyze, prompt: &Prompt) -> f64 {
    let input_chars = prompt.system.chars().count()
        + prompt.conversation.chars().count()
        + prompt
            .images
            .iter()
            .map(|i| i.caption.chars().count())
            .sum::<usize>();
    let image_tokens = prompt.images.len() as u64 * vision::MAX_TOKENS_PER_IMAGE;
    menu.price(&menu.model).map_or(0.0, |price| {
        price.cost(&TokenUsage {
            input_tokens: 0,
            output_tokens: u64::from(menu.max_tokens),
            cache_creation_input_tokens: input_chars.div_ceil(2) as u64 + image_tokens,
            cache_read_input_tokens: 0,
        })
    })
}

/// Whom a call's usage is recorded for.
#[derive(Debug, Clone, Copy)]
pub struct Attribution<'a> {
    /// What the call was for (`analysis`, `replay`, `eval`).
    pub purpose: &'a str,
    /// Who asked (`discord:ID`, `cli`).
    pub requested_by: &'a str,
    /// The workflow run it is part of, if any.
    pub run_id: Option<i64>,
}

/// Records every API attempt of one call (failed and retried ones too) and
/// settles its budget reservation, in one transaction. Returns the cost of
/// the successful attempt when the model has a price.
pub async fn record_attempts(
    pool: &PgPool,
    menu: &Analyze,
    attempts: &[ApiAttempt],
    answered_by: Option<&str>,
    attribution: Attribution<'_>,
    reservation: Option<Reservation>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Option<f64>, sqlx::Error> {
    let model = answered_by.unwrap_or(&menu.model);
    let price = menu.price(model);
    let mut tx = pool.begin().await?;
    let mut answer_cost = None;
    for attempt in attempts {
        let cost = match (price, attempt.usage) {
            (Some(price), Some(usage)) => Some(price.cost(&usage)),
            // Failed attempts without usage were not billed.
            (Some(_), None) => Some(0.0),
            (None, _) => None,
        };
        if attempt.outcome == "ok" {
            answer_cost = cost;
        }
        usage::record(
            &mut *tx,
            &UsageRecord {
                purpose: attribution.purpose,
                requested_by: attribution.requested_by,
                model,
                request_id: attempt.request_id.as_deref(),
                usage: attempt.usage.unwrap_or_default(),
                outcome: &attempt.outcome,
                cost_usd: cost,
                at,
                run_id: attribution.run_id,
            },
        )
        .await?;
    }
    if let Some(reservation) = reservation {
        budget::settle(&mut tx, reservation).await?;
    }
    tx.commit().await?;
    Ok(answer_cost)
}
