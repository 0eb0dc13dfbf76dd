//! Template checking, above `workflow`, `records` and `analysis`: the
//! workflows are read by `workflow`, then every template is rendered against
//! sample data those modules provide (record views, prompt contexts, worked
//! examples), so a typo is found by `flipfix-bot check`, not by a user.
//! `workflow` itself imports neither `records` nor `analysis`.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use crate::records::view::RecordView;
use crate::summary::content::SummaryView;
use crate::templates::Templates;
use crate::workflow::{read_workflows, Analyze, Problems, RecordKinds, Summary, Workflows};

/// Loads and checks every workflow file and template. On success the bundle
/// is complete and every template has rendered against sample data; on
/// failure every problem found is returned, each with its file and line.
pub fn load_workflows(
    workflows_dir: &Path,
    prompts_dir: &Path,
) -> Result<Arc<Workflows>, Problems> {
    let (workflows, mut problems) = read_workflows(workflows_dir, prompts_dir);
    check_templates_render(&workflows.kinds, &workflows.templates, &mut problems);
    check_summaries_render(&workflows.summaries, &workflows.templates, &mut problems);
    let analyses = || {
        workflows
            .workflows
            .iter()
            .filter_map(|w| w.analyze.as_ref())
    };
    for menu in analyses() {
        check_prompts_render(menu, &workflows.kinds, &workflows.templates, &mut problems);
        check_reply_renders(menu, &workflows.kinds, &workflows.templates, &mut problems);
    }
    if problems.is_empty() {
        // Only on an otherwise sound bundle: an example is checked with
        // the real schema, templates and validator.
        for menu in analyses() {
            for problem in
                crate::analysis::examples::check(menu, &workflows.kinds, &workflows.templates)
            {
                problems.push(problem);
            }
        }
    }
    problems.into_result(Arc::new(workflows))
}

/// Workflows that did not load: every problem, each with its place.
#[derive(Debug, thiserror::Error)]
#[error("the workflows have problems:\n{0}")]
pub struct InvalidWorkflows(pub Problems);

/// [`load_workflows`] for a process that cannot start without them (the
/// bot, the offline tools): the problems become one error.
pub fn load_valid_workflows(
    workflows_dir: &Path,
    prompts_dir: &Path,
) -> Result<Arc<Workflows>, InvalidWorkflows> {
    load_workflows(workflows_dir, prompts_dir).map_err(InvalidWorkflows)
}

/// Renders every kind's templates against sample records, with all optional
/// parts present and with all of them absent, so an unguarded `machine.name`
/// is found here rather than in production.
pub(crate) fn check_templates_render(
    kinds: &RecordKinds,
    templates: &Templates,
    problems: &mut Problems,
) {
    // One report per template line, not one per kind that uses the template.
    let mut reported = HashSet::new();
    for kind in kinds.iter() {
        for template in [&kind.card_template, &kind.notification_template] {
            if !templates.exists(template) {
                continue; // already reported
            }
            for full in [true, false] {
                let sample = RecordView::sample(kind, full);
                if let Err(err) = templates.render_message(template, &sample) {
                    let mut problem = err.0;
                    if !reported.insert((
                        problem.file.clone(),
                        problem.line,
                        problem.message.clone(),
                    )) {
                        break;
                    }
                    problem.message = format!(
                        "{} (rendering a sample {} {})",
                        problem.message,
                        kind.name,
                        if full {
                            "with every optional part"
                        } else {
                            "without optional parts"
                        }
                    );
                    problems.push(problem);
                    break;
                }
            }
        }
    }
}

/// Renders every summary's template against sample content, with every
/// list present (and text that needs escaping) and with the lists empty.
pub(crate) fn check_summaries_render(
    summaries: &[Summary],
    templates: &Templates,
    problems: &mut Problems,
) {
    for summary in summaries {
        if !templates.exists(&summary.template) {
            continue; // already reported
        }
        for full in [true, false] {
            let sample = SummaryView::sample(summary, full);
            if let Err(err) = templates.render_message(&summary.template, &sample) {
                let mut problem = err.0;
                problem.message = format!(
                    "{} (rendering a sample of summary `{}` {})",
                    problem.message,
                    summary.name,
                    if full {
                        "with every list"
                    } else {
                        "with empty lists"
                    }
                );
                problems.push(problem);
                break;
            }
        }
    }
}

/// Renders the analysis prompts against a sample catalog and conversation,
/// so a typo in a prompt template is found by `check`, not by a user.
pub(crate) fn check_prompts_render(
    menu: &Analyze,
    kinds: &RecordKinds,
    templates: &Templates,
    problems: &mut Problems,
) {
    if !templates.exists(&menu.system_template) || !templates.exists(&menu.conversation_template) {
        return; // already reported
    }
    let (system, conversation) = crate::analysis::prompt::sample_contexts(menu, kinds);
    if let Err(err) = templates.render(&menu.system_template, &system) {
        let mut problem = err.0;
        problem.message = format!("{} (rendering the sample system prompt)", problem.message);
        problems.push(problem);
    }
    if let Err(err) = templates.render(&menu.conversation_template, &conversation) {
        let mut problem = err.0;
        problem.message = format!("{} (rendering the sample conversation)", problem.message);
        problems.push(problem);
    }
}

/// Renders the `on_created.reply` template against a sample review that
/// created one record of every kind.
pub(crate) fn check_reply_renders(
    menu: &Analyze,
    kinds: &RecordKinds,
    templates: &Templates,
    problems: &mut Problems,
) {
    let Some(template) = &menu.on_created.reply_template else {
        return;
    };
    if !templates.exists(template) {
        return; // already reported
    }
    let sample = crate::review::acknowledge::ReplyContext::sample(kinds);
    match templates.render(template, &sample) {
        Ok(text) if text.trim().is_empty() => {
            problems.push(crate::workflow::Problem::new(
                template.as_str(),
                "renders an empty reply for a sample review (on_created.reply); Discord refuses an empty message",
            ));
        }
        Ok(_) => {}
        Err(err) => {
            let mut problem = err.0;
            problem.message = format!("{} (rendering a sample on_created reply)", problem.message);
            problems.push(problem);
        }
    }
}
