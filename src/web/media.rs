//! `GET /media/<id>`: the stored copy of a record's photo or video, only
//! for a viewer who may see the record's kind. Anything else is a 404 with
//! no hint whether the file exists, so a members-only photo never reaches a
//! visitor, not even as a yes/no.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::viewer::Viewer;
use super::WebState;
use crate::media::{store, CopyState};

pub fn routes() -> Router<WebState> {
    Router::new().route("/media/{id}", get(serve_media))
}

async fn serve_media(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let pool = &state.app.pool;
    let (item, kind) = match store::get(pool, id).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(err) => return unavailable(&err),
    };
    let workflows = state.app.workflows();
    let Some(kind) = workflows.kinds.get(&kind) else {
        return not_found();
    };
    if !viewer.can_see(kind.web) || item.state != CopyState::Stored {
        return not_found();
    }
    let bytes = match state.app.media.get(pool, id).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return not_found(),
        Err(err) => return unavailable(&err),
    };
    let content_type = item
        .stored_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());
    let disposition = format!("inline; filename=\"{}\"", item.safe_filename());
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    let values = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_str(&content_type).ok(),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition).ok(),
        ),
        // A stored copy never changes, but its kind may become members-only:
        // public copies are cached for an hour, not for good; members-only
        // ones are never kept by any cache.
        (
            header::CACHE_CONTROL,
            Some(HeaderValue::from_static(
                if kind.web == crate::workflow::WebAccess::Public {
                    "public, max-age=3600"
                } else {
                    "private, no-store"
                },
            )),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            Some(HeaderValue::from_static("nosniff")),
        ),
    ];
    for (name, value) in values
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
    {
        headers.insert(name, value);
    }
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

fn unavailable(err: &dyn std::error::Error) -> Response {
    tracing::warn!(error = %err, "cannot read a stored photo");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the photo cannot be read right now; try again in a moment\n",
    )
        .into_response()
}
