//! A Discord message, as the bot sends it (the JSON of its content, embeds
//! and components: the same builders and payloads that go to Discord),
//! drawn as an HTML page in Discord's dark theme, to be screenshot for the
//! docs. Nothing here knows a template: the text comes from the payload, so
//! the picture shows what the templates make and cannot drift from them.
//!
//! Every piece of text is HTML-escaped; Discord's markdown is drawn for the
//! subset the templates and record text use (bold, italics, code, masked
//! and bare links, backslash escapes).

use serde_json::Value;

use crate::text::escape_html;

/// How the message is drawn besides its payload.
pub struct Frame<'a> {
    /// The name shown above the message (the bot's, or the webhook's).
    pub author: &'a str,
    /// An ephemeral reply: Discord adds "Only you can see this".
    pub ephemeral: bool,
    /// Image URLs under `.0` are fetched from `.1` instead: the payload
    /// links the team's public site, the picture is taken from the local
    /// demo serving the same photo.
    pub images_from: Option<(&'a str, &'a str)>,
}

/// The page for one message: `payload` holds `content`, `embeds` and
/// `components` as Discord's API takes them.
pub fn page(title: &str, payload: &Value, frame: &Frame) -> String {
    let mut body = String::new();
    if let Some(content) = payload["content"].as_str().filter(|c| !c.is_empty()) {
        body.push_str(&format!(
            "<div class=\"content\">{}</div>",
            markdown(content)
        ));
    }
    for embed in payload["embeds"].as_array().into_iter().flatten() {
        body.push_str(&self::embed(embed, frame));
    }
    for row in payload["components"].as_array().into_iter().flatten() {
        body.push_str("<div class=\"row\">");
        for component in row["components"].as_array().into_iter().flatten() {
            body.push_str(&self::component(component));
        }
        body.push_str("</div>");
    }
    if frame.ephemeral {
        body.push_str(
            "<div class=\"ephemeral\">👁 Only you can see this • <a>Dismiss message</a></div>",
        );
    }
    let initial = frame.author.chars().next().unwrap_or('?');
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\
         <div id=\"message\" class=\"message\"><div class=\"avatar\">{initial}</div>\
         <div class=\"main\"><div class=\"header\"><span class=\"name\">{author}</span>\
         <span class=\"badge\">APP</span></div>{body}</div></div></body></html>\n",
        title = escape_html(title),
        initial = escape_html(&initial.to_string()),
        author = escape_html(frame.author),
    )
}

fn embed(embed: &Value, frame: &Frame) -> String {
    let colour = embed["color"]
        .as_u64()
        .map(|c| format!("#{c:06x}"))
        .unwrap_or_else(|| "#1e1f22".into());
    let mut inner = String::new();
    if let Some(name) = embed["author"]["name"].as_str() {
        inner.push_str(&format!(
            "<div class=\"e-author\">{}</div>",
            escape_html(name)
        ));
    }
    if let Some(title) = embed["title"].as_str() {
        let title = inline(title);
        inner.push_str(&match embed["url"].as_str() {
            Some(url) => format!(
                "<div class=\"e-title\"><a href=\"{}\">{title}</a></div>",
                escape_html(url)
            ),
            None => format!("<div class=\"e-title\">{title}</div>"),
        });
    }
    if let Some(description) = embed["description"].as_str() {
        inner.push_str(&format!(
            "<div class=\"e-description\">{}</div>",
            markdown(description)
        ));
    }
    let fields: Vec<String> = embed["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|field| {
            format!(
                "<div class=\"e-field{}\"><div class=\"e-name\">{}</div><div>{}</div></div>",
                if field["inline"] == Value::Bool(true) {
                    " inline"
                } else {
                    ""
                },
                inline(field["name"].as_str().unwrap_or_default()),
                markdown(field["value"].as_str().unwrap_or_default())
            )
        })
        .collect();
    if !fields.is_empty() {
        inner.push_str(&format!(
            "<div class=\"e-fields\">{}</div>",
            fields.concat()
        ));
    }
    if let Some(url) = embed["image"]["url"].as_str() {
        inner.push_str(&format!(
            "<img class=\"e-image\" alt=\"\" src=\"{}\">",
            escape_html(&image_url(url, frame))
        ));
    }
    if let Some(text) = embed["footer"]["text"].as_str() {
        inner.push_str(&format!(
            "<div class=\"e-footer\">{}</div>",
            escape_html(text)
        ));
    }
    let thumbnail = embed["thumbnail"]["url"]
        .as_str()
        .map(|url| {
            format!(
                "<img class=\"e-thumb\" alt=\"\" src=\"{}\">",
                escape_html(&image_url(url, frame))
            )
        })
        .unwrap_or_default();
    format!(
        "<div class=\"embed\" style=\"border-left-color:{colour}\"><div class=\"e-body\">{inner}</div>{thumbnail}</div>"
    )
}

fn image_url(url: &str, frame: &Frame) -> String {
    match frame.images_from {
        Some((public, local)) if url.starts_with(public) => {
            format!("{local}{}", &url[public.len()..])
        }
        _ => url.to_string(),
    }
}

/// A button or a select menu (Discord's component types 2 and 3–8).
fn component(component: &Value) -> String {
    let emoji = component["emoji"]["name"]
        .as_str()
        .map(|e| format!("{} ", escape_html(e)))
        .unwrap_or_default();
    match component["type"].as_u64() {
        Some(2) => {
            let style = match component["style"].as_u64() {
                Some(1) => "primary",
                Some(3) => "success",
                Some(4) => "danger",
                Some(5) => "link",
                _ => "secondary",
            };
            let disabled = if component["disabled"] == Value::Bool(true) {
                " disabled"
            } else {
                ""
            };
            format!(
                "<span class=\"button {style}{disabled}\">{emoji}{}</span>",
                escape_html(component["label"].as_str().unwrap_or_default())
            )
        }
        _ => {
            let shown = component["options"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|o| o["default"] == Value::Bool(true))
                .and_then(|o| o["label"].as_str())
                .map(|label| format!("<span>{}</span>", escape_html(label)))
                .unwrap_or_else(|| {
                    format!(
                        "<span class=\"placeholder\">{}</span>",
                        escape_html(
                            component["placeholder"]
                                .as_str()
                                .unwrap_or("Make a selection")
                        )
                    )
                });
            format!("<span class=\"select\">{shown}<span class=\"chevron\">⌄</span></span>")
        }
    }
}

/// Discord markdown over several lines (kept by `white-space: pre-wrap`).
fn markdown(text: &str) -> String {
    text.split('\n').map(inline).collect::<Vec<_>>().join("\n")
}

/// One line of Discord markdown as HTML: `**bold**`, `*italics*`,
/// `` `code` ``, `[text](url)`, bare `https://` links and `\` escapes.
fn inline(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut open: Vec<&str> = Vec::new();
    let mut i = 0;
    let rest = |i: usize| chars[i..].iter().collect::<String>();
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if chars.get(i + 1).is_some_and(|n| n.is_ascii_punctuation()) => {
                out.push_str(&escape_html(&chars[i + 1].to_string()));
                i += 2;
            }
            '`' => match chars[i + 1..].iter().position(|&n| n == '`') {
                Some(len) => {
                    let code: String = chars[i + 1..i + 1 + len].iter().collect();
                    out.push_str(&format!("<code>{}</code>", escape_html(&code)));
                    i += len + 2;
                }
                None => {
                    out.push('`');
                    i += 1;
                }
            },
            '*' if chars.get(i + 1) == Some(&'*') => {
                toggle(&mut out, &mut open, "strong", rest(i + 2).contains("**"));
                i += 2;
            }
            '*' | '_' => {
                toggle(&mut out, &mut open, "em", rest(i + 1).contains(c));
                i += 1;
            }
            '[' => match masked_link(&chars[i..]) {
                Some((text, url, len)) => {
                    out.push_str(&format!(
                        "<a href=\"{}\">{}</a>",
                        escape_html(&url),
                        inline(&text)
                    ));
                    i += len;
                }
                None => {
                    out.push('[');
                    i += 1;
                }
            },
            'h' if rest(i).starts_with("https://") || rest(i).starts_with("http://") => {
                let mut len = chars[i..]
                    .iter()
                    .position(|n| n.is_whitespace())
                    .unwrap_or(chars.len() - i);
                // A closing bracket or full stop after a link ends the
                // sentence, not the link (unless the link opened it).
                while len > 0 && matches!(chars[i + len - 1], '.' | ',' | ')') {
                    let opened = chars[i..i + len].contains(&'(');
                    if chars[i + len - 1] == ')' && opened {
                        break;
                    }
                    len -= 1;
                }
                let url: String = chars[i..i + len].iter().collect();
                out.push_str(&format!("<a href=\"{0}\">{0}</a>", escape_html(&url)));
                i += len;
            }
            _ => {
                out.push_str(&escape_html(&c.to_string()));
                i += 1;
            }
        }
    }
    while let Some(tag) = open.pop() {
        out.push_str(&format!("</{tag}>"));
    }
    out
}

/// Opens `tag` when it is not open and closes later on the line, closes it
/// when open; otherwise the marker is plain text.
fn toggle(out: &mut String, open: &mut Vec<&'static str>, tag: &'static str, closes: bool) {
    if open.last() == Some(&tag) {
        open.pop();
        out.push_str(&format!("</{tag}>"));
    } else if closes && !open.contains(&tag) {
        open.push(tag);
        out.push_str(&format!("<{tag}>"));
    } else {
        out.push_str(if tag == "strong" { "**" } else { "*" });
    }
}

/// `[text](url)` at the start of `chars`: its text, URL and length.
fn masked_link(chars: &[char]) -> Option<(String, String, usize)> {
    let close = chars.iter().position(|&c| c == ']')?;
    if chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let end = chars[close + 2..].iter().position(|&c| c == ')')? + close + 2;
    let url: String = chars[close + 2..end].iter().collect();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return None;
    }
    Some((chars[1..close].iter().collect(), url, end + 1))
}

/// Discord's dark theme, close enough to be recognised.
const STYLE: &str = "
body { margin: 0; background: #313338; color: #dbdee1; font: 16px/1.375 'Noto Sans', 'Helvetica Neue', Arial, sans-serif; }
a { color: #00a8fc; text-decoration: none; }
.message { display: flex; gap: 16px; width: 640px; padding: 16px 20px; }
.avatar { flex: none; width: 40px; height: 40px; border-radius: 50%; background: #5865f2; color: #fff;
  font-weight: 600; display: flex; align-items: center; justify-content: center; }
.main { min-width: 0; flex: 1; }
.header { margin-bottom: 2px; }
.name { color: #f2f3f5; font-weight: 500; }
.badge { background: #5865f2; color: #fff; font-size: 10px; font-weight: 600; border-radius: 3px;
  padding: 1px 4px; margin-left: 4px; vertical-align: 2px; }
.content { white-space: pre-wrap; margin-bottom: 4px; }
.embed { display: flex; max-width: 520px; background: #2b2d31; border-left: 4px solid #1e1f22;
  border-radius: 4px; padding: 8px 16px 16px 12px; margin: 4px 0; font-size: 14px; }
.e-body { flex: 1; min-width: 0; }
.e-author { color: #f2f3f5; font-weight: 600; margin-top: 8px; }
.e-title { color: #f2f3f5; font-weight: 600; font-size: 16px; margin-top: 8px; }
.e-description { white-space: pre-wrap; margin-top: 8px; }
.e-fields { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
.e-field { flex-basis: 100%; }
.e-field.inline { flex: 1 1 30%; }
.e-name { color: #f2f3f5; font-weight: 600; }
.e-image { display: block; max-width: 100%; max-height: 300px; border-radius: 4px; margin-top: 16px; }
.e-thumb { width: 80px; height: 80px; object-fit: cover; border-radius: 4px; margin: 8px 0 0 16px; }
.e-footer { color: #b5bac1; font-size: 12px; margin-top: 8px; }
code { background: #1e1f22; border-radius: 4px; padding: 0 3px; font-size: 85%; font-family: 'DejaVu Sans Mono', monospace; }
.row { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
.button { display: inline-flex; align-items: center; height: 32px; padding: 0 16px; border-radius: 3px;
  color: #fff; font-size: 14px; font-weight: 500; background: #4e5058; }
.button.primary { background: #5865f2; } .button.success { background: #248046; }
.button.danger { background: #da373c; } .button.disabled { opacity: 0.5; }
.select { display: flex; justify-content: space-between; align-items: center; width: 400px; height: 40px;
  box-sizing: border-box; padding: 0 12px; background: #1e1f22; border-radius: 4px; font-size: 14px; }
.placeholder { color: #949ba4; } .chevron { color: #b5bac1; }
.ephemeral { color: #949ba4; font-size: 12px; margin-top: 6px; }
";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn markdown_is_drawn_and_text_stays_inert() {
        assert_eq!(
            inline("**Priority:** Major — <b>x</b>"),
            "<strong>Priority:</strong> Major — &lt;b&gt;x&lt;/b&gt;"
        );
        assert_eq!(
            inline(r"see \[the manual\](https://evil.example/x) `—` Ruth"),
            "see [the manual](<a href=\"https://evil.example/x\">https://evil.example/x</a>) <code>—</code> Ruth"
        );
        assert_eq!(
            inline("[page](https://f.example/1/) and a * star"),
            "<a href=\"https://f.example/1/\">page</a> and a * star"
        );
    }

    #[test]
    fn a_card_keeps_its_colour_fields_buttons_and_menus() {
        let payload = json!({
            "content": "⚠️ Choose a machine",
            "embeds": [{"title": "Problem report", "description": "Dead flipper\n— June",
                        "color": 0xe67e22, "footer": {"text": "Suggestion 1 of 2"},
                        "image": {"url": "https://f.example/media/1"}}],
            "components": [{"type": 1, "components": [
                {"type": 2, "style": 3, "label": "Create", "custom_id": "a"},
                {"type": 2, "style": 4, "label": "Cancel", "custom_id": "b"}]},
                {"type": 1, "components": [{"type": 3, "custom_id": "m", "placeholder": "Pick",
                 "options": [{"label": "Gorgar", "value": "1"}]}]}]
        });
        let frame = Frame {
            author: "Flipfix",
            ephemeral: true,
            images_from: Some(("https://f.example", "http://127.0.0.1:9")),
        };
        let html = page("card", &payload, &frame);
        for part in [
            "border-left-color:#e67e22",
            "Dead flipper\n— June",
            "Suggestion 1 of 2",
            "button success\">Create",
            "button danger\">Cancel",
            "placeholder\">Pick",
            "src=\"http://127.0.0.1:9/media/1\"",
            "Only you can see this",
        ] {
            assert!(html.contains(part), "{part} in {html}");
        }
    }
}
