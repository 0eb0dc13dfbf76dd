//! Parsing setting values: what an admin types (a pasted mention, `$2.50`,
//! `yes`) into the normal form that is stored.

pub(super) fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

pub(super) fn parse_dollars(raw: &str) -> Option<f64> {
    let amount: f64 = raw.trim().trim_start_matches('$').parse().ok()?;
    (amount.is_finite() && (0.0..=1_000_000.0).contains(&amount)).then_some(amount)
}

pub(super) fn parse_count(raw: &str) -> Option<u32> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
}

pub(super) fn parse_snowflake(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    // Discord ids are 17–20 digits today; anything shorter is a typo.
    (raw.len() >= 15 && raw.len() <= 20 && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.parse().ok())
        .flatten()
}

pub(super) fn parse_channel_list(raw: &str) -> Result<Vec<u64>, String> {
    raw.split([',', ' '])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            // Accept a pasted channel mention (<#123>) as well as a bare id.
            let id = part.trim_start_matches("<#").trim_end_matches('>');
            parse_snowflake(id).ok_or_else(|| format!("{part:?} is not a channel id"))
        })
        .collect()
}

/// A role id, or a pasted role mention (`<@&123>`).
pub(super) fn parse_role(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    let id = raw
        .strip_prefix("<@&")
        .and_then(|rest| rest.strip_suffix('>'))
        .unwrap_or(raw);
    parse_snowflake(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_numbers_in_range() {
        assert_eq!(parse_count(" 12 "), Some(12));
        assert_eq!(parse_count("0"), None);
        assert_eq!(parse_count("10001"), None);
        assert_eq!(parse_count("2.5"), None);
    }

    #[test]
    fn channel_lists_accept_mentions_and_refuse_junk() {
        assert_eq!(
            parse_channel_list("<#123456789012345678>, 223456789012345678").unwrap(),
            vec![123456789012345678, 223456789012345678]
        );
        assert_eq!(parse_channel_list("").unwrap(), Vec::<u64>::new());
        assert!(parse_channel_list("general").is_err());
    }

    #[test]
    fn roles_accept_mentions_and_refuse_names() {
        assert_eq!(
            parse_role("<@&323456789012345678>"),
            Some(323456789012345678)
        );
        assert_eq!(parse_role(" 323456789012345678 "), Some(323456789012345678));
        assert_eq!(parse_role("@Maintainers"), None);
        assert_eq!(parse_role("<@323456789012345678>"), None, "a user mention");
    }
}
