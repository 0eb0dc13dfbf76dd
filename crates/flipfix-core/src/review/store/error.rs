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
    #[error("choose a machine first (the menu on the card, or Edit): the model named `{0}`, which is not in the catalog")]
    MachineUnknown(String),
    #[error("{0}")]
    Record(#[from] RecordError),
    #[error("database error in the review")]
    Database(#[from] sqlx::Error),
}
