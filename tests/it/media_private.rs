//! docs/operating.md "Media": a members-only photo is served to a member with
//! `Cache-Control: private` (a shared cache never keeps it), and a public
//! one as public.

use flipfix_bot::media::CopyStep;
use flipfix_bot::records::{create_record, NewRecord};
use sqlx::PgPool;

use super::media::{media_of, photo, worker};
use crate::support::fake_cdn::{FakeCdn, PNG};
use crate::support::fake_discord::FakeUser;
use crate::support::web::{Browser, Site};
use crate::support::{new_record, shipped_workflows};

const RUTH: u64 = 730_000_000_000_000_001;

#[sqlx::test(migrations = "./migrations")]
async fn a_members_only_photo_is_served_to_a_member_as_private(pool: PgPool) {
    let cdn = FakeCdn::start().await;
    let workflows = shipped_workflows();
    let gorgar = crate::support::add_machine(&pool, "gorgar", "Gorgar").await;
    let mut ids = Vec::new();
    // Part requests are `web: members` in the shipped kinds, problem
    // reports public.
    for kind in ["part_request", "problem_report"] {
        let url = cdn.add(&format!("{kind}.png"), "image/png", PNG);
        let record = NewRecord {
            media: vec![photo(&url, &format!("{kind}.png"), PNG.len() as i64)],
            machine_id: Some(gorgar),
            ..new_record(kind)
        };
        let record = create_record(&pool, &workflows.kinds, &record)
            .await
            .expect("record");
        let step = worker(&pool)
            .step(crate::support::time::real_now())
            .await
            .unwrap();
        assert!(matches!(step, CopyStep::Stored { .. }), "{step:?}");
        ids.push(media_of(&pool, record.id).await[0].id);
    }
    let site = Site::start(pool.clone(), |_| {}).await;
    site.fake.add_member(RUTH);
    let mut browser = Browser::new();
    let members_only = site.url(&format!("/media/{}", ids[0]));
    assert_eq!(browser.get(&members_only).await.status, 404, "a visitor");
    browser
        .sign_in(&site, &FakeUser::member(RUTH, "ruth"), "/")
        .await;
    let page = browser.get(&members_only).await;
    assert_eq!(page.status, 200, "a member");
    assert_eq!(page.header("cache-control"), "private, no-store");
    // Whatever a signed-in member is sent is never kept by a shared cache;
    // a public photo is cacheable only for a visitor, and for an hour.
    let public = site.url(&format!("/media/{}", ids[1]));
    assert_eq!(
        browser.get(&public).await.header("cache-control"),
        "private, no-store"
    );
    let visitor = Browser::new().get(&public).await;
    assert_eq!(visitor.status, 200);
    assert_eq!(visitor.header("cache-control"), "public, max-age=3600");
    site.fake.assert_spec_clean();
}
