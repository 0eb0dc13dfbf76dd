//! Retry spacing shared by every job: doubling per attempt from a base, up
//! to a cap, with jitter so replicas that failed together do not retry in
//! step.

use chrono::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failed attempt (before jitter).
    pub base: Duration,
    /// No wait is longer (before jitter).
    pub cap: Duration,
}

impl Backoff {
    /// The wait after `attempts` failed attempts: `base · 2^(attempts-1)`,
    /// capped, then 50–100 % of it.
    pub fn after(&self, attempts: i32) -> Duration {
        let millis = self.full(attempts).num_milliseconds().max(1);
        Duration::milliseconds(millis / 2 + fastrand::i64(0..=millis / 2))
    }

    /// The wait before jitter.
    pub fn full(&self, attempts: i32) -> Duration {
        let exponent = attempts.saturating_sub(1).clamp(0, 20) as u32;
        self.base
            .checked_mul(1_i32 << exponent)
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_per_attempt_up_to_the_cap_with_jitter_below_it() {
        let backoff = Backoff {
            base: Duration::seconds(2),
            cap: Duration::minutes(10),
        };
        assert_eq!(backoff.full(1), Duration::seconds(2));
        assert_eq!(backoff.full(2), Duration::seconds(4));
        assert_eq!(backoff.full(9), Duration::seconds(512));
        assert_eq!(backoff.full(10), Duration::minutes(10));
        assert_eq!(backoff.full(1_000), Duration::minutes(10));
        assert_eq!(backoff.full(0), Duration::seconds(2), "a first try");
        for attempts in 1..=12 {
            let wait = backoff.after(attempts);
            let full = backoff.full(attempts);
            assert!(wait >= full / 2 && wait <= full, "{attempts}: {wait}");
        }
    }
}
