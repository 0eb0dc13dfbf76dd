//! The bench's data: 100,000 records, 2,000 of them on one machine, seeded
//! in a few `INSERT … SELECT generate_series` statements.

use sqlx::PgPool;

pub const RECORDS: i64 = 100_000;

/// Machine 1 (`eight-ball-deluxe`) is the busy one; 49 others share the
/// rest. Half of its records are logs under problem reports; every tenth
/// record has a photo; every 997th mentions "zanzibar" (the rare word).
pub async fn seed(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO machines (id, slug, name) SELECT m, \
         CASE WHEN m = 1 THEN 'eight-ball-deluxe' ELSE 'machine-' || m END, \
         CASE WHEN m = 1 THEN 'Eight Ball Deluxe' ELSE 'Machine ' || m END \
         FROM generate_series(1, 50) m",
    )
    .execute(pool)
    .await?;
    // Records come in pairs (even g, odd g): a problem report (or every
    // third, a part request) and a log entry under it. Pairs with
    // (g / 2) % 50 = 0 are on machine 1: 1,000 pairs, 2,000 records.
    sqlx::query(
        "INSERT INTO records (id, kind, machine_id, parent_id, status, description, author_name, occurred_at, created_via) \
         SELECT g, \
           CASE WHEN g % 2 = 1 THEN 'log_entry' WHEN g % 6 = 0 THEN 'part_request' ELSE 'problem_report' END, \
           CASE WHEN (g / 2) % 50 = 0 THEN 1 ELSE 2 + (g / 2) % 49 END, \
           CASE WHEN g % 2 = 1 AND g > 1 THEN g - 1 END, \
           CASE WHEN g % 2 = 0 THEN (ARRAY['open', 'closed'])[1 + (g / 2) % 2] END, \
           (ARRAY['Left flipper weak', 'Ball stuck in the saucer', 'Replaced the coil stop', \
                  'Display flickers', 'Cleaned the playfield', 'Rubber rings worn', \
                  'Switch matrix fault in column 3', 'Ordered a new flipper coil', \
                  'Pop bumper stays on', 'Adjusted the tilt bob'])[1 + g % 10] \
             || ' (note ' || g || ')' || CASE WHEN g % 997 = 0 THEN ' zanzibar' ELSE '' END, \
           (ARRAY['Ruth', 'Bob', 'Ana', 'Kenji'])[1 + g % 4], \
           now() - g * interval '7 minutes', 'cli' \
         FROM generate_series(1, $1) g",
    )
    .bind(RECORDS)
    .execute(pool)
    .await?;
    sqlx::query("SELECT setval('records_id_seq', $1)")
        .bind(RECORDS)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO record_media (record_id, url, filename, content_type) \
         SELECT g, 'https://cdn.discordapp.com/attachments/1/' || g || '/photo.jpg', 'photo.jpg', 'image/jpeg' \
         FROM generate_series(10, $1, 10) g",
    )
    .bind(RECORDS)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO record_sources (record_id, guild_id, channel_id, message_id) \
         SELECT g, 1, 2, 1000000 + g FROM generate_series(1, $1) g",
    )
    .bind(RECORDS)
    .execute(pool)
    .await?;
    // As a database that has lived a while: statistics current and the
    // visibility map set (index-only scans need it; a fresh bulk load has
    // none until autovacuum comes by, which would make the first minutes
    // of the bench measure a different plan than the rest).
    sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    // The load's writes flushed now rather than by a checkpoint during the
    // measurement (needs a superuser or pg_checkpoint; skipped without).
    if let Err(err) = sqlx::query("CHECKPOINT").execute(pool).await {
        println!("no CHECKPOINT after seeding ({err}); figures may be noisier");
    }
    Ok(())
}
