//! `web::Error`: what a page handler returns when it cannot show the page.
//! It answers for itself ([`IntoResponse`]): the status, one sentence for
//! the reader, and the cause in the log, so handlers use `?` instead of
//! matching errors by hand, and a database failure is never an empty page.
//!
//! The response carries an [`ErrorPage`] extension; the page routes' layer
//! (`pages::render_errors`) renders it with the site's `error.html.j2` for
//! the viewer. Without that layer the plain-text sentence still stands.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why a page cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database did not answer (or failed): 503, try again.
    #[error("the database failed: {0}")]
    Database(#[from] sqlx::Error),
    /// The request cannot be served as asked; the sentence says why.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Nothing lives at this address; the sentence says what is missing.
    #[error("not found: {0}")]
    NotFound(&'static str),
}

/// Database failures say this to the reader (the cause goes to the log).
pub const DATABASE_UNAVAILABLE: &str =
    "The records cannot be read right now (the database did not answer); try again in a moment.";

/// The page an [`Error`] asks for: rendered by the pages' layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub message: String,
}

impl Error {
    fn page(&self) -> ErrorPage {
        let (status, message) = match self {
            Self::Database(_) => (StatusCode::SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE.into()),
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, message.clone()),
            Self::NotFound(message) => (StatusCode::NOT_FOUND, (*message).to_string()),
        };
        ErrorPage { status, message }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Self::Database(err) = &self {
            tracing::error!(error = %err, "a record page could not read the database");
        }
        let page = self.page();
        let mut response = (page.status, format!("{}\n", page.message)).into_response();
        response.extensions_mut().insert(page);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_failure_answers_503_with_its_sentence_never_an_empty_body() {
        let response = Error::Database(sqlx::Error::PoolClosed).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let page = response.extensions().get::<ErrorPage>().expect("page");
        assert_eq!(page.message, DATABASE_UNAVAILABLE);
    }
}
