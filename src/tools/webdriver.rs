//! Headless Chromium driven over the W3C WebDriver protocol: Debian's
//! `chromium` and `chromium-driver`, spoken to as plain JSON over reqwest
//! (no client crate to build). `flipfix-bot screenshots` takes the docs'
//! pictures with it, and the browser test (tests/it/browser.rs) walks the
//! pages with it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use serde_json::{json, Value};

/// Bounds a failure only (a browser starting on a loaded 2-core machine);
/// a working browser never waits it out.
const LIMIT: Duration = Duration::from_secs(60);
/// The key WebDriver gives an element reference under.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where Debian puts the browser and its driver, besides `PATH`.
const EXTRA_DIRS: [&str; 2] = ["/usr/bin", "/usr/lib/chromium"];

/// The first of `names` found on `PATH` or where Debian installs Chromium.
pub fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// `chromium` and `chromedriver` from `PATH`, or an error saying how to
/// install them.
pub fn find_chromium() -> anyhow::Result<(PathBuf, PathBuf)> {
    let missing = || {
        anyhow::anyhow!(
            "chromium and chromedriver are needed for the pictures; install them with \
             `apt-get install -y chromium chromium-driver`"
        )
    };
    let chromium = find_binary(&["chromium", "chromium-browser"]).ok_or_else(missing)?;
    let driver = find_binary(&["chromedriver"]).ok_or_else(missing)?;
    Ok((chromium, driver))
}

/// A chromedriver process and one headless browser session in it. The
/// driver is killed when this is dropped.
pub struct Browser {
    driver: tokio::process::Child,
    endpoint: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless
    /// window `width` × `height` CSS pixels (at one device pixel each).
    pub async fn start(
        chromium: &Path,
        chromedriver: &Path,
        (width, height): (u32, u32),
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("no free port for chromedriver")?
            .port();
        let driver = tokio::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", chromedriver.display()))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder().timeout(LIMIT).build()?;
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            if let Ok(response) = http.get(format!("{endpoint}/status")).send().await {
                let status: Value = response.json().await.unwrap_or_default();
                if status["value"]["ready"] == json!(true) {
                    break;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("chromedriver did not answer within {}s", LIMIT.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().context("no temporary browser profile")?;
        let created: Value = http
            .post(format!("{endpoint}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "timeouts": {"pageLoad": LIMIT.as_millis() as u64, "implicit": 0},
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--hide-scrollbars",
                             "--force-device-scale-factor=1",
                             format!("--window-size={width},{height}"),
                             "--no-first-run", "--disable-extensions",
                             format!("--user-data-dir={}", profile.path().display())]
                }
            }}}))
            .send()
            .await
            .context("chromedriver refused a browser session")?
            .json()
            .await
            .context("chromedriver's answer to a new session is not JSON")?;
        let Some(session) = created["value"]["sessionId"].as_str() else {
            anyhow::bail!(
                "chromedriver opened no browser session: {}",
                created["value"]
            );
        };
        Ok(Self {
            session: session.to_string(),
            driver,
            endpoint,
            http,
            _profile: profile,
        })
    }

    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/session/{}{path}", self.endpoint, self.session);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .with_context(|| format!("WebDriver {path}"))?
            .json()
            .await
            .with_context(|| format!("WebDriver {path}: the answer is not JSON"))?;
        if let Some(error) = answer["value"].get("error") {
            anyhow::bail!(
                "WebDriver {path}: {error}: {}",
                answer["value"]["message"].as_str().unwrap_or_default()
            );
        }
        Ok(answer["value"].clone())
    }

    /// Opens `url` and waits for it to load.
    pub async fn open(&self, url: &str) -> anyhow::Result<()> {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await?;
        Ok(())
    }

    /// The address the browser is at.
    pub async fn url(&self) -> anyhow::Result<String> {
        let at = self.command(reqwest::Method::GET, "/url", None).await?;
        Ok(at.as_str().unwrap_or_default().to_string())
    }

    /// Waits (up to 10 s) until the browser is at `url`.
    pub async fn wait_for_url(&self, url: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let at = self.url().await?;
            if at == url {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("still at {at}, waiting for {url}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The first element matching `css`.
    async fn element(&self, css: &str) -> anyhow::Result<String> {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        match found[ELEMENT].as_str() {
            Some(id) => Ok(id.to_string()),
            None => anyhow::bail!("no element {css} on the page"),
        }
    }

    /// The page's visible text.
    pub async fn text(&self) -> anyhow::Result<String> {
        let body = self.element("body").await?;
        let text = self
            .command(reqwest::Method::GET, &format!("/element/{body}/text"), None)
            .await?;
        Ok(text.as_str().unwrap_or_default().to_string())
    }

    /// Runs `script` in the page (WebDriver's own channel, which the page's
    /// Content-Security-Policy does not govern) and returns its value.
    pub async fn script(&self, script: &str) -> anyhow::Result<Value> {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let element = self.element(css).await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await?;
        Ok(())
    }

    /// The window as a PNG.
    pub async fn screenshot(&self) -> anyhow::Result<Vec<u8>> {
        let encoded = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await?;
        decode_png(&encoded)
    }

    /// The first element matching `css`, alone, as a PNG.
    pub async fn element_screenshot(&self, css: &str) -> anyhow::Result<Vec<u8>> {
        let element = self.element(css).await?;
        let encoded = self
            .command(
                reqwest::Method::GET,
                &format!("/element/{element}/screenshot"),
                None,
            )
            .await?;
        decode_png(&encoded)
    }

    /// Resizes the window (outer size, in CSS pixels).
    pub async fn resize(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.command(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await?;
        Ok(())
    }

    /// Ends the session and stops chromedriver.
    pub async fn quit(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.endpoint, self.session))
            .send()
            .await;
        let _ = self.driver.kill().await;
    }
}

fn decode_png(encoded: &Value) -> anyhow::Result<Vec<u8>> {
    let png = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_str().unwrap_or_default())
        .context("WebDriver's screenshot is not base64")?;
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        anyhow::bail!("WebDriver's screenshot is not a PNG");
    }
    Ok(png)
}
