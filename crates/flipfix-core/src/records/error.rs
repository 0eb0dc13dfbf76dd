//! Why a record was refused, naming the declared rule it breaks.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("unknown record kind `{kind}` (declared kinds: {known})")]
    UnknownKind { kind: String, known: String },
    #[error("{kind} refused: {violation} (rule declared in {})", declared_in.display())]
    Rule {
        kind: String,
        declared_in: PathBuf,
        violation: RuleViolation,
    },
    #[error("database error while saving a record")]
    Database(#[from] sqlx::Error),
}

/// One broken rule. The messages say what the rule is, so a person can fix
/// the record (or an author the workflow) without reading code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    #[error("a machine is required (machine: required)")]
    MachineRequired,
    #[error("machine #{0} does not exist")]
    MachineNotFound(i64),
    #[error("machine #{machine} differs from the parent record's machine #{parent_machine} (inherit_machine: true)")]
    MachineDiffersFromParent { machine: i64, parent_machine: i64 },
    #[error("a parent record is required (parent_required: true; parents: {allowed})")]
    ParentRequired { allowed: String },
    #[error("this kind cannot have a parent record (no parents declared)")]
    NoParentsAllowed,
    #[error("parent record #{id} is a {parent_kind}; allowed parents: {allowed}")]
    ParentKindNotAllowed {
        id: i64,
        parent_kind: String,
        allowed: String,
    },
    #[error("parent record #{0} does not exist")]
    ParentNotFound(i64),
    #[error("the description is empty")]
    DescriptionEmpty,
    #[error("the description has {actual} characters; at most {max} are allowed (description.max_length)")]
    DescriptionTooLong { max: usize, actual: usize },
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("field `{0}` is required (required: true)")]
    FieldRequired(String),
    #[error("field `{field}` has {actual} characters; at most {max} are allowed (max_length)")]
    FieldTooLong {
        field: String,
        max: usize,
        actual: usize,
    },
    #[error("field `{field}` is `{value}`; allowed: {choices}")]
    NotAChoice {
        field: String,
        value: String,
        choices: String,
    },
    #[error("maintainer #{0} does not exist")]
    MaintainerNotFound(i64),
    #[error("the author name is empty")]
    AuthorNameEmpty,
}
