//! The analysis prompt for a scenario, with its `existing` records as the
//! database would give them.

use super::Scenario;

impl Scenario {
    /// [`crate::analysis::prepare`] for a scenario, with its `existing` records as the
    /// database would give them: their source messages left out as saved,
    /// the record the origin message became, and the open ones listed.
    pub async fn prepare(
        &self,
        workflows: &crate::workflow::Workflows,
        menu: &crate::workflow::Analyze,
    ) -> Result<
        (
            crate::analysis::Conversation,
            crate::analysis::prompt::Prompt,
        ),
        crate::analysis::AnalysisError,
    > {
        let mut conversation = crate::analysis::gather::gather(
            self,
            &menu.windows,
            None,
            self.target_channel_id,
            self.target_id,
        )
        .await?;
        let saved: Vec<crate::records::SavedSource> = self
            .file
            .existing
            .iter()
            .flat_map(|record| {
                record.source_message_ids.iter().filter_map(|id| {
                    Some(crate::records::SavedSource {
                        message_id: id.parse().ok()?,
                        record_id: record.id,
                        kind: record.kind.clone(),
                    })
                })
            })
            .collect();
        conversation.exclude_saved(&saved);
        conversation.parse_references(&workflows.kinds);
        let origin = conversation.origin_message_id.map(|id| id.to_string());
        for record in &self.file.existing {
            let existing = crate::analysis::conversation::ExistingRecord {
                kind: record.kind.clone(),
                record_id: record.id,
                machine: record.machine.clone(),
                status: record.status.clone(),
                occurred_at: record.timestamp,
                text: record.description.clone(),
                rule_fields: Default::default(),
            };
            let open = workflows
                .kinds
                .get(&record.kind)
                .is_some_and(|kind| crate::records::open::is_open(kind, record.status.as_deref()));
            if origin
                .as_ref()
                .is_some_and(|id| record.source_message_ids.contains(id))
            {
                conversation.origin_record = Some(existing);
            } else if open {
                conversation.open_records.push(existing);
            }
        }
        let prompt = crate::analysis::prompt::build_prompt(
            menu,
            &workflows.kinds,
            &workflows.templates,
            &self.catalog,
            &conversation,
        )?;
        Ok((conversation, prompt))
    }
}
