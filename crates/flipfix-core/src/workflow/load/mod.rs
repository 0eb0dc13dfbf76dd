//! Loading `workflows/` and `prompts/` into one checked, immutable bundle.
//!
//! This module reads the files and assembles the bundle; checking each
//! section's declarations lives in one submodule per section.

mod across;
mod kinds;
pub mod legacy;
mod machines;
mod names;
mod resolves;
mod schedule;
mod triggers;
mod webhook_switch;
mod workflow;

use std::path::{Path, PathBuf};

use super::definition::Workflow;
use super::kinds::RecordKinds;
use super::schema::WorkflowFile;
use super::summaries::{build_summaries, Summary};
use super::{Problem, Problems};
use crate::templates::Templates;
use kinds::build_kinds;
pub(crate) use names::is_identifier;
use workflow::build_workflow;

/// Everything authors declare, checked and ready to use. Immutable: a reload
/// builds a new one and swaps the `Arc`.
#[derive(Debug)]
pub struct Workflows {
    pub kinds: RecordKinds,
    /// Every declared workflow, in file order (see `workflow::lookup`).
    pub workflows: Vec<Workflow>,
    /// Daily summaries posted to the webhook: the schedule workflows', then
    /// 0.x's `summaries:` entries.
    pub summaries: Vec<Summary>,
    /// What loads but should be rewritten (0.x's `summaries:`), each with
    /// its place: printed by `check`, logged when the bot loads them.
    pub warnings: Vec<Problem>,
    pub templates: Templates,
    /// A short fingerprint of the loaded files, shown by status commands.
    pub version: String,
    pub loaded_at: chrono::DateTime<chrono::Utc>,
    /// What analyses make from this set, made once (see `Derived`).
    pub derived: super::Derived,
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
    let mut workflow_decls = Vec::new();
    let mut summaries = Vec::new();
    let mut warnings = Vec::new();
    let (mut machine_statuses, mut status_rules) = (Vec::new(), Vec::new());
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
                refuse_old_sections(&path, &text, &file, &mut problems);
                decls.extend(
                    file.record_kinds
                        .into_iter()
                        .map(|kind| (path.clone(), kind)),
                );
                let starts: Vec<u64> = file.workflows.iter().map(|w| w.referenced.line()).collect();
                for (i, decl) in file.workflows.into_iter().enumerate() {
                    let declaration = declaration_text(&text, &starts, i);
                    workflow_decls.push((path.clone(), declaration, decl));
                }
                if let Some(old) = file.summaries {
                    warnings.push(legacy::summaries_warning(&path, &old));
                    summaries.extend(old.value.into_iter().map(|s| (path.clone(), s)));
                }
                machine_statuses
                    .extend(file.machine_statuses.into_iter().map(|s| (path.clone(), s)));
                status_rules.extend(file.status_rules.into_iter().map(|r| (path.clone(), r)));
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

    let mut kinds = build_kinds(decls, &templates, &mut problems);
    let machines =
        machines::build_machine_statuses(machine_statuses, status_rules, &kinds, &mut problems);
    kinds.set_machine_statuses(machines);
    let mut scheduled = Vec::new();
    let workflows: Vec<Workflow> = workflow_decls
        .into_iter()
        .map(|(path, declaration, decl)| {
            let (mut workflow, summary) =
                build_workflow(&path, decl, &kinds, &templates, &mut problems);
            workflow.version = workflow_version(
                &declaration,
                &workflow,
                summary.as_ref(),
                &kinds,
                &templates,
            );
            scheduled.extend(summary);
            workflow
        })
        .collect();
    across::check_across(&workflows, &kinds, &mut problems);
    let taken = workflows
        .iter()
        .map(|w| {
            let place = format!("{}:{}", w.declared_in.display(), w.at.0);
            (w.name.clone(), place)
        })
        .collect();
    scheduled.extend(build_summaries(
        summaries,
        &taken,
        &kinds,
        &templates,
        &mut problems,
    ));
    let workflows = Workflows {
        kinds,
        workflows,
        summaries: scheduled,
        warnings,
        templates,
        version: fingerprint.finish(),
        loaded_at: crate::clock::system_now(),
        derived: super::Derived::default(),
    };
    (workflows, problems)
}

/// 0.x's `context_menu:` and top-level `examples:`: refused, with the
/// `workflows:` entry to write instead.
fn refuse_old_sections(path: &Path, text: &str, file: &WorkflowFile, problems: &mut Problems) {
    if let Some(menu) = &file.context_menu {
        let rewrite = legacy::rewrite_context_menu(text).unwrap_or_default();
        problems.push(
            Problem::new(
                path,
                format!(
                    "`context_menu:` is now one entry of `workflows:`; replace `context_menu:` \
                     and the top-level `examples:` with:\n{rewrite}"
                ),
            )
            .at_location(menu.referenced),
        );
    } else if let Some(examples) = &file.examples {
        problems.push(
            Problem::new(
                path,
                "`examples:` now belong to one workflow: move them under its `analyze:` as `examples:`",
            )
            .at_location(examples.referenced),
        );
    }
}

/// The lines of the `i`-th workflow of a file: from its first line to the
/// next one's (or the end).
fn declaration_text(text: &str, starts: &[u64], i: usize) -> String {
    let first = starts[i].saturating_sub(1) as usize;
    let lines: Vec<&str> = text.lines().collect();
    let last = starts
        .get(i + 1)
        .map(|next| next.saturating_sub(1) as usize)
        .unwrap_or(lines.len())
        .min(lines.len());
    lines.get(first..last).unwrap_or_default().join("\n")
}

/// A workflow's version: its own declaration, the templates it names and
/// the kinds it may suggest (or, for a schedule, the summary's template).
/// Another workflow's edit leaves it unchanged.
fn workflow_version(
    declaration: &str,
    workflow: &Workflow,
    summary: Option<&Summary>,
    kinds: &RecordKinds,
    templates: &Templates,
) -> String {
    let mut fingerprint = Fingerprint::default();
    fingerprint.add(Path::new(&workflow.name), declaration);
    if let Some(summary) = summary {
        let name = &summary.template;
        fingerprint.add(Path::new(name), &templates.source(name).unwrap_or_default());
    }
    if let Some(analyze) = &workflow.analyze {
        let reply = analyze.on_created.reply_template.iter();
        for name in [&analyze.system_template, &analyze.conversation_template]
            .into_iter()
            .chain(reply)
        {
            fingerprint.add(Path::new(name), &templates.source(name).unwrap_or_default());
        }
        for kind in analyze.kinds.iter().filter_map(|k| kinds.get(k)) {
            fingerprint.add(Path::new(&kind.name), &format!("{kind:?}"));
        }
    }
    fingerprint.finish()
}

pub(super) fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
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
