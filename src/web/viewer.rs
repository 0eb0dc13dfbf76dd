//! Who is looking at a page: a visitor, or a signed-in member of the home
//! server. Every handler that shows records takes a [`Viewer`] and filters
//! by [`Viewer::can_see`], so a members-only record never reaches a visitor
//! by any path (pages, search, media).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use super::auth_discord::DiscordAuth;
use super::session::{read_cookie, KeyError, Purpose, Session, SessionKey};
use super::session_store;
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
    /// Worked out once per request: a layer that already did (the pages'
    /// error rendering) leaves it in the request's extensions, which only
    /// the server writes.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(viewer) = parts.extensions.get::<Self>() {
            return Ok(viewer.clone());
        }
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

/// The request's session when its cookie is genuine, its row in
/// `web_sessions` still exists (not signed out, not expired) and the person
/// is still a member: membership is asked of Discord again once the last
/// check is older than `FLIPFIX_MEMBERSHIP_RECHECK_MINUTES`, by one request
/// per session. Requests without a cookie cost nothing (no key lookup);
/// anything in doubt is a visitor, except that a re-check Discord does not
/// answer keeps the session and is retried a minute later (an outage at
/// Discord does not sign everyone out).
pub async fn current_session(headers: &HeaderMap, state: &WebState) -> Option<Session> {
    let cookie = read_cookie(headers, state.cookies().session)?;
    let key = match session_key(state).await {
        Ok(key) => key,
        Err(err) => {
            tracing::warn!(error = %err, "session key unavailable; treating the request as a visitor");
            return None;
        }
    };
    let now = state.app.clock.now();
    let session = key
        .verify::<Session>(Purpose::Session, cookie)
        .filter(|session| session.expires_at > now.timestamp())?;
    let pool = &state.app.pool;
    let checked_at = match session_store::find(pool, &session.id, now).await {
        Ok(Some((_, checked_at))) => checked_at,
        Ok(None) => return None,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the session; treating the request as a visitor");
            return None;
        }
    };
    let interval = state.app.secrets.membership_recheck();
    if checked_at > now - interval {
        return Some(session);
    }
    match session_store::claim_recheck(pool, &session.id, now - interval, now).await {
        Ok(true) => {}
        // Another request is checking right now: the last check stands.
        Ok(false) => return Some(session),
        Err(err) => {
            tracing::warn!(error = %err, "cannot record the membership re-check; treating the request as a visitor");
            return None;
        }
    }
    let member = match DiscordAuth::from_secrets(&state.app.secrets, &state.app.discord) {
        Ok(auth) => auth.is_member(session.user_id).await,
        Err(err) => Err(err),
    };
    match member {
        Ok(true) => Some(session),
        Ok(false) => {
            tracing::info!(
                user_id = session.user_id,
                "session ended: no longer a member of the home server"
            );
            if let Err(err) = session_store::revoke(pool, &session.id).await {
                tracing::warn!(error = %err, "cannot delete the session of a former member");
            }
            None
        }
        Err(err) => {
            tracing::warn!(error = %err, "membership re-check failed; keeping the session and trying again in a minute");
            let retry_at = now - interval + session_store::RECHECK_RETRY;
            if let Err(err) = session_store::set_checked(pool, &session.id, retry_at).await {
                tracing::warn!(error = %err, "cannot record the failed membership re-check");
            }
            Some(session)
        }
    }
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
