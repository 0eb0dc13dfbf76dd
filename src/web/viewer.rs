//! Who is looking at a page: a visitor, or a signed-in member of the home
//! server. Every handler that shows records takes a [`Viewer`] and filters
//! by [`Viewer::can_see`], so a members-only record never reaches a visitor
//! by any path (pages, search, media).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use super::session::{read_cookie, KeyError, Purpose, Session, SessionKey, SESSION_COOKIE};
use super::WebState;
use crate::workflow::WebAccess;

/// The person behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// Not signed in.
    Visitor,
    /// Signed in with Discord and a member of the home server.
    Member { user_id: u64, username: String },
}

impl Viewer {
    /// Whether this viewer may see records declared with `access`.
    pub fn can_see(&self, access: WebAccess) -> bool {
        match access {
            WebAccess::Public => true,
            WebAccess::Members => matches!(self, Self::Member { .. }),
        }
    }
}

impl FromRequestParts<WebState> for Viewer {
    type Rejection = std::convert::Infallible;

    /// A valid, unexpired session cookie makes a member; anything else
    /// (none, tampered, expired, key unavailable) a visitor: the safe side.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        Ok(match current_session(&parts.headers, state).await {
            Some(session) => Self::Member {
                user_id: session.user_id,
                username: session.username,
            },
            None => Self::Visitor,
        })
    }
}

/// The signing key for this deployment (see [`SessionKey::load`]).
pub async fn session_key(state: &WebState) -> Result<SessionKey, KeyError> {
    SessionKey::load(&state.app.secrets, &state.app.pool).await
}

/// The request's session when its cookie is genuine and unexpired. Requests
/// without a cookie cost nothing (no key lookup).
pub async fn current_session(headers: &HeaderMap, state: &WebState) -> Option<Session> {
    let cookie = read_cookie(headers, SESSION_COOKIE)?;
    let key = match session_key(state).await {
        Ok(key) => key,
        Err(err) => {
            tracing::warn!(error = %err, "session key unavailable; treating the request as a visitor");
            return None;
        }
    };
    key.verify::<Session>(Purpose::Session, cookie)
        .filter(|session| session.expires_at > state.app.clock.now().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitors_see_public_records_only() {
        let member = Viewer::Member {
            user_id: 1,
            username: "ruth".into(),
        };
        assert!(Viewer::Visitor.can_see(WebAccess::Public));
        assert!(!Viewer::Visitor.can_see(WebAccess::Members));
        assert!(member.can_see(WebAccess::Members));
    }
}
