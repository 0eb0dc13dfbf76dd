//! Small text helpers shared by several modules.

/// Levenshtein distance over characters; used for "did you mean" hints.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

/// Cuts `text` to at most `max_chars` characters, ending with "…" when cut.
pub fn truncate_chars(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let keep = max_chars.saturating_sub(1);
    let mut cut: String = text.chars().take(keep).collect();
    cut.push('…');
    cut
}

/// Django-compatible slug: ASCII letters and digits, lower case, words joined
/// by single hyphens ("The Getaway: High Speed II" → "the-getaway-high-speed-ii").
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    let mut pending_hyphen = false;
    for c in text.chars() {
        let c = fold_accent(c);
        if c.is_ascii_alphanumeric() {
            if pending_hyphen && !slug.is_empty() {
                slug.push('-');
            }
            pending_hyphen = false;
            slug.push(c.to_ascii_lowercase());
        } else if c.is_whitespace() || c == '-' || c == '_' {
            pending_hyphen = true;
        }
        // Other punctuation is dropped without splitting words, as Django does
        // ("Ms. Pac-Man" → "ms-pac-man", "Mo' Ball" → "mo-ball").
    }
    slug
}

/// The few accented letters pinball names use, folded to ASCII.
fn fold_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => 'A',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'É' | 'È' | 'Ê' | 'Ë' => 'E',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'Ó' | 'Ò' | 'Ô' | 'Ö' => 'O',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'Ü' => 'U',
        'ñ' => 'n',
        'ç' => 'c',
        other => other,
    }
}

/// Lower-case letters and digits only: the key used to compare names loosely
/// ("Eight Ball Deluxe (LE)" and "eight-ball deluxe le" compare equal).
pub fn loose_key(text: &str) -> String {
    text.chars()
        .map(fold_accent)
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `text` safe inside HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_match_the_original_system() {
        assert_eq!(
            slugify("The Getaway: High Speed II"),
            "the-getaway-high-speed-ii"
        );
        assert_eq!(
            slugify("Eight Ball Deluxe (Limited Edition)"),
            "eight-ball-deluxe-limited-edition"
        );
        assert_eq!(
            slugify("Ms. Pac-Man (Arcade Game)"),
            "ms-pac-man-arcade-game"
        );
        assert_eq!(slugify("  Godzilla (Premium) "), "godzilla-premium");
        assert_eq!(slugify("Pokémon"), "pokemon");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate_chars("héllo", 10), "héllo");
        assert_eq!(truncate_chars("héllo world", 5), "héll…");
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(
            super::escape_html("<b>\"x\"&'"),
            "&lt;b&gt;&quot;x&quot;&amp;&#39;"
        );
    }
}
