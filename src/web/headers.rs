//! Headers on every response: a Content-Security-Policy that allows only
//! this site (plus Discord's CDN for photos not copied yet, and the inline
//! `<style>` of the page templates: there is no script anywhere), no
//! framing, no referrer to other sites, no MIME sniffing; and for a request
//! that carries a session cookie, `Cache-Control: private, no-store`, so no
//! cache keeps or shares a page rendered for a member. `Vary: Cookie` on
//! everything: a page differs by who is signed in.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::session::{read_cookie, PLAIN_SESSION_COOKIE, SESSION_COOKIE};

/// The policy. `style-src 'unsafe-inline'` because the templates (which an
/// operator may edit) carry their CSS inline; styles cannot run code.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
     img-src 'self' https://cdn.discordapp.com https://media.discordapp.net; \
     media-src 'self' https://cdn.discordapp.com https://media.discordapp.net; \
     style-src 'self' 'unsafe-inline'; script-src 'none'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn security_headers(request: Request, next: Next) -> Response {
    let signed_in = read_cookie(request.headers(), SESSION_COOKIE).is_some()
        || read_cookie(request.headers(), PLAIN_SESSION_COOKIE).is_some();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ] {
        headers.insert(name, value);
    }
    headers.append(header::VARY, HeaderValue::from_static("Cookie"));
    if signed_in {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    } else if !headers.contains_key(header::CACHE_CONTROL) {
        // A visitor's page may be cached, but checked before each reuse.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}
