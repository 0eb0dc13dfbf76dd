//! Checking one `workflows:` entry into a [`Workflow`]: its triggers, scope
//! and cap, and its analysis (windows, model and prices, kinds, prompts,
//! examples, vision, provider, on_created).

use std::path::Path;

use serde_saphyr::{Location, Spanned};

use super::schedule;
use super::triggers::build_triggers;
use crate::templates::Templates;
use crate::workflow::analyze::{attach_examples, Analyze, Windows, MAX_MESSAGES};
use crate::workflow::definition::{DailyCap, Review, Scope, Workflow};
use crate::workflow::kinds::RecordKinds;
use crate::workflow::schema::{AnalyzeDecl, DailyCapDecl, WorkflowDecl};
use crate::workflow::summaries::Summary;
use crate::workflow::trigger::Trigger;
use crate::workflow::{Problem, Problems};

/// Checks one declared workflow, and the summary it posts if it is a
/// schedule workflow. `version` is filled in by the caller.
pub(super) fn build_workflow(
    path: &Path,
    decl: Spanned<WorkflowDecl>,
    kinds: &RecordKinds,
    templates: &Templates,
    problems: &mut Problems,
) -> (Workflow, Option<Summary>) {
    let at = decl.referenced;
    let decl = decl.value;
    let name = decl.name.value.clone();
    let problem = |location: Location, message: String| {
        Problem::new(path, format!("workflow `{name}`: {message}")).at_location(location)
    };
    if !super::names::is_identifier(&name) {
        problems.push(problem(
            decl.name.referenced,
            "name must be lowercase letters, digits and `_`, starting with a letter".into(),
        ));
    }
    let scheduled = schedule::is_schedule(&decl);
    if scheduled {
        schedule::refuse_other_sections(&problem, &decl, problems);
    }
    let (triggers, triggers_at) = build_triggers(&problem, at, decl.triggers, problems);
    let scope = Scope {
        channels: decl.channels.iter().map(|c| c.value.0).collect(),
        roles: decl.roles.iter().map(|r| r.value.0).collect(),
        exempt_roles: decl.exempt_roles.iter().map(|r| r.value.0).collect(),
    };
    let daily_cap = decl.daily_cap.map(|cap| build_cap(&problem, cap, problems));
    let summary = if scheduled {
        schedule::build(
            path,
            &name,
            decl.name.referenced,
            &triggers,
            decl.summary,
            kinds,
            templates,
            &problem,
            problems,
        )
    } else {
        if let Some(summary) = &decl.summary {
            problems.push(problem(
                summary.referenced,
                "`summary:` is what a `schedule:` trigger posts; add `- schedule: {at: \"18:00\", timezone: Europe/London}` to triggers, or remove `summary:`".into(),
            ));
        }
        None
    };
    // A schedule workflow's analysis sections are refused above.
    let (analyze, gather, on_created) = match scheduled {
        true => (None, None, None),
        false => (decl.analyze, decl.gather, decl.on_created),
    };
    let analyze = match (analyze, gather) {
        (Some(analyze), Some(gather)) => {
            check_windows(&problem, gather.referenced, &gather.value, problems);
            let mut built = build_analyze(
                &problem,
                path,
                analyze,
                gather.value,
                kinds,
                templates,
                problems,
            );
            built.command_name = started_by(&name, &triggers);
            built.on_created =
                crate::workflow::on_created::build(on_created, path, templates, problems);
            Some(built)
        }
        (Some(analyze), None) => {
            problems.push(problem(
                analyze.referenced,
                "analyze needs a gather section (the conversation windows)".into(),
            ));
            None
        }
        (None, gather) => {
            if let Some(gather) = gather {
                problems.push(problem(
                    gather.referenced,
                    "gather is read only by an analyze section".into(),
                ));
            }
            if let Some(on_created) = on_created {
                problems.push(problem(
                    on_created.referenced,
                    "on_created follows records an analyze section suggested".into(),
                ));
            }
            None
        }
    };
    let workflow = Workflow {
        name,
        declared_in: path.to_path_buf(),
        at: (decl.name.referenced.line(), decl.name.referenced.column()),
        triggers,
        triggers_at,
        scope,
        daily_cap,
        analyze,
        review: decl.review.map(|_| Review::Starter).unwrap_or_default(),
        version: String::new(),
    };
    (workflow, summary)
}

/// What the prompt calls the way a member starts `name`.
fn started_by(name: &str, triggers: &[Trigger]) -> String {
    let command = triggers.iter().find_map(|t| match t {
        Trigger::MessageCommand { name } => Some(name.clone()),
        Trigger::SlashCommand(command) => Some(format!("/{}", command.name)),
        _ => None,
    });
    command.unwrap_or_else(|| name.to_string())
}

fn build_cap(
    problem: &dyn Fn(Location, String) -> Problem,
    cap: Spanned<DailyCapDecl>,
    problems: &mut Problems,
) -> DailyCap {
    let DailyCapDecl { runs, cost_usd } = cap.value;
    if runs.is_none() && cost_usd.is_none() {
        problems.push(problem(
            cap.referenced,
            "daily_cap needs `runs`, `cost_usd` or both".into(),
        ));
    }
    if cost_usd.is_some_and(|c| !c.is_finite() || c < 0.0) {
        problems.push(problem(
            cap.referenced,
            "daily_cap.cost_usd must be zero or a positive number".into(),
        ));
    }
    DailyCap { runs, cost_usd }
}

fn build_analyze(
    problem: &dyn Fn(Location, String) -> Problem,
    path: &Path,
    decl: Spanned<AnalyzeDecl>,
    windows: Windows,
    kinds: &RecordKinds,
    templates: &Templates,
    problems: &mut Problems,
) -> Analyze {
    let at = decl.referenced;
    let decl = decl.value;
    check_model(problem, at, &decl, problems);
    check_kinds_and_prompts(problem, at, &decl, kinds, templates, problems);
    let vision = crate::workflow::vision::build_vision(path, decl.vision, problems);
    let provider =
        crate::workflow::provider::provider(path, decl.provider, decl.base_url, at, problems);
    let tool_choice =
        crate::workflow::provider::tool_choices(path, decl.tool_choice, &decl.prices, problems);
    let mut analyze = Analyze {
        command_name: String::new(),
        windows,
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
        on_created: Default::default(),
        provider,
        tool_choice,
    };
    attach_examples(&mut analyze, path, decl.examples, problems);
    analyze
}

/// The conversation windows (`gather:`).
fn check_windows(
    problem: &dyn Fn(serde_saphyr::Location, String) -> Problem,
    at: serde_saphyr::Location,
    w: &Windows,
    problems: &mut Problems,
) {
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
                format!("gather.{name} is {value}; at most {MAX_MESSAGES}"),
            ));
        }
    }
    if w.max_messages == 0 || w.thread_messages == 0 {
        problems.push(problem(
            at,
            "gather.max_messages and gather.thread_messages must be at least 1".into(),
        ));
    }
}

/// The model's settings and its price table.
fn check_model(
    problem: &dyn Fn(serde_saphyr::Location, String) -> Problem,
    at: serde_saphyr::Location,
    decl: &AnalyzeDecl,
    problems: &mut Problems,
) {
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
    problem: &dyn Fn(serde_saphyr::Location, String) -> Problem,
    at: serde_saphyr::Location,
    decl: &AnalyzeDecl,
    kinds: &RecordKinds,
    templates: &Templates,
    problems: &mut Problems,
) {
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
        if let Some(missing) = templates.missing(&template.value) {
            problems.push(problem(template.referenced, missing));
        }
    }
}
