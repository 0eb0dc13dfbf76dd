//! Checking `resolves_parent:` on record kinds: the kind has parents, and
//! every parent kind tracks open records and declares the status as one of
//! its `closed_statuses`, so "Create and close #12" always means something.

use std::path::{Path, PathBuf};

use serde_saphyr::{Location, Spanned};

use crate::workflow::kinds::RecordKinds;
use crate::workflow::schema::ResolvesParentDecl;
use crate::workflow::{Problem, Problems};

/// One kind's declaration, kept with where it was written.
pub(super) struct Declared {
    path: PathBuf,
    kind: String,
    at: Location,
    status: String,
    status_at: Location,
}

impl Declared {
    pub(super) fn new(path: &Path, kind: &str, decl: &Spanned<ResolvesParentDecl>) -> Self {
        Self {
            path: path.to_path_buf(),
            kind: kind.to_string(),
            at: decl.referenced,
            status: decl.value.status.value.clone(),
            status_at: decl.value.status.referenced,
        }
    }
}

pub(super) fn check(kinds: &RecordKinds, declared: &[Declared], problems: &mut Problems) {
    for decl in declared {
        let Some(kind) = kinds.get(&decl.kind) else {
            continue;
        };
        let problem = |at: Location, message: String| {
            Problem::new(
                &decl.path,
                format!("record kind `{}`: {message}", decl.kind),
            )
            .at_location(at)
        };
        if kind.parents.is_empty() {
            problems.push(problem(decl.at, "resolves_parent needs parents".into()));
            continue;
        }
        for parent in kind.parents.iter().filter_map(|p| kinds.get(p)) {
            if !parent.tracks_open() {
                problems.push(problem(
                    decl.at,
                    format!(
                        "resolves_parent: parent kind `{}` declares no status_field and closed_statuses, so it cannot be resolved",
                        parent.name
                    ),
                ));
            } else if !parent.closed_statuses.contains(&decl.status) {
                problems.push(problem(
                    decl.status_at,
                    format!(
                        "resolves_parent.status `{}` is not one of parent kind `{}`'s closed_statuses ({})",
                        decl.status,
                        parent.name,
                        parent.closed_statuses.join(", ")
                    ),
                ));
            }
        }
    }
}
