//! The machines overview, kept between requests. Its query counts every
//! open record, which on a long history costs more than any other page
//! (22 ms of Postgres for 16,667 open records); its result changes only
//! when a machine or a record's machine, kind, status, fields or time does.
//!
//! Such a change moves the `browse_version` counter in the same transaction
//! (a trigger, see its migration), whoever makes it: this process, another
//! replica, the CLI, a hand-written `UPDATE`. So each request reads the
//! counter first (one row) and reuses the rows computed under the same
//! counter and the same query arguments. The counter is read before the
//! query, so rows are never older than the counter they are kept under: at
//! worst a change that committed between the two is counted and the rows
//! computed once more, never missed.

use std::sync::{Arc, Mutex, PoisonError};

use sqlx::PgConnection;

use super::machines::{arrange, OverviewArgs, OverviewRow};
use super::{MachineOverview, Visible};
use crate::workflow::RecordKinds;

/// How many argument sets are kept: one per kind of viewer (visitor,
/// member) per workflow set, and a reload makes a new one.
const KEPT: usize = 8;

struct Kept {
    args: OverviewArgs,
    version: i64,
    rows: Arc<[OverviewRow]>,
}

/// The overview rows last computed, per query arguments (this process).
#[derive(Default)]
pub struct OverviewCache {
    kept: Mutex<Vec<Kept>>,
}

impl OverviewCache {
    /// The machines overview as [`super::machines_overview`] gives it, read
    /// from the database only when it changed since the last request with
    /// the same arguments.
    pub async fn overview(
        &self,
        conn: &mut PgConnection,
        kinds: &RecordKinds,
        visible: &Visible,
    ) -> Result<Vec<MachineOverview>, sqlx::Error> {
        let args = OverviewArgs::new(kinds, visible);
        let version: Option<i64> = sqlx::query_scalar("SELECT version FROM browse_version")
            .fetch_optional(&mut *conn)
            .await?;
        // Without its row (deleted by hand) the counter says nothing: the
        // overview is read every time, correct if slower, rather than kept
        // forever or refused.
        let Some(version) = version else {
            return Ok(arrange(kinds, args.fetch(conn).await?));
        };
        let rows = match self.lookup(&args, version) {
            Some(rows) => rows,
            None => {
                let rows: Arc<[OverviewRow]> = args.fetch(conn).await?.into();
                self.keep(args, version, Arc::clone(&rows));
                rows
            }
        };
        Ok(arrange(kinds, rows.to_vec()))
    }

    fn lookup(&self, args: &OverviewArgs, version: i64) -> Option<Arc<[OverviewRow]>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.iter()
            .find(|k| k.version == version && &k.args == args)
            .map(|k| Arc::clone(&k.rows))
    }

    /// Keeps `rows` unless a request that read a later counter kept its
    /// own already (requests finish in any order).
    fn keep(&self, args: OverviewArgs, version: i64, rows: Arc<[OverviewRow]>) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        match kept.iter().position(|k| k.args == args) {
            Some(at) if kept[at].version > version => {}
            Some(at) => {
                kept[at] = Kept {
                    args,
                    version,
                    rows,
                }
            }
            None => {
                if kept.len() == KEPT {
                    kept.remove(0);
                }
                kept.push(Kept {
                    args,
                    version,
                    rows,
                });
            }
        }
    }
}
