//! Loading `workflows/` and `prompts/` into one checked, immutable bundle.
//!
//! This module reads the files and assembles the bundle; checking each
//! section's declarations lives in one submodule per section.

mod context_menu;
mod kinds;
mod machines;
mod names;
mod resolves;
mod webhook_switch;

use std::path::{Path, PathBuf};

use super::context_menu::{attach_examples, ContextMenu};
use super::kinds::RecordKinds;
use super::schema::WorkflowFile;
use super::summaries::{build_summaries, Summary};
use super::{Problem, Problems};
use crate::templates::Templates;
use context_menu::build_context_menu;
use kinds::build_kinds;

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
    let mut context_menu = build_context_menu(menus, &kinds, &templates, &mut problems);
    attach_examples(context_menu.as_mut(), examples, &mut problems);
    let summaries = build_summaries(summaries, &kinds, &templates, &mut problems);
    let workflows = Workflows {
        kinds,
        context_menu,
        summaries,
        templates,
        version: fingerprint.finish(),
        loaded_at: crate::clock::system_now(),
    };
    (workflows, problems)
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
