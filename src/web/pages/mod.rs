//! Record pages: the index with filters and search, the machines overview
//! (`/machines/`), a machine's timeline, each record at its kind's
//! `link_path`, and the members' list of workflow runs (`/runs/`). Rendered
//! on the server from the HTML templates in `FLIPFIX_PAGES_DIR`
//! (autoescaped: descriptions and names are data). Every read goes through
//! [`browse::Visible`] built from the [`Viewer`], so a visitor never sees a
//! members-only record anywhere.

mod handlers;
mod machines;
mod runs;
mod sample;
mod views;

pub use sample::check;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::viewer::Viewer;
use super::WebState;
use crate::records::browse;
use crate::templates::Templates;

/// The templates every page needs; `check` validates them.
pub const PAGE_TEMPLATES: &[&str] = &[
    "index.html.j2",
    "machine.html.j2",
    "machines.html.j2",
    "record.html.j2",
    "error.html.j2",
    "runs.html.j2",
];

/// The loaded page templates.
#[derive(Debug)]
pub struct Pages {
    templates: Templates,
}

impl Pages {
    /// Loads `dir`; problems (a missing or broken template) are returned
    /// with their file and line, and the pages that work still serve.
    pub fn load(dir: &std::path::Path) -> (Self, crate::workflow::Problems) {
        let (templates, mut problems) = Templates::load_html(dir);
        for name in PAGE_TEMPLATES {
            if !templates.exists(name) && !templates.is_broken(name) {
                problems.push(crate::workflow::Problem::new(
                    dir.join(name),
                    "missing: the record pages need this template",
                ));
            }
        }
        (Self { templates }, problems)
    }

    /// Renders `name`, or a plain error page naming the cause when the
    /// template fails (already logged).
    fn render(&self, status: StatusCode, name: &str, context: impl serde::Serialize) -> Response {
        match self.templates.render(name, context) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(err) => {
                tracing::error!(template = name, error = %err, "a page template failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "This page's template has an error; the bot's log names it, and `flipfix-bot check` shows it.\n",
                )
                    .into_response()
            }
        }
    }

    /// An error page with one sentence for the reader.
    fn error(&self, status: StatusCode, viewer: &Viewer, message: &str) -> Response {
        self.render(
            status,
            "error.html.j2",
            views::error_context(viewer, status.as_u16(), message, None),
        )
    }

    /// "No such record" at `path`. A visitor gets the same page whether the
    /// record is missing or members-only (so ids cannot be probed), with a
    /// link to sign in and come back.
    fn no_such_record(&self, viewer: &Viewer, path: &str) -> Response {
        let sign_in = (*viewer == Viewer::Visitor).then(|| {
            let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
            format!("/login?next={next}")
        });
        self.render(
            StatusCode::NOT_FOUND,
            "error.html.j2",
            views::error_context(
                viewer,
                StatusCode::NOT_FOUND.as_u16(),
                "There is no such record.",
                sign_in.as_deref(),
            ),
        )
    }
}

/// The page routes; the pages are loaded from `FLIPFIX_PAGES_DIR` now, and
/// problems are logged (they are `check`'s to report in full).
pub fn routes(state: &WebState) -> Router<WebState> {
    let (pages, problems) = Pages::load(&state.app.secrets.pages_dir);
    if !problems.is_empty() {
        tracing::error!(%problems, "the record page templates have problems; affected pages answer with an error");
    }
    let pages = Arc::new(pages);
    Router::new()
        .route("/", get(handlers::index))
        .route("/machines/", get(machines::machines))
        .route("/machines/{slug}/", get(handlers::machine))
        .route("/runs/", get(runs::runs))
        .route("/{section}/{id}/", get(handlers::record))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            render_errors,
        ))
        .layer(axum::Extension(pages))
}

/// Renders a handler's [`crate::web::Error`] as the site's error page for
/// this viewer. The viewer is worked out once here and handed to the
/// handler (see [`Viewer`]'s extractor).
async fn render_errors(
    axum::Extension(pages): axum::Extension<Arc<Pages>>,
    viewer: Viewer,
    mut request: Request,
    next: Next,
) -> Response {
    request.extensions_mut().insert(viewer.clone());
    let response = next.run(request).await;
    match response.extensions().get::<crate::web::error::ErrorPage>() {
        Some(page) => pages.error(page.status, &viewer, &page.message),
        None => response,
    }
}

/// The kinds `viewer` may see under the workflows in force.
fn visible(state: &WebState, viewer: &Viewer) -> browse::Visible {
    browse::Visible::for_viewer(&state.app.workflows().kinds, |access| {
        viewer.can_see(access)
    })
}
