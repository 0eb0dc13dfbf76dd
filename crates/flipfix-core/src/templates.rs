//! The minijinja environment over `prompts/`. Every template is compiled when
//! it is loaded, with strict undefined behaviour, so a typo in a variable name
//! is an error the author sees (`flipfix-bot check`), not an empty string in
//! Discord.
//!
//! Only files in `prompts/` are ever template source. Text from Discord or the
//! model is passed in as data (a context value) and is never compiled.

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::diagnostics::{Problem, Problems};

/// File extensions loaded as templates.
const TEMPLATE_EXTENSIONS: &[&str] = &["j2", "jinja", "jinja2"];

/// Loaded, compiled templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    dir: PathBuf,
    /// Templates that exist on disk but did not compile (already reported).
    broken: Vec<String>,
}

/// A message rendered from a template's blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderedMessage {
    pub title: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub Problem);

impl Templates {
    /// Loads every template under `dir`. Returns the templates that compiled
    /// and a problem for each one that did not.
    pub fn load(dir: &Path) -> (Self, Problems) {
        Self::load_with(dir, new_environment())
    }

    /// Loads the record pages' templates: like [`Templates::load`], with
    /// HTML autoescaping, because what they show (descriptions, names) is
    /// data from Discord.
    pub fn load_html(dir: &Path) -> (Self, Problems) {
        let mut env = new_environment();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        Self::load_with(dir, env)
    }

    fn load_with(dir: &Path, mut env: Environment<'static>) -> (Self, Problems) {
        let mut problems = Problems::default();
        let mut files = Vec::new();
        let mut broken = Vec::new();
        if let Err(err) = collect_files(dir, dir, &mut files) {
            problems.push(Problem::new(
                dir,
                format!("cannot read template directory: {err}"),
            ));
        }
        files.sort();
        for (name, path) in files {
            match std::fs::read_to_string(&path) {
                Ok(source) => {
                    if let Err(err) = env.add_template_owned(name.clone(), source) {
                        problems.push(problem_from_error(dir, &err));
                        broken.push(name);
                    }
                }
                Err(err) => problems.push(Problem::new(&path, format!("cannot read: {err}"))),
            }
        }
        (
            Self {
                env,
                dir: dir.to_path_buf(),
                broken,
            },
            problems,
        )
    }

    #[cfg(test)]
    /// Builds templates from in-memory sources (unit tests).
    pub(crate) fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, TemplateError> {
        let mut env = new_environment();
        for (name, source) in sources {
            env.add_template_owned(name.to_string(), source.to_string())
                .map_err(|err| TemplateError(problem_from_error(Path::new(""), &err)))?;
        }
        Ok(Self {
            env,
            dir: PathBuf::new(),
            broken: Vec::new(),
        })
    }

    pub fn exists(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }

    /// True for a template file that exists but failed to compile.
    pub fn is_broken(&self, name: &str) -> bool {
        self.broken.iter().any(|broken| broken == name)
    }

    /// What to say of a file that names template `name` when there is no
    /// such file (a file that failed to compile has its own problem already).
    pub fn missing(&self, name: &str) -> Option<String> {
        (!self.exists(name) && !self.is_broken(name))
            .then(|| format!("template `{name}` not found in the prompts directory"))
    }

    /// The source text of a template, if it exists.
    pub fn source(&self, name: &str) -> Option<String> {
        self.env
            .get_template(name)
            .ok()
            .map(|template| template.source().to_string())
    }

    pub fn names(&self) -> Vec<String> {
        self.env
            .templates()
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// Renders a whole template.
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, TemplateError> {
        self.env
            .get_template(name)
            .and_then(|template| template.render(minijinja::value::Serde(&context)))
            .map_err(|err| self.error(&err))
    }

    /// Renders the `title` and `body` blocks of a message template.
    pub fn render_message(
        &self,
        name: &str,
        context: impl Serialize,
    ) -> Result<RenderedMessage, TemplateError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|err| self.error(&err))?;
        let mut captured = template
            .render_captured(minijinja::value::Serde(&context))
            .map_err(|err| self.error(&err))?;
        let mut block = |block: &str| {
            captured
                .with_state_mut(|state| state.render_block(block))
                .map(|text| text.trim().to_string())
                .map_err(|err| {
                    let mut problem = self.error(&err).0;
                    if err.kind() == minijinja::ErrorKind::UnknownBlock {
                        problem.message = format!("message template must define a `{block}` block");
                    }
                    TemplateError(problem)
                })
        };
        Ok(RenderedMessage {
            title: block("title")?,
            body: block("body")?,
        })
    }

    fn error(&self, err: &minijinja::Error) -> TemplateError {
        TemplateError(problem_from_error(&self.dir, err))
    }
}

fn new_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Output goes to Discord and to the model, not to HTML.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // Block tags on their own lines leave no blank lines behind.
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.add_filter("truncate_chars", |text: String, max: usize| {
        crate::text::truncate_chars(&text, max)
    });
    env
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect_files(root, &path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| TEMPLATE_EXTENSIONS.contains(&e))
        {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((name, path));
        }
    }
    Ok(())
}

/// A minijinja error as `file:line: problem`, naming the template where it
/// happened (which may be an included one).
fn problem_from_error(dir: &Path, err: &minijinja::Error) -> Problem {
    let file = err
        .name()
        .map(|name| dir.join(name))
        .unwrap_or_else(|| dir.to_path_buf());
    let mut message = err.kind().to_string();
    if let Some(detail) = err.detail() {
        message = format!("{message}: {detail}");
    }
    let problem = Problem::new(file, message);
    match err.line() {
        Some(line) => problem.at(line as u64, 0),
        None => problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_variables_are_errors_with_the_line() {
        let templates =
            Templates::from_sources([("t.j2", "line one\n{{ machine.nmae }}\n")]).unwrap();
        let err = templates
            .render(
                "t.j2",
                serde_json::json!({ "machine": { "name": "Gorgar" } }),
            )
            .unwrap_err();
        assert_eq!(err.0.line, Some(2), "{err}");
        assert!(err.to_string().contains("t.j2:2"), "{err}");
    }

    #[test]
    fn data_is_never_compiled() {
        let templates = Templates::from_sources([("t.j2", "{{ text }}")]).unwrap();
        let out = templates
            .render(
                "t.j2",
                minijinja::context! { text => "{{ 7 * 7 }} {% if x %}" },
            )
            .unwrap();
        assert_eq!(out, "{{ 7 * 7 }} {% if x %}");
    }

    #[test]
    fn message_blocks_render_and_missing_blocks_are_named() {
        let templates = Templates::from_sources([
            (
                "ok.j2",
                "{% block title %} T {{ n }} {% endblock %}{% block body %}B{% endblock %}",
            ),
            ("no_body.j2", "{% block title %}T{% endblock %}"),
        ])
        .unwrap();
        let message = templates
            .render_message("ok.j2", minijinja::context! { n => 1 })
            .unwrap();
        assert_eq!(message.title, "T 1");
        assert_eq!(message.body, "B");
        let err = templates
            .render_message("no_body.j2", minijinja::context! {})
            .unwrap_err();
        assert!(err.to_string().contains("`body` block"), "{err}");
    }
}
