//! The documentation's links stay true: every relative link and `#anchor`
//! in README.md and docs/*.md resolves (the file exists; the anchor is one
//! GitHub makes from a heading of the target file), and every citation of
//! a section in the code, workflows and templates (`docs/workflows.md
//! "Triggers"`, or the older `README "X"`) names a heading that exists.

use std::path::{Component, Path, PathBuf};

use crate::support::markdown::{anchors, heading_text, headings, links};
use crate::support::repo_root;

/// README.md and every docs/*.md, relative to `root`.
fn documentation(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| path.strip_prefix(root).expect("under root").to_path_buf())
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// `base` joined with `relative`, `..` and `.` resolved without touching
/// the disk (so a missing file is reported, not an I/O error).
fn resolve(base: &Path, relative: &str) -> PathBuf {
    let mut path = PathBuf::new();
    for component in base.join(relative).components() {
        match component {
            Component::ParentDir => {
                path.pop();
            }
            Component::CurDir => {}
            other => path.push(other),
        }
    }
    path
}

/// Every link of `files` (relative to `root`) that does not resolve, as
/// `file:line:column: target: why`.
fn broken_links(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut broken = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        for link in links(&text) {
            let target = link.target.as_str();
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target, None),
            };
            let target_file = if path.is_empty() {
                file.clone()
            } else {
                resolve(file.parent().unwrap_or(Path::new("")), path)
            };
            let why = match (std::fs::read_to_string(root.join(&target_file)), anchor) {
                _ if !root.join(&target_file).exists() => {
                    Some(format!("{} does not exist", target_file.display()))
                }
                (Ok(target_text), Some(anchor)) => {
                    (!anchors(&target_text).iter().any(|a| a == anchor))
                        .then(|| format!("{} has no heading #{anchor}", target_file.display()))
                }
                (Err(_), Some(anchor)) => Some(format!(
                    "#{anchor}: {} is not a text file",
                    target_file.display()
                )),
                (_, None) => None,
            };
            if let Some(why) = why {
                broken.push(format!(
                    "{}:{}:{}: {target}: {why}",
                    file.display(),
                    link.line,
                    link.column
                ));
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_and_anchor_in_the_readme_and_docs_resolves() {
    let root = repo_root();
    let files = documentation(&root);
    assert!(files.len() >= 8, "README and the docs: {files:?}");
    let checked: usize = files
        .iter()
        .map(|f| links(&std::fs::read_to_string(root.join(f)).unwrap()).len())
        .sum();
    assert!(checked >= 40, "only {checked} links found");
    let broken = broken_links(&root, &files);
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn a_broken_link_a_missing_anchor_and_a_missing_image_are_each_named_at_their_place() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(
        dir.path().join("README.md"),
        "# Tiny\n\nSee [the guide](docs/guide.md#starting-it-with-a-reaction-) and \
         [gone](docs/gone.md).\n![card](docs/images/card.png) `[code](not/a/link.md)`\n\n\
         ```md\n[fenced](not/a/link.md)\n```\n[web](https://example.com/x.md) [self](#tiny)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("docs/guide.md"),
        "# Guide\n\n## Starting it with a reaction (🔧)\n\n## `/report`: a typed note\n\n\
         [back](../README.md#tiny), [report](#report-a-typed-note), [typo](#report-a-typed-nte),\n\
         [the list](../README.md#nowhere)\n",
    )
    .unwrap();
    let files = [PathBuf::from("README.md"), PathBuf::from("docs/guide.md")];
    assert_eq!(
        broken_links(dir.path(), &files),
        [
            "README.md:3:72: docs/gone.md: docs/gone.md does not exist",
            "README.md:4:9: docs/images/card.png: docs/images/card.png does not exist",
            "docs/guide.md:7:67: #report-a-typed-nte: docs/guide.md has no heading #report-a-typed-nte",
            "docs/guide.md:8:12: ../README.md#nowhere: README.md has no heading #nowhere",
        ]
    );
}

#[test]
fn anchors_follow_githubs_slug_rules() {
    let doc =
        "# Configuration\n\n## The analysis workflow (`gather:`, `analyze:`, `on_created:`)\n\n\
               ## Starting it with a reaction (🔧)\n\n```sh\n# offline, not a heading\n```\n\n\
               ## Notes\n\n## Notes\n\n### [Linked](x.md) *heading*\n";
    assert_eq!(
        anchors(doc),
        [
            "configuration",
            "the-analysis-workflow-gather-analyze-on_created",
            "starting-it-with-a-reaction-",
            "notes",
            "notes-1",
            "linked-heading",
        ]
    );
}

/// Where the code and shipped files cite a documentation section.
const CITING: &[&str] = &[
    "src",
    "crates",
    "workflows",
    "prompts",
    "Secrets.example.toml",
    "Cargo.toml",
];

/// Every file under `path` (or `path` itself), sorted.
fn files_under(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(path).unwrap_or_else(|err| panic!("{}: {err}", path.display())) {
        found.extend(files_under(&entry.expect("entry").path()));
    }
    found.sort();
    found
}

/// The citations in `text`: a documentation file (`docs/NAME.md`, or
/// `README`) and, when a quoted name follows it (`docs/x.md "Section"`,
/// `docs/x.md, "Section"`, `README's "Section"`, quotes escaped or not),
/// that section. Returns (line, file, section).
fn citations(text: &str) -> Vec<(usize, String, Option<String>)> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut from = 0;
        while from < line.len() {
            let rest = &line[from..];
            let next_docs = rest.find("docs/");
            let next_readme = rest.find("README");
            let (at, file) = match (next_docs, next_readme) {
                (Some(d), r) if r.is_none_or(|r| d < r) => {
                    let name: String = rest[d..]
                        .chars()
                        .take_while(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.')
                        })
                        .collect();
                    let name = name.trim_end_matches('.').to_string();
                    (d, name)
                }
                (_, Some(r)) => (r, "README.md".to_string()),
                (_, None) => break,
            };
            let written_len = if file == "README.md" {
                "README".len()
            } else {
                file.len()
            };
            let after = &rest[at + written_len..];
            // `../shared/README` and the like are other projects' files, and
            // our docs are files directly in docs/, named in lower case
            // (`docs/interactions/Application_Commands.md` is Discord's).
            let ours = (at == 0 || !rest[..at].ends_with('/'))
                && (file == "README.md"
                    || file.strip_prefix("docs/").is_some_and(|name| {
                        name.ends_with(".md")
                            && name.chars().all(|c| {
                                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
                            })
                    }));
            if ours {
                let mut tail = after.strip_prefix("'s").unwrap_or(after);
                tail = tail.strip_prefix(',').unwrap_or(tail);
                let quoted = tail
                    .strip_prefix(' ')
                    .and_then(|s| s.strip_prefix("\\\"").or_else(|| s.strip_prefix('"')))
                    .and_then(|s| s.split_once(['"', '\\']))
                    .map(|(name, _)| name.to_string());
                if file == "README.md" && quoted.is_none() {
                    // A bare "README" names no section and no other file.
                } else {
                    found.push((index + 1, file, quoted));
                }
            }
            from += at + written_len;
        }
    }
    found
}

/// Every citation in `sources` (name → text) that names a missing file or a
/// section that file lacks, as `source:line: why`.
fn broken_citations(root: &Path, sources: &[(String, String)]) -> Vec<String> {
    let mut broken = Vec::new();
    for (source, text) in sources {
        for (line, file, section) in citations(text) {
            let Ok(doc) = std::fs::read_to_string(root.join(&file)) else {
                broken.push(format!("{source}:{line}: {file} does not exist"));
                continue;
            };
            let Some(section) = section else { continue };
            // A citation may leave out a heading's parenthesis:
            // "The analysis workflow" names "The analysis workflow (`gather:`, …)".
            let names = headings(&doc).iter().any(|heading| {
                let heading = heading_text(heading);
                heading == section || heading.starts_with(&format!("{section} ("))
            });
            if !names {
                broken.push(format!(
                    "{source}:{line}: {file} has no section \"{section}\""
                ));
            }
        }
    }
    broken
}

#[test]
fn every_section_the_code_cites_exists() {
    let root = repo_root();
    let sources: Vec<(String, String)> = CITING
        .iter()
        .flat_map(|path| files_under(&root.join(path)))
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            let name = path.strip_prefix(&root).ok()?.display().to_string();
            Some((name, text))
        })
        .collect();
    let cited: usize = sources.iter().map(|(_, text)| citations(text).len()).sum();
    assert!(cited >= 15, "only {cited} citations found");
    let broken = broken_citations(&root, &sources);
    assert!(broken.is_empty(), "stale citations:\n{}", broken.join("\n"));
}

#[test]
fn a_citation_of_a_missing_section_or_file_is_named_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(
        dir.path().join("docs/workflows.md"),
        "# Writing workflows\n\n## Triggers\n\n## The analysis workflow (`gather:`)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("README.md"), "# Tiny\n\n## Quick start\n").unwrap();
    let source = "// see docs/workflows.md \"Triggers\" and docs/workflows.md \"The analysis workflow\"\n\
                  // see docs/workflows.md, \\\"Templates\\\"\n\
                  # README \"Quick start\", README's \"Daily summaries\"; ../shared/README \"Nope\"\n\
                  # docs/gone.md and docs/workflows.md.\n\
                  // Discord's docs/interactions/Application_Commands.md, docs/images/x.png\n";
    assert_eq!(
        broken_citations(dir.path(), &[("x.rs".to_string(), source.to_string())]),
        [
            "x.rs:2: docs/workflows.md has no section \"Templates\"",
            "x.rs:3: README.md has no section \"Daily summaries\"",
            "x.rs:4: docs/gone.md does not exist",
        ]
    );
}
