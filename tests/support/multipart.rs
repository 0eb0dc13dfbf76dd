//! Reads `multipart/form-data` bodies the way Discord's upload endpoints
//! do: a `payload_json` part and `files[n]` parts, each attachment named in
//! `payload_json.attachments` and referred to as `attachment://name` in
//! embeds. Small on purpose: the fakes need the wire format, not a crate.
#![allow(dead_code)]

use serde_json::Value;

/// A file part of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// The form field, `files[n]`.
    pub field: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (name, value) = param.trim().split_once('=')?;
        name.eq_ignore_ascii_case("boundary")
            .then(|| value.trim_matches('"').to_string())
    })
}

/// The `payload_json` and files of an upload, or what is wrong with it as
/// Discord would refuse it.
pub fn parse_upload(body: &[u8], boundary: &str) -> Result<(Value, Vec<UploadedFile>), String> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut payload = None;
    let mut files = Vec::new();
    let mut rest = body;
    let start = find(rest, &delimiter).ok_or("no multipart boundary in the body")?;
    rest = &rest[start + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            break;
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or("a boundary not followed by CRLF")?;
        let end = find(rest, &delimiter).ok_or("a part without a closing boundary")?;
        let part = rest[..end]
            .strip_suffix(b"\r\n")
            .ok_or("a part not ended by CRLF")?;
        rest = &rest[end + delimiter.len()..];
        let split = find(part, b"\r\n\r\n").ok_or("a part without headers")?;
        let headers = std::str::from_utf8(&part[..split]).map_err(|_| "headers not UTF-8")?;
        let content = &part[split + 4..];
        let mut name = None;
        let mut filename = None;
        let mut content_type = None;
        for line in headers.split("\r\n") {
            let Some((header, value)) = line.split_once(':') else {
                continue;
            };
            if header.eq_ignore_ascii_case("content-disposition") {
                name = param(value, "name");
                filename = param(value, "filename");
            } else if header.eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_string());
            }
        }
        match name.as_deref() {
            Some("payload_json") => {
                payload = Some(
                    serde_json::from_slice::<Value>(content)
                        .map_err(|err| format!("payload_json is not JSON: {err}"))?,
                );
            }
            Some(field) if field.starts_with("files[") && field.ends_with(']') => {
                files.push(UploadedFile {
                    field: field.to_string(),
                    filename: filename.ok_or_else(|| format!("{field} has no filename"))?,
                    content_type,
                    bytes: content.to_vec(),
                });
            }
            other => return Err(format!("unexpected form field {other:?}")),
        }
    }
    let payload = payload.ok_or("no payload_json part")?;
    check_references(&payload, &files)?;
    Ok((payload, files))
}

/// Each `attachments[i]` names `files[id]` by its filename, and each
/// `attachment://name` in an embed names an uploaded file.
fn check_references(payload: &Value, files: &[UploadedFile]) -> Result<(), String> {
    if let Some(attachments) = payload.get("attachments").and_then(Value::as_array) {
        for attachment in attachments {
            let id = attachment["id"]
                .as_str()
                .map(str::to_string)
                .or_else(|| attachment["id"].as_u64().map(|n| n.to_string()))
                .ok_or("an attachment without an id")?;
            let field = format!("files[{id}]");
            let file = files
                .iter()
                .find(|f| f.field == field)
                .ok_or_else(|| format!("attachment {id} has no {field} part"))?;
            if let Some(name) = attachment["filename"].as_str() {
                if name != file.filename {
                    return Err(format!(
                        "attachment {id} is named {name:?} but {field} is {:?}",
                        file.filename
                    ));
                }
            }
        }
    }
    let text = payload.to_string();
    for reference in text.split("attachment://").skip(1) {
        let name: String = reference
            .chars()
            .take_while(|c| *c != '"' && *c != '\\')
            .collect();
        if !files.iter().any(|f| f.filename == name) {
            return Err(format!("attachment://{name} names no uploaded file"));
        }
    }
    Ok(())
}

fn param(value: &str, wanted: &str) -> Option<String> {
    value.split(';').find_map(|item| {
        let (name, value) = item.trim().split_once('=')?;
        (name == wanted).then(|| value.trim_matches('"').to_string())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
