//! Gives back the memory only start-up needed, once the bot serves.
//!
//! Start-up runs code that never runs again (configuration, migrations,
//! template compilation, TLS set-up, command registration), and the kernel
//! maps the executable's pages around every page touched. Measured with
//! `cargo bench --bench discord_burst`: 21.8 MiB of the executable's pages
//! and ~2 MiB of freed heap stayed resident at idle, most of the 27.7 MiB.
//! After start-up the bot (1) asks malloc to return its free memory and
//! (2) unmaps the executable's read-only pages that were never written, so
//! only what serving touches comes back. Such a page is a copy of the file
//! on disk: touched again, it is mapped back from the page cache (a minor
//! fault, no disk read), so nothing is lost and no behaviour changes. Pages
//! the loader wrote (relocated pointers) are private and are kept.
//!
//! It also accounts for the heap each part of start-up leaves in use
//! ([`StartupBudget`]), logged at `debug` under this module's target once
//! the bot serves: `cargo bench --bench discord_burst` prints it, so a part
//! that grows shows as the line that changed.
//!
//! Linux with glibc only; elsewhere this does nothing and counts zero.

/// The heap each part of start-up left in use, in start-up order.
#[derive(Debug)]
pub struct StartupBudget {
    parts: Vec<(&'static str, u64)>,
    last: u64,
}

impl StartupBudget {
    /// Counts from here; what the process holds already is the first part.
    pub fn begin(first_part: &'static str) -> Self {
        let now = imp::heap_in_use();
        Self {
            parts: vec![(first_part, now)],
            last: now,
        }
    }

    /// What the heap grew by since the last part is `part`'s.
    pub fn part_done(&mut self, part: &'static str) {
        let now = imp::heap_in_use();
        self.parts.push((part, now.saturating_sub(self.last)));
        self.last = now;
    }

    /// One line per part (KiB), and the total.
    pub fn log(&self) {
        for (part, bytes) in &self.parts {
            tracing::debug!(part, kib = bytes / 1024, "start-up heap");
        }
        tracing::debug!(part = "total", kib = self.last / 1024, "start-up heap");
    }
}

/// What was given back, in KiB.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    /// Resident pages of the executable's unwritten read-only mappings
    /// before they were unmapped.
    pub executable_kib: u64,
    /// Whether malloc returned free memory to the system.
    pub heap_trimmed: bool,
}

/// Releases start-up memory; logs what it gave back. Cheap (a few ms): one
/// read of `/proc/self/smaps` and one `madvise` per mapping.
pub fn release() -> Released {
    let released = imp::release();
    tracing::debug!(
        executable_kib = released.executable_kib,
        heap_trimmed = released.heap_trimmed,
        "released the memory only start-up needed"
    );
    released
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    use super::Released;

    /// Bytes malloc has handed out and not had back (small and mapped).
    pub fn heap_in_use() -> u64 {
        // SAFETY: mallinfo2 only reads malloc's counters.
        let info = unsafe { libc::mallinfo2() };
        (info.uordblks + info.hblkhd) as u64
    }

    pub fn release() -> Released {
        // SAFETY: malloc_trim only returns free memory; it is thread-safe.
        let heap_trimmed = unsafe { libc::malloc_trim(0) } == 1;
        let executable_kib = std::env::current_exe()
            .ok()
            .and_then(|exe| {
                std::fs::read_to_string("/proc/self/smaps")
                    .ok()
                    .map(|s| (exe, s))
            })
            .map_or(0, |(exe, smaps)| {
                super::droppable(&smaps, &exe.display().to_string())
                    .into_iter()
                    .filter(unmap_clean)
                    .map(|mapping| mapping.rss_kib)
                    .sum()
            });
        Released {
            executable_kib,
            heap_trimmed,
        }
    }

    /// Drops the resident pages of a mapping that holds only clean copies
    /// of the file.
    fn unmap_clean(mapping: &super::Mapping) -> bool {
        let Ok(length) = usize::try_from(mapping.end - mapping.start) else {
            return false;
        };
        // SAFETY: the range is one whole mapping of our own executable that
        // is not writable and holds no privately written page (checked by
        // `droppable`): MADV_DONTNEED only unmaps pages that are copies of
        // the file, which the next access maps back. Nothing can write to
        // it meanwhile: writing needs a permission it does not have.
        unsafe {
            libc::madvise(
                mapping.start as *mut libc::c_void,
                length,
                libc::MADV_DONTNEED,
            ) == 0
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub fn heap_in_use() -> u64 {
        0
    }

    pub fn release() -> super::Released {
        super::Released::default()
    }
}

/// One mapping of `/proc/self/smaps` as far as releasing it goes.
#[derive(Debug, PartialEq, Eq)]
struct Mapping {
    start: u64,
    end: u64,
    rss_kib: u64,
}

/// The mappings of `executable` (a path) in `smaps` that are read-only and
/// hold no page the process wrote (`Anonymous: 0`): copies of the file,
/// safe to unmap.
fn droppable(smaps: &str, executable: &str) -> Vec<Mapping> {
    struct Candidate {
        range: (u64, u64),
        writable_or_foreign: bool,
        unwritten: bool,
        rss_kib: u64,
    }
    let mut out = Vec::new();
    let mut current: Option<Candidate> = None;
    let mut finish = |candidate: Option<Candidate>| {
        if let Some(Candidate {
            range: (start, end),
            writable_or_foreign: false,
            unwritten: true,
            rss_kib,
            ..
        }) = candidate
        {
            if rss_kib > 0 {
                out.push(Mapping {
                    start,
                    end,
                    rss_kib,
                });
            }
        }
    };
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some(range) = parse_range(first) {
            finish(current.take());
            let perms = fields.next().unwrap_or_default();
            // address perms offset dev inode path
            let path = fields.nth(3).unwrap_or_default();
            current = Some(Candidate {
                range,
                writable_or_foreign: perms.contains('w') || path != executable,
                unwritten: false,
                rss_kib: 0,
            });
            continue;
        }
        let Some(candidate) = current.as_mut() else {
            continue;
        };
        let value = fields.next().and_then(|v| v.parse::<u64>().ok());
        match (first, value) {
            ("Rss:", Some(kib)) => candidate.rss_kib = kib,
            // Pages the process wrote are anonymous copies ("Dirty" also
            // counts file pages not yet written back, which are safe). No
            // such figure, or one that does not read: the mapping is kept.
            ("Anonymous:", value) => candidate.unwritten = value == Some(0),
            _ => {}
        }
    }
    finish(current.take());
    out
}

/// `start-end` in hex, the first field of a mapping's header line.
fn parse_range(field: &str) -> Option<(u64, u64)> {
    let (start, end) = field.split_once('-')?;
    Some((
        u64::from_str_radix(start, 16).ok()?,
        u64::from_str_radix(end, 16).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0a0000000-55d0a0630000 r--p 00000000 fe:01 123 /opt/flipfix-bot
Size:               6336 kB
Rss:                3000 kB
Private_Dirty:         0 kB
Shared_Dirty:          0 kB
Anonymous:             0 kB
55d0a0631000-55d0a1d98000 r-xp 00630000 fe:01 123 /opt/flipfix-bot
Size:              23964 kB
Rss:               18000 kB
Private_Dirty:         0 kB
Shared_Dirty:          0 kB
Anonymous:             0 kB
55d0a1d98000-55d0a1f2d000 r--p 01d96000 fe:01 123 /opt/flipfix-bot
Size:               1620 kB
Rss:                1620 kB
Private_Dirty:      1620 kB
Shared_Dirty:          0 kB
Anonymous:          1620 kB
55d0a1f2d000-55d0a1f37000 rw-p 01f2d000 fe:01 123 /opt/flipfix-bot
Size:                 40 kB
Rss:                  40 kB
Private_Dirty:        40 kB
Anonymous:            40 kB
7f0000000000-7f0000200000 r-xp 00000000 fe:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
Size:               2048 kB
Rss:                1200 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
7f0000400000-7f0000500000 r--p 00000000 fe:01 123 /opt/flipfix-bot
Size:               1024 kB
Rss:                   0 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
";

    #[test]
    fn only_the_executables_unwritten_read_only_mappings_are_dropped() {
        let mappings = droppable(SMAPS, "/opt/flipfix-bot");
        assert_eq!(
            mappings,
            vec![
                Mapping {
                    start: 0x55d0a0000000,
                    end: 0x55d0a0630000,
                    rss_kib: 3000
                },
                Mapping {
                    start: 0x55d0a0631000,
                    end: 0x55d0a1d98000,
                    rss_kib: 18000
                },
            ],
            "the relocated (written) read-only part, the writable data, another file and a mapping with nothing resident are kept"
        );
    }

    #[test]
    fn a_mapping_whose_written_figure_does_not_read_as_a_number_is_kept() {
        let smaps = "\
55d0a0000000-55d0a0630000 r--p 00000000 fe:01 123 /opt/flipfix-bot
Rss:                3000 kB
Anonymous:          many kB
";
        assert!(droppable(smaps, "/opt/flipfix-bot").is_empty());
        let without_the_figure = "\
55d0a0000000-55d0a0630000 r--p 00000000 fe:01 123 /opt/flipfix-bot
Rss:                3000 kB
";
        assert!(droppable(without_the_figure, "/opt/flipfix-bot").is_empty());
    }

    #[test]
    fn a_freshly_written_executable_is_dropped_too() {
        // Pages of a binary the linker just wrote are dirty in the page
        // cache until written back: still copies of the file.
        let smaps = "\
55d0a0631000-55d0a1d98000 r-xp 00630000 fe:01 123 /opt/flipfix-bot
Rss:               18000 kB
Private_Dirty:     18000 kB
Anonymous:             0 kB
";
        assert_eq!(droppable(smaps, "/opt/flipfix-bot").len(), 1);
    }

    #[test]
    fn releasing_in_this_process_keeps_it_working() {
        // The test binary's own code: dropped, then run again.
        let released = release();
        let after: u64 = (1..=10u64).sum();
        assert_eq!(after, 55);
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(
                released.executable_kib > 0,
                "a running test binary has resident code to release: {released:?}"
            );
        }
    }
}
