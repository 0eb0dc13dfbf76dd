//! The S3 path against a real local S3-compatible server: moto's server
//! mode (`moto_server`, from PyPI's `moto[server]`). `scripts/test` starts
//! one and exports `FLIPFIX_TEST_S3_ENDPOINT`; without it the test starts
//! its own on a free loopback port. Without moto the test fails naming it
//! (outside CI `scripts/test` leaves it out, reported as skipped).

use std::process::Stdio;
use std::sync::Arc;

use flipfix_bot::app::App;
use flipfix_bot::config::secrets::MediaS3;
use flipfix_bot::config::{Secret, Secrets, Settings};
use flipfix_bot::media::{store, BlobStore, CopyStep, MediaWorker, WorkerConfig};
use flipfix_bot::records::NewRecord;
use flipfix_bot::web::{router, WebState};
use sqlx::PgPool;

use super::media::photo;
use super::notify::Env;
use crate::support::fake_cdn::{FakeCdn, Mode, PNG};
use crate::support::tools::{missing, pretended_missing, require, Tool};
use crate::support::{new_record, shipped_workflows};

/// A running moto server: the one `scripts/test` started, or our own
/// (killed on drop).
struct Moto {
    endpoint: String,
    child: Option<tokio::process::Child>,
}

impl Moto {
    async fn start() -> Self {
        if pretended_missing(Tool::Moto) {
            missing(Tool::Moto, "FLIPFIX_TEST_WITHOUT names it");
        }
        if let Ok(endpoint) = std::env::var("FLIPFIX_TEST_S3_ENDPOINT") {
            return Self {
                endpoint,
                child: None,
            };
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let moto_server = require(Tool::Moto, &["moto_server"]);
        let child = tokio::process::Command::new(moto_server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| missing(Tool::Moto, &format!("moto_server: {err}")));
        let endpoint = format!("http://127.0.0.1:{port}");
        // Ready when it answers; it needs a few seconds on a loaded machine.
        for _ in 0..300 {
            if reqwest::get(&endpoint).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Self {
            endpoint,
            child: Some(child),
        }
    }

    /// Creates a bucket (moto accepts unsigned requests).
    async fn bucket(&self, name: &str) {
        let response = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .expect("moto answers");
        assert!(response.status().is_success(), "{}", response.status());
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn the_s3_path_stores_and_serves_the_same_photo(pool: PgPool) {
    let moto = Moto::start().await;
    let bucket = format!("flipfix-{}", fastrand::u32(..));
    moto.bucket(&bucket).await;
    let s3 = MediaS3 {
        url: format!("s3://{bucket}/team"),
        endpoint: Some(moto.endpoint.clone()),
        region: Some("us-east-1".into()),
        access_key_id: Some(Secret::new("testing")),
        secret_access_key: Some(Secret::new("testing")),
    };
    let env = Env::new(pool.clone()).await;
    let cdn = FakeCdn::start().await;
    let url = cdn.add("coil.png", "image/png", PNG);
    let record = env
        .create(NewRecord {
            media: vec![photo(&url, "coil.png", PNG.len() as i64)],
            ..new_record("problem_report")
        })
        .await;
    let worker = MediaWorker::new(
        pool.clone(),
        Settings::new(pool.clone(), true),
        WorkerConfig {
            allow_loopback: true,
            blobs: BlobStore::new(Some(s3.clone())),
            ..Default::default()
        },
    );
    let step = worker.step(crate::support::time::real_now()).await.unwrap();
    assert!(matches!(step, CopyStep::Stored { .. }), "{step:?}");
    cdn.set_mode(Mode::Expired);
    let item = &store::for_record(&pool, record).await.unwrap()[0];
    let (storage, in_postgres): (String, i64) = sqlx::query_as(
        "SELECT storage, (SELECT count(*) FROM media_blobs) FROM record_media WHERE id = $1",
    )
    .bind(item.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (storage.as_str(), in_postgres),
        ("s3", 0),
        "in the bucket, not in Postgres"
    );

    // A fresh client reads it back from the bucket (moto keeps objects
    // private: unsigned reads are refused).
    let fresh = BlobStore::new(Some(s3.clone()));
    assert_eq!(
        fresh.get(&pool, item.id).await.unwrap().as_deref(),
        Some(PNG)
    );

    // `doctor`'s probe writes and deletes an object in the same bucket.
    let probed = fresh.probe(&pool).await.unwrap();
    assert!(
        probed.starts_with("photos are copied to the bucket"),
        "{probed}"
    );

    // And served by the pages from there.
    let secrets = Secrets {
        media_s3: Some(s3),
        ..Secrets::default()
    };
    let app = App::new(
        pool.clone(),
        crate::support::run_config(secrets),
        shipped_workflows(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let pages = router(WebState::new(Arc::clone(&app)));
    tokio::spawn(async move { axum::serve(listener, pages).await });
    let served = reqwest::get(format!("http://{addr}/media/{}", item.id))
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);
}
