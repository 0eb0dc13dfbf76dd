//! Daily summaries on paper: `check` on sound and broken declarations, and
//! a day too big for one embed.

use flipfix_bot::summary::content::{Line, Listing, MachineGroup, SummaryView};
use flipfix_bot::summary::post::render_fitted;
use flipfix_bot::template_check::load_workflows;

use crate::summary::{workflows_with_summary, write_summaries};
use crate::support::copy_workflows;

fn line(id: i64) -> Line {
    Line {
        id,
        kind: "log_entry".into(),
        label: "Log entry".into(),
        emoji: "🗒️".into(),
        text: "x".repeat(100),
        status: Some("open".into()),
        machine: format!("Machine {}", id % 40),
        age_days: id,
        url: Some(format!("https://flipfix.example/logs/{id}/")),
    }
}

#[test]
fn a_huge_day_fits_one_embed_and_says_how_many_more() {
    let workflows = workflows_with_summary();
    let summary = &workflows.summaries[0];
    let mut view = SummaryView::sample(summary, true);
    view.record_count = 1200;
    view.machines = (0..40)
        .map(|m| MachineGroup {
            name: format!("Machine {m}"),
            records: (0..30).map(|i| line(m * 100 + i)).collect(),
            more: 0,
        })
        .collect();
    view.machines_more = 0;
    let fill = |listing: &mut Listing, n: i64| {
        listing.items = (0..n).map(line).collect();
        listing.total = n as usize;
        listing.more = 0;
    };
    // The default's two listings, and N more: every one is shortened alike.
    let third = view.listings[0].clone();
    view.listings.extend([third.clone(), third]);
    view.listings[2].title = "Third".into();
    view.listings[3].title = "Fourth".into();
    for (listing, n) in view.listings.iter_mut().zip([300, 200, 150, 100]) {
        fill(listing, n);
    }
    let message = render_fitted(&workflows.templates, &summary.template, &view).expect("renders");
    let length = message.body.chars().count();
    assert!(length <= 4096, "{length}");
    assert!(length > 2000, "the space is used: {length}");
    let body = &message.body;
    assert!(body.contains("more machines"), "{body}");
    assert!(
        body.contains("**Open problem reports (300), oldest first**"),
        "{body}"
    );
    assert!(
        body.contains("**Parts waiting (200), oldest first**"),
        "{body}"
    );
    assert!(body.contains("**Third (150), oldest first**"), "{body}");
    assert!(body.contains("**Fourth (100), oldest first**"), "{body}");
    assert!(body.matches("…and ").count() >= 5, "{body}");
}

#[test]
fn check_lists_a_sound_summary() {
    let dir = copy_workflows();
    write_summaries(
        dir.path(),
        "summaries:\n  - name: daily\n    at: \"7:30\"\n    timezone: America/New_York\n    template: summaries/daily.md.j2\n",
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .arg("check")
        .arg("--workflows")
        .arg(dir.path().join("workflows"))
        .arg("--prompts")
        .arg(dir.path().join("prompts"))
        .env_remove("DATABASE_URL")
        .output()
        .expect("run flipfix-bot check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains(", summaries daily at 07:30 America/New_York,"),
        "{stdout}"
    );
    // 0.x's form loads, and `check` shows the schedule workflow to write.
    assert!(
        stdout.contains("warning: `summaries:` is deprecated"),
        "{stdout}"
    );
    assert!(
        stdout.contains("      - schedule: {at: \"7:30\", timezone: \"America/New_York\"}"),
        "{stdout}"
    );
}

#[test]
fn check_names_bad_summaries_with_their_lines() {
    let dir = copy_workflows();
    write_summaries(
        dir.path(),
        "summaries:\n  - name: daily\n    at: \"25:00\"\n    timezone: Europe/Londn\n    template: summaries/nope.md.j2\n    parts_waiting: {kind: part_request, statuses: [lost]}\n",
    );
    let problems = load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .expect_err("bad summary must be refused")
        .to_string();
    let file = dir.path().join("workflows/summaries.yaml");
    let file = file.display();
    for expected in [
        format!("{file}:3:9: summary `daily`: at `25:00` must be a 24-hour time"),
        format!("{file}:4:15: summary `daily`: timezone `Europe/Londn` is not an IANA timezone name (did you mean `Europe/London`?)"),
        format!("{file}:5:15: summary `daily`: template `summaries/nope.md.j2` not found"),
        "parts_waiting: status `lost` is not a choice of `part_request`.status".to_string(),
    ] {
        assert!(problems.contains(&expected), "missing {expected:?} in:\n{problems}");
    }

    // A template that uses an unknown variable is found by rendering the sample.
    write_summaries(
        dir.path(),
        "summaries:\n  - name: daily\n    at: \"18:00\"\n    timezone: Europe/London\n    template: summaries/daily.md.j2\n",
    );
    let template = dir.path().join("prompts/summaries/daily.md.j2");
    let text = std::fs::read_to_string(&template).expect("read template");
    std::fs::write(&template, text.replace("{{ r.text }}", "{{ r.txet }}")).expect("write");
    let problems = load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .expect_err("bad template must be refused")
        .to_string();
    assert!(
        problems.contains("rendering a sample of summary `daily`"),
        "{problems}"
    );
}

#[test]
fn check_names_a_bad_listing_at_its_line_and_column() {
    let dir = copy_workflows();
    write_summaries(
        dir.path(),
        "summaries:\n  - name: daily\n    at: \"18:00\"\n    timezone: Europe/London\n    template: summaries/daily.md.j2\n    listings:\n      - title: Open problem reports\n        kind: problem_reports\n        statuses: [open]\n      - title: Parts waiting\n        kind: part_request\n        statuses: [requested, lost]\n      - title: \"\"\n        kind: part_request\n        statuses: []\n    open_reports: {kind: problem_report, statuses: [open]}\n",
    );
    let problems = load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .expect_err("bad listings must be refused")
        .to_string();
    let file = dir.path().join("workflows/summaries.yaml");
    let file = file.display();
    for expected in [
        format!("{file}:8:15: summary `daily`: listing `Open problem reports`: kind `problem_reports` is not declared (declared: problem_report, log_entry, part_request, part_request_update)"),
        format!("{file}:12:31: summary `daily`: listing `Parts waiting`: status `lost` is not a choice of `part_request`.status (requested, ordered, received, cancelled)"),
        format!("{file}:13:16: summary `daily`: listing title must be 1–100 characters"),
        format!("{file}:15:19: summary `daily`: listing ``: statuses must list at least one status"),
        format!("{file}:16:19: summary `daily`: write either `listings:` or the old open_reports / parts_waiting, not both"),
    ] {
        assert!(problems.contains(&expected), "missing {expected:?} in:\n{problems}");
    }
}

#[test]
fn the_old_listing_keys_still_load_and_old_templates_still_render() {
    let dir = copy_workflows();
    write_summaries(
        dir.path(),
        "summaries:\n  - name: daily\n    at: \"18:00\"\n    timezone: Europe/London\n    template: summaries/old.md.j2\n    open_reports: {kind: problem_report, statuses: [open, closed]}\n",
    );
    // A 0.3 template, naming the two slots.
    std::fs::write(
        dir.path().join("prompts/summaries/old.md.j2"),
        "{% block title %}{{ date }}{% endblock %}{% block body %}{{ open_reports.total }} open, {{ parts_waiting.total }} waiting{% endblock %}",
    )
    .expect("write template");
    let workflows = load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .unwrap_or_else(|problems| panic!("{problems}"));
    let summary = &workflows.summaries[0];
    let listed: Vec<(&str, &str, Vec<&str>)> = summary
        .listings
        .iter()
        .map(|l| {
            (
                l.title.as_str(),
                l.kind.as_str(),
                l.statuses.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (
                "Open problem reports",
                "problem_report",
                vec!["open", "closed"]
            ),
            (
                "Parts waiting",
                "part_request",
                vec!["requested", "ordered"]
            ),
        ]
    );
    let view = SummaryView::sample(summary, true);
    let message = render_fitted(&workflows.templates, &summary.template, &view).expect("renders");
    assert_eq!(message.body, "1 open, 1 waiting");
}
