//! The configuration tables of docs/configuration.md (the README's
//! "Configuration" section before the split) document every key the bot reads
//! (`config::secrets::KNOWN_KEYS`, which `Secrets.example.toml` also lists)
//! and every setting with its default (`SettingKey::ALL`). This is the test
//! the comments on `KNOWN_KEYS` and `environment_help` point at.

use std::collections::BTreeMap;

use flipfix_bot::config::secrets::KNOWN_KEYS;
use flipfix_bot::config::SettingKey;

use crate::support::repo_root;

/// The rows of the tables in docs/configuration.md, above its first `## `
/// section: each backticked key of a row's first cell → the row's other cells.
fn configuration_rows() -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    let doc = std::fs::read_to_string(repo_root().join("docs/configuration.md"))
        .expect("docs/configuration.md");
    let section = doc
        .strip_prefix("# Configuration\n")
        .and_then(|rest| rest.split("\n## ").next())
        .expect("docs/configuration.md opens with its title");
    let mut tables = vec![BTreeMap::new()];
    let mut in_table = false;
    for line in section.lines().map(str::trim) {
        if !line.starts_with('|') {
            if in_table {
                tables.push(BTreeMap::new());
            }
            in_table = false;
            continue;
        }
        in_table = true;
        let cells: Vec<String> = line
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().to_string())
            .collect();
        for key in cells[0].split('`').skip(1).step_by(2) {
            tables
                .last_mut()
                .unwrap()
                .insert(key.to_string(), cells[1..].to_vec());
        }
    }
    tables.retain(|t| !t.is_empty());
    assert_eq!(tables.len(), 2, "two tables: bootstrap keys, then settings");
    (tables.remove(0), tables.remove(0))
}

fn example_keys() -> Vec<String> {
    let example = std::fs::read_to_string(repo_root().join("Secrets.example.toml"))
        .expect("Secrets.example.toml");
    example
        .lines()
        .filter_map(|line| {
            let line = line.trim_start_matches('#').trim();
            let (key, _) = line.split_once(" = ")?;
            key.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                .then(|| key.to_string())
        })
        .collect()
}

#[test]
fn every_bootstrap_key_and_every_key_of_the_example_is_in_the_docs_table() {
    let (keys, _) = configuration_rows();
    for (key, _) in KNOWN_KEYS {
        assert!(keys.contains_key(*key), "the key table lacks {key}");
    }
    let example = example_keys();
    assert!(example.len() >= KNOWN_KEYS.len(), "{example:?}");
    for key in &example {
        assert!(
            keys.contains_key(key),
            "the key table lacks {key} (Secrets.example.toml has it)"
        );
        assert!(
            KNOWN_KEYS.iter().any(|(known, _)| known == key),
            "Secrets.example.toml documents {key}, which the bot does not read"
        );
    }
    // And nothing in the table that the bot does not read: the known keys,
    // plus the start-up bound read from the environment only.
    for key in keys.keys() {
        assert!(
            KNOWN_KEYS.iter().any(|(known, _)| known == key)
                || key == flipfix_bot::serve::STARTUP_TIMEOUT_ENV,
            "docs/configuration.md documents {key}, which the bot does not read"
        );
    }
}

#[test]
fn every_setting_is_in_the_docs_table_with_its_default() {
    let (_, settings) = configuration_rows();
    for key in SettingKey::ALL {
        let name = key.name();
        let cells = settings
            .get(name)
            .unwrap_or_else(|| panic!("the settings table lacks {name}"));
        let documented = &cells[0];
        match key.def().default {
            Some(default) => assert_eq!(
                documented,
                &format!("`{default}`"),
                "{name}: docs/configuration.md's default"
            ),
            None => assert!(
                documented.starts_with('—'),
                "{name}: no default, docs/configuration.md says {documented}"
            ),
        }
    }
    // The shipped kinds' webhook switches are settings too (on by default).
    let switches = crate::support::shipped_workflows().kinds.switches();
    for switch in switches.iter() {
        let name = switch.key.name();
        let cells = settings
            .get(name)
            .unwrap_or_else(|| panic!("the settings table lacks the switch {name}"));
        assert_eq!(
            cells[0], "`true`",
            "{name}: docs/configuration.md's default"
        );
    }
    for name in settings.keys() {
        assert!(
            SettingKey::ALL.iter().any(|key| key.name() == name)
                || switches.find(name).is_some()
                // The row that explains every kind's own switch.
                || name == "webhook_switch",
            "docs/configuration.md documents a setting {name} the bot does not have"
        );
    }
}
