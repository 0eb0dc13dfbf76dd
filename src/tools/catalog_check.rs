//! The part of `flipfix-bot check` that reads the database: machines whose
//! stored status the workflows do not declare. Only when `DATABASE_URL` is
//! set (`check` never starts the embedded cluster), never migrating, and a
//! database that cannot be read is said in one line, not a failure: `check`
//! judges the files, and these lines are about the data.

use crate::config::Secrets;
use crate::workflow::MachineStatuses;

/// The line `check` prints about the machines' statuses, if any.
pub async fn machine_statuses(secrets: &Secrets, statuses: &MachineStatuses) -> Option<String> {
    let url = secrets.database_url.as_ref()?;
    let undeclared = async {
        let pool = crate::db::connect(url)
            .await
            .map_err(|err| err.to_string())?;
        let found = crate::catalog::machines::undeclared_statuses(&pool, statuses)
            .await
            .map_err(|err| format!("cannot read the machines: {err}"));
        pool.close().await;
        found
    };
    match undeclared.await {
        Ok(machines) => crate::catalog::machines::undeclared_sentence(&machines, statuses),
        Err(err) => Some(format!(
            "database: the machines' statuses were not checked ({err})"
        )),
    }
}
