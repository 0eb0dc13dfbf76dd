//! `flipfix-bot check` for the page templates: each one is rendered with the
//! contexts the handlers build, from made-up records with every optional
//! part present and with all of them absent, for a visitor and a member, so
//! an unguarded `record.machine.name` is found before a reader finds it.

use chrono::TimeZone;

use super::views::{
    error_context, index_context, machine_context, record_context, record_link, record_page,
    IndexQuery, Paging,
};
use super::{Pages, Viewer};
use crate::records::browse::{Detail, MediaRow, SourceRow, Summary};
use crate::workflow::{Problems, RecordKinds};

/// Loads the page templates in `dir` and renders each against samples.
pub fn check(dir: &std::path::Path, kinds: &RecordKinds) -> Problems {
    let (pages, mut problems) = Pages::load(dir);
    let Some(kind) = kinds.iter().next() else {
        return problems;
    };
    let viewers = [
        Viewer::Visitor,
        Viewer::Member {
            user_id: 1,
            username: "sample".into(),
        },
    ];
    let mut reported = std::collections::HashSet::new();
    for full in [true, false] {
        let summary = sample_summary(&kind.name, full);
        let detail = Detail {
            record: summary.clone(),
            fields: serde_json::json!({}),
            parent: full.then(|| summary.clone()),
            children: if full {
                vec![summary.clone()]
            } else {
                Vec::new()
            },
            sources: if full {
                vec![SourceRow {
                    guild_id: Some(1),
                    channel_id: 2,
                    message_id: 3,
                }]
            } else {
                Vec::new()
            },
            media: summary.thumbnail.iter().cloned().collect(),
            history: if full {
                vec![crate::records::status::StatusChange {
                    record_id: summary.id,
                    from_status: Some("open".into()),
                    to_status: "closed".into(),
                    changed_at: summary.occurred_at,
                    changed_by_discord_id: Some(1),
                    changed_by: Some("discord:1 (sample)".into()),
                    via_record_id: Some(summary.id),
                }]
            } else {
                Vec::new()
            },
        };
        let paging = || Paging {
            number: if full { 2 } else { 1 },
            previous: full.then(|| "?page=1".into()),
            next: full.then(|| "?page=3".into()),
        };
        let machine = crate::catalog::Machine {
            id: 1,
            slug: "sample-machine".into(),
            name: "Sample Machine".into(),
            short_name: None,
            aliases: Vec::new(),
            status: "good".into(),
            location: full.then(|| "Floor".into()),
        };
        for viewer in &viewers {
            let query = IndexQuery {
                q: if full {
                    "flipper".into()
                } else {
                    String::new()
                },
                ..IndexQuery::default()
            };
            let records = if full {
                vec![record_link(kinds, &summary)]
            } else {
                Vec::new()
            };
            let kinds_list = vec![serde_json::json!({ "name": kind.name, "label": kind.label })];
            let machines = vec![serde_json::json!({ "slug": machine.slug, "name": machine.name })];
            let entries = if full {
                vec![(
                    record_link(kinds, &summary),
                    vec![record_link(kinds, &summary)],
                )]
            } else {
                Vec::new()
            };
            let renders = [
                ("index.html.j2", {
                    let mut context =
                        index_context(viewer, records, &query, kinds_list, machines, paging());
                    context["out_of_service"] = serde_json::json!(3);
                    context
                }),
                (
                    "machine.html.j2",
                    machine_context(viewer, &machine, entries, paging(), "✅ Good".into()),
                ),
                (
                    "record.html.j2",
                    record_context(viewer, record_page(kinds, &detail)),
                ),
                (
                    "error.html.j2",
                    error_context(
                        viewer,
                        404,
                        "There is no such record.",
                        full.then_some("/login?next=%2Fparts%2F1%2F"),
                    ),
                ),
            ];
            for (name, context) in renders {
                if !pages.templates.exists(name) {
                    continue; // reported by load
                }
                if let Err(err) = pages.templates.render(name, &context) {
                    let mut problem = err.0;
                    if reported.insert((problem.file.clone(), problem.line)) {
                        problem.message = format!(
                            "{} (rendering a sample page {})",
                            problem.message,
                            if full {
                                "with every optional part"
                            } else {
                                "without optional parts"
                            }
                        );
                        problems.push(problem);
                    }
                }
            }
        }
    }
    problems
}

fn sample_summary(kind: &str, full: bool) -> Summary {
    Summary {
        id: 42,
        kind: kind.to_string(),
        parent_id: None,
        machine_slug: full.then(|| "sample-machine".into()),
        machine_name: full.then(|| "Sample Machine".into()),
        status: full.then(|| "open".into()),
        description: "The left flipper is weak.".into(),
        author: "Sample Maintainer".into(),
        occurred_at: chrono::Utc
            .with_ymd_and_hms(2025, 1, 15, 15, 23, 8)
            .single()
            .unwrap_or_default(),
        thumbnail: full.then(|| MediaRow {
            id: 1,
            url: "https://cdn.discordapp.com/attachments/1/2/flipper.jpg".into(),
            filename: "flipper.jpg".into(),
            content_type: Some("image/jpeg".into()),
            copy_state: crate::media::store::CopyState::Pending,
        }),
    }
}
