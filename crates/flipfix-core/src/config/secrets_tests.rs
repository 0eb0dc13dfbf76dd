//! Tests of the bootstrap configuration: keys, file, environment.

use super::*;
use std::collections::HashMap;

fn write(contents: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), contents).expect("write temp file");
    file
}

#[test]
fn environment_wins_over_the_file() {
    let file = write("DISCORD_TOKEN = 'from-file'\nPUBLIC_BASE_URL = 'https://a.example/'\n");
    let env: HashMap<&str, &str> = [("DISCORD_TOKEN", "from-env")].into();
    let secrets = Secrets::load_with(file.path(), |k| env.get(k).map(|v| v.to_string())).unwrap();
    assert_eq!(secrets.discord_token.unwrap().expose(), "from-env");
    assert_eq!(
        secrets.public_base_url.as_deref(),
        Some("https://a.example")
    );
    assert_eq!(secrets.anthropic_base_url, DEFAULT_ANTHROPIC_BASE_URL);
}

#[test]
fn missing_file_is_fine_and_empty_values_are_unset() {
    let env: HashMap<&str, &str> = [("DISCORD_TOKEN", "  ")].into();
    let secrets = Secrets::load_with(Path::new("/nonexistent/Secrets.toml"), |k| {
        env.get(k).map(|v| v.to_string())
    })
    .unwrap();
    assert!(secrets.discord_token.is_none());
    assert_eq!(secrets.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
}

#[test]
fn unknown_keys_are_reported_and_guild_id_is_checked() {
    let file = write("DISCORD_TOKNE = 'x'\nDISCORD_GUILD_ID = 1234\n");
    let secrets = Secrets::load_with(file.path(), |_| None).unwrap();
    assert_eq!(secrets.unknown_keys, vec!["DISCORD_TOKNE".to_string()]);
    assert_eq!(secrets.discord_guild_id, Some(1234));

    let file = write("DISCORD_GUILD_ID = 'abc'\n");
    let err = Secrets::load_with(file.path(), |_| None).unwrap_err();
    assert!(err.to_string().contains("DISCORD_GUILD_ID"), "{err}");
}

#[test]
fn a_syntax_error_names_the_line_but_not_the_value() {
    let file = write("A = 'ok'\nDISCORD_TOKEN = 'super-secret\n");
    let err = Secrets::load_with(file.path(), |_| None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
    assert!(!err.contains("super-secret"), "{err}");
}

#[test]
fn web_keys_parse_and_bad_values_are_named() {
    let file = write(
        "FLIPFIX_MEMBERSHIP_RECHECK_MINUTES = 15\nHTTP_TRUSTED_PROXIES = '127.0.0.1, ::1'\nMETRICS_TOKEN = 'm'\n",
    );
    let secrets = Secrets::load_with(file.path(), |_| None).unwrap();
    assert_eq!(secrets.membership_recheck(), chrono::Duration::minutes(15));
    assert_eq!(secrets.http_trusted_proxies.len(), 2);
    assert_eq!(
        secrets.metrics_token.as_ref().map(|t| t.expose()),
        Some("m")
    );
    assert_eq!(
        Secrets::default().membership_recheck(),
        chrono::Duration::hours(1)
    );
    for (text, names) in [
        ("FLIPFIX_MEMBERSHIP_RECHECK_MINUTES = 120\n", "FLIPFIX_MEMBERSHIP_RECHECK_MINUTES must be a whole number of minutes from 1 to 60, got \"120\""),
        ("HTTP_TRUSTED_PROXIES = 'proxy.lan'\n", "HTTP_TRUSTED_PROXIES must be comma-separated IP addresses such as 127.0.0.1,::1, got \"proxy.lan\""),
    ] {
        let err = Secrets::load_with(write(text).path(), |_| None).unwrap_err();
        assert_eq!(err.to_string(), names);
    }
}

#[test]
fn a_session_secret_under_32_bytes_is_refused_without_quoting_it() {
    let mut secrets = Secrets {
        session_secret: Some(Secret::new("x".repeat(31))),
        ..Secrets::default()
    };
    let err = secrets.check_session_secret().unwrap_err().to_string();
    assert!(
        err.starts_with("SESSION_SECRET is 31 bytes long; it must be at least 32 bytes"),
        "{err}"
    );
    assert!(!err.contains("xxx"), "{err}");
    secrets.session_secret = Some(Secret::new("x".repeat(32)));
    assert!(secrets.check_session_secret().is_ok());
    secrets.session_secret = None;
    assert!(
        secrets.check_session_secret().is_ok(),
        "unset: a generated key"
    );
}

#[test]
fn example_file_documents_every_key() {
    let example = include_str!("../../../../Secrets.example.toml");
    for (key, _) in KNOWN_KEYS {
        assert!(example.contains(key), "Secrets.example.toml lacks {key}");
    }
}
