//! What a file is, judged by its first bytes rather than by the name or the
//! content type the uploader claimed: a page serves stored bytes under the
//! type found here, so a script renamed `photo.png` is never served as HTML.
//! Seven formats cover what phones and Discord produce; a crate would add a
//! build for a dozen lines.

/// The content type of `bytes` when it is an image or video we keep.
pub(crate) fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Some("image/gif");
    }
    if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some("video/webm");
    }
    // ISO base media (MP4, QuickTime, HEIC): a box of type `ftyp` first,
    // whose major brand says which.
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return Some(match &bytes[8..12] {
            b"qt  " => "video/quicktime",
            b"heic" | b"heix" | b"mif1" | b"msf1" => "image/heic",
            _ => "video/mp4",
        });
    }
    None
}

/// File extension for a sniffed type, for a safe download name.
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/heic" => "heic",
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        _ => "mp4",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_their_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"\x1A\x45\xDF\xA3...."), Some("video/webm"));
        assert_eq!(sniff(b"\0\0\0\x18ftypisom...."), Some("video/mp4"));
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  ...."), Some("video/quicktime"));
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(sniff(b"<html><script>alert(1)</script>"), None);
        assert_eq!(sniff(b"%PDF-1.7"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVE"), None);
    }
}
