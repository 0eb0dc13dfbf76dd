//! `scripts/screenshots`, the one script that refreshes the docs' pictures,
//! run into a temporary folder with the built binary: the six PNGs exist,
//! decode, are of a plausible size and small together, and the review card
//! and the notification were drawn from what the templates make (the
//! Discord-look pages hold the card template's title, field line and
//! attribution, and the sample record's text). Needs chromium and
//! chromedriver, as the browser test does (`scripts/test` installs them).

use std::process::Command;
use std::time::Instant;

use flipfix_bot::tools::screenshots::PICTURES;

use crate::support::repo_root;
use crate::support::tools::{require, Tool};

/// The committed set must stay small (the issue: well under a megabyte).
const MAX_TOTAL_BYTES: u64 = 1024 * 1024;

#[test]
fn the_script_writes_the_six_pictures_from_the_real_templates() {
    require(Tool::Chromium, &["chromium", "chromium-browser"]);
    require(Tool::Chromium, &["chromedriver"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let images = dir.path().join("images");
    let html = dir.path().join("html");
    let started = Instant::now();
    let output = Command::new(repo_root().join("scripts/screenshots"))
        .arg(&images)
        .arg("--html")
        .arg(&html)
        .arg("--data-dir")
        .arg(dir.path().join("pg"))
        .arg("--secrets")
        .arg(dir.path().join("no-secrets.toml"))
        .current_dir(repo_root())
        .env("FLIPFIX_BOT", env!("CARGO_BIN_EXE_flipfix-bot"))
        .env("FLIPFIX_SCREENSHOTS_NO_INSTALL", "1")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run scripts/screenshots");
    eprintln!("scripts/screenshots took {:?}", started.elapsed());
    assert!(
        output.status.success(),
        "scripts/screenshots failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let mut total = 0;
    for name in PICTURES {
        let path = images.join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{name}: {err}"));
        let (width, height) = decode_png(&bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert!(
            (400..=1100).contains(&width) && (150..=1000).contains(&height),
            "{name} is {width}×{height}"
        );
        assert!(bytes.len() > 5_000, "{name} is nearly empty");
        total += bytes.len() as u64;
    }
    assert!(total < MAX_TOTAL_BYTES, "the pictures weigh {total} bytes");

    // The card: the shipped card template's title, field line and
    // attribution, as the real review code rendered them.
    let workflows = crate::support::shipped_workflows();
    let kind = workflows
        .kinds
        .get("problem_report")
        .expect("problem_report");
    let card = std::fs::read_to_string(html.join("review-card.html")).expect("review-card.html");
    let priority = kind.field("priority").expect("priority field");
    for text in [
        format!(
            "{} {}: Creature from the Black Lagoon",
            kind.emoji, kind.label
        ),
        format!("<strong>{}:</strong> major", priority.label),
        "The right flipper is dead: no buzz at all.".to_string(),
        "— June Okafor".to_string(),
        "Suggestion 1 of 2".to_string(),
    ] {
        assert!(card.contains(&text), "the card shows {text}:\n{card}");
    }
    let payload: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(html.join("review-card.json")).expect("review-card.json"),
    )
    .expect("the card's payload is JSON");
    assert!(
        payload["components"][0]["components"]
            .as_array()
            .is_some_and(|buttons| !buttons.is_empty()),
        "the card has its buttons: {payload}"
    );

    // The notification: the sample record with the photo, its photo shown.
    let sample: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("demo/workshop.json")).expect("workshop.json"),
    )
    .expect("workshop.json is JSON");
    let with_photo = sample["records"]
        .as_array()
        .and_then(|records| {
            records
                .iter()
                .find(|r| r["media"][0]["filename"] == serde_json::json!("playfield.png"))
        })
        .expect("the sample has the playfield photo");
    let notification =
        std::fs::read_to_string(html.join("notification.html")).expect("notification.html");
    let description = with_photo["description"].as_str().expect("description");
    assert!(
        notification.contains(description),
        "the notification shows {description}:\n{notification}"
    );
    assert!(notification.contains("class=\"e-image\""), "{notification}");
}

/// Checks the PNG signature and chunks, and that the image data inflates
/// (its zlib checksum included) to exactly the rows IHDR announces; returns
/// width and height.
fn decode_png(bytes: &[u8]) -> Result<(u32, u32), String> {
    let body = bytes
        .strip_prefix(b"\x89PNG\r\n\x1a\n")
        .ok_or("no PNG signature")?;
    let mut at = 0;
    let mut header = None;
    let mut data = Vec::new();
    let mut ended = false;
    while at + 12 <= body.len() {
        let len = u32::from_be_bytes(body[at..at + 4].try_into().unwrap()) as usize;
        let kind = &body[at + 4..at + 8];
        let chunk = body
            .get(at + 4..at + 8 + len)
            .ok_or("a chunk runs past the end")?;
        if body.len() < at + 12 + len {
            return Err("a chunk has no CRC".into());
        }
        let content = &chunk[4..];
        match kind {
            b"IHDR" => header = Some(content.to_vec()),
            b"IDAT" => data.extend_from_slice(content),
            b"IEND" => ended = true,
            _ => {}
        }
        at += 12 + len;
    }
    let header = header.ok_or("no IHDR")?;
    if !ended {
        return Err("no IEND".into());
    }
    let width = u32::from_be_bytes(header[0..4].try_into().unwrap());
    let height = u32::from_be_bytes(header[4..8].try_into().unwrap());
    let channels = match (header[8], header[9]) {
        (8, 2) => 3,
        (8, 6) => 4,
        (8, 3) | (8, 0) => 1,
        other => return Err(format!("unexpected depth and colour type {other:?}")),
    };
    let pixels = miniz_oxide::inflate::decompress_to_vec_zlib(&data)
        .map_err(|err| format!("image data does not inflate: {err:?}"))?;
    let expected = height as usize * (1 + width as usize * channels);
    if pixels.len() != expected {
        return Err(format!(
            "image data is {} bytes, {width}×{height} needs {expected}",
            pixels.len()
        ));
    }
    Ok((width, height))
}
