//! Checking the `context_menu` declaration ("Add to Flipfix": windows,
//! model and prices, kinds, prompts, vision, provider) into a [`ContextMenu`].

use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use crate::templates::Templates;
use crate::workflow::context_menu::{ContextMenu, MAX_MESSAGES};
use crate::workflow::kinds::RecordKinds;
use crate::workflow::schema::ContextMenuDecl;
use crate::workflow::{Problem, Problems};

pub(super) fn build_context_menu(
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
    check_command_and_windows(&path, at, &decl, problems);
    check_model(&path, at, &decl, problems);
    check_kinds_and_prompts(&path, at, &decl, kinds, templates, problems);
    let vision = crate::workflow::vision::build_vision(&path, decl.vision, problems);
    let provider =
        crate::workflow::provider::provider(&path, decl.provider, decl.base_url, at, problems);
    let tool_choice =
        crate::workflow::provider::tool_choices(&path, decl.tool_choice, &decl.prices, problems);
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
        on_created: crate::workflow::on_created::build(decl.on_created, &path, templates, problems),
        provider,
        tool_choice,
    })
}

/// Discord's command-name limit and the conversation windows.
fn check_command_and_windows(
    path: &Path,
    at: serde_saphyr::Location,
    decl: &ContextMenuDecl,
    problems: &mut Problems,
) {
    let problem = |location: serde_saphyr::Location, message: String| {
        Problem::new(path, format!("context_menu: {message}")).at_location(location)
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
}

/// The model's settings and its price table.
fn check_model(
    path: &Path,
    at: serde_saphyr::Location,
    decl: &ContextMenuDecl,
    problems: &mut Problems,
) {
    let problem = |location: serde_saphyr::Location, message: String| {
        Problem::new(path, format!("context_menu: {message}")).at_location(location)
    };
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
}

/// The kinds it may suggest and its prompt templates.
fn check_kinds_and_prompts(
    path: &Path,
    at: serde_saphyr::Location,
    decl: &ContextMenuDecl,
    kinds: &RecordKinds,
    templates: &Templates,
    problems: &mut Problems,
) {
    let problem = |location: serde_saphyr::Location, message: String| {
        Problem::new(path, format!("context_menu: {message}")).at_location(location)
    };
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
}
