//! Checking `machine_statuses:` and `status_rules:`: status names are
//! unique, and every rule names a declared kind, one of its choice fields, a
//! choice of that field, and declared statuses — each problem at the value's
//! file:line:column.

use std::path::PathBuf;

use serde_saphyr::Spanned;

use crate::workflow::kinds::RecordKinds;
use crate::workflow::machines::{MachineStatus, MachineStatuses, StatusRule};
use crate::workflow::schema::{MachineStatusDecl, StatusRuleDecl};
use crate::workflow::{FieldType, Problem, Problems};

/// Builds the declared statuses and rules, reporting every problem.
pub(super) fn build_machine_statuses(
    statuses: Vec<(PathBuf, MachineStatusDecl)>,
    rules: Vec<(PathBuf, Spanned<StatusRuleDecl>)>,
    kinds: &RecordKinds,
    problems: &mut Problems,
) -> MachineStatuses {
    let mut built = MachineStatuses::default();
    for (path, decl) in statuses {
        if built.get(&decl.name.value).is_some() {
            problems.push(
                Problem::new(
                    &path,
                    format!("machine status `{}` is declared twice", decl.name.value),
                )
                .at_location(decl.name.referenced),
            );
            continue;
        }
        built.statuses.push(MachineStatus {
            name: decl.name.value,
            label: decl.label,
            emoji: decl.emoji,
            out_of_service: decl.out_of_service,
        });
    }
    for (path, rule) in rules {
        let rule = rule.value;
        let problem = |at: &Spanned<String>, message: String| {
            Problem::new(&path, format!("status rule: {message}")).at_location(at.referenced)
        };
        let mut found = Vec::new();
        for status in [&rule.sets, &rule.restore_to] {
            if built.get(&status.value).is_none() {
                found.push(problem(
                    status,
                    format!(
                        "unknown machine status `{}` (declared: {})",
                        status.value,
                        built.names().join(", ")
                    ),
                ));
            }
        }
        match kinds.get(&rule.kind.value) {
            None => found.push(problem(
                &rule.kind,
                format!(
                    "unknown record kind `{}` (known: {})",
                    rule.kind.value,
                    kinds.names().join(", ")
                ),
            )),
            Some(kind) => match kind.field(&rule.field.value).map(|f| &f.ty) {
                None => found.push(problem(
                    &rule.field,
                    format!("record kind `{}` has no field `{}`", kind.name, rule.field.value),
                )),
                Some(FieldType::Choice { choices }) if !choices.contains(&rule.equals.value) => {
                    found.push(problem(
                        &rule.equals,
                        format!(
                            "`{}` is not a choice of `{}.{}` (choices: {})",
                            rule.equals.value,
                            kind.name,
                            rule.field.value,
                            choices.join(", ")
                        ),
                    ))
                }
                Some(_) if !kind.tracks_open() => found.push(problem(
                    &rule.kind,
                    format!(
                        "record kind `{}` has no open/closed status, so a rule on it could never end",
                        kind.name
                    ),
                )),
                Some(_) => {}
            },
        }
        let valid = found.is_empty();
        for p in found {
            problems.push(p);
        }
        if valid {
            built.rules.push(StatusRule {
                kind: rule.kind.value,
                field: rule.field.value,
                equals: rule.equals.value,
                sets: rule.sets.value,
                restore_to: rule.restore_to.value,
            });
        }
    }
    built
}
