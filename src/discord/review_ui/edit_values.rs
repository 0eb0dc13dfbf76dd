//! Applying a submitted edit modal's values to a suggestion, checked
//! against its kind (a known machine, a declared choice, a length limit).

use crate::app::App;
use crate::catalog::machines;
use crate::catalog::matching::{match_machine, MachineMatch};
use crate::discord::refusal::Outcome;
use crate::review::{ReviewError, ReviewItem};
use crate::workflow::{FieldType, Workflows};

/// The item with the modal's values applied, or refused with what is wrong
/// with them.
pub(super) async fn apply_edits(
    app: &App,
    workflows: &Workflows,
    item: &ReviewItem,
    values: &[(String, String)],
) -> Result<Outcome<ReviewItem>, ReviewError> {
    let Some(kind) = workflows.kinds.get(&item.kind) else {
        return Err(ReviewError::NotFound);
    };
    let mut edited = item.clone();
    for (name, value) in values {
        let value = value.trim();
        match name.as_str() {
            "machine" if value.is_empty() => {
                edited.machine_id = None;
                edited.machine_hint = None;
            }
            "machine" => {
                let all = machines::list(&app.pool).await?;
                match match_machine(&all, value) {
                    MachineMatch::Found(machine) => {
                        edited.machine_id = Some(machine.id);
                        edited.machine_hint = Some(machine.name);
                    }
                    MachineMatch::Unknown { closest } => {
                        let hint = if closest.is_empty() {
                            String::new()
                        } else {
                            format!(" Closest: {}.", closest.join(", "))
                        };
                        return Ok(Outcome::refused(format!(
                            "No machine matches `{}`.{hint}",
                            value.replace('`', "'")
                        )));
                    }
                }
            }
            "description" => {
                if value.is_empty() {
                    return Ok(Outcome::refused(format!(
                        "{} must not be empty.",
                        kind.description_label
                    )));
                }
                edited.description = value.to_string();
            }
            field_name => {
                let Some(field) = kind.field(field_name) else {
                    continue;
                };
                if value.is_empty() {
                    edited.fields.remove(field_name);
                    continue;
                }
                let value = match &field.ty {
                    FieldType::Choice { choices } => {
                        match choices.iter().find(|c| c.eq_ignore_ascii_case(value)) {
                            Some(choice) => choice.clone(),
                            None => {
                                return Ok(Outcome::refused(format!(
                                    "{} must be one of: {}.",
                                    field.label,
                                    choices.join(", ")
                                )))
                            }
                        }
                    }
                    FieldType::Text { max_length } if value.chars().count() > *max_length => {
                        return Ok(Outcome::refused(format!(
                            "{} is longer than {max_length} characters.",
                            field.label
                        )))
                    }
                    FieldType::Text { .. } => value.to_string(),
                };
                edited.fields.insert(field_name.to_string(), value);
            }
        }
    }
    Ok(Outcome::Done(edited))
}
