//! The Discord checks, through serenity's `Http` (so `DISCORD_PROXY_URL`
//! applies): token, home server, privileged intents, channel permissions,
//! registered commands. Discord's answers are turned into plain facts for
//! [`super::permissions`] and [`super::report`].

use poise::serenity_prelude as serenity;

use super::permissions::{self, Overwrite, Target};
use super::report::Report;

/// GATEWAY_MESSAGE_CONTENT and its _LIMITED variant (under 100 servers).
const MESSAGE_CONTENT_FLAGS: u64 = (1 << 18) | (1 << 19);

/// What the Discord checks need to know about the deployment.
pub struct Expect<'a> {
    pub guild_id: Option<u64>,
    /// `DISCORD_ALLOWED_CHANNELS`; empty = every text channel.
    pub allowed_channels: &'a [u64],
    /// Names of the commands `run` registers in the home server.
    pub commands: Vec<String>,
}

/// A REST client like `run`'s: through the proxy when one is set.
pub fn http(token: &str, proxy: Option<&str>) -> serenity::Http {
    let mut builder = serenity::HttpBuilder::new(token);
    if let Some(proxy) = proxy {
        builder = builder.proxy(proxy).ratelimiter_disabled(true);
    }
    builder.build()
}

fn status(err: &serenity::Error) -> Option<u16> {
    match err {
        serenity::Error::Http(http) => http.status_code().map(|s| s.as_u16()),
        _ => None,
    }
}

/// Discord's answer in a few words (never the token).
fn describe(err: &serenity::Error) -> String {
    match (status(err), err) {
        (Some(code), _) => format!("Discord answered {code}"),
        (None, serenity::Error::Http(serenity::HttpError::Request(_))) => {
            "Discord is unreachable".to_string()
        }
        // An answer serenity could not read: its message names the field.
        (None, other) => format!("unexpected answer from Discord ({other})"),
    }
}

pub async fn check(report: &mut Report, http: &serenity::Http, expect: &Expect<'_>) {
    let me = match http.get_current_user().await {
        Ok(me) => me,
        Err(err) if status(&err) == Some(401) => {
            report.fail("Discord token", "refused (401): the token is wrong or was reset; copy a new one from the Developer Portal (Bot → Reset Token); the other Discord checks were skipped");
            return;
        }
        Err(err) => {
            report.fail(
                "Discord token",
                format!(
                    "not checked: {}; the other Discord checks were skipped",
                    describe(&err)
                ),
            );
            return;
        }
    };
    report.ok("Discord token", format!("valid, signed in as {}", me.name));

    match http.get_current_application_info().await {
        Ok(app) => {
            http.set_application_id(app.id);
            let flags = app.flags.map(|f| f.bits()).unwrap_or(0);
            if flags & MESSAGE_CONTENT_FLAGS != 0 {
                report.ok("Message Content intent", "on");
            } else {
                report.fail("Message Content intent", "off, so messages arrive empty: Developer Portal → Bot → Privileged Gateway Intents → Message Content Intent");
            }
        }
        Err(err) => report.fail(
            "Message Content intent",
            format!("not checked: {}", describe(&err)),
        ),
    }

    let Some(guild_id) = expect.guild_id else {
        report.fail("home server", "not checked: DISCORD_GUILD_ID is not set");
        return;
    };
    let guild_id = serenity::GuildId::new(guild_id);
    let guild = match http.get_guild(guild_id).await {
        Ok(guild) => guild,
        Err(err) if matches!(status(&err), Some(403 | 404)) => {
            report.fail("home server", format!("the bot is not in server {guild_id}: invite it (the invite URL is logged at start) or fix DISCORD_GUILD_ID"));
            return;
        }
        Err(err) => {
            report.fail("home server", format!("not checked: {}", describe(&err)));
            return;
        }
    };
    report.ok("home server", format!("the bot is in {}", guild.name));

    channels(report, http, &guild, me.id, expect.allowed_channels).await;
    commands(report, http, guild_id, &expect.commands).await;
}

async fn channels(
    report: &mut Report,
    http: &serenity::Http,
    guild: &serenity::PartialGuild,
    bot: serenity::UserId,
    allowed: &[u64],
) {
    let member = match http.get_member(guild.id, bot).await {
        Ok(member) => member,
        Err(err) => {
            report.fail(
                "channel permissions",
                format!(
                    "not checked: reading the bot's roles failed ({})",
                    describe(&err)
                ),
            );
            return;
        }
    };
    let all = match http.get_channels(guild.id).await {
        Ok(channels) => channels,
        Err(err) => {
            report.fail(
                "channel permissions",
                format!("not checked: listing channels failed ({})", describe(&err)),
            );
            return;
        }
    };
    let facts = permissions::Guild {
        id: guild.id.get(),
        owner_id: guild.owner_id.get(),
        roles: guild
            .roles
            .values()
            .map(|r| (r.id.get(), r.permissions.bits()))
            .collect(),
    };
    let member_roles: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
    let text = |c: &&serenity::GuildChannel| {
        matches!(
            c.kind,
            serenity::ChannelType::Text | serenity::ChannelType::News
        )
    };
    let chosen: Vec<&serenity::GuildChannel> = if allowed.is_empty() {
        all.iter().filter(text).collect()
    } else {
        for id in allowed {
            if !all.iter().any(|c| c.id.get() == *id) {
                report.fail(
                    format!("channel {id}"),
                    "not in the home server: fix DISCORD_ALLOWED_CHANNELS",
                );
            }
        }
        all.iter()
            .filter(|c| allowed.contains(&c.id.get()))
            .collect()
    };
    if chosen.is_empty() && allowed.is_empty() {
        report.warn(
            "channel permissions",
            "the home server has no text channel the bot can see",
        );
    }
    for channel in chosen {
        let overwrites: Vec<Overwrite> = channel
            .permission_overwrites
            .iter()
            .filter_map(|o| {
                let target = match o.kind {
                    serenity::PermissionOverwriteType::Member(user) => Target::Member(user.get()),
                    serenity::PermissionOverwriteType::Role(role) => Target::Role(role.get()),
                    _ => return None,
                };
                Some(Overwrite {
                    target,
                    allow: o.allow.bits(),
                    deny: o.deny.bits(),
                })
            })
            .collect();
        let bits = permissions::in_channel(&facts, bot.get(), &member_roles, &overwrites);
        let missing = permissions::missing(bits);
        let name = format!("#{}", channel.name);
        if missing.is_empty() {
            report.ok(
                name,
                "View Channel, Read Message History, Send Messages, Embed Links, Add Reactions",
            );
        } else {
            report.fail(
                name,
                format!(
                    "missing {}: grant them to the bot's role in the channel's permissions",
                    missing.join(", ")
                ),
            );
        }
    }
}

async fn commands(
    report: &mut Report,
    http: &serenity::Http,
    guild: serenity::GuildId,
    expected: &[String],
) {
    match http.get_guild_commands(guild).await {
        Ok(registered) => {
            let missing: Vec<&str> = expected
                .iter()
                .filter(|name| !registered.iter().any(|c| &c.name == *name))
                .map(String::as_str)
                .collect();
            if missing.is_empty() {
                report.ok(
                    "commands",
                    format!("{} registered in the home server", registered.len()),
                );
            } else {
                report.fail(
                    "commands",
                    format!(
                        "not registered: {}; start `flipfix-bot run`, which registers them",
                        missing.join(", ")
                    ),
                );
            }
        }
        Err(err) => report.fail("commands", format!("not checked: {}", describe(&err))),
    }
}
