//! A fake Discord on 127.0.0.1: the REST API (reached through
//! `DISCORD_PROXY_URL`) and a `ws://` gateway, enough to drive the real poise
//! bot through whole flows. Every request the bot sends must match an
//! operation of Discord's official OpenAPI spec (an unknown route answers
//! 404, a method the spec lacks 405), its body must validate against that
//! operation's schema and declare no field the schema does not know.
//! Violations are collected; a test fails on them at `assert_spec_clean`,
//! or when the fake is dropped with violations nobody took
//! (`take_violations`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};

use super::openapi::{check_request, check_route};

mod channel_posts;
mod conformance;
mod gateway_events;
mod guild_commands;
mod oauth;
mod objects;
mod state;

use objects::registered_command;
pub use objects::{complete_user, discord_user, with_component_ids, without_nulls};
use state::{interaction_state, unknown_channel};

pub const APPLICATION_ID: u64 = 700_000_000_000_000_001;
pub const BOT_USER_ID: u64 = 700_000_000_000_000_002;
pub const GUILD_ID: u64 = 700_000_000_000_000_003;
pub const CHANNEL_ID: u64 = 700_000_000_000_000_004;
pub const OWNER_ID: u64 = 700_000_000_000_000_005;
/// The role Discord gives the bot when it joins (holds its permissions).
pub const BOT_ROLE_ID: u64 = 700_000_000_000_000_006;
/// GATEWAY_MESSAGE_CONTENT: the application's Message Content intent is on.
pub const MESSAGE_CONTENT_FLAG: u64 = 1 << 18;
/// What the bot's role grants: View Channel, Send Messages, Embed Links,
/// Read Message History, Add Reactions, Send Messages in Threads.
pub const BOT_ROLE_PERMISSIONS: u64 =
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 6) | (1 << 38);

/// How long a test waits for the bot to do something. The wait includes
/// real work (a bot starting, a database, a loaded 2-core CI running other
/// tests), and it bounds only a failure: a passing test never waits it out.
pub const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// One request the bot made.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// When the fake received it.
    pub at: std::time::Instant,
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Value,
}

/// A user who acts in tests.
#[derive(Debug, Clone)]
pub struct FakeUser {
    pub id: u64,
    pub username: String,
    pub global_name: Option<String>,
    /// Permissions bitfield Discord computes for the member in the channel.
    pub permissions: u64,
    /// Role ids of the member (sent in the interaction's member object).
    pub roles: Vec<u64>,
}

impl FakeUser {
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const BASIC: u64 = (1 << 10) | (1 << 11) | (1 << 16); // view, send, history

    pub fn admin(id: u64, username: &str) -> Self {
        Self {
            id,
            username: username.into(),
            global_name: None,
            permissions: Self::BASIC | Self::MANAGE_GUILD,
            roles: Vec::new(),
        }
    }

    pub fn member(id: u64, username: &str) -> Self {
        Self {
            id,
            username: username.into(),
            global_name: None,
            permissions: Self::BASIC,
            roles: Vec::new(),
        }
    }

    /// The same member holding `role`.
    pub fn with_role(mut self, role: u64) -> Self {
        self.roles.push(role);
        self
    }

    pub fn user_json(&self) -> Value {
        discord_user(self.id, &self.username, self.global_name.as_deref(), false)
    }

    pub fn member_json(&self) -> Value {
        json!({
            "user": self.user_json(),
            "roles": self.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
            "joined_at": "2024-01-01T00:00:00.000000+00:00",
            "deaf": false,
            "mute": false,
            "flags": 0,
            "avatar": null,
            "banner": null,
            "communication_disabled_until": null,
            "nick": null,
            "pending": false,
            "premium_since": null,
            "permissions": self.permissions.to_string(),
        })
    }
}

#[derive(Default)]
struct FakeState {
    base_url: Mutex<String>,
    requests: Mutex<Vec<RecordedRequest>>,
    violations: Mutex<Vec<String>>,
    request_arrived: Notify,
    gateway: Mutex<Option<mpsc::UnboundedSender<Value>>>,
    identified: Notify,
    identifies: AtomicU64,
    sequence: AtomicU64,
    next_id: AtomicU64,
    commands: Mutex<Vec<Value>>,
    /// Global commands (left over from an earlier version of the bot).
    global_commands: Mutex<Vec<Value>>,
    /// The guild of the next interaction: `Some(None)` for a DM.
    next_guild: Mutex<Option<Option<u64>>>,
    /// channel id → messages, oldest first.
    channels: Mutex<HashMap<u64, Vec<Value>>>,
    /// Attachment files served under `/attachments/...` (the CDN stand-in).
    files: Mutex<HashMap<String, String>>,
    /// thread id → parent channel id.
    threads: Mutex<HashMap<u64, u64>>,
    /// The bot's permissions in the next interaction (default: all).
    next_app_permissions: Mutex<Option<String>>,
    /// interaction token → id of its original response message.
    originals: Mutex<HashMap<String, u64>>,
    /// Channels whose history the bot may not read (403 Missing Access).
    denied_history: Mutex<std::collections::HashSet<u64>>,
    /// The channel of the next interaction (default CHANNEL_ID).
    next_channel: Mutex<Option<u64>>,
    /// When set, IDENTIFY gets no READY (a gateway that never becomes ready).
    withhold_ready: std::sync::atomic::AtomicBool,
    /// Every INTERACTION_CREATE payload dispatched, in order.
    dispatched: Mutex<Vec<Value>>,
    /// interaction token → when its INTERACTION_CREATE frame, already
    /// serialized, was handed to the bot's socket.
    frames_written: Mutex<HashMap<String, std::time::Instant>>,
    /// Injected failures, checked in order before answering.
    failures: Mutex<Vec<InjectedFailure>>,
    /// OAuth2 sign-in (the web pages): see `oauth`.
    oauth: oauth::OAuthState,
    /// The application's flags (default: the Message Content intent on).
    application_flags: Mutex<Option<u64>>,
    /// channel id → permissions a member overwrite denies the bot there.
    bot_denied: Mutex<HashMap<u64, u64>>,
    /// Tokens of the interactions dispatched, and of those acknowledged
    /// (their callback answered): Discord refuses a second callback
    /// (40060) and any edit or follow-up before the first (10015).
    interaction_tokens: Mutex<std::collections::HashSet<String>>,
    acknowledged: Mutex<std::collections::HashSet<String>>,
    /// Whether the spec checks run while a request is served (the default)
    /// or only when asked for afterwards (`check_spec_afterwards`).
    deferred_checks: std::sync::atomic::AtomicBool,
}

/// Answer `status` (a Discord error body) to the next `remaining` requests
/// whose method is `method` and whose path contains `path_contains`.
#[derive(Debug, Clone)]
struct InjectedFailure {
    method: String,
    path_contains: String,
    remaining: u64,
    status: u16,
}

/// The running fake. Dropping it stops the server.
pub struct FakeDiscord {
    pub base_url: String,
    state: Arc<FakeState>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.server.abort();
        // A request Discord would refuse fails the test even when the test
        // forgot `assert_spec_clean` (but not on top of another failure).
        if !std::thread::panicking() {
            let violations = std::mem::take(&mut *self.state.violations.lock().unwrap());
            assert!(
                violations.is_empty(),
                "requests Discord would reject (unchecked by the test):\n{}",
                violations.join("\n")
            );
        }
    }
}

impl FakeDiscord {
    pub async fn start() -> Self {
        let state = Arc::new(FakeState {
            next_id: AtomicU64::new(800_000_000_000_000_000),
            ..Default::default()
        });
        let app = Router::new()
            .route("/gateway", get(gateway))
            .route("/oauth2/authorize", get(oauth::authorize))
            // A browser on the authorize page asks for the site icon.
            .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
            .route("/api/v10/oauth2/token", axum::routing::post(oauth::token))
            .route("/api/v10/users/@me", get(oauth::users_me).fallback(rest))
            .route(
                "/api/v10/guilds/{guild}/members/{user}",
                get(oauth::guild_member).fallback(rest),
            )
            .fallback(rest)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                conformance::conform,
            ))
            .with_state(state.clone());
        let (address, server) = super::serve_on_loopback(app, "fake discord").await;
        let base_url = format!("http://{address}");
        *state.base_url.lock().unwrap() = base_url.clone();
        Self {
            base_url,
            state,
            server,
        }
    }

    /// Waits until the bot has identified `count` times in all (a restarted
    /// bot identifies again).
    pub async fn wait_for_identify(&self, count: u64) {
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        loop {
            let notified = self.state.identified.notified();
            if self.state.identifies.load(Ordering::SeqCst) >= count {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("the bot did not identify on the gateway within {WAIT_LIMIT:?}");
            }
        }
    }

    /// From now on, IDENTIFY is never answered with READY.
    pub fn withhold_ready(&self) {
        self.state.withhold_ready.store(true, Ordering::SeqCst);
    }

    /// How many IDENTIFYs the fake has answered so far.
    pub fn identify_count(&self) -> u64 {
        self.state.identifies.load(Ordering::SeqCst)
    }

    /// The next `times` requests matching `method` and a path containing
    /// `path_contains` get `status` with a Discord error body (`u64::MAX`
    /// for always).
    pub fn fail_requests(&self, method: &str, path_contains: &str, status: u16, times: u64) {
        self.state.failures.lock().unwrap().push(InjectedFailure {
            method: method.to_string(),
            path_contains: path_contains.to_string(),
            remaining: times,
            status,
        });
    }

    /// Dispatches INTERACTION_CREATE with a payload as built before (a
    /// duplicated or replayed delivery).
    pub fn redispatch_interaction(&self, payload: Value) {
        self.dispatch("INTERACTION_CREATE", payload);
    }

    /// The payload of the last INTERACTION_CREATE dispatched with `token`.
    pub fn interaction_payload(&self, token: &str) -> Option<Value> {
        self.state
            .dispatched
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|p| p["token"] == token)
            .cloned()
    }

    /// Sends a dispatch (op 0) to the connected bot.
    pub fn dispatch(&self, event: &str, data: Value) {
        if event == "INTERACTION_CREATE" {
            self.state.dispatched.lock().unwrap().push(data.clone());
        }
        let sequence = self.state.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        let frame = json!({"op": 0, "t": event, "s": sequence, "d": data});
        let sender = self.state.gateway.lock().unwrap().clone();
        sender
            .expect("no gateway connection")
            .send(frame)
            .expect("gateway connection closed");
    }

    /// When the INTERACTION_CREATE frame of `token` was written to the
    /// bot's socket (after the fake built and serialized it).
    pub fn frame_written_at(&self, token: &str) -> Option<std::time::Instant> {
        self.state
            .frames_written
            .lock()
            .unwrap()
            .get(token)
            .copied()
    }

    /// A token of an interaction the fake treats as dispatched, with no bot
    /// connected (for tests of the fake's interaction state itself).
    pub fn undelivered_interaction_token(&self) -> String {
        let token = format!("token-{}", self.next_id());
        self.state
            .interaction_tokens
            .lock()
            .unwrap()
            .insert(token.clone());
        token
    }

    /// A fresh snowflake.
    pub fn next_id(&self) -> u64 {
        self.state.next_id.fetch_add(1, Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Waits for the first request (from now on or already made) matching `pred`.
    pub async fn wait_for_request(
        &self,
        what: &str,
        pred: impl Fn(&RecordedRequest) -> bool,
    ) -> RecordedRequest {
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        loop {
            let notified = self.state.request_arrived.notified();
            // Searched in place: a copy of every request on each arrival
            // would cost the benchmarks' fake more than the bot's work.
            let found = self
                .state
                .requests
                .lock()
                .unwrap()
                .iter()
                .find(|r| pred(r))
                .cloned();
            if let Some(found) = found {
                return found;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let seen: Vec<String> = self
                    .requests()
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect();
                panic!("timed out waiting for {what}; requests so far: {seen:#?}");
            }
        }
    }

    /// Waits until `pred` holds for the list of all requests so far.
    pub async fn wait_until(&self, what: &str, pred: impl Fn(&[RecordedRequest]) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        loop {
            let notified = self.state.request_arrived.notified();
            if pred(&self.state.requests.lock().unwrap()) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("timed out waiting for {what}");
            }
        }
    }

    /// How many times the bot started syncing its commands (each sync
    /// begins by listing the home server's commands).
    pub fn registrations(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.ends_with(&home_commands_path()))
            .count()
    }

    /// The changes the bot asked of the home server's commands, in order:
    /// `("POST", name)`, `("PATCH", name)`, `("DELETE", id)`, `("PUT", "")`.
    pub fn command_changes(&self) -> Vec<(String, String)> {
        let base = home_commands_path();
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET" && r.path.contains(&base))
            .map(|r| {
                let what = match r.method.as_str() {
                    "POST" | "PATCH" => r.body["name"].as_str().unwrap_or_default().to_string(),
                    "DELETE" => r.path.rsplit('/').next().unwrap_or_default().to_string(),
                    _ => String::new(),
                };
                (r.method, what)
            })
            .collect()
    }

    /// The violations recorded so far, removed so that dropping the fake
    /// does not fail on them: for tests that break the spec on purpose.
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut *self.state.violations.lock().unwrap())
    }

    /// From now on, reading `channel_id`'s messages answers 403 Missing
    /// Access, as Discord does without View Channel or Read Message History.
    pub fn deny_history(&self, channel_id: u64) {
        self.state.denied_history.lock().unwrap().insert(channel_id);
    }

    /// The next interaction happens in `channel_id` (a thread declared with
    /// `add_thread` arrives as a thread with its parent).
    pub fn next_interaction_in(&self, channel_id: u64) {
        *self.state.next_channel.lock().unwrap() = Some(channel_id);
    }

    /// From now on, requests are recorded and answered without the spec
    /// checks, which cost about a millisecond of the fake's CPU per request;
    /// [`Self::check_spec_afterwards`] checks the recorded requests. For the
    /// benchmarks, whose 100 queued requests would otherwise be timed behind
    /// the fake's own checking, on the CPUs the bot also runs on. The fake's
    /// answers are not checked in this mode (every test checks them).
    pub fn defer_spec_checks(&self) {
        self.state.deferred_checks.store(true, Ordering::SeqCst);
    }

    /// Checks every recorded request as the inline checks would have (its
    /// route and its body; not the query or the `Authorization` header),
    /// adding each problem to the violations `assert_spec_clean` reports.
    pub fn check_spec_afterwards(&self) {
        let problems: Vec<String> = {
            let files = self.state.files.lock().unwrap();
            let requests = self.state.requests.lock().unwrap();
            requests
                .iter()
                .filter(|r| !files.contains_key(&r.path))
                .flat_map(|r| check_request(&r.method, &r.path, &r.body))
                .collect()
        };
        self.state.violations.lock().unwrap().extend(problems);
    }

    /// Every request matched an operation of Discord's spec, with a valid body.
    pub fn assert_spec_clean(&self) {
        let violations = self.state.violations.lock().unwrap().clone();
        assert!(
            violations.is_empty(),
            "requests Discord would reject:\n{}",
            violations.join("\n")
        );
    }

    /// The id the fake gave a registered command.
    pub fn command_id(&self, name: &str) -> String {
        self.state
            .commands
            .lock()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["id"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("command {name} was not registered"))
    }

    pub fn registered_commands(&self) -> Vec<Value> {
        self.state.commands.lock().unwrap().clone()
    }

    /// Puts a message into a channel's history (served by the REST fake).
    pub fn add_message(&self, channel_id: u64, message: Value) {
        self.state
            .channels
            .lock()
            .unwrap()
            .entry(channel_id)
            .or_default()
            .push(message);
    }

    /// The id of the original response message of an interaction, once the
    /// bot has asked for it.
    pub fn original_message_id(&self, token: &str) -> Option<u64> {
        self.state.originals.lock().unwrap().get(token).copied()
    }

    /// Invokes a message context-menu command on `message` (which must also
    /// be in the channel history) and returns the interaction token.
    pub fn invoke_message_command(&self, user: &FakeUser, name: &str, message: &Value) -> String {
        self.invoke_message_command_with(user, name, message, "2147483647")
    }

    /// Like [`Self::invoke_message_command`] with the bot's channel permissions.
    pub fn invoke_message_command_with(
        &self,
        user: &FakeUser,
        name: &str,
        message: &Value,
        app_permissions: &str,
    ) -> String {
        let id = message["id"].as_str().unwrap_or_default().to_string();
        let mut data = json!({
            "id": self.command_id(name), "name": name, "type": 3, "target_id": id,
            "resolved": {"messages": {}},
        });
        data["resolved"]["messages"][&id] = message.clone();
        *self.state.next_app_permissions.lock().unwrap() = Some(app_permissions.to_string());
        self.interaction(user, 2, data)
    }

    /// Declares `thread_id` a thread under `parent_id`.
    pub fn add_thread(&self, thread_id: u64, parent_id: u64) {
        self.state
            .threads
            .lock()
            .unwrap()
            .insert(thread_id, parent_id);
    }

    /// Serves `contents` as an attachment and returns its URL.
    pub fn add_attachment(&self, filename: &str, contents: &str) -> String {
        let path = format!("/attachments/{}/{filename}", self.next_id());
        self.state
            .files
            .lock()
            .unwrap()
            .insert(path.clone(), contents.to_string());
        format!("{}{path}", self.base_url)
    }

    /// Invokes a slash command as `user` and returns the interaction token.
    pub fn invoke_slash(&self, user: &FakeUser, name: &str, options: Value) -> String {
        self.interaction(
            user,
            2,
            json!({
                "id": self.command_id(name),
                "name": name,
                "type": 1,
                "options": options,
            }),
        )
    }

    /// Sends an autocomplete request and returns the interaction token.
    pub fn invoke_autocomplete(&self, user: &FakeUser, name: &str, options: Value) -> String {
        self.interaction(
            user,
            4,
            json!({
                "id": self.command_id(name),
                "name": name,
                "type": 1,
                "options": options,
            }),
        )
    }

    /// Clicks a button with `custom_id` on an ephemeral bot message.
    pub fn click(&self, user: &FakeUser, custom_id: &str) -> String {
        let message = message_json(self.next_id(), &json!({"flags": 64}));
        self.interaction_with(
            user,
            3,
            json!({"custom_id": custom_id, "component_type": 2}),
            Some(message),
        )
    }

    /// Submits a modal with text inputs `(custom_id, value)`.
    pub fn submit_modal(
        &self,
        user: &FakeUser,
        custom_id: &str,
        values: &[(&str, &str)],
    ) -> String {
        let rows: Vec<Value> = values
            .iter()
            .map(|(id, value)| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]}))
            .collect();
        let message = message_json(self.next_id(), &json!({"flags": 64}));
        self.interaction_with(
            user,
            5,
            json!({"custom_id": custom_id, "components": rows}),
            Some(message),
        )
    }

    /// Global commands as an earlier version of the bot registered them.
    pub fn set_global_commands(&self, commands: Vec<Value>) {
        let commands = commands
            .into_iter()
            .map(|command| registered_command(&self.state, command))
            .collect();
        *self.state.global_commands.lock().unwrap() = commands;
    }

    pub fn global_commands(&self) -> Vec<Value> {
        self.state.global_commands.lock().unwrap().clone()
    }

    /// The application's flags from now on (0: no privileged intent).
    pub fn set_application_flags(&self, flags: u64) {
        *self.state.application_flags.lock().unwrap() = Some(flags);
    }

    /// A member overwrite in `channel_id` (the home server's channel) denies
    /// the bot `permissions`.
    pub fn deny_bot_permissions(&self, channel_id: u64, permissions: u64) {
        self.state
            .bot_denied
            .lock()
            .unwrap()
            .insert(channel_id, permissions);
    }

    /// Commands registered in the home server, as if a bot had registered
    /// them (each gets an id and the fields Discord adds).
    pub fn set_guild_commands(&self, names: &[&str]) {
        let commands = names
            .iter()
            .map(|name| {
                json!({
                    "id": self.next_id().to_string(), "application_id": APPLICATION_ID.to_string(),
                    "guild_id": GUILD_ID.to_string(), "version": "1", "type": 1, "name": name,
                    "description": "", "default_member_permissions": null, "nsfw": false,
                })
            })
            .collect();
        *self.state.commands.lock().unwrap() = commands;
    }

    /// Sends GUILD_CREATE for a server the bot was added to (a minimal but
    /// complete guild object, no members or channels).
    pub fn guild_create(&self, guild_id: u64, name: &str) {
        self.dispatch(
            "GUILD_CREATE",
            json!({
                "id": guild_id.to_string(), "name": name, "icon": null, "icon_hash": null,
                "splash": null, "discovery_splash": null, "owner_id": OWNER_ID.to_string(),
                "afk_channel_id": null, "afk_timeout": 300, "verification_level": 0,
                "default_message_notifications": 0, "explicit_content_filter": 0,
                "roles": [], "emojis": [], "features": [], "mfa_level": 0,
                "application_id": null, "system_channel_id": null, "system_channel_flags": 0,
                "rules_channel_id": null, "vanity_url_code": null, "description": null,
                "banner": null, "premium_tier": 0, "preferred_locale": "en-US",
                "public_updates_channel_id": null, "nsfw_level": 0, "stickers": [],
                "premium_progress_bar_enabled": false, "joined_at": "2026-11-24T00:00:00.000000+00:00",
                "large": false, "member_count": 1, "voice_states": [], "members": [],
                "channels": [], "threads": [], "presences": [], "stage_instances": [],
                "guild_scheduled_events": [], "safety_alerts_channel_id": null
            }),
        );
    }

    /// The next interaction comes from `guild` (`None`: a direct message).
    pub fn next_interaction_from(&self, guild: Option<u64>) {
        *self.state.next_guild.lock().unwrap() = Some(guild);
    }

    /// Dispatches an INTERACTION_CREATE of `kind` with `data`; returns the token.
    pub fn interaction(&self, user: &FakeUser, kind: u8, data: Value) -> String {
        self.interaction_with(user, kind, data, None)
    }

    fn interaction_with(
        &self,
        user: &FakeUser,
        kind: u8,
        data: Value,
        message: Option<Value>,
    ) -> String {
        let id = self.next_id();
        let token = format!("token-{id}");
        let channel_id = self
            .state
            .next_channel
            .lock()
            .unwrap()
            .take()
            .unwrap_or(CHANNEL_ID);
        let parent = self.state.threads.lock().unwrap().get(&channel_id).copied();
        let channel = match parent {
            Some(parent) => json!({"id": channel_id.to_string(), "type": 11, "name": "thread",
                                   "guild_id": GUILD_ID.to_string(), "parent_id": parent.to_string()}),
            None => json!({"id": channel_id.to_string(), "type": 0, "name": "workshop",
                           "guild_id": GUILD_ID.to_string()}),
        };
        let mut payload = json!({
            "id": id.to_string(),
            "application_id": APPLICATION_ID.to_string(),
            "type": kind,
            "data": data,
            "guild_id": GUILD_ID.to_string(),
            "channel_id": channel_id.to_string(),
            "channel": channel,
            "member": user.member_json(),
            "token": token,
            "version": 1,
            "app_permissions": self.state.next_app_permissions.lock().unwrap().take().unwrap_or_else(|| "2147483647".into()),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD_ID.to_string()},
            "context": 0,
            "attachment_size_limit": 10485760,
        });
        if let Some(message) = message {
            payload["message"] = message;
        }
        match self.state.next_guild.lock().unwrap().take() {
            None => {}
            Some(Some(guild)) => {
                payload["guild_id"] = json!(guild.to_string());
                payload["channel"]["guild_id"] = json!(guild.to_string());
                payload["authorizing_integration_owners"] = json!({"0": guild.to_string()});
            }
            Some(None) => {
                // A direct message: no guild, no member, the user at the top.
                let object = payload.as_object_mut().expect("an object");
                object.remove("guild_id");
                object.remove("member");
                object.remove("guild_locale");
                payload["user"] = user.user_json();
                payload["channel"] = json!({"id": CHANNEL_ID.to_string(), "type": 1});
                payload["context"] = json!(1);
            }
        }
        self.state
            .interaction_tokens
            .lock()
            .unwrap()
            .insert(token.clone());
        self.dispatch("INTERACTION_CREATE", payload);
        token
    }

    /// The callback the bot sent for the interaction with `token`.
    pub async fn callback(&self, token: &str) -> Value {
        self.wait_for_request("the interaction callback", |r| {
            r.method == "POST" && r.path.contains(&format!("/{token}/callback"))
        })
        .await
        .body
    }

    /// The last edit of the interaction's original message: waits for the
    /// first, then returns the newest received so far.
    pub async fn edit_of(&self, token: &str) -> Value {
        let is_edit = |r: &RecordedRequest| {
            r.method == "PATCH" && r.path.contains(&format!("/{token}/messages/@original"))
        };
        let first = self.wait_for_request("the message edit", is_edit).await;
        self.requests()
            .into_iter()
            .rev()
            .find(is_edit)
            .unwrap_or(first)
            .body
    }

    /// The first edit of the interaction's original message that carries an
    /// embed: a review's first card (or its summary), as Discord received it.
    pub async fn review_card(&self, token: &str) -> Value {
        self.wait_for_request("the review card", |r| {
            r.method == "PATCH"
                && r.path.contains(&format!("/{token}/messages/@original"))
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
        .await
        .body
    }

    /// The first follow-up message sent for the interaction.
    pub async fn followup_of(&self, token: &str) -> Value {
        self.wait_for_request("a follow-up", |r| {
            r.method == "POST"
                && r.path
                    .ends_with(&format!("/webhooks/{APPLICATION_ID}/{token}"))
        })
        .await
        .body
    }

    /// The bot's final answer to the interaction with `token`: the content
    /// and embeds of the callback, or of the last edit of a deferred reply.
    pub async fn reply(&self, token: &str) -> Value {
        let callback = self
            .wait_for_request("the interaction callback", |r| {
                r.method == "POST" && r.path.contains(&format!("/{token}/callback"))
            })
            .await;
        let kind = callback.body["type"].as_u64().unwrap_or_default();
        if kind == 5 || kind == 6 {
            let edit = self
                .wait_for_request("the edit of the deferred reply", |r| {
                    (r.method == "PATCH" || r.method == "POST")
                        && r.path
                            .contains(&format!("/webhooks/{APPLICATION_ID}/{token}"))
                })
                .await;
            return edit.body;
        }
        callback.body["data"].clone()
    }
}

/// The path of the home server's commands.
pub fn home_commands_path() -> String {
    format!("/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands")
}

/// `GET /gateway`: the websocket the bot connects to.
async fn gateway(ws: WebSocketUpgrade, State(state): State<Arc<FakeState>>) -> Response {
    ws.on_upgrade(move |socket| gateway_session(socket, state))
}

async fn gateway_session(mut socket: WebSocket, state: Arc<FakeState>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 41250}});
    if socket
        .send(WsMessage::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            outgoing = rx.recv() => {
                let Some(frame) = outgoing else { return };
                let text = frame.to_string();
                if frame["t"] == "INTERACTION_CREATE" {
                    if let Some(token) = frame["d"]["token"].as_str() {
                        state.frames_written.lock().unwrap().insert(token.to_string(), std::time::Instant::now());
                    }
                }
                if socket.send(WsMessage::Text(text.into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => {
                let Some(Ok(message)) = incoming else { return };
                let WsMessage::Text(text) = message else { continue };
                let Ok(frame) = serde_json::from_str::<Value>(&text) else { continue };
                match frame["op"].as_u64() {
                    Some(1) => {
                        let ack = json!({"op": 11});
                        if socket.send(WsMessage::Text(ack.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                    Some(2) if state.withhold_ready.load(Ordering::SeqCst) => {}
                    Some(2) => {
                        // IDENTIFY → READY on this connection.
                        *state.gateway.lock().unwrap() = Some(tx.clone());
                        let base = state.base_url.lock().unwrap().replace("http://", "ws://");
                        let sequence = state.sequence.fetch_add(1, Ordering::SeqCst) + 1;
                        let ready = json!({"op": 0, "t": "READY", "s": sequence, "d": {
                            "v": 10,
                            "user": discord_user(BOT_USER_ID, "flipfix", None, true),
                            "guilds": [{"id": GUILD_ID.to_string(), "unavailable": true}],
                            "session_id": format!("session-{sequence}"),
                            "resume_gateway_url": format!("{base}/gateway"),
                            "application": {"id": APPLICATION_ID.to_string(), "flags": 0},
                        }});
                        if socket.send(WsMessage::Text(ready.to_string().into())).await.is_err() {
                            return;
                        }
                        state.identifies.fetch_add(1, Ordering::SeqCst);
                        state.identified.notify_waiters();
                    }
                    _ => {}
                }
            }
        }
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Every REST request: recorded, validated against the spec, answered.
async fn rest(
    State(state): State<Arc<FakeState>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    // Before validation, which takes time the bot did not spend.
    let received_at = std::time::Instant::now();
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    // Attachment downloads go to the CDN stand-in, not to the API.
    let on_cdn = state.files.lock().unwrap().contains_key(&path);
    if !on_cdn && !state.deferred_checks.load(Ordering::Relaxed) {
        let problems = check_request(method.as_str(), &path, &body);
        state.violations.lock().unwrap().extend(problems);
    }
    let request = RecordedRequest {
        at: received_at,
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        body: body.clone(),
    };
    let response = match check_route(method.as_str(), &path) {
        // Discord's own answer to a route it does not have.
        Err(refusal) if !on_cdn => json_response(
            StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::NOT_FOUND),
            json!({"message": refusal.message(), "code": 0}),
        ),
        _ => injected_failure(&state, &request).unwrap_or_else(|| answer(&state, &request)),
    };
    state.requests.lock().unwrap().push(request);
    state.request_arrived.notify_waiters();
    response
}

fn injected_failure(state: &FakeState, request: &RecordedRequest) -> Option<Response> {
    let mut failures = state.failures.lock().unwrap();
    let failure = failures.iter_mut().find(|f| {
        f.remaining > 0 && f.method == request.method && request.path.contains(&f.path_contains)
    })?;
    failure.remaining -= 1;
    let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some(json_response(
        status,
        json!({"message": "injected failure", "code": 0}),
    ))
}

fn answer(state: &FakeState, request: &RecordedRequest) -> Response {
    let path = request
        .path
        .strip_prefix("/api/v10")
        .unwrap_or(&request.path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let base = format!(
        "{}/gateway",
        state.base_url.lock().unwrap().replace("http://", "ws://")
    );
    if let Some(contents) = state.files.lock().unwrap().get(&request.path) {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            contents.clone(),
        )
            .into_response();
    }
    if let Some(response) = guild_commands::answer(state, request, &segments) {
        return response;
    }
    if let Some(response) = channel_posts::answer(state, request, &segments) {
        return response;
    }
    if let Some(response) = interaction_state(state, request, &segments) {
        return response;
    }
    if let Some(response) = unknown_channel(state, request, &segments) {
        return response;
    }
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["gateway"]) => json_response(StatusCode::OK, json!({"url": base})),
        ("GET", ["gateway", "bot"]) => json_response(
            StatusCode::OK,
            json!({
                "url": base, "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
            }),
        ),
        ("GET", ["oauth2", "applications", "@me"]) => json_response(
            StatusCode::OK,
            json!({
                "id": APPLICATION_ID.to_string(), "name": "flipfix", "icon": null, "description": "",
                "bot_public": false, "bot_require_code_grant": false, "verify_key": "00",
                "flags": state.application_flags.lock().unwrap().unwrap_or(MESSAGE_CONTENT_FLAG), "team": null,
                "owner": discord_user(OWNER_ID, "owner", None, false),
                "type": null, "flags_new": "0", "redirect_uris": [], "interactions_endpoint_url": null,
                "role_connections_verification_url": null, "approximate_guild_count": 1,
                "approximate_user_install_count": 0, "approximate_user_authorization_count": 0,
                "explicit_content_filter": 0, "eligible_oauth2_scopes": [],
            }),
        ),
        ("GET", ["users", "@me"]) => {
            let mut me = discord_user(BOT_USER_ID, "flipfix", None, true);
            me["mfa_enabled"] = json!(false);
            me["locale"] = json!("en-US");
            json_response(StatusCode::OK, me)
        }
        ("GET", ["applications", _, "commands"]) => json_response(
            StatusCode::OK,
            Value::Array(state.global_commands.lock().unwrap().clone()),
        ),
        ("PUT", ["applications", _, "commands"]) => {
            let commands: Vec<Value> = request
                .body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|command| registered_command(state, command))
                .collect();
            *state.global_commands.lock().unwrap() = commands.clone();
            json_response(StatusCode::OK, Value::Array(commands))
        }
        ("DELETE", ["users", "@me", "guilds", _]) => StatusCode::NO_CONTENT.into_response(),
        ("POST", ["interactions", _, token, "callback"]) => {
            state.acknowledged.lock().unwrap().insert(token.to_string());
            StatusCode::NO_CONTENT.into_response()
        }
        // The home server as doctor reads it: one text channel, the bot with its role.
        ("GET", ["guilds", guild, ..]) if *guild != GUILD_ID.to_string() => json_response(
            StatusCode::NOT_FOUND,
            json!({"message": "Unknown Guild", "code": 10004}),
        ),
        ("GET", ["guilds", _]) => json_response(StatusCode::OK, home_guild_json()),
        ("GET", ["guilds", _, "channels"]) => {
            let denied = state.bot_denied.lock().unwrap().get(&CHANNEL_ID).copied();
            let overwrites: Vec<Value> = denied
                .map(|deny| json!({"id": BOT_USER_ID.to_string(), "type": 1, "allow": "0", "deny": deny.to_string()}))
                .into_iter()
                .collect();
            json_response(
                StatusCode::OK,
                json!([{"id": CHANNEL_ID.to_string(), "type": 0, "guild_id": GUILD_ID.to_string(), "name": "workshop",
                        "position": 0, "permission_overwrites": overwrites, "nsfw": false, "parent_id": null,
                        "flags": 0}]),
            )
        }
        ("GET", ["guilds", _, "members", user]) if *user == BOT_USER_ID.to_string() => {
            json_response(
                StatusCode::OK,
                json!({
                    "user": discord_user(BOT_USER_ID, "flipfix", None, true),
                    "roles": [BOT_ROLE_ID.to_string()], "joined_at": "2026-01-01T00:00:00.000000+00:00",
                    "deaf": false, "mute": false, "flags": 0, "avatar": null, "banner": null,
                    "communication_disabled_until": null, "nick": null, "pending": false,
                    "premium_since": null,
                }),
            )
        }
        ("GET", ["webhooks", _, token, "messages", "@original"]) => {
            // The deferred placeholder message: one stable id per interaction.
            let id = *state
                .originals
                .lock()
                .unwrap()
                .entry(token.to_string())
                .or_insert_with(|| state.next_id.fetch_add(1, Ordering::SeqCst));
            json_response(StatusCode::OK, message_json(id, &json!({"content": ""})))
        }
        ("DELETE", ["webhooks", _, _, "messages", "@original"]) => {
            StatusCode::NO_CONTENT.into_response()
        }
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) | ("POST", ["webhooks", _, _]) => {
            let id = state.next_id.fetch_add(1, Ordering::SeqCst);
            json_response(StatusCode::OK, message_json(id, &request.body))
        }
        ("GET", ["channels", channel, "messages", ..])
            if state
                .denied_history
                .lock()
                .unwrap()
                .contains(&channel.parse().unwrap_or_default()) =>
        {
            json_response(
                StatusCode::FORBIDDEN,
                json!({"message": "Missing Access", "code": 50001}),
            )
        }
        ("GET", ["channels", channel, "messages", message]) => {
            let channel: u64 = channel.parse().unwrap_or_default();
            let found = state
                .channels
                .lock()
                .unwrap()
                .get(&channel)
                .and_then(|messages| messages.iter().find(|m| m["id"] == json!(message)).cloned());
            match found {
                Some(message) => json_response(StatusCode::OK, message),
                None => json_response(
                    StatusCode::NOT_FOUND,
                    json!({"message": "Unknown Message", "code": 10008}),
                ),
            }
        }
        ("GET", ["channels", channel]) => {
            // A plain text channel (threads are registered with add_thread).
            let channel_id: u64 = channel.parse().unwrap_or_default();
            let thread = state.threads.lock().unwrap().get(&channel_id).copied();
            let body = match thread {
                Some(parent) => {
                    json!({"id": channel, "type": 11, "guild_id": GUILD_ID.to_string(), "name": "thread",
                                       "parent_id": parent.to_string(), "position": 0, "permission_overwrites": [],
                                       "nsfw": false, "flags": 0, "owner_id": OWNER_ID.to_string(),
                                       "message_count": 0, "member_count": 1, "total_message_sent": 0,
                                       "thread_metadata": {"archived": false, "auto_archive_duration": 1440,
                                       "archive_timestamp": "2026-01-01T00:00:00.000000+00:00", "locked": false}})
                }
                None => {
                    json!({"id": channel, "type": 0, "guild_id": GUILD_ID.to_string(), "name": "workshop",
                               "position": 0, "permission_overwrites": [], "nsfw": false, "parent_id": null,
                               "flags": 0})
                }
            };
            json_response(StatusCode::OK, body)
        }
        ("GET", ["channels", channel, "messages"]) => {
            let channel: u64 = channel.parse().unwrap_or_default();
            let params: HashMap<String, String> = request
                .query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let limit: usize = params
                .get("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(50);
            let before: Option<u64> = params.get("before").and_then(|b| b.parse().ok());
            let after: Option<u64> = params.get("after").and_then(|a| a.parse().ok());
            let channels = state.channels.lock().unwrap();
            let mut page: Vec<Value> = channels
                .get(&channel)
                .map(|messages| {
                    messages
                        .iter()
                        .filter(|m| {
                            let id: u64 = m["id"]
                                .as_str()
                                .and_then(|i| i.parse().ok())
                                .unwrap_or_default();
                            before.is_none_or(|b| id < b) && after.is_none_or(|a| id > a)
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if after.is_some() {
                // Paging forward: the oldest `limit` after it.
                page.truncate(limit.clamp(1, 100));
                page.reverse(); // newest first, as Discord answers
            } else {
                page.reverse(); // newest first, as Discord answers
                page.truncate(limit.clamp(1, 100));
            }
            json_response(StatusCode::OK, Value::Array(page))
        }
        _ => {
            // A real operation the fake does not serve: a gap in the fake,
            // which must not pass as Discord's quiet 404.
            let gap = format!(
                "{} {}: a Discord operation the fake does not serve (add a handler)",
                request.method, request.path
            );
            state.violations.lock().unwrap().push(gap.clone());
            json_response(StatusCode::NOT_FOUND, json!({"message": gap, "code": 0}))
        }
    }
}

/// `GET /guilds/{id}` for the home server: @everyone with no permissions,
/// the bot's role with what it needs.
fn home_guild_json() -> Value {
    let role = |id: u64, name: &str, permissions: u64| {
        json!({"id": id.to_string(), "name": name, "color": 0, "hoist": false, "icon": null,
               "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
               "unicode_emoji": null, "position": 0, "permissions": permissions.to_string(),
               "managed": false, "mentionable": false, "flags": 0})
    };
    json!({
        "id": GUILD_ID.to_string(), "name": "Workshop", "icon": null, "icon_hash": null,
        "splash": null, "discovery_splash": null, "owner_id": OWNER_ID.to_string(),
        "afk_channel_id": null, "afk_timeout": 300, "verification_level": 0,
        "default_message_notifications": 0, "explicit_content_filter": 0,
        "roles": [role(GUILD_ID, "@everyone", 0), role(BOT_ROLE_ID, "flipfix", BOT_ROLE_PERMISSIONS)],
        "emojis": [], "features": [], "mfa_level": 0,
        "application_id": null, "system_channel_id": null, "system_channel_flags": 0,
        "rules_channel_id": null, "vanity_url_code": null, "description": null,
        "banner": null, "premium_tier": 0, "preferred_locale": "en-US",
        "public_updates_channel_id": null, "nsfw_level": 0, "stickers": [],
        "premium_progress_bar_enabled": false, "safety_alerts_channel_id": null,
        "max_members": 500000, "max_video_channel_users": 25, "home_header": null,
        "region": "deprecated", "widget_enabled": false, "widget_channel_id": null,
        "max_presences": null, "max_stage_video_channel_users": 50,
        "premium_subscription_count": 0, "nsfw": false, "incidents_data": null
    })
}

/// A user's message in a channel, as Discord returns it.
pub fn user_message(
    id: u64,
    channel_id: u64,
    author: Value,
    content: &str,
    timestamp: &str,
    reply_to: Option<u64>,
) -> Value {
    let mut author = author;
    complete_user(&mut author);
    let mut message = json!({
        "id": id.to_string(),
        "type": if reply_to.is_some() { 19 } else { 0 },
        "channel_id": channel_id.to_string(),
        "author": author,
        "content": content,
        "embeds": [],
        "components": [],
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": false,
        "pinned": false,
        "tts": false,
        "timestamp": timestamp,
        "edited_timestamp": null,
        "flags": 0,
    });
    if let Some(parent) = reply_to {
        message["message_reference"] = json!({"type": 0, "message_id": parent.to_string(), "channel_id": channel_id.to_string()});
    }
    message
}

/// A message object as Discord returns it for webhook/interaction messages:
/// the request's components with the ids Discord gives them, and no
/// interaction token (Discord never sends it back).
fn message_json(id: u64, body: &Value) -> Value {
    json!({
        "id": id.to_string(),
        "type": 0,
        "channel_id": CHANNEL_ID.to_string(),
        "author": discord_user(APPLICATION_ID, "flipfix", None, true),
        "content": body.get("content").cloned().unwrap_or(json!("")),
        "embeds": without_nulls(body.get("embeds").cloned().unwrap_or(json!([]))),
        "components": with_component_ids(without_nulls(
            body.get("components").cloned().unwrap_or(json!([])),
        )),
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": false,
        "pinned": false,
        "tts": false,
        "timestamp": "2026-01-01T00:00:00.000000+00:00",
        "edited_timestamp": null,
        "flags": body.get("flags").cloned().unwrap_or(json!(0)),
        "webhook_id": APPLICATION_ID.to_string(),
        "application_id": APPLICATION_ID.to_string(),
    })
}
