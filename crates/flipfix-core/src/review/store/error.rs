//! What can go wrong acting on a review, in words the person can act on.

use crate::records::RecordError;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("this review no longer exists")]
    NotFound,
    #[error("this review belongs to {owner_name}; only they can act on it")]
    NotOwner { owner_name: String },
    #[error("this review expired; run Add to Flipfix again")]
    Expired,
    #[error("this review is already over")]
    Over,
    #[error("{0}")]
    CannotAttach(String),
    /// A reload removed the workflow this review started on.
    #[error("the workflow `{workflow}` was removed by a reload, so this review ended; nothing more is created from it")]
    WorkflowRemoved { workflow: String },
    /// The version this review started on is held only by the process
    /// that started it, and this one (another replica, or after a restart)
    /// runs another version.
    #[error("the workflow `{workflow}` changed since this review started (the bot restarted or reloaded it), so this review ended; nothing more is created from it. Run it again")]
    WorkflowChanged { workflow: String },
    #[error("choose a machine first (the menu on the card, or Edit): the model named `{0}`, which is not in the catalog")]
    MachineUnknown(String),
    #[error("{0}")]
    Record(#[from] RecordError),
    #[error("database error in the review")]
    Database(#[from] sqlx::Error),
}
