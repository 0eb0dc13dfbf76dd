//! External tools some tests need (a browser, moto, PostgreSQL's server
//! binaries), and what a test does when one is missing.
//!
//! libtest has no way for a running test to say "skipped": a test that
//! returns early is counted as passed. So the decision is taken before the
//! run, where the machine is known: `scripts/test` looks for each tool and,
//! outside CI, leaves the tests that need a missing one out of the run with a
//! nextest filter (`not test(/^browser::/)`), which nextest reports as
//! skipped. Inside a test, a missing tool is always a failure naming it:
//! under `CI=true` (where `scripts/test` never filters), and in a plain
//! `cargo nextest run` on a machine without it. A test never passes without
//! having run.
//!
//! `FLIPFIX_TEST_WITHOUT=chromium,moto,postgres` pretends the named tools are
//! missing (both here and in `scripts/test`), to check this behaviour without
//! uninstalling anything.

use std::path::PathBuf;

/// A tool a test needs, named as `scripts/test` and `FLIPFIX_TEST_WITHOUT`
/// name it.
#[derive(Clone, Copy, Debug)]
pub enum Tool {
    /// Debian's `chromium` and `chromium-driver`.
    Chromium,
    /// `moto_server`, from PyPI's `moto[server]`.
    Moto,
    /// PostgreSQL's server binaries (initdb, pg_ctl, postgres).
    Postgres,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Chromium => "chromium",
            Tool::Moto => "moto",
            Tool::Postgres => "postgres",
        }
    }

    fn install_hint(self) -> &'static str {
        match self {
            Tool::Chromium => "apt-get install -y chromium chromium-driver",
            Tool::Moto => "python3 -m pip install 'moto[server]'",
            Tool::Postgres => "apt-get install -y postgresql",
        }
    }
}

/// True when `FLIPFIX_TEST_WITHOUT` names `tool`.
pub fn pretended_missing(tool: Tool) -> bool {
    std::env::var("FLIPFIX_TEST_WITHOUT")
        .map(|list| list.split(',').any(|name| name.trim() == tool.name()))
        .unwrap_or(false)
}

/// Fails the test, naming the missing tool and how to get it. Never returns:
/// a missing tool is never a pass.
pub fn missing(tool: Tool, detail: &str) -> ! {
    let ci = if std::env::var("CI").is_ok_and(|v| v == "true") {
        "CI=true: the tool must be installed"
    } else {
        "outside CI, scripts/test reports this test as skipped instead"
    };
    panic!(
        "{} is missing ({detail}); install it: {} ({ci})",
        tool.name(),
        tool.install_hint()
    )
}

/// The first of `names` found on PATH or in the usual Debian places.
pub fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([
            PathBuf::from("/usr/bin"),
            PathBuf::from("/usr/lib/chromium"),
        ])
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The binaries of `tool`, or a failure naming it.
pub fn require(tool: Tool, names: &[&str]) -> PathBuf {
    if pretended_missing(tool) {
        missing(tool, "FLIPFIX_TEST_WITHOUT names it")
    }
    find_binary(names)
        .unwrap_or_else(|| missing(tool, &format!("no {} on PATH", names.join(" or "))))
}
