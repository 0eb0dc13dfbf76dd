//! Captures the process's log output, to check what it never says.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

pub struct CapturedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
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

impl CapturedLogs {
    /// Installs a global subscriber logging everything of this crate (trace)
    /// and of its dependencies (info) into memory. `None` when a subscriber
    /// is already installed (tests sharing one process under `cargo test`;
    /// nextest gives each test its own process).
    pub fn install() -> Option<Self> {
        let logs = Self::default();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,flipfix_bot=trace"))
            .with_writer(logs.clone())
            .with_ansi(false)
            .try_init()
            .ok()
            .map(|()| logs)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
