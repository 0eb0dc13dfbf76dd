//! A member's permissions in a channel, computed from the guild's roles and
//! the channel's overwrites the way Discord documents it
//! (<https://discord.com/developers/docs/topics/permissions>). Plain numbers,
//! no Discord types: the adapter converts.

pub const ADD_REACTIONS: u64 = 1 << 6;
pub const ADMINISTRATOR: u64 = 1 << 3;
pub const VIEW_CHANNEL: u64 = 1 << 10;
pub const SEND_MESSAGES: u64 = 1 << 11;
pub const EMBED_LINKS: u64 = 1 << 14;
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;

/// What the bot needs in every channel it works in, with the names the
/// Discord client shows.
pub const NEEDED: &[(u64, &str)] = &[
    (VIEW_CHANNEL, "View Channel"),
    (READ_MESSAGE_HISTORY, "Read Message History"),
    (SEND_MESSAGES, "Send Messages"),
    (EMBED_LINKS, "Embed Links"),
    (ADD_REACTIONS, "Add Reactions"),
    // The optional reply after a review lands in the thread it came from.
    (SEND_MESSAGES_IN_THREADS, "Send Messages in Threads"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Role(u64),
    Member(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overwrite {
    pub target: Target,
    pub allow: u64,
    pub deny: u64,
}

/// The guild-level facts the computation needs.
#[derive(Debug, Clone, Default)]
pub struct Guild {
    pub id: u64,
    pub owner_id: u64,
    /// role id → permissions; the @everyone role has the guild's id.
    pub roles: Vec<(u64, u64)>,
}

/// The permissions of `member` (with `member_roles`) in a channel with
/// `overwrites`.
pub fn in_channel(
    guild: &Guild,
    member: u64,
    member_roles: &[u64],
    overwrites: &[Overwrite],
) -> u64 {
    if member == guild.owner_id {
        return u64::MAX;
    }
    let role_bits = |id: u64| {
        guild
            .roles
            .iter()
            .find(|(role, _)| *role == id)
            .map(|(_, bits)| *bits)
            .unwrap_or(0)
    };
    let mut permissions = role_bits(guild.id);
    for role in member_roles {
        permissions |= role_bits(*role);
    }
    if permissions & ADMINISTRATOR != 0 {
        return u64::MAX;
    }
    // @everyone's overwrite, then all the member's roles' together, then the member's.
    if let Some(everyone) = overwrites
        .iter()
        .find(|o| o.target == Target::Role(guild.id))
    {
        permissions = (permissions & !everyone.deny) | everyone.allow;
    }
    let (mut allow, mut deny) = (0, 0);
    for overwrite in overwrites {
        if let Target::Role(id) = overwrite.target {
            if id != guild.id && member_roles.contains(&id) {
                allow |= overwrite.allow;
                deny |= overwrite.deny;
            }
        }
    }
    permissions = (permissions & !deny) | allow;
    if let Some(own) = overwrites
        .iter()
        .find(|o| o.target == Target::Member(member))
    {
        permissions = (permissions & !own.deny) | own.allow;
    }
    permissions
}

/// The names of the needed permissions `permissions` lacks. Without View
/// Channel nothing else counts, so it is reported alone.
pub fn missing(permissions: u64) -> Vec<&'static str> {
    if permissions & VIEW_CHANNEL == 0 {
        return vec!["View Channel"];
    }
    NEEDED
        .iter()
        .filter(|(bit, _)| permissions & bit == 0)
        .map(|(_, name)| *name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUILD: u64 = 1;
    const BOT_ROLE: u64 = 2;
    const BOT: u64 = 3;
    const ALL: u64 = VIEW_CHANNEL
        | READ_MESSAGE_HISTORY
        | SEND_MESSAGES
        | EMBED_LINKS
        | ADD_REACTIONS
        | SEND_MESSAGES_IN_THREADS;

    fn guild(everyone: u64, bot_role: u64) -> Guild {
        Guild {
            id: GUILD,
            owner_id: 99,
            roles: vec![(GUILD, everyone), (BOT_ROLE, bot_role)],
        }
    }

    #[test]
    fn roles_add_up_and_administrator_grants_everything() {
        let g = guild(VIEW_CHANNEL, ALL & !VIEW_CHANNEL);
        assert!(missing(in_channel(&g, BOT, &[BOT_ROLE], &[])).is_empty());
        assert_eq!(missing(in_channel(&g, BOT, &[], &[])).len(), 5);
        let admin = guild(0, ADMINISTRATOR);
        let deny_all = [Overwrite {
            target: Target::Member(BOT),
            allow: 0,
            deny: ALL,
        }];
        assert!(missing(in_channel(&admin, BOT, &[BOT_ROLE], &deny_all)).is_empty());
    }

    #[test]
    fn overwrites_apply_everyone_then_roles_then_member() {
        let g = guild(ALL, 0);
        let everyone_denies = Overwrite {
            target: Target::Role(GUILD),
            allow: 0,
            deny: READ_MESSAGE_HISTORY,
        };
        assert_eq!(
            missing(in_channel(&g, BOT, &[BOT_ROLE], &[everyone_denies])),
            vec!["Read Message History"]
        );
        let role_allows = Overwrite {
            target: Target::Role(BOT_ROLE),
            allow: READ_MESSAGE_HISTORY,
            deny: 0,
        };
        assert!(missing(in_channel(
            &g,
            BOT,
            &[BOT_ROLE],
            &[everyone_denies, role_allows]
        ))
        .is_empty());
        let member_denies = Overwrite {
            target: Target::Member(BOT),
            allow: 0,
            deny: ADD_REACTIONS,
        };
        assert_eq!(
            missing(in_channel(
                &g,
                BOT,
                &[BOT_ROLE],
                &[everyone_denies, role_allows, member_denies]
            )),
            vec!["Add Reactions"]
        );
    }

    #[test]
    fn without_view_channel_only_that_is_reported() {
        let g = guild(ALL, 0);
        let hidden = Overwrite {
            target: Target::Role(GUILD),
            allow: 0,
            deny: VIEW_CHANNEL,
        };
        assert_eq!(
            missing(in_channel(&g, BOT, &[], &[hidden])),
            vec!["View Channel"]
        );
    }
}
