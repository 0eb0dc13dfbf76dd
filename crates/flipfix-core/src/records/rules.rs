//! The rules a record must satisfy that need no database: description and
//! field values against the kind's declaration.

use std::collections::BTreeMap;

use super::RuleViolation;
use crate::workflow::{FieldType, RecordKind};

/// Checks description and fields, fills defaults, and returns the complete
/// field map to store.
pub fn check_fields(
    kind: &RecordKind,
    description: &str,
    fields: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, RuleViolation> {
    if description.trim().is_empty() {
        return Err(RuleViolation::DescriptionEmpty);
    }
    let length = description.chars().count();
    if length > kind.description_max_length {
        return Err(RuleViolation::DescriptionTooLong {
            max: kind.description_max_length,
            actual: length,
        });
    }
    if let Some(unknown) = fields.keys().find(|name| kind.field(name).is_none()) {
        return Err(RuleViolation::UnknownField(unknown.clone()));
    }
    let mut complete = BTreeMap::new();
    for field in &kind.fields {
        let value = fields
            .get(&field.name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .or_else(|| field.default.clone());
        let Some(value) = value else {
            if field.required {
                return Err(RuleViolation::FieldRequired(field.name.clone()));
            }
            continue;
        };
        match &field.ty {
            FieldType::Text { max_length } => {
                let actual = value.chars().count();
                if actual > *max_length {
                    return Err(RuleViolation::FieldTooLong {
                        field: field.name.clone(),
                        max: *max_length,
                        actual,
                    });
                }
            }
            FieldType::Choice { choices } => {
                if !choices.contains(&value) {
                    return Err(RuleViolation::NotAChoice {
                        field: field.name.clone(),
                        value,
                        choices: choices.join(", "),
                    });
                }
            }
        }
        complete.insert(field.name.clone(), value);
    }
    Ok(complete)
}
