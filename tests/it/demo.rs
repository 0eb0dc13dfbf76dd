//! `flipfix-bot demo` through the real binary, on its own embedded
//! database: the pages answer with the sample workshop and a photo, the
//! walked conversation's records appear, nothing is contacted (the Discord
//! and model URLs point at a local listener that counts connections), Ctrl-C
//! stops it and removes its database, and a second run starts afresh.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use flipfix_bot::db::embedded::find_bin_dir;

use crate::support::repo_root;
use crate::support::tools::{missing, pretended_missing, Tool};

/// A listener that counts every connection: nothing may reach it.
async fn tripwire() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the tripwire");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let contacted = Arc::new(AtomicUsize::new(0));
    let count = contacted.clone();
    tokio::spawn(async move {
        while let Ok((_stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    (url, contacted)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

struct Demo {
    child: Child,
    lines: mpsc::Receiver<String>,
    output: String,
}

impl Demo {
    fn start(
        data_dir: &std::path::Path,
        port: u16,
        tripwire: &str,
        secrets: &std::path::Path,
    ) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
            .args(["demo", "--port", &port.to_string(), "--data-dir"])
            .arg(data_dir)
            .arg("--secrets")
            .arg(secrets)
            .current_dir(repo_root())
            .env_remove("DATABASE_URL")
            .env("ANTHROPIC_BASE_URL", tripwire)
            .env("ANTHROPIC_API_KEY", "sk-ant-must-not-be-used")
            .env("OPENAI_API_KEY", "sk-must-not-be-used")
            .env("DISCORD_PROXY_URL", tripwire)
            .env("DISCORD_TOKEN", "must-not-be-used")
            .env("FLIPFIX_ALLOW_LOOPBACK_URLS", "true")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start flipfix-bot demo");
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            output: String::new(),
        }
    }

    /// Reads stdout until a line contains `text` (bounded, so a broken demo
    /// fails the test instead of hanging it).
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(180);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    self.output.push_str(&line);
                    self.output.push('\n');
                    if line.contains(text) {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = self.child.kill();
        panic!("the demo never printed `{text}`:\n{}", self.output);
    }

    /// Ctrl-C, then the exit; prints how long stopping took.
    fn interrupt(mut self) -> String {
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -INT failed");
        self.wait_for("demo stopped");
        let status = self.child.wait().expect("wait for the demo");
        println!("demo stopped {:?} after Ctrl-C", started.elapsed());
        assert!(status.success(), "{status:?}\n{}", self.output);
        std::mem::take(&mut self.output)
    }
}

impl Drop for Demo {
    /// A failed assertion must not leave the demo running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn get(url: &str) -> (reqwest::StatusCode, String, Vec<u8>) {
    let response = reqwest::get(url).await.expect(url);
    let status = response.status();
    let kind = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.bytes().await.expect("body").to_vec();
    (status, kind, body)
}

/// The page's links starting with `prefix` (the templates escape `/`).
fn links(html: &str, prefix: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|link| link.replace("&#x2f;", "/"))
        .filter(|link| link.starts_with(prefix))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_serves_the_sample_walks_a_conversation_contacts_nothing_and_starts_fresh() {
    if pretended_missing(Tool::Postgres) {
        missing(Tool::Postgres, "FLIPFIX_TEST_WITHOUT names it");
    }
    if let Err(err) = find_bin_dir(None, std::path::Path::new(".")) {
        missing(Tool::Postgres, &err.to_string());
    }
    let (tripwire, contacted) = tripwire().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("demo");
    let secrets = dir.path().join("no-secrets.toml");

    for run in 1..=2 {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut demo = Demo::start(&data_dir, port, &tripwire, &secrets);
        demo.wait_for("the demo is running");
        assert!(
            demo.output.contains(&format!("record pages: {base}/")),
            "{}",
            demo.output
        );
        assert!(
            demo.output
                .contains("sample workshop loaded: 33 records, 12 machines, 2 photos"),
            "run {run} starts from an empty database:\n{}",
            demo.output
        );
        // The review cards, from the real templates, and both accepted:
        // the same record ids on each run, so the second started afresh.
        for expected in [
            "Problem report: Creature from the Black Lagoon",
            "Log entry: Creature from the Black Lagoon",
            "created suggestion 1 as record #34",
            "created suggestion 1.1 as record #35",
        ] {
            assert!(
                demo.output.contains(expected),
                "{expected}:\n{}",
                demo.output
            );
        }

        let (status, _, index) = get(&format!("{base}/")).await;
        assert_eq!(status, 200);
        let index = String::from_utf8_lossy(&index);
        // The newest first: the walked conversation, then the sample's last.
        assert!(index.contains("The right flipper is dead"), "{index}");
        assert!(index.contains("Re-soldered the cracked joint"), "{index}");
        // The walked conversation's records on their machine's page.
        let (status, _, page) =
            get(&format!("{base}/machines/creature-from-the-black-lagoon/")).await;
        assert_eq!(status, 200);
        let page = String::from_utf8_lossy(&page);
        assert!(page.contains("The right flipper is dead"), "{page}");
        assert!(page.contains("resoldered it"), "{page}");
        // A sample record with its photo, served from the media store.
        let (_, _, machine) = get(&format!("{base}/machines/addams-family/")).await;
        let machine = String::from_utf8_lossy(&machine);
        let mut photo = None;
        let records = links(&machine, "/").into_iter().filter(|link| {
            !link.starts_with("/machines/") && link.chars().any(|c| c.is_ascii_digit())
        });
        for link in records {
            let (_, _, record) = get(&format!("{base}{link}")).await;
            if let Some(media) = links(&String::from_utf8_lossy(&record), "/media/").first() {
                photo = Some(media.clone());
                break;
            }
        }
        let photo = photo.unwrap_or_else(|| panic!("no record page with a photo:\n{machine}"));
        let (status, kind, bytes) = get(&format!("{base}{photo}")).await;
        assert_eq!((status.as_u16(), kind.as_str()), (200, "image/png"));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));

        let output = demo.interrupt();
        assert!(
            !data_dir.exists(),
            "its database is removed on exit:\n{output}"
        );
    }
    assert_eq!(
        contacted.load(Ordering::SeqCst),
        0,
        "the demo contacted the Discord or model URL"
    );
}
