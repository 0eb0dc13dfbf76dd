//! The record rules the shipped kinds declare, enforced by the store.

use flipfix_bot::records::{
    create_record, get_record, records_for_messages, Author, RecordError, RuleViolation,
};
use sqlx::PgPool;

use crate::support::{add_machine, add_maintainer, new_record, shipped_workflows, source};

fn violation(err: RecordError) -> RuleViolation {
    match err {
        RecordError::Rule { violation, .. } => violation,
        other => panic!("expected a rule violation, got {other:?}"),
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn problem_report_requires_a_machine(pool: PgPool) {
    let workflows = shipped_workflows();
    let err = create_record(&pool, &workflows.kinds, &new_record("problem_report"))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("machine is required"), "{message}");
    assert!(
        message.contains("record_kinds.yaml"),
        "names where the rule is declared: {message}"
    );
    assert_eq!(violation(err), RuleViolation::MachineRequired);

    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let mut report = new_record("problem_report");
    report.machine_id = Some(gorgar);
    let created = create_record(&pool, &workflows.kinds, &report)
        .await
        .unwrap();
    assert_eq!(created.machine_id, Some(gorgar));
    // Defaults from the declaration fill the fields and the status column.
    assert_eq!(created.status.as_deref(), Some("open"));
    assert_eq!(
        created.fields.get("priority").map(String::as_str),
        Some("untriaged")
    );
    let stored = get_record(&pool, created.id).await.unwrap().unwrap();
    assert_eq!(stored, created);
}

#[sqlx::test(migrations = "./migrations")]
async fn part_request_machine_is_optional(pool: PgPool) {
    let workflows = shipped_workflows();
    let created = create_record(&pool, &workflows.kinds, &new_record("part_request"))
        .await
        .unwrap();
    assert_eq!(created.machine_id, None);
    assert_eq!(created.status.as_deref(), Some("requested"));
}

#[sqlx::test(migrations = "./migrations")]
async fn log_entry_inherits_the_machine_of_its_problem_report(pool: PgPool) {
    let workflows = shipped_workflows();
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let hulk = add_machine(&pool, "the-incredible-hulk", "The Incredible Hulk").await;

    // Without machine and without parent: refused.
    let err = create_record(&pool, &workflows.kinds, &new_record("log_entry"))
        .await
        .unwrap_err();
    assert_eq!(violation(err), RuleViolation::MachineRequired);

    let mut report = new_record("problem_report");
    report.machine_id = Some(gorgar);
    let report = create_record(&pool, &workflows.kinds, &report)
        .await
        .unwrap();

    let mut log = new_record("log_entry");
    log.parent_id = Some(report.id);
    let log = create_record(&pool, &workflows.kinds, &log).await.unwrap();
    assert_eq!(log.machine_id, Some(gorgar), "inherited from the parent");
    assert_eq!(log.parent_id, Some(report.id));

    let mut other_machine = new_record("log_entry");
    other_machine.parent_id = Some(report.id);
    other_machine.machine_id = Some(hulk);
    let err = create_record(&pool, &workflows.kinds, &other_machine)
        .await
        .unwrap_err();
    assert_eq!(
        violation(err),
        RuleViolation::MachineDiffersFromParent {
            machine: hulk,
            parent_machine: gorgar
        }
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn parents_must_exist_and_be_of_an_allowed_kind(pool: PgPool) {
    let workflows = shipped_workflows();
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let part = create_record(&pool, &workflows.kinds, &new_record("part_request"))
        .await
        .unwrap();

    // A log entry under a part request: wrong parent kind.
    let mut log = new_record("log_entry");
    log.machine_id = Some(gorgar);
    log.parent_id = Some(part.id);
    let err = create_record(&pool, &workflows.kinds, &log)
        .await
        .unwrap_err();
    assert!(
        matches!(violation(err), RuleViolation::ParentKindNotAllowed { parent_kind, .. } if parent_kind == "part_request")
    );

    // A parent that does not exist.
    log.parent_id = Some(999_999);
    let err = create_record(&pool, &workflows.kinds, &log)
        .await
        .unwrap_err();
    assert_eq!(violation(err), RuleViolation::ParentNotFound(999_999));

    // A kind without parents cannot have one.
    let mut report = new_record("problem_report");
    report.machine_id = Some(gorgar);
    report.parent_id = Some(part.id);
    let err = create_record(&pool, &workflows.kinds, &report)
        .await
        .unwrap_err();
    assert_eq!(violation(err), RuleViolation::NoParentsAllowed);

    // A part-request update must link a part request.
    let err = create_record(&pool, &workflows.kinds, &new_record("part_request_update"))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(
        violation(err),
        RuleViolation::ParentRequired { .. }
    ));
    assert!(message.contains("parent_required"), "{message}");
}

#[sqlx::test(migrations = "./migrations")]
async fn part_request_update_changes_its_parents_status_atomically(pool: PgPool) {
    let workflows = shipped_workflows();
    let part = create_record(&pool, &workflows.kinds, &new_record("part_request"))
        .await
        .unwrap();

    let mut update = new_record("part_request_update");
    update.parent_id = Some(part.id);
    update.fields.insert("new_status".into(), "ordered".into());
    create_record(&pool, &workflows.kinds, &update)
        .await
        .unwrap();
    let parent = get_record(&pool, part.id).await.unwrap().unwrap();
    assert_eq!(parent.status.as_deref(), Some("ordered"));
    assert_eq!(
        parent.fields.get("status").map(String::as_str),
        Some("ordered")
    );

    // An update without a new status leaves the status alone.
    let mut note = new_record("part_request_update");
    note.parent_id = Some(part.id);
    create_record(&pool, &workflows.kinds, &note).await.unwrap();
    assert_eq!(
        get_record(&pool, part.id)
            .await
            .unwrap()
            .unwrap()
            .status
            .as_deref(),
        Some("ordered")
    );

    // A bad status is refused and nothing is written: neither the update
    // nor a change to the parent.
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut bad = new_record("part_request_update");
    bad.parent_id = Some(part.id);
    bad.fields.insert("new_status".into(), "lost".into());
    let err = create_record(&pool, &workflows.kinds, &bad)
        .await
        .unwrap_err();
    assert!(
        matches!(violation(err), RuleViolation::NotAChoice { field, .. } if field == "new_status")
    );
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(
        get_record(&pool, part.id)
            .await
            .unwrap()
            .unwrap()
            .status
            .as_deref(),
        Some("ordered")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_failed_parent_update_rolls_back_the_child(pool: PgPool) {
    // The parent update runs after the child row is written; if the database
    // refuses it, the child must not survive. Force a failure by making the
    // parent's row reject updates.
    let workflows = shipped_workflows();
    let part = create_record(&pool, &workflows.kinds, &new_record("part_request"))
        .await
        .unwrap();
    sqlx::query(&format!(
        "ALTER TABLE records ADD CONSTRAINT frozen CHECK (id <> {} OR status = 'requested') NOT VALID",
        part.id
    ))
    .execute(&pool)
    .await
    .unwrap();
    let mut update = new_record("part_request_update");
    update.parent_id = Some(part.id);
    update.fields.insert("new_status".into(), "received".into());
    let err = create_record(&pool, &workflows.kinds, &update)
        .await
        .unwrap_err();
    assert!(matches!(err, RecordError::Database(_)), "{err:?}");
    let children: i64 = sqlx::query_scalar("SELECT count(*) FROM records WHERE parent_id = $1")
        .bind(part.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(children, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn bad_fields_are_refused_with_the_rule_named(pool: PgPool) {
    let workflows = shipped_workflows();
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let base = || {
        let mut report = new_record("problem_report");
        report.machine_id = Some(gorgar);
        report
    };

    let mut report = base();
    report.fields.insert("priority".into(), "urgent".into());
    let err = create_record(&pool, &workflows.kinds, &report)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("`priority` is `urgent`"), "{message}");
    assert!(
        message.contains("unplayable"),
        "lists the allowed values: {message}"
    );

    let mut report = base();
    report.fields.insert("colour".into(), "red".into());
    assert_eq!(
        violation(
            create_record(&pool, &workflows.kinds, &report)
                .await
                .unwrap_err()
        ),
        RuleViolation::UnknownField("colour".into())
    );

    let mut report = base();
    report.description = "x".repeat(4001);
    assert_eq!(
        violation(
            create_record(&pool, &workflows.kinds, &report)
                .await
                .unwrap_err()
        ),
        RuleViolation::DescriptionTooLong {
            max: 4000,
            actual: 4001
        }
    );

    let mut report = base();
    report.description = "   ".into();
    assert_eq!(
        violation(
            create_record(&pool, &workflows.kinds, &report)
                .await
                .unwrap_err()
        ),
        RuleViolation::DescriptionEmpty
    );

    let mut report = base();
    report.machine_id = Some(424_242);
    assert_eq!(
        violation(
            create_record(&pool, &workflows.kinds, &report)
                .await
                .unwrap_err()
        ),
        RuleViolation::MachineNotFound(424_242)
    );

    let mut report = base();
    report.author = Author::Maintainer(77);
    assert_eq!(
        violation(
            create_record(&pool, &workflows.kinds, &report)
                .await
                .unwrap_err()
        ),
        RuleViolation::MaintainerNotFound(77)
    );

    let mut unknown = base();
    unknown.kind = "bug_report".into();
    let message = create_record(&pool, &workflows.kinds, &unknown)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("unknown record kind `bug_report`"),
        "{message}"
    );
    assert!(
        message.contains("problem_report"),
        "lists the declared kinds: {message}"
    );

    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "no refused record was written");
}

#[sqlx::test(migrations = "./migrations")]
async fn sources_are_unique_per_record_and_message(pool: PgPool) {
    let workflows = shipped_workflows();
    let author = add_maintainer(&pool, "alice_m").await;

    // One message feeds two records; one record has two messages (one listed twice).
    let mut first = new_record("part_request");
    first.author = Author::Maintainer(author);
    first.sources = vec![source(11), source(12), source(11)];
    let first = create_record(&pool, &workflows.kinds, &first)
        .await
        .unwrap();
    let mut second = new_record("part_request");
    second.sources = vec![source(12)];
    let second = create_record(&pool, &workflows.kinds, &second)
        .await
        .unwrap();

    let saved = records_for_messages(&pool, &[11, 12, 13]).await.unwrap();
    let pairs: Vec<(u64, i64)> = saved.iter().map(|s| (s.message_id, s.record_id)).collect();
    assert_eq!(pairs, vec![(11, first.id), (12, first.id), (12, second.id)]);

    // The database itself refuses a duplicate pair.
    let duplicate = sqlx::query(
        "INSERT INTO record_sources (record_id, guild_id, channel_id, message_id) VALUES ($1, 1, 2, 11)",
    )
    .bind(first.id)
    .execute(&pool)
    .await
    .unwrap_err();
    let code = duplicate
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("23505"), "unique violation");
}

mod attribution {
    use flipfix_bot::catalog::attribution::{attribute, Attribution, DiscordPerson};
    use flipfix_bot::catalog::links::{self, LinkMethod};
    use flipfix_bot::records::Author;
    use sqlx::PgPool;

    use crate::support::add_maintainer;

    fn person(id: u64, username: &str, global_name: Option<&str>) -> DiscordPerson {
        DiscordPerson {
            user_id: id,
            username: username.into(),
            global_name: global_name.map(Into::into),
            nickname: None,
            roles: None,
        }
    }

    fn maintainer(id: i64) -> Attribution {
        Attribution {
            author: Author::Maintainer(id),
            hint: None,
        }
    }

    async fn set_display_name(pool: &PgPool, id: i64, name: &str) {
        sqlx::query("UPDATE maintainers SET display_name = $2 WHERE id = $1")
            .bind(id)
            .bind(name)
            .execute(pool)
            .await
            .unwrap();
    }

    async fn link_count(pool: &PgPool) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM discord_user_links")
            .fetch_one(pool)
            .await
            .unwrap()
    }

    #[sqlx::test(migrations = "./migrations")]
    async fn a_username_match_is_linked_by_user_id(pool: PgPool) {
        let bob = add_maintainer(&pool, "Bob_The_Fixer").await;
        let found = attribute(&pool, &person(1, "bob_the_fixer", None), None)
            .await
            .unwrap();
        assert_eq!(found, maintainer(bob));
        // Renamed on Discord later: the link by id still finds Bob.
        let found = attribute(&pool, &person(1, "robert_2026", None), None)
            .await
            .unwrap();
        assert_eq!(found, maintainer(bob));
        let all = links::list(&pool).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].discord_user_id, 1);
        assert_eq!(all[0].maintainer.id, bob);
        assert_eq!(all[0].method, LinkMethod::Username);
    }

    #[sqlx::test(migrations = "./migrations")]
    async fn a_display_name_never_links_and_the_reviewer_is_told(pool: PgPool) {
        let ruth = add_maintainer(&pool, "ruth").await;
        set_display_name(&pool, ruth, "Ruth Ng").await;
        // A visitor shown as the maintainer's display name.
        let found = attribute(&pool, &person(2, "visitor42", Some("ruth ng")), None)
            .await
            .unwrap();
        assert_eq!(
            found,
            Attribution {
                author: Author::Name("@visitor42".into()),
                hint: Some(
                    "Shown as ruth ng (@visitor42); not linked — an admin can link with /flipfix link"
                        .into()
                ),
            }
        );
        // A visitor whose server nickname is the maintainer's username.
        let nicknamed = DiscordPerson {
            nickname: Some("Ruth".into()),
            ..person(3, "another_visitor", None)
        };
        let found = attribute(&pool, &nicknamed, None).await.unwrap();
        assert_eq!(found.author, Author::Name("@another_visitor".into()));
        assert!(found.hint.is_some());
        assert_eq!(link_count(&pool).await, 0, "nobody was linked");

        // A stranger keeps their own display name, without a hint.
        let found = attribute(&pool, &person(4, "sarahc_plays", Some("Sarah Chen")), None)
            .await
            .unwrap();
        assert_eq!(
            found,
            Attribution {
                author: Author::Name("Sarah Chen".into()),
                hint: None
            }
        );
        // Only the exact username links.
        let found = attribute(&pool, &person(5, "RUTH", Some("Someone")), None)
            .await
            .unwrap();
        assert_eq!(found, maintainer(ruth));
        assert_eq!(link_count(&pool).await, 1);
    }

    #[sqlx::test(migrations = "./migrations")]
    async fn a_conflicting_link_never_crashes(pool: PgPool) {
        let bob = add_maintainer(&pool, "bob").await;
        links::link(&pool, 10, "bob", "bob", "admin").await.unwrap();
        // Another Discord account now called "bob": not linked, not Bob,
        // and named by the handle so the record cannot pass for Bob.
        let found = attribute(&pool, &person(11, "bob", Some("Other Bob")), None)
            .await
            .unwrap();
        assert_eq!(found.author, Author::Name("@bob".into()));
        assert!(found.hint.is_some());
        assert_eq!(
            links::maintainer_for(&pool, 10)
                .await
                .unwrap()
                .map(|m| m.id),
            Some(bob)
        );
        let all = links::list(&pool).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].method, LinkMethod::Admin);
    }
}
