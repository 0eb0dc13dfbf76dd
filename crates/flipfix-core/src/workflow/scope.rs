//! Where a workflow may run and who may start it, checked with plain ids
//! where a run starts; the adapter passes the ids and shows the sentence.

use super::definition::{Scope, Workflow};

/// Why a run may not start, in one sentence for the member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeRefusal {
    #[error("`{workflow}` does not run in this channel.")]
    Channel { workflow: String },
    #[error("`{workflow}` is for members with one of its roles.")]
    Role { workflow: String },
}

impl Scope {
    /// Whether a run may start in `channel` (a thread passes its parent as
    /// `parent`) by a member with `roles`.
    pub fn allows(&self, channel: u64, parent: Option<u64>, roles: &[u64]) -> ScopeCheck {
        let channel_ok = self.channels.is_empty()
            || self.channels.contains(&channel)
            || parent.is_some_and(|p| self.channels.contains(&p));
        if !channel_ok {
            return ScopeCheck::WrongChannel;
        }
        if !self.roles.is_empty() && !roles.iter().any(|r| self.roles.contains(r)) {
            return ScopeCheck::MissingRole;
        }
        ScopeCheck::Allowed {
            exempt_from_cap: roles.iter().any(|r| self.exempt_roles.contains(r)),
        }
    }
}

/// The outcome of [`Scope::allows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeCheck {
    Allowed { exempt_from_cap: bool },
    WrongChannel,
    MissingRole,
}

impl Workflow {
    /// [`Scope::allows`] as a result with the member's sentence; `Ok` says
    /// whether the member's runs count against the daily cap.
    pub fn may_start(
        &self,
        channel: u64,
        parent: Option<u64>,
        roles: &[u64],
    ) -> Result<bool, ScopeRefusal> {
        let workflow = self.name.clone();
        match self.scope.allows(channel, parent, roles) {
            ScopeCheck::Allowed { exempt_from_cap } => Ok(!exempt_from_cap),
            ScopeCheck::WrongChannel => Err(ScopeRefusal::Channel { workflow }),
            ScopeCheck::MissingRole => Err(ScopeRefusal::Role { workflow }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            channels: vec![10],
            roles: vec![100, 101],
            exempt_roles: vec![900],
        }
    }

    #[test]
    fn an_empty_scope_allows_every_channel_and_member() {
        assert_eq!(
            Scope::default().allows(1, None, &[]),
            ScopeCheck::Allowed {
                exempt_from_cap: false
            }
        );
    }

    #[test]
    fn channels_count_a_thread_by_its_parent() {
        let scope = scope();
        assert_eq!(scope.allows(11, None, &[100]), ScopeCheck::WrongChannel);
        assert!(matches!(
            scope.allows(55, Some(10), &[100]),
            ScopeCheck::Allowed { .. }
        ));
    }

    #[test]
    fn roles_are_required_and_exempt_roles_skip_the_cap() {
        let scope = scope();
        assert_eq!(scope.allows(10, None, &[7]), ScopeCheck::MissingRole);
        assert_eq!(
            scope.allows(10, None, &[101, 900]),
            ScopeCheck::Allowed {
                exempt_from_cap: true
            }
        );
        assert_eq!(
            scope.allows(10, None, &[101]),
            ScopeCheck::Allowed {
                exempt_from_cap: false
            }
        );
    }
}
