//! Sample contexts with every optional part present, so `check` can render
//! the templates without a conversation.

use super::context::{
    system_context, ConversationContext, ExistingContext, MessageContext, ReferenceContext,
    StubContext, SystemContext,
};
use crate::analysis::catalog::{Catalog, CatalogMachine, CatalogMaintainer};
use crate::analysis::conversation::MachineStatusNote;
use crate::analysis::examples::ExampleContext;
use crate::records::view::MachineStatusView;
use crate::workflow::{Analyze, RecordKinds};

/// Sample contexts with every optional part present, for `check`.
pub fn sample_contexts(
    menu: &Analyze,
    kinds: &RecordKinds,
) -> (SystemContext, ConversationContext) {
    let catalog = Catalog {
        machines: vec![CatalogMachine {
            id: Some(1),
            slug: "eight-ball-deluxe-limited-edition".into(),
            name: "Eight Ball Deluxe (Limited Edition)".into(),
            short_name: Some("EBD LE".into()),
            aliases: vec!["8 ball".into()],
        }],
        maintainers: vec![CatalogMaintainer {
            username: "sample".into(),
            display_name: Some("Sample Maintainer".into()),
        }],
    };
    let reference = ReferenceContext {
        kind: kinds
            .names()
            .first()
            .map(|n| n.to_string())
            .unwrap_or_default(),
        record_id: 42,
        title: Some("⚠️ Sample".into()),
        text: "Left flipper weak".into(),
        author: Some("flipfix/Sample".into()),
    };
    let message = |id: &str, is_target: bool| MessageContext {
        id: id.into(),
        author_id: "1002".into(),
        author_name: "Sample Maintainer".into(),
        author_username: "sample".into(),
        is_webhook: !is_target,
        timestamp: "2025-01-15 15:23".into(),
        content: "{{ not a template }}".into(),
        reply_to: is_target.then(|| "1".into()),
        is_target,
        in_reply_chain: !is_target,
        saved_as: if is_target {
            vec!["problem_report #7".into()]
        } else {
            Vec::new()
        },
        attachments: 1,
        images: usize::from(is_target),
        reference: (!is_target).then(|| reference.clone()),
    };
    let mut system = system_context(menu, kinds, &catalog);
    system.examples = vec![ExampleContext {
        name: "sample".into(),
        lesson: "A sample lesson.".into(),
        conversation: "[1] TARGET 2025-01-15 15:23 Sample (author_id 1002):\nFixed it".into(),
        answer: r#"{"suggestions":[]}"#.into(),
    }];
    (
        system,
        ConversationContext {
            mode: "reply_chain".into(),
            target_id: "2".into(),
            messages: vec![message("1", false), message("2", true)],
            references: vec![reference.clone()],
            saved_stubs: vec![StubContext {
                id: "0".into(),
                author_name: "Sample Maintainer".into(),
                timestamp: "2025-01-15 15:20".into(),
                saved_as: vec!["part_request #9".into()],
            }],
            origin_record: Some(sample_existing()),
            open_records: vec![sample_existing()],
            machine_statuses: vec![MachineStatusNote {
                machine: "eight-ball-deluxe-limited-edition".into(),
                status: MachineStatusView::sample(),
            }],
            example: false,
        },
    )
}

fn sample_existing() -> ExistingContext {
    ExistingContext {
        kind: "problem_report".into(),
        record_id: 12,
        machine: Some("eight-ball-deluxe-limited-edition".into()),
        status: Some("open".into()),
        date: "2025-01-13".into(),
        age: "2 days".into(),
        text: "{{ not a template }}".into(),
        rule_fields: [("priority".to_string(), "unplayable".to_string())].into(),
    }
}
