//! The floors the bot's deferral is measured against: two minimal gateway
//! clients that defer every interaction the moment its frame arrives, each
//! in a child process (this bench binary again, with [`CLIENT_ENV`] set) on
//! the same two CPUs, under the same burst as the bot.
//!
//! - `raw`: a websocket and an HTTP client (tungstenite and reqwest, the
//!   crates serenity itself uses) and nothing else: what the fake, the
//!   kernel's loopback and the two CPUs cost before any Discord library
//!   runs.
//! - `serenity`: serenity's own client with an event handler that defers
//!   ephemerally, through the proxy as the bot's is set up: what the Discord
//!   library costs before poise and the bot.
//!
//! The bot's own share of a deferral is its figure less the serenity floor.

use std::process::{Child, Command, Stdio};

use futures_util::{SinkExt as _, StreamExt as _};
use poise::serenity_prelude as serenity;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Set in the child to the client it runs (`raw` or `serenity`).
pub const CLIENT_ENV: &str = "FLIPFIX_BENCH_FLOOR_CLIENT";
/// Set in the child to the fake Discord's base URL.
pub const DISCORD_ENV: &str = "FLIPFIX_BENCH_FLOOR_DISCORD";

pub const CLIENTS: [&str; 2] = ["raw", "serenity"];

/// A floor client's process, killed when dropped.
pub struct Floor(Child);

impl Floor {
    pub fn start(client: &str, discord_base_url: &str) -> Self {
        let child = Command::new(std::env::current_exe().expect("this bench's path"))
            .env(CLIENT_ENV, client)
            .env(DISCORD_ENV, discord_base_url)
            .stdout(Stdio::null())
            .spawn()
            .expect("start a floor client");
        Self(child)
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child's body: runs `client` against the fake until killed.
pub async fn run(client: &str, base_url: &str) -> anyhow::Result<()> {
    match client {
        "raw" => raw(base_url).await,
        "serenity" => serenity_client(base_url).await,
        other => anyhow::bail!("unknown floor client {other:?}"),
    }
}

/// IDENTIFY, then one deferral POST per INTERACTION_CREATE, each in its own
/// task (as serenity runs each event).
async fn raw(base_url: &str) -> anyhow::Result<()> {
    let gateway = format!("{}/gateway", base_url.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(gateway).await?;
    let identify = json!({"op": 2, "d": {"token": "fake-token", "intents": 0,
        "properties": {"os": "linux", "browser": "floor", "device": "floor"}}});
    socket.send(Message::Text(identify.to_string())).await?;
    let http = reqwest::Client::new();
    while let Some(message) = socket.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        let frame: Value = serde_json::from_str(&text)?;
        if frame["t"] != "INTERACTION_CREATE" {
            continue;
        }
        let (Some(id), Some(token)) = (frame["d"]["id"].as_str(), frame["d"]["token"].as_str())
        else {
            continue;
        };
        let url = format!("{base_url}/api/v10/interactions/{id}/{token}/callback");
        let http = http.clone();
        tokio::spawn(async move {
            let deferral = json!({"type": 5, "data": {"flags": 64}});
            let _ = http
                .post(url)
                .header("Authorization", "Bot fake-token")
                .json(&deferral)
                .send()
                .await;
        });
    }
    Ok(())
}

struct DeferAtOnce;

#[serenity::async_trait]
impl serenity::EventHandler for DeferAtOnce {
    async fn interaction_create(&self, ctx: serenity::Context, interaction: serenity::Interaction) {
        if let serenity::Interaction::Command(command) = interaction {
            let _ = command.defer_ephemeral(&ctx.http).await;
        }
    }
}

async fn serenity_client(base_url: &str) -> anyhow::Result<()> {
    let http = serenity::HttpBuilder::new("fake-token")
        .proxy(base_url)
        .ratelimiter_disabled(true)
        .build();
    let mut client = serenity::ClientBuilder::new_with_http(http, flipfix_bot::discord::intents())
        .event_handler(DeferAtOnce)
        .await?;
    client.start().await?;
    Ok(())
}
