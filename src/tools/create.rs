//! `replay --create`: the suggestions saved as records, as if each were
//! confirmed in review.

use serde::Serialize;
use sqlx::PgPool;

use crate::analysis::scenario::Scenario;
use crate::analysis::{Analysis, MachineMatch, Suggestion};
use crate::records::{self, Author, CreatedVia, NewRecord, SourceMessage};
use crate::workflow::Workflows;

/// What happened to one suggestion (`1`, `1.2`).
#[derive(Debug, Clone, Serialize)]
pub struct CreatedRecord {
    pub suggestion: String,
    pub record_id: Option<i64>,
    pub error: Option<String>,
}

/// `--create`: every suggestion as if confirmed, children under their parent.
pub async fn create_all(
    pool: &PgPool,
    workflows: &Workflows,
    scenario: &Scenario,
    analysis: &Analysis,
) -> anyhow::Result<Vec<CreatedRecord>> {
    let mut created = Vec::new();
    for (i, s) in analysis.suggestions.iter().enumerate() {
        let at = (i + 1).to_string();
        let result = create_one(pool, workflows, scenario, analysis, s, s.parent_record_id).await;
        let parent_id = result.as_ref().ok().copied();
        created.push(outcome(at.clone(), result));
        for (j, child) in s.children.iter().enumerate() {
            let at = format!("{at}.{}", j + 1);
            let result = match parent_id {
                Some(parent) => {
                    create_one(pool, workflows, scenario, analysis, child, Some(parent)).await
                }
                None => Err(anyhow::anyhow!("its parent was not created")),
            };
            created.push(outcome(at, result));
        }
    }
    Ok(created)
}

fn outcome(at: String, result: anyhow::Result<i64>) -> CreatedRecord {
    match result {
        Ok(id) => CreatedRecord {
            suggestion: at,
            record_id: Some(id),
            error: None,
        },
        Err(err) => CreatedRecord {
            suggestion: at,
            record_id: None,
            error: Some(format!("{err:#}")),
        },
    }
}

async fn create_one(
    pool: &PgPool,
    workflows: &Workflows,
    scenario: &Scenario,
    analysis: &Analysis,
    s: &Suggestion,
    parent_id: Option<i64>,
) -> anyhow::Result<i64> {
    let machine_id = match &s.machine {
        MachineMatch::Known { slug, name, .. } => Some(ensure_machine(pool, slug, name).await?),
        _ => None,
    };
    let occurred_at = s
        .source_message_ids
        .iter()
        .filter_map(|id| analysis.conversation.get(*id))
        .map(|m| m.message.timestamp)
        .max()
        .unwrap_or_else(crate::clock::system_now);
    let new = NewRecord {
        kind: s.kind.clone(),
        machine_id,
        parent_id,
        description: s.description.clone(),
        fields: s.fields.clone(),
        author: Author::Name(
            s.author
                .as_ref()
                .map(|a| a.display().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ),
        occurred_at,
        created_at: crate::clock::system_now(),
        created_via: CreatedVia::Cli,
        created_by: Some(format!("replay {}", scenario.name())),
        sources: s
            .source_message_ids
            .iter()
            .map(|id| SourceMessage {
                guild_id: None,
                channel_id: analysis
                    .conversation
                    .get(*id)
                    .map(|m| m.message.channel_id)
                    .unwrap_or(analysis.conversation.channel_id),
                message_id: *id,
            })
            .collect(),
        media: Vec::new(),
    };
    Ok(records::create_record(pool, &workflows.kinds, &new)
        .await?
        .id)
}

/// Scenario machines may not be in the database yet: add them by slug.
async fn ensure_machine(pool: &PgPool, slug: &str, name: &str) -> anyhow::Result<i64> {
    if let Some(machine) = crate::catalog::machines::by_slug(pool, slug).await? {
        return Ok(machine.id);
    }
    let id = sqlx::query_scalar(
        "INSERT INTO machines (slug, name) VALUES ($1, $2)
         ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug RETURNING id",
    )
    .bind(slug)
    .bind(name)
    .fetch_one(pool)
    .await?;
    Ok(id)
}
