//! The bot's own pool (`db::connect`) on a real server: a connection whose
//! backend went away while it sat idle is never handed out; the pool pings
//! it, drops it and opens another, so the next page or job step works.

use std::time::Duration;

use flipfix_bot::config::Secret;
use sqlx::PgPool;

use crate::support::process::database_url;

async fn backend_pid(pool: &PgPool) -> i32 {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(pool)
        .await
        .expect("a query on the bot's pool")
}

#[sqlx::test(migrations = "./migrations")]
async fn a_connection_that_died_while_idle_is_replaced_not_handed_out(pool: PgPool) {
    let bot_pool = flipfix_bot::db::connect(&Secret::new(database_url(&pool)))
        .await
        .expect("connect");
    let first = backend_pid(&bot_pool).await;
    assert_eq!(bot_pool.size(), 1, "one connection so far");

    // Its backend ends (a server restart, an admin, a network cut).
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(ended);
    // Idle past the window in which a connection is trusted without a ping.
    tokio::time::sleep(Duration::from_millis(700)).await;

    let second = backend_pid(&bot_pool).await;
    assert_ne!(second, first, "a new connection, not the dead one");
    assert_eq!(bot_pool.size(), 1, "the dead one was closed");
    bot_pool.close().await;
}
