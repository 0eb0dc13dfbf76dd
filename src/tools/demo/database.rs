//! The demo's own database: a scratch database on the server `DATABASE_URL`
//! names, or an embedded cluster in a directory of its own. Either is made
//! afresh on every run and removed at the end; the real one is never
//! touched.

use std::path::PathBuf;

use anyhow::Context as _;
use sqlx::{Connection as _, PgPool};

use crate::db::{self, embedded::EmbeddedPostgres};

/// The demo's scratch database on a `DATABASE_URL` server.
pub const SCRATCH: &str = "flipfix_demo";

pub struct DemoDatabase {
    pub pool: PgPool,
    place: Place,
}

/// A scratch database's name (a plain identifier, fixed in the code).
type ScratchName = &'static str;

enum Place {
    Scratch {
        server: String,
        name: ScratchName,
    },
    Embedded {
        cluster: EmbeddedPostgres,
        dir: PathBuf,
    },
}

impl DemoDatabase {
    /// Creates the database (dropping the last run's) and migrates it: on
    /// the `DATABASE_URL` server as `scratch`, else embedded in `dir`.
    pub async fn create(
        database_url: Option<&str>,
        dir: PathBuf,
        scratch: ScratchName,
    ) -> anyhow::Result<Self> {
        let (url, place) = match database_url {
            Some(server) => {
                let mut conn = sqlx::PgConnection::connect(server)
                    .await
                    .context("cannot connect to DATABASE_URL for the demo's scratch database")?;
                drop_scratch(&mut conn, scratch).await?;
                sqlx::query(&format!("CREATE DATABASE {scratch}"))
                    .execute(&mut conn)
                    .await
                    .context("cannot create the demo's scratch database")?;
                conn.close().await.ok();
                let mut url = url::Url::parse(server).context("DATABASE_URL is not a URL")?;
                url.set_path(&format!("/{scratch}"));
                (
                    url.to_string(),
                    Place::Scratch {
                        server: server.to_string(),
                        name: scratch,
                    },
                )
            }
            None => {
                remove_dir(&dir)?;
                let data_dir = dir.join("pg");
                let cluster = EmbeddedPostgres::start(&data_dir)
                    .await
                    .context("the demo's embedded PostgreSQL could not start")?;
                (
                    cluster.url().expose().to_string(),
                    Place::Embedded { cluster, dir },
                )
            }
        };
        let pool = db::connect(&crate::config::Secret::new(url)).await?;
        db::migrate(&pool).await?;
        Ok(Self { pool, place })
    }

    /// Closes the pool and removes the database.
    pub async fn remove(self) {
        self.pool.close().await;
        let removed = match self.place {
            Place::Scratch { server, name } => {
                async {
                    let mut conn = sqlx::PgConnection::connect(&server).await?;
                    drop_scratch(&mut conn, name).await
                }
                .await
            }
            Place::Embedded { cluster, dir } => {
                if let Err(err) = cluster.stop().await {
                    tracing::warn!(error = %err, "could not stop the demo's embedded PostgreSQL cleanly");
                }
                remove_dir(&dir)
            }
        };
        if let Err(err) = removed {
            tracing::warn!(error = %format!("{err:#}"), "could not remove the demo's database; the next run removes it");
        }
    }
}

async fn drop_scratch(conn: &mut sqlx::PgConnection, name: ScratchName) -> anyhow::Result<()> {
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(conn)
        .await
        .context("cannot drop the last demo's scratch database")?;
    Ok(())
}

fn remove_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err).with_context(|| format!("cannot remove {}", dir.display())),
    }
}
