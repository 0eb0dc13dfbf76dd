//! Captures the log output of one test, to check what it never says.
//!
//! The capture is a scoped subscriber (`tracing::subscriber::set_default`),
//! not a global one: a global logger can be installed only once per process,
//! so under plain `cargo test` (every test in one process) a global capture
//! would silently miss most tests. A scoped default lives in a thread-local;
//! it covers the whole task tree of a test because `#[sqlx::test]` and
//! `#[tokio::test]` run on a current-thread runtime, where every spawned task
//! (the bot, its shard runner, the fakes) is polled on the test's thread.
//! `spawn_blocking` work runs elsewhere and is not captured; the bot logs
//! nothing from blocking threads.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

pub struct CapturedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CapturedWriter(self.0.clone())
    }
}

/// The capture and the guard that keeps it installed on this thread; drop the
/// guard (end of the test) to uninstall it.
pub struct LogCapture {
    pub logs: CapturedLogs,
    _guard: DefaultGuard,
}

impl std::ops::Deref for LogCapture {
    type Target = CapturedLogs;

    fn deref(&self) -> &CapturedLogs {
        &self.logs
    }
}

impl CapturedLogs {
    /// Logs everything of this crate (trace) and of its dependencies (info)
    /// on the current thread into memory, until the returned guard drops.
    /// Always succeeds, whatever global logger the process already has.
    pub fn capture() -> LogCapture {
        // On a multi-thread runtime, tasks polled by other workers would log
        // past the capture and the check would pass without looking.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            assert_eq!(
                runtime.runtime_flavor(),
                tokio::runtime::RuntimeFlavor::CurrentThread,
                "the log capture covers a test's tasks only on a current-thread runtime"
            );
        }
        let logs = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,flipfix_bot=trace,flipfix_core=trace",
            ))
            .with_writer(logs.clone())
            .with_ansi(false)
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        LogCapture {
            logs,
            _guard: guard,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Panics, naming the secret, when any of `secrets` appears in the
    /// captured logs.
    pub fn assert_never_logged(&self, secrets: &[&str]) {
        let text = self.text();
        for secret in secrets {
            if let Some(line) = text.lines().find(|line| line.contains(secret)) {
                // The line, with the secret blanked: the report must not leak it either.
                panic!("a secret was logged: {}", line.replace(secret, "<SECRET>"));
            }
        }
    }

    /// Panics when any captured line carries a signed CDN URL's signature
    /// (`hm=`): such a URL is a capability to read the file.
    pub fn assert_no_signed_urls(&self) {
        let text = self.text();
        if let Some(line) = text.lines().find(|line| line.contains("hm=")) {
            panic!("a signed CDN URL was logged: {line}");
        }
    }
}
