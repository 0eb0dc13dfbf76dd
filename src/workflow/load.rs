//! Loading `workflows/` and `prompts/` into one checked, immutable bundle.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::context_menu::{attach_examples, ContextMenu, MAX_MESSAGES};
use super::kinds::{
    FieldType, KindCommand, KindField, ParentUpdate, RecordKind, RecordKinds, BUILTIN_EDIT_FIELDS,
    MAX_EDIT_FIELDS, MAX_TEXT_LENGTH,
};
use super::schema::{ContextMenuDecl, FieldTypeDecl, KindDecl, WorkflowFile};
use super::summaries::{build_summaries, Summary};
use super::{Problem, Problems};
use crate::templates::Templates;

/// Everything authors declare, checked and ready to use. Immutable: a reload
/// builds a new one and swaps the `Arc`.
#[derive(Debug)]
pub struct Workflows {
    pub kinds: RecordKinds,
    /// The "Add to Flipfix" flow, when a workflow file declares it.
    pub context_menu: Option<ContextMenu>,
    /// Daily summaries posted to the webhook.
    pub summaries: Vec<Summary>,
    pub templates: Templates,
    /// A short fingerprint of the loaded files, shown by status commands.
    pub version: String,
    pub loaded_at: chrono::DateTime<chrono::Utc>,
}

/// Reads every workflow file and template and checks the declarations
/// against each other and the templates' existence. Rendering templates
/// against samples needs `records` and `analysis`, which sit above this
/// module: `crate::template_check::load_workflows` does both, and is what
/// callers use.
pub fn read_workflows(workflows_dir: &Path, prompts_dir: &Path) -> (Workflows, Problems) {
    let (templates, mut problems) = Templates::load(prompts_dir);
    let mut fingerprint = Fingerprint::default();
    let mut decls = Vec::new();
    let mut menus = Vec::new();
    let mut examples = Vec::new();
    let mut summaries = Vec::new();
    let files = match yaml_files(workflows_dir) {
        Ok(files) => files,
        Err(err) => {
            problems.push(Problem::new(
                workflows_dir,
                format!("cannot read workflow directory: {err}"),
            ));
            Vec::new()
        }
    };
    if files.is_empty() && problems.is_empty() {
        problems.push(Problem::new(
            workflows_dir,
            "no workflow files (*.yaml) found",
        ));
    }
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) => {
                problems.push(Problem::new(&path, format!("cannot read: {err}")));
                continue;
            }
        };
        fingerprint.add(&path, &text);
        match serde_saphyr::from_str::<WorkflowFile>(&text) {
            Ok(file) => {
                decls.extend(
                    file.record_kinds
                        .into_iter()
                        .map(|kind| (path.clone(), kind)),
                );
                if let Some(menu) = file.context_menu {
                    menus.push((path.clone(), menu));
                }
                examples.extend(file.examples.into_iter().map(|e| (path.clone(), e)));
                summaries.extend(file.summaries.into_iter().map(|s| (path.clone(), s)));
            }
            Err(err) => problems.push(yaml_problem(&path, &err)),
        }
    }
    for name in templates.names() {
        fingerprint.add(
            Path::new(&name),
            &templates.source(&name).unwrap_or_default(),
        );
    }

    let kinds = build_kinds(decls, &templates, &mut problems);
    let mut context_menu = build_context_menu(menus, &kinds, &templates, &mut problems);
    attach_examples(context_menu.as_mut(), examples, &mut problems);
    let summaries = build_summaries(summaries, &kinds, &templates, &mut problems);
    let workflows = Workflows {
        kinds,
        context_menu,
        summaries,
        templates,
        version: fingerprint.finish(),
        loaded_at: chrono::Utc::now(),
    };
    (workflows, problems)
}

fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yaml" || e == "yml");
        if is_yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn yaml_problem(path: &Path, err: &serde_saphyr::Error) -> Problem {
    let plain = err.without_snippet().to_string();
    // The plain message ends with " at line L column C"; the location goes
    // in front instead, where editors look for it.
    let message = plain
        .rsplit_once(" at line ")
        .map(|(message, _)| message.to_string())
        .unwrap_or(plain);
    let problem = Problem::new(path, message);
    match err.location() {
        Some(location) => problem.at_location(location),
        None => problem,
    }
}

fn build_kinds(
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
    for (path, decl) in decls {
        let decl_at = decl.referenced;
        let decl = decl.value;
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
        if decl.description.max_length == 0 || decl.description.max_length > MAX_TEXT_LENGTH {
            problems.push(problem(
                decl_at,
                format!("description.max_length must be 1..={MAX_TEXT_LENGTH}"),
            ));
        }
        if !is_path_segment(&decl.link_path) {
            problems.push(problem(
                decl_at,
                "link_path must be a URL path segment like `problem-reports`".into(),
            ));
        }
        for parent in &decl.parents {
            if !declared.contains(&parent.value) {
                problems.push(problem(
                    parent.referenced,
                    format!("parent kind `{}` is not declared", parent.value),
                ));
            } else if &parent.value == name {
                problems.push(problem(
                    parent.referenced,
                    "a kind cannot be its own parent".into(),
                ));
            }
        }
        if decl.parent_required && decl.parents.is_empty() {
            problems.push(problem(
                decl_at,
                "parent_required is set but no parents are listed".into(),
            ));
        }
        if decl.inherit_machine && decl.parents.is_empty() {
            problems.push(problem(
                decl_at,
                "inherit_machine is set but no parents are listed".into(),
            ));
        }

        let mut fields = Vec::new();
        let mut field_names = HashSet::new();
        for field in decl.fields {
            let at = field.referenced;
            let field = field.value;
            if !is_identifier(&field.name) || BUILTIN_EDIT_FIELDS.contains(&field.name.as_str()) {
                problems.push(problem(
                    at,
                    format!(
                        "field name `{}` must be lower_snake_case and not machine/description",
                        field.name
                    ),
                ));
            }
            if !field_names.insert(field.name.clone()) {
                problems.push(problem(
                    at,
                    format!("field `{}` declared twice", field.name),
                ));
            }
            let ty = match field.ty {
                FieldTypeDecl::Text => {
                    if !field.choices.is_empty() {
                        problems.push(problem(
                            at,
                            format!("field `{}`: choices are only for type choice", field.name),
                        ));
                    }
                    let max_length = field.max_length.unwrap_or(MAX_TEXT_LENGTH);
                    if max_length == 0 || max_length > MAX_TEXT_LENGTH {
                        problems.push(problem(
                            at,
                            format!(
                                "field `{}`: max_length must be 1..={MAX_TEXT_LENGTH}",
                                field.name
                            ),
                        ));
                    }
                    FieldType::Text { max_length }
                }
                FieldTypeDecl::Choice => {
                    if field.choices.is_empty() {
                        problems.push(problem(
                            at,
                            format!("field `{}`: a choice field needs choices", field.name),
                        ));
                    }
                    if field.max_length.is_some() {
                        problems.push(problem(
                            at,
                            format!("field `{}`: max_length is only for type text", field.name),
                        ));
                    }
                    FieldType::Choice {
                        choices: field.choices,
                    }
                }
            };
            if let (Some(default), FieldType::Choice { choices }) = (&field.default, &ty) {
                if !choices.contains(default) {
                    problems.push(problem(
                        at,
                        format!(
                            "field `{}`: default `{default}` is not one of its choices",
                            field.name
                        ),
                    ));
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

        if let Some(status) = &decl.status_field {
            let ok = fields
                .iter()
                .any(|f| f.name == status.value && matches!(f.ty, FieldType::Choice { .. }));
            if !ok {
                problems.push(problem(
                    status.referenced,
                    format!(
                        "status_field `{}` is not a choice field of this kind",
                        status.value
                    ),
                ));
            }
        }
        if let Some(select) = &decl.card_select {
            if let Some(message) = super::card_select::problem(&fields, &select.value) {
                problems.push(problem(select.referenced, message));
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
                None => problems.push(problem(
                    closed.referenced,
                    "closed_statuses needs a status_field that is a choice field".into(),
                )),
                Some(choices) if !choices.contains(&closed.value) => problems.push(problem(
                    closed.referenced,
                    format!(
                        "closed status `{}` is not one of the status field's choices ({})",
                        closed.value,
                        choices.join(", ")
                    ),
                )),
                Some(_) => {}
            }
        }
        for update in &decl.updates_parent {
            if decl.parents.is_empty() {
                problems.push(problem(
                    update.referenced,
                    "updates_parent needs parents".into(),
                ));
            }
            if !field_names.contains(&update.value.from) {
                problems.push(problem(
                    update.referenced,
                    format!(
                        "updates_parent.from `{}` is not a field of this kind",
                        update.value.from
                    ),
                ));
            }
        }
        if decl.edit_fields.len() > MAX_EDIT_FIELDS {
            problems.push(problem(
                decl_at,
                format!(
                    "edit_fields lists {} fields; Discord modals show at most {MAX_EDIT_FIELDS}",
                    decl.edit_fields.len()
                ),
            ));
        }
        for edit in &decl.edit_fields {
            if !field_names.contains(&edit.value)
                && !BUILTIN_EDIT_FIELDS.contains(&edit.value.as_str())
            {
                problems.push(problem(
                    edit.referenced,
                    format!(
                        "edit field `{}` is neither a field of this kind nor machine/description",
                        edit.value
                    ),
                ));
            }
        }
        for template in [&decl.templates.card, &decl.templates.notification] {
            if !templates.exists(&template.value) && !templates.is_broken(&template.value) {
                problems.push(problem(
                    template.referenced,
                    format!(
                        "template `{}` not found in the prompts directory",
                        template.value
                    ),
                ));
            }
        }

        let command = decl.command.map(|command| {
            let at = command.referenced;
            let command = command.value;
            if !is_command_name(&command.name) {
                problems.push(problem(
                    at,
                    format!(
                        "command name `{}` must be 1–32 lower-case letters, digits, - or _",
                        command.name
                    ),
                ));
            } else if command.name == "flipfix" || !seen_commands.insert(command.name.clone()) {
                problems.push(problem(
                    at,
                    format!("command name `{}` is already taken", command.name),
                ));
            }
            let length = command.description.chars().count();
            if length == 0 || length > 100 {
                problems.push(problem(
                    at,
                    "command description must be 1–100 characters".into(),
                ));
            }
            KindCommand {
                name: command.name,
                description: command.description,
            }
        });
        let notify_setting = decl.notify_setting.as_ref().and_then(|setting| {
            let key = crate::config::SettingKey::from_name(&setting.value)
                .filter(|key| key.def().ty == crate::config::SettingType::Bool);
            if key.is_none() {
                problems.push(problem(
                    setting.referenced,
                    format!(
                        "notify_setting `{}` is not a true/false setting (see `flipfix-bot settings`)",
                        setting.value
                    ),
                ));
            }
            key
        });
        let color = decl.color.as_ref().and_then(|color| {
            let parsed = parse_color(&color.value);
            if parsed.is_none() {
                problems.push(problem(
                    color.referenced,
                    format!("color `{}` must look like #rrggbb", color.value),
                ));
            }
            parsed
        });

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
            edit_fields: decl.edit_fields.into_iter().map(|e| e.value).collect(),
            card_template: decl.templates.card.value,
            notification_template: decl.templates.notification.value,
            guidance: decl.guidance,
            command,
            notify_setting,
            color,
            declared_in: path.clone(),
        });
    }
    let kinds = RecordKinds::new(kinds);
    check_parent_updates(&kinds, problems);
    kinds
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

fn build_context_menu(
    menus: Vec<(PathBuf, Spanned<ContextMenuDecl>)>,
    kinds: &RecordKinds,
    templates: &Templates,
    problems: &mut Problems,
) -> Option<ContextMenu> {
    let mut menus = menus.into_iter();
    let (path, decl) = menus.next()?;
    for (other, again) in menus {
        problems.push(
            Problem::new(
                &other,
                format!(
                    "context_menu is already declared in {}; declare it once",
                    path.display()
                ),
            )
            .at_location(again.referenced),
        );
    }
    let at = decl.referenced;
    let decl = decl.value;
    let problem = |location: serde_saphyr::Location, message: String| {
        Problem::new(&path, format!("context_menu: {message}")).at_location(location)
    };
    let name_length = decl.command_name.chars().count();
    if decl.command_name.trim().is_empty() || name_length > 32 {
        // Discord's limit for context-menu command names.
        problems.push(problem(
            at,
            "command_name must be 1 to 32 characters".into(),
        ));
    }
    let w = decl.windows;
    for (name, value) in [
        ("channel_before", w.channel_before),
        ("thread_messages", w.thread_messages),
        ("thread_preroll", w.thread_preroll),
        ("reply_chain_depth", w.reply_chain_depth),
        ("reply_chain_preroll", w.reply_chain_preroll),
        ("max_messages", w.max_messages),
    ] {
        if value > MAX_MESSAGES {
            problems.push(problem(
                at,
                format!("windows.{name} is {value}; at most {MAX_MESSAGES}"),
            ));
        }
    }
    if w.max_messages == 0 || w.thread_messages == 0 {
        problems.push(problem(
            at,
            "windows.max_messages and windows.thread_messages must be at least 1".into(),
        ));
    }
    if decl.max_tokens == 0 {
        problems.push(problem(at, "max_tokens must be at least 1".into()));
    }
    if !(0.0..=1.0).contains(&decl.temperature) {
        problems.push(problem(at, "temperature must be between 0 and 1".into()));
    }
    if decl.timeout_seconds == 0 {
        problems.push(problem(at, "timeout_seconds must be at least 1".into()));
    }
    if !decl.prices.contains_key(&decl.model.value) {
        problems.push(problem(
            decl.model.referenced,
            format!(
                "model `{}` has no entry in prices (needed for cost accounting)",
                decl.model.value
            ),
        ));
    }
    for (model, price) in &decl.prices {
        let all = [
            price.input,
            price.output,
            price.cache_write,
            price.cache_read,
        ];
        if all.iter().any(|p| !p.is_finite() || *p < 0.0) {
            problems.push(problem(
                at,
                format!("prices.{model}: prices must be zero or positive numbers"),
            ));
        }
    }
    if decl.kinds.is_empty() {
        problems.push(problem(
            at,
            "kinds must list at least one record kind".into(),
        ));
    }
    for kind in &decl.kinds {
        if kinds.get(&kind.value).is_none() {
            problems.push(problem(
                kind.referenced,
                format!(
                    "kind `{}` is not declared (declared: {})",
                    kind.value,
                    kinds.names().join(", ")
                ),
            ));
        }
    }
    for template in [&decl.prompts.system, &decl.prompts.conversation] {
        if !templates.exists(&template.value) && !templates.is_broken(&template.value) {
            problems.push(problem(
                template.referenced,
                format!(
                    "template `{}` not found in the prompts directory",
                    template.value
                ),
            ));
        }
    }
    let vision = super::vision::build_vision(&path, decl.vision, problems);
    let provider = super::provider::provider(&path, decl.provider, decl.base_url, at, problems);
    let tool_choice =
        super::provider::tool_choices(&path, decl.tool_choice, &decl.prices, problems);
    Some(ContextMenu {
        command_name: decl.command_name,
        windows: decl.windows,
        model: decl.model.value,
        max_tokens: decl.max_tokens,
        temperature: decl.temperature,
        timeout: std::time::Duration::from_secs(decl.timeout_seconds),
        kinds: decl.kinds.into_iter().map(|k| k.value).collect(),
        system_template: decl.prompts.system.value,
        conversation_template: decl.prompts.conversation.value,
        prices: decl.prices,
        examples: Vec::new(),
        vision,
        on_created: super::on_created::build(decl.on_created, &path, templates, problems),
        provider,
        tool_choice,
    })
}

/// `#rrggbb` → 0xRRGGBB.
fn parse_color(raw: &str) -> Option<u32> {
    let hex = raw.trim().strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_command_name(name: &str) -> bool {
    (1..=32).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn is_path_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// FNV-1a over file names and contents: enough to tell two loads apart.
#[derive(Default)]
struct Fingerprint(u64);

impl Fingerprint {
    fn add(&mut self, path: &Path, text: &str) {
        if self.0 == 0 {
            self.0 = 0xcbf2_9ce4_8422_2325;
        }
        for byte in path.to_string_lossy().bytes().chain(text.bytes()) {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> String {
        format!("{:012x}", self.0 & 0xffff_ffff_ffff)
    }
}
