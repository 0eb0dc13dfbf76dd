//! A shutdown signal shared by the process's tasks: the `run` command
//! requests it once (SIGTERM, Ctrl-C, a fatal error), and each task decides
//! how to finish the work it holds (the dispatcher completes the POST in
//! flight; the bot stops taking interactions).

use tokio::sync::watch;

/// Requests shutdown. Dropping it without calling [`Trigger::request`]
/// does not request anything.
#[derive(Debug)]
pub struct Trigger(watch::Sender<bool>);

/// Observes the request. Cheap to clone; every clone sees the same request.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// A new, unrequested signal.
pub fn channel() -> (Trigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (Trigger(sender), Shutdown(receiver))
}

impl Trigger {
    /// Asks every observer to finish. Idempotent.
    pub fn request(&self) {
        self.0.send_replace(true);
    }

    /// Another observer of this signal.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }
}

impl Shutdown {
    /// A signal that is never requested (tools and tests that run a task
    /// until it is dropped).
    pub fn never() -> Self {
        let (sender, receiver) = watch::channel(false);
        // Keeping the sender alive would leak nothing useful; a closed
        // channel with `false` reads as "not requested" forever.
        drop(sender);
        Self(receiver)
    }

    /// Whether shutdown has been requested.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown is requested; never resolves if it never is.
    pub async fn requested(&mut self) {
        if self.0.wait_for(|requested| *requested).await.is_err() {
            // The trigger is gone without a request: nothing will ever ask.
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_observer_sees_one_request() {
        let (trigger, mut first) = channel();
        let mut second = trigger.subscribe();
        assert!(!first.is_requested());
        trigger.request();
        first.requested().await;
        second.requested().await;
        assert!(first.is_requested() && second.is_requested());
    }

    #[tokio::test]
    async fn a_never_signal_stays_unrequested() {
        let mut never = Shutdown::never();
        assert!(!never.is_requested());
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(20), never.requested()).await;
        assert!(waited.is_err(), "a never signal must not resolve");
    }
}
