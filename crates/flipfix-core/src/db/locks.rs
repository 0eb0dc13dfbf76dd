//! Postgres session advisory locks: which processes are alive, and which one
//! holds the Discord gateway. Both live on one dedicated connection (not
//! from the pool), so they end together when the process dies, even by
//! kill -9: Postgres releases a session's locks when its connection closes.

use sqlx::{Connection as _, PgConnection, PgPool};

/// Lock class (first key) of "process `key` is alive".
pub(crate) const INSTANCE_CLASS: i32 = 0x4646_5801;
/// Lock class (first key) of "this process holds the Discord gateway".
pub const LEADER_CLASS: i32 = 0x4646_5802;

/// SQL that is true while the process whose instance key is in the column
/// `{column}` holds its liveness lock (in this database).
pub(crate) fn alive_sql(column: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM pg_locks l
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                   AND l.classid::int8 = {INSTANCE_CLASS} AND l.objid::int8 = {column})"
    )
}

/// This process's dedicated connection, holding its liveness lock and, when
/// it leads, the gateway lock.
#[derive(Debug)]
pub struct Liveness {
    conn: PgConnection,
    key: i32,
    leading: bool,
}

impl Liveness {
    /// Opens the dedicated connection and takes a fresh instance key.
    pub async fn acquire(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let options = pool.connect_options();
        let mut conn = PgConnection::connect_with(&options).await?;
        // Keys are positive so they read back unchanged from pg_locks' oids.
        loop {
            let key = fastrand::i32(1..=i32::MAX);
            let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                .bind(INSTANCE_CLASS)
                .bind(key)
                .fetch_one(&mut conn)
                .await?;
            if taken {
                return Ok(Self {
                    conn,
                    key,
                    leading: false,
                });
            }
        }
    }

    /// This process's instance key (stored with the work it owns).
    pub fn key(&self) -> i32 {
        self.key
    }

    /// Takes the gateway lock if no live process holds it.
    pub async fn try_lead(&mut self) -> Result<bool, sqlx::Error> {
        if self.leading {
            return Ok(true);
        }
        self.leading = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, 0)")
            .bind(LEADER_CLASS)
            .fetch_one(&mut self.conn)
            .await?;
        Ok(self.leading)
    }

    /// Fails once the connection (and with it every lock) is gone.
    pub async fn ping(&mut self) -> Result<(), sqlx::Error> {
        self.conn.ping().await
    }

    /// Closes the connection, releasing the locks at once (a standby takes
    /// over without waiting for Postgres to notice a dead socket).
    pub async fn release(mut self) {
        // Closing alone returns before the server's backend has exited and
        // dropped its locks; unlocking first makes the release visible to
        // every other session when this returns.
        if let Err(err) = sqlx::query("SELECT pg_advisory_unlock_all()")
            .execute(&mut self.conn)
            .await
        {
            tracing::debug!(error = %err, "unlocking before closing the lock connection");
        }
        if let Err(err) = self.conn.close().await {
            tracing::debug!(error = %err, "closing the lock connection");
        }
    }
}
