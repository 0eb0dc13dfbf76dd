//! What doctor found: one line per check, each with what to do about it.

use std::fmt;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but something is off or not configured.
    Warn,
    /// Broken: the bot will not work (fully) until this is fixed.
    Fail,
}

impl Status {
    pub fn icon(self) -> &'static str {
        match self {
            Status::Ok => "✅",
            Status::Warn => "⚠️",
            Status::Fail => "❌",
        }
    }
}

/// One check: its name and a single line saying what was found and, when
/// it is not fine, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.icon(), self.name, self.detail)
    }
}

/// Every check, in the order they ran.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn add(&mut self, name: impl Into<String>, status: Status, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.into(),
            status,
            detail: detail.into(),
        });
    }

    pub fn ok(&mut self, name: impl Into<String>, detail: impl Into<String>) {
        self.add(name, Status::Ok, detail);
    }

    pub fn warn(&mut self, name: impl Into<String>, detail: impl Into<String>) {
        self.add(name, Status::Warn, detail);
    }

    pub fn fail(&mut self, name: impl Into<String>, detail: impl Into<String>) {
        self.add(name, Status::Fail, detail);
    }

    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// Any ❌ left: doctor exits non-zero.
    pub fn has_failures(&self) -> bool {
        self.count(Status::Fail) > 0
    }

    /// The lines and a summary, as printed and as sent to admins.
    pub fn render(&self) -> String {
        let mut out: String = self.checks.iter().map(|c| format!("{c}\n")).collect();
        out.push_str(&format!(
            "{} ok, {} warning(s), {} problem(s)\n",
            self.count(Status::Ok),
            self.count(Status::Warn),
            self.count(Status::Fail)
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_with_a_failure_says_so_and_counts_each_status() {
        let mut report = Report::default();
        report.ok("token", "signed in as flipfix");
        report.warn("media storage", "not configured");
        assert!(!report.has_failures());
        report.fail("webhook", "deleted (404): set a new one");
        assert!(report.has_failures());
        let text = report.render();
        assert!(text.contains("✅ token: signed in as flipfix\n"), "{text}");
        assert!(text.contains("❌ webhook: deleted (404)"), "{text}");
        assert!(
            text.ends_with("1 ok, 1 warning(s), 1 problem(s)\n"),
            "{text}"
        );
    }
}
