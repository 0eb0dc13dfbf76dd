//! One burst and the deferral latencies it measured: the time from each
//! INTERACTION_CREATE frame written to the client's socket to its deferral
//! callback received, whatever client is on the gateway (the bot or a
//! floor).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::support::fake_discord::{FakeDiscord, FakeUser};
use super::{BURST, BURST_SPREAD, LATE_INTERVAL};

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// The deferral latencies of one burst.
pub struct Deferrals {
    /// From the INTERACTION_CREATE frame written to the client's socket to
    /// the callback received, every invocation, sorted.
    pub from_frame: Vec<Duration>,
    /// The late invocations' alone, in the order sent.
    pub late: Vec<Duration>,
    /// The first five of the burst, in the order sent: after a while idle
    /// the code and heap pages a deferral needs may have to be faulted in
    /// again (see `startup_memory`).
    pub first: Vec<Duration>,
    /// From the fake's call that builds the payload (JSON, a channel hop to
    /// the socket's task, serialization) to the callback, sorted: the
    /// figure earlier runs of this bench printed.
    pub from_call: Vec<Duration>,
    /// The interaction tokens, in the order sent.
    pub tokens: Vec<String>,
}

impl Deferrals {
    pub fn line(&self) -> String {
        format!(
            "p50 {}  p99 {}  max {}",
            ms(percentile(&self.from_frame, 0.5)),
            ms(percentile(&self.from_frame, 0.99)),
            ms(*self.from_frame.last().unwrap_or(&Duration::ZERO))
        )
    }
}

/// Sends the burst and the late invocations to whatever client is
/// connected, and waits for each deferral.
pub async fn burst(fake: &FakeDiscord, user: &FakeUser, targets: &[Value]) -> Deferrals {
    let mut sent: Vec<(String, Instant, bool)> = Vec::new();
    let mut pace = tokio::time::interval(BURST_SPREAD / BURST as u32);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for target in &targets[..BURST] {
        pace.tick().await;
        let at = Instant::now();
        sent.push((
            fake.invoke_message_command(user, "Add to Flipfix", target),
            at,
            false,
        ));
    }
    for target in &targets[BURST..] {
        tokio::time::sleep(LATE_INTERVAL).await;
        let at = Instant::now();
        sent.push((
            fake.invoke_message_command(user, "Add to Flipfix", target),
            at,
            true,
        ));
    }
    let mut deferrals = Deferrals {
        from_frame: Vec::new(),
        late: Vec::new(),
        first: Vec::new(),
        from_call: Vec::new(),
        tokens: Vec::new(),
    };
    for (token, called_at, is_late) in &sent {
        let callback = fake
            .wait_for_request("deferral", |r| {
                r.method == "POST" && r.path.contains(&format!("/{token}/callback"))
            })
            .await;
        let written_at = fake
            .frame_written_at(token)
            .expect("the fake wrote every frame it was given");
        let latency = callback.at.saturating_duration_since(written_at);
        deferrals.from_frame.push(latency);
        deferrals
            .from_call
            .push(callback.at.saturating_duration_since(*called_at));
        if *is_late {
            deferrals.late.push(latency);
        } else if deferrals.first.len() < 5 {
            deferrals.first.push(latency);
        }
        deferrals.tokens.push(token.clone());
    }
    deferrals.from_frame.sort();
    deferrals.from_call.sort();
    deferrals
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Durations in the order given, comma-separated.
pub fn ms_list(durations: &[Duration]) -> String {
    durations
        .iter()
        .map(|d| ms(*d))
        .collect::<Vec<_>>()
        .join(", ")
}
