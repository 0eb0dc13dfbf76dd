//! Who is looking at a page: a visitor, or a signed-in member of the home
//! server. Every handler that shows records takes a [`Viewer`] and filters
//! by [`Viewer::can_see`], so a members-only record never reaches a visitor
//! by any path (pages, search, media).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

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

    /// Until Discord sign-in (a signed session cookie) is in place, everyone
    /// is a visitor: the safe side.
    async fn from_request_parts(
        _parts: &mut Parts,
        _state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::Visitor)
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
