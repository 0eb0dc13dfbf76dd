//! A kind's webhook switch: the name it declares (`webhook_switch:`, or
//! `notify_setting:` as 0.3 wrote it), else one derived from its name.

use serde_saphyr::{Location, Spanned};

use crate::config::SwitchKey;

/// The switch of the kind named `name`; what is wrong with it goes to
/// `problem` (where, why).
pub(super) fn check(
    name: &Spanned<String>,
    webhook_switch: Option<&Spanned<String>>,
    notify_setting: Option<&Spanned<String>>,
    problem: &mut dyn FnMut(Location, String),
) -> SwitchKey {
    let declared: Option<&Spanned<String>> = match (webhook_switch, notify_setting) {
        (Some(switch), Some(old)) => {
            problem(
                old.referenced,
                format!(
                    "notify_setting is the old name of webhook_switch; keep only `webhook_switch: {}`",
                    switch.value
                ),
            );
            Some(switch)
        }
        (Some(switch), None) => Some(switch),
        (None, old) => old,
    };
    let (switch, at, how) = match declared {
        Some(switch) => (switch.value.clone(), switch.referenced, "webhook_switch"),
        None => (
            SwitchKey::derived_name(&name.value),
            name.referenced,
            "webhook switch derived from the name",
        ),
    };
    match SwitchKey::parse(switch.trim()) {
        Ok(key) => key,
        Err(reason) => {
            let hint = if declared.is_none() {
                "; name one with `webhook_switch:`"
            } else {
                ""
            };
            problem(at, format!("{how} {reason}{hint}"));
            SwitchKey::refused()
        }
    }
}
