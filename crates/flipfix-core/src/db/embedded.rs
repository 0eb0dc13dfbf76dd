//! A private PostgreSQL cluster for running without `DATABASE_URL`: created
//! with the system's `initdb` under a data directory that persists between
//! runs, started listening on a Unix socket only, stopped on shutdown.
//!
//! PostgreSQL refuses to run as root. When the bot runs as root (containers,
//! CI), the cluster runs as the system's `postgres` user, which then owns the
//! data directory. Nothing the bot opens as root is inside that directory:
//! a `postgres` process could put a symlink there and redirect the write.
//! Beside the data directory (in its parent, the bot's) are:
//! - `<data dir>.password`, the generated password (see [`write_private`]);
//! - `<data dir>.log`, the server's output, opened without following a link;
//! - `<data dir>.run/`, the socket directory (mode 0700, owned by the user
//!   the server runs as): no TCP port at all, so none can be taken between
//!   choosing it and the server binding it, and no other local user can
//!   even reach the socket.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::config::Secret;

pub use super::pg_binaries::{choose_bin_dir, cluster_version, find_bin_dir};

const SUPERUSER: &str = "flipfix";
/// The socket's "port" (its file name, `.s.PGSQL.5432`): the directory is
/// private, so the standard number never collides.
const SOCKET_PORT: u16 = 5432;
/// Unix socket paths are limited to 107 bytes on Linux.
const MAX_SOCKET_PATH: usize = 100;
const DATABASE: &str = "flipfix";
const START_TIMEOUT_SECS: u32 = 60;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found on PATH or under \
         /usr/lib/postgresql/*/bin; install them (Debian/Ubuntu: apt-get install postgresql) \
         or set DATABASE_URL to an existing database"
    )]
    NoBinaries,
    #[error("running as root, but there is no unprivileged `postgres` user to run the embedded cluster as; create one or set DATABASE_URL")]
    NoUnprivilegedUser,
    #[error("{action} failed: {detail}")]
    Command {
        action: &'static str,
        detail: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the embedded cluster in {0} exists but its password file is missing; delete the directory to start afresh, or set DATABASE_URL")]
    MissingPassword(PathBuf),
    #[error("the embedded cluster in {data_dir} was created by PostgreSQL {needed}, and no PostgreSQL {needed} server binaries were found (on PATH or under /usr/lib/postgresql/{needed}/bin); install them (Debian/Ubuntu: apt-get install postgresql-{needed}), or upgrade the cluster with pg_upgrade")]
    WrongVersion { needed: u32, data_dir: PathBuf },
    #[error("could not read random bytes from the operating system: {0}")]
    Random(String),
    #[error("the embedded cluster's socket path {0} is longer than Unix sockets allow; use a shorter FLIPFIX_DATA_DIR, or set DATABASE_URL")]
    SocketPathTooLong(PathBuf),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedError + '_ {
    move |source| EmbeddedError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A running embedded cluster. Call [`EmbeddedPostgres::stop`] on shutdown;
/// dropping it without that stops it too, synchronously.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    run_as: Option<(u32, u32)>,
    /// The directory holding the server's socket.
    socket_dir: PathBuf,
    password: Secret,
    /// False when the cluster was already running (another process of ours
    /// started it); then it is left running.
    owned: bool,
    stopped: bool,
    /// The server process this one started, reaped after it stops.
    server: Option<std::process::Child>,
}

impl EmbeddedPostgres {
    /// Creates the cluster if needed and starts it.
    pub async fn start(data_dir: &Path) -> Result<Self, EmbeddedError> {
        let data_dir = absolute(data_dir)?;
        let bin_dir = find_bin_dir(cluster_version(&data_dir), &data_dir)?;
        let run_as = if running_as_root() {
            Some(unprivileged_user().ok_or(EmbeddedError::NoUnprivilegedUser)?)
        } else {
            None
        };
        let password_file = password_file(&data_dir);
        if !data_dir.join("PG_VERSION").exists() {
            init_cluster(&bin_dir, &data_dir, run_as).await?;
        }
        let password = std::fs::read_to_string(&password_file)
            .map(|p| Secret::new(p.trim()))
            .map_err(|_| EmbeddedError::MissingPassword(data_dir.clone()))?;

        let mut cluster = Self {
            bin_dir,
            socket_dir: socket_dir(&data_dir),
            data_dir,
            run_as,
            password,
            owned: true,
            stopped: false,
            server: None,
        };
        if let Some(socket_dir) = cluster.running_socket_dir().await {
            tracing::info!(socket_dir = %socket_dir.display(), "embedded PostgreSQL is already running; using it");
            cluster.socket_dir = socket_dir;
            cluster.owned = false;
        } else {
            prepare_socket_dir(&cluster.socket_dir, run_as)?;
            cluster.start_server().await?;
        }
        cluster.ensure_database().await?;
        Ok(cluster)
    }

    /// The connection URL (with the generated password): the socket in the
    /// private directory.
    pub fn url(&self) -> Secret {
        Secret::new(self.url_for(DATABASE))
    }

    /// The directory of the server's socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// Where the server's output goes.
    pub(crate) fn log_path(&self) -> PathBuf {
        log_path(&self.data_dir)
    }

    fn url_for(&self, database: &str) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("host", &self.socket_dir.to_string_lossy())
            .append_pair("port", &SOCKET_PORT.to_string())
            .finish();
        format!(
            "postgres://{SUPERUSER}:{}@localhost/{database}?{query}",
            self.password.expose(),
        )
    }

    /// Starts `postgres` itself, not through `pg_ctl start` (which hands
    /// its options and paths to a shell): no path ever passes through a
    /// shell. It runs in its own process group, so a Ctrl-C meant for the
    /// bot does not kill it before the bot stops it cleanly.
    async fn start_server(&mut self) -> Result<(), EmbeddedError> {
        use std::os::unix::process::CommandExt;
        let log_path = self.log_path();
        let log = open_log(&log_path)?;
        let log_err = log.try_clone().map_err(io_error(&log_path))?;
        tracing::info!(data_dir = %self.data_dir.display(), socket_dir = %self.socket_dir.display(), "starting embedded PostgreSQL");
        let mut command = std::process::Command::new(self.bin_dir.join("postgres"));
        command
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-p")
            .arg(SOCKET_PORT.to_string())
            // No TCP at all: the socket in the private directory only.
            .args(["-c", "listen_addresses="])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                quote_directory(&self.socket_dir.to_string_lossy())
            ))
            .args(["-c", "unix_socket_permissions=0700"])
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0);
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid).current_dir("/");
        }
        let mut child = command.spawn().map_err(|err| EmbeddedError::Command {
            action: "start the embedded PostgreSQL server",
            detail: err.to_string(),
        })?;
        let deadline =
            tokio::time::Instant::now() + Duration::from_secs(u64::from(START_TIMEOUT_SECS));
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(EmbeddedError::Command {
                    action: "start the embedded PostgreSQL server",
                    detail: format!(
                        "it exited with {status} (server log: {})",
                        log_path.display()
                    ),
                });
            }
            if self.accepts_connections().await {
                self.server = Some(child);
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(EmbeddedError::Command {
                    action: "start the embedded PostgreSQL server",
                    detail: format!(
                        "not ready within {START_TIMEOUT_SECS} s (server log: {})",
                        log_path.display()
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn accepts_connections(&self) -> bool {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&self.url_for("postgres"))
            .await
            .is_ok()
    }

    /// The socket directory of a server already running on this data
    /// directory (another process of ours started it).
    async fn running_socket_dir(&self) -> Option<PathBuf> {
        let status = self
            .pg_ctl("check the embedded server")
            .arg("status")
            .run()
            .await;
        if status.is_err() {
            return None;
        }
        // postmaster.pid: line 5 is the first socket directory.
        let pid_file = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        let dir = pid_file.lines().nth(4)?.trim();
        (!dir.is_empty()).then(|| PathBuf::from(dir))
    }

    async fn ensure_database(&self) -> Result<(), EmbeddedError> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.url_for("postgres"))
            .await
            .map_err(|err| EmbeddedError::Command {
                action: "connect to the embedded cluster",
                detail: err.to_string(),
            })?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(DATABASE)
                .fetch_one(&mut conn)
                .await
                .map_err(|err| EmbeddedError::Command {
                    action: "query the embedded cluster",
                    detail: err.to_string(),
                })?;
        if !exists {
            sqlx::query(&format!("CREATE DATABASE {DATABASE}"))
                .execute(&mut conn)
                .await
                .map_err(|err| EmbeddedError::Command {
                    action: "create the flipfix database",
                    detail: err.to_string(),
                })?;
        }
        Ok(())
    }

    /// Stops the server (when this process started it).
    pub async fn stop(mut self) -> Result<(), EmbeddedError> {
        self.stopped = true;
        if !self.owned {
            return Ok(());
        }
        tracing::info!("stopping embedded PostgreSQL");
        let stopped = self
            .pg_ctl("stop the embedded PostgreSQL server")
            .args(["stop", "-m", "fast", "-w"])
            .run()
            .await;
        if let Some(mut server) = self.server.take() {
            let _ = tokio::task::spawn_blocking(move || server.wait()).await;
        }
        stopped
    }

    fn pg_ctl(&self, action: &'static str) -> PgCommand {
        let mut command = PgCommand::new(&self.bin_dir, "pg_ctl", self.run_as, action);
        command.arg("-D").arg(&self.data_dir);
        command
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if self.stopped || !self.owned {
            return;
        }
        // Last resort (a panic or an early return): stop synchronously so no
        // orphaned server keeps the data directory locked.
        let mut command = std::process::Command::new(self.bin_dir.join("pg_ctl"));
        command
            .arg("-D")
            .arg(&self.data_dir)
            .args(["stop", "-m", "fast", "-w"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(gid);
        }
        let _ = command.status();
    }
}

async fn init_cluster(
    bin_dir: &Path,
    data_dir: &Path,
    run_as: Option<(u32, u32)>,
) -> Result<(), EmbeddedError> {
    tracing::info!(data_dir = %data_dir.display(), "creating embedded PostgreSQL cluster");
    std::fs::create_dir_all(data_dir).map_err(io_error(data_dir))?;
    std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
        .map_err(io_error(data_dir))?;
    let password = generate_password()?;
    // initdb reads the password from a file; it must be readable by the
    // user initdb runs as and is removed right after.
    let pwfile = data_dir.with_extension("pwfile");
    write_private(&pwfile, &password)?;
    if let Some((uid, gid)) = run_as {
        for path in [data_dir, pwfile.as_path()] {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(io_error(path))?;
        }
    }
    let result = PgCommand::new(
        bin_dir,
        "initdb",
        run_as,
        "initdb (create the embedded cluster)",
    )
    .arg("-D")
    .arg(data_dir)
    .args([
        "-U",
        SUPERUSER,
        "--auth=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C",
    ])
    .arg(format!("--pwfile={}", pwfile.display()))
    .run()
    .await;
    let _ = std::fs::remove_file(&pwfile);
    result?;
    write_private(&password_file(data_dir), &password)
}

/// `<data_dir>.password`, beside the data directory and owned by the bot's
/// user (the data directory itself may belong to `postgres`).
fn password_file(data_dir: &Path) -> PathBuf {
    data_dir.with_extension("password")
}

/// 192 bits from the operating system's secure random source, as hex.
fn generate_password() -> Result<String, EmbeddedError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|err| EmbeddedError::Random(err.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes a file only its owner can read. It is created exclusively
/// (`O_CREAT | O_EXCL`, which never follows a symlink, dangling or not),
/// so nobody can point the path at another file beforehand; a leftover
/// from an interrupted run is removed first (removing a symlink removes
/// the link, never its target).
fn write_private(path: &Path, contents: &str) -> Result<(), EmbeddedError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(io_error(path)(err)),
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error(path))?;
    file.write_all(contents.as_bytes()).map_err(io_error(path))
}

fn absolute(path: &Path) -> Result<PathBuf, EmbeddedError> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(io_error(path))?;
    Ok(cwd.join(path))
}

fn running_as_root() -> bool {
    // The owner of /proc/self is the process's effective user (Linux).
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// The uid and gid of the system's `postgres` user, from /etc/passwd.
fn unprivileged_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut parts = line.split(':');
        (parts.next()? == "postgres").then_some(())?;
        let _password = parts.next()?;
        let uid = parts.next()?.parse().ok()?;
        let gid = parts.next()?.parse().ok()?;
        (uid != 0).then_some((uid, gid))
    })
}

/// `<data dir>.log`: the server's output, in the bot's directory (never
/// inside the data directory, which the server's user owns).
fn log_path(data_dir: &Path) -> PathBuf {
    data_dir.with_extension("log")
}

/// `<data dir>.run`: the directory of the server's socket.
fn socket_dir(data_dir: &Path) -> PathBuf {
    data_dir.with_extension("run")
}

/// Opens the server log for appending without following a symlink
/// (`O_NOFOLLOW`): a link found there is removed (the link, never its
/// target) and the log created afresh, so the write goes nowhere else.
fn open_log(path: &Path) -> Result<std::fs::File, EmbeddedError> {
    use std::os::unix::fs::OpenOptionsExt;
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
    };
    let file = match open() {
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => {
            tracing::warn!(path = %path.display(), "the embedded PostgreSQL log was a symlink; removed it (its target is untouched)");
            std::fs::remove_file(path).map_err(io_error(path))?;
            open().map_err(io_error(path))?
        }
        other => other.map_err(io_error(path))?,
    };
    let meta = file.metadata().map_err(io_error(path))?;
    if !meta.is_file() {
        return Err(io_error(path)(std::io::Error::other(
            "the server log path is not a regular file; remove it",
        )));
    }
    Ok(file)
}

/// Creates (or takes back) the socket directory: a real directory, mode
/// 0700, owned by the user the server runs as. A symlink or file in its
/// place is removed (never what it points to).
fn prepare_socket_dir(dir: &Path, run_as: Option<(u32, u32)>) -> Result<(), EmbeddedError> {
    let socket = dir.join(format!(".s.PGSQL.{SOCKET_PORT}"));
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(EmbeddedError::SocketPathTooLong(socket));
    }
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            std::fs::remove_file(dir).map_err(io_error(dir))?;
            std::fs::create_dir(dir).map_err(io_error(dir))?;
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir(dir).map_err(io_error(dir))?;
        }
        Err(err) => return Err(io_error(dir)(err)),
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io_error(dir))?;
    if let Some((uid, gid)) = run_as {
        std::os::unix::fs::chown(dir, Some(uid), Some(gid)).map_err(io_error(dir))?;
    }
    Ok(())
}

/// A directory for `unix_socket_directories`, whose list syntax splits on
/// commas and takes a double-quoted entry (`""` for a quote) as is.
fn quote_directory(dir: &str) -> String {
    format!("\"{}\"", dir.replace('"', "\"\""))
}

/// A PostgreSQL tool invocation, run as the unprivileged user when needed.
struct PgCommand {
    command: Command,
    action: &'static str,
}

impl PgCommand {
    fn new(
        bin_dir: &Path,
        program: &str,
        run_as: Option<(u32, u32)>,
        action: &'static str,
    ) -> Self {
        let mut command = Command::new(bin_dir.join(program));
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Keep the tools' messages in English so they can be reported as is.
        command.env("LC_ALL", "C");
        if let Some((uid, gid)) = run_as {
            command.uid(uid).gid(gid);
            // The working directory may not be readable by that user.
            command.current_dir("/");
        }
        Self { command, action }
    }

    fn arg(&mut self, arg: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.command.arg(arg);
        self
    }

    fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    async fn run(&mut self) -> Result<(), EmbeddedError> {
        let output = tokio::time::timeout(
            Duration::from_secs(u64::from(START_TIMEOUT_SECS) + 30),
            self.command.output(),
        )
        .await
        .map_err(|_| EmbeddedError::Command {
            action: self.action,
            detail: "timed out".into(),
        })?
        .map_err(|err| EmbeddedError::Command {
            action: self.action,
            detail: err.to_string(),
        })?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let detail = stderr
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        Err(EmbeddedError::Command {
            action: self.action,
            detail: if detail.is_empty() {
                format!("exit status {}", output.status)
            } else {
                detail
            },
        })
    }
}

#[cfg(test)]
#[path = "embedded_tests.rs"]
mod tests;
