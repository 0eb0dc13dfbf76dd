//! `card_select:` on a record kind: the choice field a review card offers
//! as a select menu.

use super::kinds::{FieldType, KindField};

/// What is wrong with `card_select: name`: it must be a choice field whose
/// choices fit a Discord select menu (at most 25, values of 1–100 characters).
pub(super) fn problem(fields: &[KindField], name: &str) -> Option<String> {
    let Some(field) = fields.iter().find(|f| f.name == name) else {
        return Some(format!("card_select `{name}` is not a field of this kind"));
    };
    let FieldType::Choice { choices } = &field.ty else {
        return Some(format!("card_select `{name}` is not a choice field"));
    };
    if choices.len() > 25 {
        return Some(format!(
            "card_select `{name}` has {} choices; a Discord select menu holds at most 25",
            choices.len()
        ));
    }
    choices
        .iter()
        .find(|c| c.is_empty() || c.chars().count() > 100)
        .map(|c| format!("card_select `{name}`: choice `{c}` must be 1–100 characters"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, ty: FieldType) -> KindField {
        KindField {
            name: name.into(),
            label: name.into(),
            ty,
            required: false,
            default: None,
            guidance: String::new(),
        }
    }

    #[test]
    fn only_a_choice_field_that_fits_a_menu_is_accepted() {
        let choices = |n: usize| FieldType::Choice {
            choices: (0..n).map(|i| format!("c{i}")).collect(),
        };
        let fields = [
            field("priority", choices(5)),
            field("notes", FieldType::Text { max_length: 10 }),
            field("many", choices(26)),
        ];
        assert_eq!(problem(&fields, "priority"), None);
        for (name, says) in [
            ("notes", "not a choice field"),
            ("many", "at most 25"),
            ("nope", "not a field"),
        ] {
            let message = problem(&fields, name).unwrap_or_default();
            assert!(message.contains(says), "{name}: {message}");
        }
    }
}
