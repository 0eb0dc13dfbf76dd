//! What a model API call will not do, for both providers: follow a redirect
//! (it could carry the key to another host), or send a key over plain
//! http:// to anything but a loopback address.

use std::time::Duration;

use flipfix_bot::analysis::AnalysisError;
use flipfix_bot::llm::{LlmClient, LlmError};
use sqlx::PgPool;

use crate::support::model_api::{quick_retries, reference_input, Fake, Provider, Say};

crate::for_both_providers!(
    a_redirect_is_an_error_naming_the_host_and_is_not_followed,
    a_key_is_not_sent_over_plain_http_to_a_remote_host,
);

async fn analyse(
    pool: &PgPool,
    fake: &Fake,
    client: &LlmClient,
) -> Result<flipfix_bot::analysis::Analysis, AnalysisError> {
    crate::model_provider::analyse(pool, fake, client, "").await
}

async fn a_redirect_is_an_error_naming_the_host_and_is_not_followed(
    pool: PgPool,
    provider: Provider,
) {
    // Where a redirect would lead: a working API that must never be asked.
    let elsewhere = Fake::start(
        provider,
        vec![Say::Tool(reference_input("no_maintenance_social"))],
    )
    .await;
    let to = format!(
        "{}/moved",
        elsewhere.base_url().replace("127.0.0.1", "localhost")
    );
    let fake = Fake::start(provider, vec![Say::Redirect(to)]).await;
    let client = fake.client(Duration::from_secs(5));
    let err = analyse(&pool, &fake, &client).await.unwrap_err();
    let host = url::Url::parse(fake.base_url()).unwrap();
    let host = format!("127.0.0.1:{}", host.port().unwrap());
    match &err {
        AnalysisError::Llm(LlmError::Redirected {
            status: 307,
            host: named,
            to,
        }) => {
            assert_eq!(named, &host);
            assert!(to.starts_with("localhost:"), "{to}");
        }
        other => panic!("expected a redirect error, got {other}"),
    }
    assert!(
        err.to_string().contains(&format!(
            "the model API at {host} answered with a redirect (HTTP 307)"
        )),
        "{err}"
    );
    assert_eq!(
        fake.bodies().len(),
        1,
        "asked once: a redirect is not retried"
    );
    assert!(
        elsewhere.bodies().is_empty(),
        "the redirect was not followed"
    );
    let outcomes: Vec<String> = sqlx::query_scalar("SELECT outcome FROM llm_usage")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec!["HTTP 307".to_string()],
        "the attempt is accounted"
    );
}

async fn a_key_is_not_sent_over_plain_http_to_a_remote_host(pool: PgPool, provider: Provider) {
    let fake = Fake::start(
        provider,
        vec![Say::Tool(reference_input("no_maintenance_social"))],
    )
    .await;
    // A documentation address (RFC 5737): not loopback, nothing listens.
    let remote = "http://192.0.2.1:9";
    let workflows = fake.workflows("");
    let menu = flipfix_bot::analysis::menu(&workflows).unwrap();
    let provider_config = match &menu.provider {
        flipfix_bot::workflow::ModelProvider::OpenAiCompatible { .. } => {
            flipfix_bot::workflow::ModelProvider::OpenAiCompatible {
                base_url: format!("{remote}/v1"),
            }
        }
        other => other.clone(),
    };
    let client = LlmClient::new(
        &provider_config,
        remote,
        Duration::from_secs(5),
        quick_retries(),
    )
    .unwrap();
    let err = analyse(&pool, &fake, &client).await.unwrap_err();
    let key = match provider {
        Provider::Anthropic => "ANTHROPIC_API_KEY",
        Provider::OpenAiCompatible => "OPENAI_API_KEY",
    };
    assert_eq!(
        err.to_string(),
        format!("{key} is not sent over plain http:// to 192.0.2.1:9: use an https:// base URL (http:// is for loopback addresses only)")
    );
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM llm_usage")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 0, "refused before any request");
    // The same key over http:// to loopback (every fake) is sent.
    let local = fake.client(Duration::from_secs(5));
    analyse(&pool, &fake, &local).await.unwrap();
    assert_eq!(fake.bodies().len(), 1);
}
