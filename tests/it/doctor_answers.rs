//! The doctor table of docs/operating.md "Troubleshooting", row by row
//! where doctor.rs does not already cover it: the token's format, the model
//! key's 403 and credit answers, an unreachable `PUBLIC_BASE_URL` and media
//! storage that cannot be written.

use sqlx::PgPool;

use super::doctor::{good_model, line, Setup};
use crate::support::anthropic::{FakeAnthropic, Reply};

#[sqlx::test(migrations = "./migrations")]
async fn a_token_with_a_prefix_spaces_or_quotes_is_refused_without_being_shown(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    let model = good_model().await;
    for (token, says) in [
        ("Bot MTAwMDAw.fake.token-for-tests", "without the prefix"),
        ("MTAwMDAw.fake token", "spaces or quotes"),
        ("\"MTAwMDAw.fake.token\"", "spaces or quotes"),
    ] {
        let (success, output) = setup
            .doctor_with(&pool, &model, &["--quick"], &[("DISCORD_TOKEN", token)])
            .await;
        assert!(!success, "{output}");
        let found = line(&output, "❌ DISCORD_TOKEN:");
        assert!(found.contains(says), "{token}: {found}");
        assert!(!output.contains("fake.token"), "never printed: {output}");
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_model_key_without_permission_or_credit_is_named(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    let forbidden = FakeAnthropic::start(vec![Reply::error(403, "permission_error", None)]).await;
    let (success, output) = setup.doctor(&pool, &forbidden, &[]).await;
    assert!(!success, "{output}");
    let found = line(&output, "❌ ANTHROPIC_API_KEY:");
    assert!(found.contains("not allowed (403"), "{found}");

    let mut broke = Reply::error(400, "invalid_request_error", None);
    if let Reply::Json { body, .. } = &mut broke {
        body["error"]["message"] =
            serde_json::json!("Your credit balance is too low to access the Anthropic API.");
    }
    let broke = FakeAnthropic::start(vec![broke]).await;
    let (success, output) = setup.doctor(&pool, &broke, &[]).await;
    assert!(!success, "{output}");
    let found = line(&output, "❌ ANTHROPIC_API_KEY:");
    assert!(
        found.contains("add credit in the Anthropic console"),
        "{found}"
    );
    setup.discord.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn an_unreachable_public_base_url_and_unwritable_media_storage_are_failures(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    // A port nothing listens on (bound, then closed).
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let (success, output) = setup
        .doctor_with(
            &pool,
            &good_model().await,
            &[],
            &[
                ("PUBLIC_BASE_URL", &closed),
                ("MEDIA_S3_URL", "s3://nowhere/team"),
                ("MEDIA_S3_ENDPOINT", &closed),
                ("MEDIA_S3_REGION", "us-east-1"),
                ("MEDIA_S3_ACCESS_KEY_ID", "testing"),
                ("MEDIA_S3_SECRET_ACCESS_KEY", "testing"),
            ],
        )
        .await;
    assert!(!success, "{output}");
    line(&output, "❌ PUBLIC_BASE_URL:");
    line(&output, "❌ media storage:");
    assert!(
        !output.contains("testing"),
        "credentials never printed: {output}"
    );
    setup.discord.assert_spec_clean();
}
