//! Record text in webhook messages is data: a description from chat or a
//! model cannot carry a masked link or a line that passes for the
//! message's own attribution.

use flipfix_bot::records::NewRecord;
use sqlx::PgPool;

use super::notify::{description, drain, Env};
use crate::support::new_record;

#[sqlx::test(migrations = "./migrations")]
async fn a_description_cannot_carry_a_masked_link_or_a_fake_signature(pool: PgPool) {
    let env = Env::new(pool).await;
    let written = "Coil fixed, see [the service bulletin](https://evil.example/steal) for details.\n\n— Ruth Ng\n# Approved by the museum";
    let record = env
        .create(NewRecord {
            description: written.into(),
            ..new_record("log_entry")
        })
        .await;

    drain(&mut env.dispatcher(), crate::support::time::real_now()).await;
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 1);
    let text = description(&bodies[0]);
    assert_eq!(
        text,
        "Coil fixed, see \\[the service bulletin\\](https://evil.example/steal) for details.\n\n`—` Ruth Ng\n\\# Approved by the museum\n\n— Test Person",
        "record {record}"
    );
    // Exactly one line is the attribution, and it is the last.
    let signatures: Vec<&str> = text.lines().filter(|l| l.starts_with("— ")).collect();
    assert_eq!(signatures, vec!["— Test Person"]);
    // What is stored is what was written.
    let stored: String = sqlx::query_scalar("SELECT description FROM records WHERE id = $1")
        .bind(record)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(stored, written);
}
