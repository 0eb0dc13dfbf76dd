//! Checking the `record_kinds` declarations (names, fields, parents,
//! statuses, edit fields, templates, commands) into [`RecordKinds`].

use std::collections::HashSet;
use std::path::PathBuf;

use serde_saphyr::Spanned;

use super::names::{is_command_name, is_identifier, is_path_segment, parse_color};
use crate::templates::Templates;
use crate::workflow::kinds::{
    FieldType, KindCommand, KindField, ParentUpdate, RecordKind, RecordKinds, BUILTIN_EDIT_FIELDS,
    MAX_EDIT_FIELDS, MAX_TEXT_LENGTH,
};
use crate::workflow::schema::{CommandDecl, FieldDecl, FieldTypeDecl, KindDecl};
use crate::workflow::{Problem, Problems};

pub(super) fn build_kinds(
    decls: Vec<(PathBuf, Spanned<KindDecl>)>,
    templates: &Templates,
    problems: &mut Problems,
) -> RecordKinds {
    let declared: HashSet<String> = decls
        .iter()
        .map(|(_, d)| d.value.name.value.clone())
        .collect();
    let mut seen = HashSet::new();
    let mut seen_commands = HashSet::new();
    let mut kinds = Vec::new();
    let mut resolves = Vec::new();
    for (path, decl) in decls {
        let decl_at = decl.referenced;
        let mut decl = decl.value;
        let problem = |at: serde_saphyr::Location, message: String| {
            Problem::new(
                &path,
                format!("record kind `{}`: {message}", decl.name.value),
            )
            .at_location(at)
        };
        let name = &decl.name.value;
        if !is_identifier(name) {
            problems.push(problem(
                decl.name.referenced,
                "name must be lower_snake_case letters, digits and _".into(),
            ));
        }
        if !seen.insert(name.clone()) {
            problems.push(problem(decl.name.referenced, "declared twice".into()));
            continue;
        }
        let mut report = |at: serde_saphyr::Location, message: String| {
            problems.push(problem(at, message));
        };
        check_shape(&decl, decl_at, &declared, &mut report);
        let (fields, field_names) = build_fields(std::mem::take(&mut decl.fields), &mut report);
        check_rules(
            &decl,
            decl_at,
            &fields,
            &field_names,
            templates,
            &mut report,
        );
        let command = build_command(decl.command.take(), &mut seen_commands, &mut report);
        let webhook_switch = super::webhook_switch::check(
            &decl.name,
            decl.webhook_switch.as_ref(),
            decl.notify_setting.as_ref(),
            &mut report,
        );
        let color = build_color(decl.color.as_ref(), &mut report);
        if let Some(decl_resolves) = &decl.resolves_parent {
            resolves.push(super::resolves::Declared::new(&path, name, decl_resolves));
        }
        kinds.push(RecordKind {
            name: name.clone(),
            label: decl.label,
            emoji: decl.emoji,
            link_path: decl.link_path,
            web: decl.web,
            machine: decl.machine,
            inherit_machine: decl.inherit_machine,
            parents: decl.parents.into_iter().map(|p| p.value).collect(),
            parent_required: decl.parent_required,
            description_label: decl.description.label,
            description_max_length: decl.description.max_length,
            fields,
            status_field: decl.status_field.map(|s| s.value),
            card_select: decl.card_select.map(|s| s.value),
            closed_statuses: decl.closed_statuses.into_iter().map(|c| c.value).collect(),
            updates_parent: decl
                .updates_parent
                .into_iter()
                .map(|u| ParentUpdate {
                    field: u.value.field,
                    from: u.value.from,
                })
                .collect(),
            resolves_parent: decl
                .resolves_parent
                .as_ref()
                .map(|r| r.value.status.value.clone()),
            edit_fields: decl.edit_fields.into_iter().map(|e| e.value).collect(),
            card_template: decl.templates.card.value,
            notification_template: decl.templates.notification.value,
            guidance: decl.guidance,
            command,
            webhook_switch,
            color,
            declared_in: path.clone(),
        });
    }
    let kinds = RecordKinds::new(kinds);
    check_parent_updates(&kinds, problems);
    super::resolves::check(&kinds, &resolves, problems);
    kinds
}

/// Where a problem is, and what it is.
type Report<'a> = dyn FnMut(serde_saphyr::Location, String) + 'a;

/// The kind's own shape: its description, page path and parents (its
/// name is checked first, by the caller).
fn check_shape(
    decl: &KindDecl,
    decl_at: serde_saphyr::Location,
    declared: &HashSet<String>,
    report: &mut Report<'_>,
) {
    let name = &decl.name.value;
    if decl.description.max_length == 0 || decl.description.max_length > MAX_TEXT_LENGTH {
        report(
            decl_at,
            format!("description.max_length must be 1..={MAX_TEXT_LENGTH}"),
        );
    }
    if !is_path_segment(&decl.link_path) {
        report(
            decl_at,
            "link_path must be a URL path segment like `problem-reports`".into(),
        );
    }
    for parent in &decl.parents {
        if !declared.contains(&parent.value) {
            report(
                parent.referenced,
                format!("parent kind `{}` is not declared", parent.value),
            );
        } else if &parent.value == name {
            report(parent.referenced, "a kind cannot be its own parent".into());
        }
    }
    if decl.parent_required && decl.parents.is_empty() {
        report(
            decl_at,
            "parent_required is set but no parents are listed".into(),
        );
    }
    if decl.inherit_machine && decl.parents.is_empty() {
        report(
            decl_at,
            "inherit_machine is set but no parents are listed".into(),
        );
    }
}

/// The declared fields, checked; and their names.
fn build_fields(
    decls: Vec<Spanned<FieldDecl>>,
    report: &mut Report<'_>,
) -> (Vec<KindField>, HashSet<String>) {
    let mut fields = Vec::new();
    let mut field_names = HashSet::new();
    for field in decls {
        let at = field.referenced;
        let field = field.value;
        if !is_identifier(&field.name) || BUILTIN_EDIT_FIELDS.contains(&field.name.as_str()) {
            report(
                at,
                format!(
                    "field name `{}` must be lower_snake_case and not machine/description",
                    field.name
                ),
            );
        }
        if !field_names.insert(field.name.clone()) {
            report(at, format!("field `{}` declared twice", field.name));
        }
        let ty = match field.ty {
            FieldTypeDecl::Text => {
                if !field.choices.is_empty() {
                    report(
                        at,
                        format!("field `{}`: choices are only for type choice", field.name),
                    );
                }
                let max_length = field.max_length.unwrap_or(MAX_TEXT_LENGTH);
                if max_length == 0 || max_length > MAX_TEXT_LENGTH {
                    report(
                        at,
                        format!(
                            "field `{}`: max_length must be 1..={MAX_TEXT_LENGTH}",
                            field.name
                        ),
                    );
                }
                FieldType::Text { max_length }
            }
            FieldTypeDecl::Choice => {
                if field.choices.is_empty() {
                    report(
                        at,
                        format!("field `{}`: a choice field needs choices", field.name),
                    );
                }
                if field.max_length.is_some() {
                    report(
                        at,
                        format!("field `{}`: max_length is only for type text", field.name),
                    );
                }
                FieldType::Choice {
                    choices: field.choices,
                }
            }
        };
        if let (Some(default), FieldType::Choice { choices }) = (&field.default, &ty) {
            if !choices.contains(default) {
                report(
                    at,
                    format!(
                        "field `{}`: default `{default}` is not one of its choices",
                        field.name
                    ),
                );
            }
        }
        fields.push(KindField {
            name: field.name,
            label: field.label,
            ty,
            required: field.required,
            default: field.default,
            guidance: field.guidance,
        });
    }
    (fields, field_names)
}

/// The rules that name fields: status, closed statuses, the card's menu,
/// updates to the parent, the edit modal, and the templates.
fn check_rules(
    decl: &KindDecl,
    decl_at: serde_saphyr::Location,
    fields: &[KindField],
    field_names: &HashSet<String>,
    templates: &Templates,
    report: &mut Report<'_>,
) {
    if let Some(status) = &decl.status_field {
        let ok = fields
            .iter()
            .any(|f| f.name == status.value && matches!(f.ty, FieldType::Choice { .. }));
        if !ok {
            report(
                status.referenced,
                format!(
                    "status_field `{}` is not a choice field of this kind",
                    status.value
                ),
            );
        }
    }
    if let Some(select) = &decl.card_select {
        if let Some(message) = crate::workflow::card_select::problem(fields, &select.value) {
            report(select.referenced, message);
        }
    }
    for closed in &decl.closed_statuses {
        let status_choices = decl
            .status_field
            .as_ref()
            .and_then(|status| fields.iter().find(|f| f.name == status.value))
            .and_then(|f| match &f.ty {
                FieldType::Choice { choices } => Some(choices),
                FieldType::Text { .. } => None,
            });
        match status_choices {
            None => report(
                closed.referenced,
                "closed_statuses needs a status_field that is a choice field".into(),
            ),
            Some(choices) if !choices.contains(&closed.value) => report(
                closed.referenced,
                format!(
                    "closed status `{}` is not one of the status field's choices ({})",
                    closed.value,
                    choices.join(", ")
                ),
            ),
            Some(_) => {}
        }
    }
    for update in &decl.updates_parent {
        if decl.parents.is_empty() {
            report(update.referenced, "updates_parent needs parents".into());
        }
        if !field_names.contains(&update.value.from) {
            report(
                update.referenced,
                format!(
                    "updates_parent.from `{}` is not a field of this kind",
                    update.value.from
                ),
            );
        }
    }
    if decl.edit_fields.len() > MAX_EDIT_FIELDS {
        report(
            decl_at,
            format!(
                "edit_fields lists {} fields; Discord modals show at most {MAX_EDIT_FIELDS}",
                decl.edit_fields.len()
            ),
        );
    }
    for edit in &decl.edit_fields {
        if !field_names.contains(&edit.value) && !BUILTIN_EDIT_FIELDS.contains(&edit.value.as_str())
        {
            report(
                edit.referenced,
                format!(
                    "edit field `{}` is neither a field of this kind nor machine/description",
                    edit.value
                ),
            );
        }
    }
    for template in [&decl.templates.card, &decl.templates.notification] {
        if let Some(missing) = templates.missing(&template.value) {
            report(template.referenced, missing);
        }
    }
}

/// The kind's own slash command, if it declares one: Discord's name and
/// description rules, and no name taken twice.
fn build_command(
    command: Option<Spanned<CommandDecl>>,
    seen_commands: &mut HashSet<String>,
    report: &mut Report<'_>,
) -> Option<KindCommand> {
    command.map(|command| {
        let at = command.referenced;
        let command = command.value;
        if !is_command_name(&command.name) {
            report(
                at,
                format!(
                    "command name `{}` must be 1–32 lower-case letters, digits, - or _",
                    command.name
                ),
            );
        } else if let Some(clash) = crate::workflow::built_in_clash(&command.name) {
            report(at, format!("command name {clash}"));
        } else if !seen_commands.insert(command.name.clone()) {
            report(
                at,
                format!("command name `{}` is already taken", command.name),
            );
        }
        let length = command.description.chars().count();
        if length == 0 || length > 100 {
            report(at, "command description must be 1–100 characters".into());
        }
        KindCommand {
            name: command.name,
            description: command.description,
        }
    })
}

/// `#rrggbb`, parsed.
fn build_color(color: Option<&Spanned<String>>, report: &mut Report<'_>) -> Option<u32> {
    color.and_then(|color| {
        let parsed = parse_color(&color.value);
        if parsed.is_none() {
            report(
                color.referenced,
                format!("color `{}` must look like #rrggbb", color.value),
            );
        }
        parsed
    })
}

/// `updates_parent.field` must name a field that every allowed parent kind has.
fn check_parent_updates(kinds: &RecordKinds, problems: &mut Problems) {
    for kind in kinds.iter() {
        for update in &kind.updates_parent {
            for parent in kind.parents.iter().filter_map(|p| kinds.get(p)) {
                if parent.field(&update.field).is_none() {
                    problems.push(Problem::new(
                        &kind.declared_in,
                        format!(
                            "record kind `{}`: updates_parent.field `{}` is not a field of parent kind `{}`",
                            kind.name, update.field, parent.name
                        ),
                    ));
                }
            }
        }
    }
}
