//! Webhook payloads within Discord's limits. Lengths are counted in
//! characters (what Discord counts), never bytes.

use serde_json::{json, Value};

use crate::text::truncate_chars;

// Discord's message limits (docs: "Create Message" and "Embed Limits"),
// declared here once; the Discord adapter's replies use the same values.
/// Message content.
pub const MAX_CONTENT: usize = 2000;
/// An embed's title.
pub const MAX_TITLE: usize = 256;
/// An embed's description.
pub const MAX_DESCRIPTION: usize = 4096;
/// All the embeds' text together (the payloads fit by construction; the
/// tests check it).
#[cfg(test)]
pub(crate) const MAX_TOTAL: usize = 6000;
/// Discord shows up to four images sharing one `url` as a gallery.
pub(crate) const MAX_PHOTOS: usize = 4;

/// One record's message, rendered from its kind's notification template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMessage {
    pub title: String,
    pub body: String,
    /// The record's page, when `PUBLIC_BASE_URL` is set.
    pub url: Option<String>,
    pub color: Option<u32>,
    pub photo_urls: Vec<String>,
}

/// A stored photo uploaded with a post, referred to as
/// `attachment://{name}` in the embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoFile {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The `attachments` list of a multipart post: `files[n]` is attachment `n`.
pub(crate) fn attachments_of(files: &[PhotoFile]) -> Value {
    Value::Array(
        files
            .iter()
            .enumerate()
            .map(|(index, file)| json!({ "id": index.to_string(), "filename": file.name }))
            .collect(),
    )
}

/// The rich message of one record: one embed, plus up to three more that
/// only carry photos (Discord merges embeds with the same `url` into a
/// gallery; without a record URL the photos get their own embeds).
pub fn record_payload(message: &RecordMessage) -> Value {
    let title = truncate_chars(&message.title, MAX_TITLE);
    let description = fit_description(&message.body, MAX_DESCRIPTION);
    let mut first = json!({ "title": title, "description": description });
    if let Some(url) = &message.url {
        first["url"] = json!(url);
    }
    if let Some(color) = message.color {
        first["color"] = json!(color);
    }
    let mut photos = message.photo_urls.iter().take(MAX_PHOTOS);
    if let Some(photo) = photos.next() {
        first["image"] = json!({ "url": photo });
    }
    let mut embeds = vec![first];
    for photo in photos {
        let mut embed = json!({ "image": { "url": photo } });
        if let Some(url) = &message.url {
            embed["url"] = json!(url);
        }
        embeds.push(embed);
    }
    payload(embeds)
}

/// One digest for several records by one person: a line per record (its
/// title and link), cut to fit; each record's rich details stay on its page.
pub(crate) fn digest_payload(author: Option<&str>, messages: &[RecordMessage]) -> Value {
    let title = match author {
        Some(author) => format!("🗂️ {} new records by {author}", messages.len()),
        None => format!("🗂️ {} new records", messages.len()),
    };
    let mut description = String::new();
    let mut used = 0;
    for (index, message) in messages.iter().enumerate() {
        let line = match &message.url {
            Some(url) => format!("• [{}]({url})\n", escape_link_text(&message.title)),
            None => format!("• {}\n", message.title),
        };
        let rest = messages.len() - index;
        let more = format!("…and {rest} more");
        let line_len = line.chars().count();
        // Keep room for the "and N more" line in case a later one does not fit.
        if used + line_len + more.chars().count() + 1 > MAX_DESCRIPTION {
            description.push_str(&more);
            break;
        }
        description.push_str(&line);
        used += line_len;
    }
    let mut embed = json!({
        "title": truncate_chars(&title, MAX_TITLE),
        "description": description.trim_end(),
    });
    if let Some(color) = messages.first().and_then(|m| m.color) {
        embed["color"] = json!(color);
    }
    payload(vec![embed])
}

fn payload(embeds: Vec<Value>) -> Value {
    // Never ping anyone: record text is user-written and may contain
    // @everyone or role mentions.
    json!({ "embeds": embeds, "allowed_mentions": { "parse": [] } })
}

/// Link text must not close the link early.
fn escape_link_text(text: &str) -> String {
    text.replace('[', "(").replace(']', ")")
}

/// Record text from chat or a model, made inert in a webhook message: it
/// shows as written but cannot carry a masked link (`[text](url)`, which
/// hides where it leads) or pass for the message's own lines. Backslashes
/// and brackets are escaped everywhere; at the start of a line, heading,
/// subtext and quote markers are escaped, and a signature or parent-link
/// marker (`—`, `–`, `―`, `↳`) is set in code, so `— Ruth Ng` inside a
/// description never looks like the attribution line the template adds.
/// (Discord drops a backslash before any punctuation, `—` included, so an
/// escape would not show; the code span does.)
pub(crate) fn escape_record_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let body = line.trim_start();
        out.push_str(&line[..line.len() - body.len()]);
        let mut rest = body;
        if let Some(marker) = ['—', '–', '―', '↳']
            .into_iter()
            .find(|m| rest.starts_with(*m))
        {
            out.push('`');
            out.push(marker);
            out.push('`');
            rest = &rest[marker.len_utf8()..];
        } else if rest.starts_with("-#") || rest.starts_with('#') || rest.starts_with('>') {
            out.push('\\');
        }
        for c in rest.chars() {
            if matches!(c, '\\' | '[' | ']') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// Cuts the body to `max` characters while keeping its trailer: the final
/// lines that link the parent (`↳ …`) and attribute the record (`— Name`).
/// Only the free text above them is shortened.
pub(crate) fn fit_description(body: &str, max: usize) -> String {
    if body.chars().count() <= max {
        return body.to_string();
    }
    let lines: Vec<&str> = body.lines().collect();
    let mut split = lines.len();
    while split > 0 {
        let line = lines[split - 1].trim();
        if line.is_empty() || line.starts_with('↳') || line.starts_with("— ") {
            split -= 1;
        } else {
            break;
        }
    }
    let head = lines[..split].join("\n");
    let trailer = lines[split..].join("\n");
    let trailer = trailer.trim_start_matches('\n');
    if trailer.is_empty() {
        return truncate_chars(&head, max);
    }
    // "\n\n" between the cut text and the trailer.
    let trailer_len = trailer.chars().count() + 2;
    if trailer_len >= max {
        // A trailer this long is not a real one; cut everything plainly.
        return truncate_chars(body, max);
    }
    let head = truncate_chars(head.trim_end(), max - trailer_len);
    format!("{head}\n\n{trailer}")
}

#[cfg(test)]
/// Characters Discord counts against the 6000 total of a payload.
pub(crate) fn counted_chars(payload: &Value) -> usize {
    let count = |v: Option<&Value>| v.and_then(Value::as_str).map_or(0, |s| s.chars().count());
    payload["embeds"].as_array().map_or(0, |embeds| {
        embeds
            .iter()
            .map(|e| {
                count(e.get("title"))
                    + count(e.get("description"))
                    + count(e.get("footer").and_then(|f| f.get("text")))
                    + count(e.get("author").and_then(|a| a.get("name")))
            })
            .sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> RecordMessage {
        RecordMessage {
            title: "⚠️ Problem report: EBD".into(),
            body: body.into(),
            url: Some("https://flipfix.example/problem-reports/1/".into()),
            color: Some(0xe67e22),
            photo_urls: Vec::new(),
        }
    }

    #[test]
    fn long_bodies_keep_parent_link_and_attribution() {
        let body = format!(
            "{}\n\n↳ Problem report #7: https://x.example/p/7/\n\n— Ada Lovelace",
            "é".repeat(10_000)
        );
        let fitted = fit_description(&body, MAX_DESCRIPTION);
        assert_eq!(fitted.chars().count(), MAX_DESCRIPTION);
        assert!(fitted.ends_with("↳ Problem report #7: https://x.example/p/7/\n\n— Ada Lovelace"));
        assert!(fitted.contains("é…"));
    }

    #[test]
    fn record_text_cannot_carry_a_masked_link_or_a_signature_line() {
        assert_eq!(
            escape_record_text("see [the manual](https://evil.example/x) now"),
            r"see \[the manual\](https://evil.example/x) now"
        );
        assert_eq!(
            escape_record_text("fixed\n\n— Ruth Ng\n  ↳ Problem report #1"),
            "fixed\n\n`—` Ruth Ng\n  `↳` Problem report #1"
        );
        assert_eq!(
            escape_record_text("# big\n-# small\n> quote\nC:\\path [x]"),
            "\\# big\n\\-# small\n\\> quote\nC:\\\\path \\[x\\]"
        );
        assert_eq!(escape_record_text("plain text, 2 – 3"), "plain text, 2 – 3");
    }

    #[test]
    fn short_bodies_are_untouched() {
        assert_eq!(fit_description("ok\n\n— A", 100), "ok\n\n— A");
    }

    #[test]
    fn photos_become_a_gallery_of_at_most_four() {
        let mut m = message("body");
        m.photo_urls = (0..6)
            .map(|i| format!("https://cdn.example/{i}.jpg"))
            .collect();
        let payload = record_payload(&m);
        let embeds = payload["embeds"].as_array().unwrap();
        assert_eq!(embeds.len(), MAX_PHOTOS);
        assert!(embeds.iter().all(|e| e["url"] == embeds[0]["url"]));
        assert_eq!(embeds[3]["image"]["url"], "https://cdn.example/3.jpg");
        assert_eq!(payload["allowed_mentions"]["parse"], json!([]));
    }

    #[test]
    fn digests_stay_within_limits() {
        let messages: Vec<_> = (0..500)
            .map(|i| RecordMessage {
                title: format!("🗒️ Log entry {i}: {}", "x".repeat(40)),
                ..message("b")
            })
            .collect();
        let payload = digest_payload(Some("Ada"), &messages);
        let description = payload["embeds"][0]["description"].as_str().unwrap();
        assert!(description.chars().count() <= MAX_DESCRIPTION);
        assert!(description.ends_with("more"));
        assert!(counted_chars(&payload) <= MAX_TOTAL);
    }
}
