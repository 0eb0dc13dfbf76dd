//! What a history import did, for the person who ran it.

use std::fmt;

use super::export::Place;

/// One kind's counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KindCount {
    /// Records stored by this run.
    pub imported: usize,
    /// Of those, records under a parent (log entries under a problem report,
    /// updates under a part request).
    pub under_parent: usize,
    /// Entries an earlier run already imported.
    pub already: usize,
}

/// An entry left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotImported {
    pub place: Place,
    pub reason: String,
    /// Its children, left out with it.
    pub children: usize,
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecordImportReport {
    /// Per kind, in the order the kinds were met.
    pub kinds: Vec<(String, KindCount)>,
    pub not_imported: Vec<NotImported>,
    /// Records imported without something the export names (photos), or
    /// whose stored state differs from the export's.
    pub notes: Vec<String>,
    pub machines_added: Vec<String>,
    /// Maintainers a `flipfix-bot export` brought.
    pub maintainers_added: Vec<String>,
    pub notified: bool,
}

impl RecordImportReport {
    pub fn count(&self, kind: &str) -> KindCount {
        self.kinds
            .iter()
            .find(|(name, _)| name == kind)
            .map(|(_, count)| *count)
            .unwrap_or_default()
    }

    pub(super) fn count_mut(&mut self, kind: &str) -> &mut KindCount {
        let at = match self.kinds.iter().position(|(name, _)| name == kind) {
            Some(at) => at,
            None => {
                self.kinds.push((kind.to_string(), KindCount::default()));
                self.kinds.len() - 1
            }
        };
        &mut self.kinds[at].1
    }

    pub fn imported(&self) -> usize {
        self.kinds.iter().map(|(_, c)| c.imported).sum()
    }

    /// Entries left out, their children included.
    pub fn left_out(&self) -> usize {
        self.not_imported.iter().map(|n| 1 + n.children).sum()
    }
}

impl fmt::Display for RecordImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let already: usize = self.kinds.iter().map(|(_, c)| c.already).sum();
        write!(
            f,
            "{} imported, {already} already imported, {} not imported",
            self.imported(),
            self.left_out()
        )?;
        for (kind, count) in &self.kinds {
            write!(f, "\n  {kind}: {} imported", count.imported)?;
            if count.under_parent > 0 {
                write!(f, " ({} under a parent)", count.under_parent)?;
            }
            write!(f, ", {} already imported", count.already)?;
        }
        if !self.not_imported.is_empty() {
            write!(f, "\nnot imported:")?;
            for left in &self.not_imported {
                write!(f, "\n  {}: {}", left.place, left.reason)?;
                match left.children {
                    0 => {}
                    1 => write!(f, " (and its 1 child)")?,
                    n => write!(f, " (and its {n} children)")?,
                }
            }
        }
        if !self.notes.is_empty() {
            write!(f, "\nimported, with a note:")?;
            for note in &self.notes {
                write!(f, "\n  {note}")?;
            }
        }
        if !self.machines_added.is_empty() {
            write!(
                f,
                "\nmachines added to the catalog: {}",
                self.machines_added.join(", ")
            )?;
        }
        if !self.maintainers_added.is_empty() {
            write!(
                f,
                "\nmaintainers added: {}",
                self.maintainers_added.join(", ")
            )?;
        }
        if self.imported() > 0 {
            if self.notified {
                write!(f, "\nthe imported records are queued for the webhook")?;
            } else {
                write!(
                    f,
                    "\nthe imported records are history: not posted to the webhook (--notify posts them)"
                )?;
            }
        }
        Ok(())
    }
}
