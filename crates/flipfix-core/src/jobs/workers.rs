//! The process's background workers as one supervised set.
//!
//! The rule: a worker that stops while the process is not shutting down —
//! an error, a panic, or a plain return — ends the process. [`Workers::stopped`]
//! names which one and why; `serve` returns that as its error, `main` logs
//! it with its cause and exits non-zero, and whatever supervises the process
//! (systemd, compose, a standby replica taking the gateway) brings service
//! back. A worker is never restarted in place: a panic is a bug, and a
//! restart loop would hide it.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::task::{Id, JoinSet};

/// A worker that stopped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub worker: &'static str,
    pub why: String,
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} stopped: {}", self.worker, self.why)
    }
}

impl std::error::Error for Stopped {}

/// Named tasks; see the module's rule.
#[derive(Default)]
pub struct Workers {
    set: JoinSet<Result<(), String>>,
    names: Vec<(Id, &'static str)>,
}

impl Workers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts `work` as the worker `name` ("the notification dispatcher").
    pub fn spawn<E: fmt::Display>(
        &mut self,
        name: &'static str,
        work: impl Future<Output = Result<(), E>> + Send + 'static,
    ) {
        let handle = self
            .set
            .spawn(async move { work.await.map_err(|err| err.to_string()) });
        self.names.push((handle.id(), name));
    }

    /// Resolves when the first worker stops, with its name and why. Never
    /// resolves while every worker runs (or when there are none).
    pub async fn stopped(&mut self) -> Stopped {
        let Some(joined) = self.set.join_next_with_id().await else {
            return std::future::pending().await;
        };
        let (id, why) = match joined {
            Ok((id, Ok(()))) => (id, "it ended on its own".to_string()),
            Ok((id, Err(error))) => (id, error),
            Err(join) if join.is_panic() => {
                (join.id(), format!("it panicked: {}", panic_text(join)))
            }
            Err(join) => (join.id(), "it was cancelled".to_string()),
        };
        Stopped {
            worker: self.name_of(id),
            why,
        }
    }

    /// After shutdown was requested: waits up to `grace` for every worker
    /// to finish what it was doing, then cuts the rest, naming them.
    pub async fn finish(mut self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            match tokio::time::timeout_at(deadline, self.set.join_next_with_id()).await {
                Ok(None) => return,
                Ok(Some(Ok((_, Ok(()))))) => {}
                Ok(Some(Ok((id, Err(error))))) => {
                    tracing::warn!(worker = self.name_of(id), %error, "stopped with an error during shutdown");
                }
                Ok(Some(Err(join))) => {
                    let id = join.id();
                    tracing::error!(worker = self.name_of(id), error = %join, "panicked during shutdown");
                }
                Err(_) => {
                    let left: Vec<&str> = self.names.iter().map(|(_, name)| *name).collect();
                    tracing::warn!(
                        workers = ?left,
                        "did not stop in time; cut (leased work is taken up again when its lease ends)"
                    );
                    self.set.abort_all();
                    return;
                }
            }
        }
    }

    fn name_of(&mut self, id: Id) -> &'static str {
        match self.names.iter().position(|(known, _)| *known == id) {
            Some(index) => self.names.swap_remove(index).1,
            None => "a background worker",
        }
    }
}

fn panic_text(join: tokio::task::JoinError) -> String {
    let payload = join.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_worker_is_named_with_its_message() {
        let mut workers = Workers::new();
        workers.spawn("the steady worker", async {
            std::future::pending::<()>().await;
            Ok::<(), String>(())
        });
        workers.spawn("the media worker", async {
            tokio::task::yield_now().await;
            panic!("copy went wrong");
            #[allow(unreachable_code)]
            Ok::<(), String>(())
        });
        let stopped = workers.stopped().await;
        assert_eq!(
            stopped,
            Stopped {
                worker: "the media worker",
                why: "it panicked: copy went wrong".into()
            }
        );
        assert_eq!(
            stopped.to_string(),
            "the media worker stopped: it panicked: copy went wrong"
        );
    }

    #[tokio::test]
    async fn an_error_or_a_plain_return_is_a_stop_too() {
        let mut workers = Workers::new();
        workers.spawn("the dispatcher", async { Err::<(), _>("LISTEN lost") });
        assert_eq!(workers.stopped().await.why, "LISTEN lost");
        workers.spawn("the scheduler", async { Ok::<(), String>(()) });
        assert_eq!(
            workers.stopped().await,
            Stopped {
                worker: "the scheduler",
                why: "it ended on its own".into()
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn finish_waits_for_workers_then_cuts_the_slow_ones() {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let mut workers = Workers::new();
        workers.spawn("the quick one", async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = done_tx.send(());
            Ok::<(), String>(())
        });
        let (cut_tx, cut_rx) = tokio::sync::oneshot::channel::<()>();
        workers.spawn("the stuck one", async move {
            let _dropped_when_cut = cut_tx;
            std::future::pending::<()>().await;
            Ok::<(), String>(())
        });
        workers.finish(Duration::from_secs(4)).await;
        assert!(done_rx.await.is_ok(), "the quick one finished its work");
        assert!(cut_rx.await.is_err(), "the stuck one was cut");
    }
}
