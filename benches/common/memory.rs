//! Where a process's resident memory is, from `/proc/<pid>/smaps` (Linux):
//! each mapping is put in one class, so a benchmark can print the budget
//! line by line and a regression shows as the line that changed.
//!
//! The classes follow how glibc and Rust lay memory out: the executable's
//! own file (code and constants), other files (shared libraries), the main
//! heap (`[heap]`, grown by brk), malloc's per-thread arenas (anonymous
//! heaps glibc aligns to 64 MiB), thread stacks (anonymous, right after a
//! one-page guard), and other anonymous memory (large allocations malloc
//! maps on their own, runtime tables).

use std::fmt;

/// Resident KiB per class.
#[derive(Debug, Default, Clone, Copy)]
pub struct Budget {
    pub binary: u64,
    pub libraries: u64,
    pub main_heap: u64,
    pub arenas: u64,
    pub arena_count: u64,
    pub stacks: u64,
    pub stack_count: u64,
    pub other_anonymous: u64,
    pub threads: u64,
    /// `RssAnon` of /proc/<pid>/status: the memory only this process holds
    /// (the file-backed pages above are shared with the page cache).
    pub anonymous: u64,
}

impl Budget {
    pub fn total(&self) -> u64 {
        self.binary
            + self.libraries
            + self.main_heap
            + self.arenas
            + self.stacks
            + self.other_anonymous
    }

    /// Everything malloc hands out: the main heap, the arenas and the
    /// large allocations it maps on their own.
    pub fn heap(&self) -> u64 {
        self.main_heap + self.arenas + self.other_anonymous
    }
}

/// One mapping of smaps: its address range, permissions, path and RSS.
struct Mapping {
    start: u64,
    end: u64,
    perms: String,
    path: String,
    rss_kib: u64,
}

fn mappings(pid: u32) -> Option<Vec<Mapping>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let mut out: Vec<Mapping> = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((start, end)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) =
                (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
            {
                let perms = fields.next().unwrap_or_default().to_string();
                let path = fields.nth(3).unwrap_or_default().to_string();
                out.push(Mapping {
                    start,
                    end,
                    perms,
                    path,
                    rss_kib: 0,
                });
                continue;
            }
        }
        if first == "Rss:" {
            if let (Some(last), Some(kib)) = (out.last_mut(), fields.next()) {
                last.rss_kib = kib.parse().unwrap_or(0);
            }
        }
    }
    Some(out)
}

/// A number of /proc/<pid>/status (`Threads:`, `RssAnon:` in KiB).
fn status_number(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|n| n.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// The budget of process `pid` whose executable is `binary` (a path).
pub fn budget(pid: u32, binary: &str) -> Option<Budget> {
    const ARENA_ALIGN: u64 = 64 << 20;
    const PAGE: u64 = 4096;
    let maps = mappings(pid)?;
    let binary = std::fs::canonicalize(binary)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| binary.to_string());
    let mut budget = Budget {
        threads: status_number(pid, "Threads:"),
        anonymous: status_number(pid, "RssAnon:"),
        ..Budget::default()
    };
    for (index, map) in maps.iter().enumerate() {
        let guard_before = index > 0 && {
            let previous = &maps[index - 1];
            previous.end == map.start
                && previous.perms.starts_with("---")
                && previous.end - previous.start == PAGE
                && previous.path.is_empty()
        };
        if map.path == binary {
            budget.binary += map.rss_kib;
        } else if map.path == "[heap]" {
            budget.main_heap += map.rss_kib;
        } else if map.path == "[stack]" {
            budget.stacks += map.rss_kib;
            budget.stack_count += 1;
        } else if map.path.starts_with('/') {
            budget.libraries += map.rss_kib;
        } else if map.path.starts_with('[') {
            // [vdso], [vvar], [vsyscall]: the kernel's, tiny.
            budget.libraries += map.rss_kib;
        } else if map.perms.starts_with("rw") && map.start.is_multiple_of(ARENA_ALIGN) {
            budget.arenas += map.rss_kib;
            budget.arena_count += 1;
        } else if map.perms.starts_with("rw") && guard_before {
            budget.stacks += map.rss_kib;
            budget.stack_count += 1;
        } else {
            budget.other_anonymous += map.rss_kib;
        }
    }
    Some(budget)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "    executable (code, constants)  {:>9}",
            mib(self.binary)
        )?;
        writeln!(
            f,
            "    shared libraries              {:>9}",
            mib(self.libraries)
        )?;
        writeln!(
            f,
            "    malloc main heap              {:>9}",
            mib(self.main_heap)
        )?;
        writeln!(
            f,
            "    malloc thread arenas          {:>9}  ({} arenas)",
            mib(self.arenas),
            self.arena_count
        )?;
        writeln!(
            f,
            "    other anonymous (large allocs){:>9}",
            mib(self.other_anonymous)
        )?;
        writeln!(
            f,
            "    thread stacks                 {:>9}  ({} threads)",
            mib(self.stacks),
            self.threads
        )?;
        writeln!(
            f,
            "    total                         {:>9}",
            mib(self.total())
        )?;
        writeln!(
            f,
            "    of which malloc in all        {:>9}",
            mib(self.heap())
        )?;
        write!(
            f,
            "    of which private (RssAnon)    {:>9}",
            mib(self.anonymous)
        )
    }
}
