//! Time in tests. A test either pins its times with [`pinned`] and then pins
//! every clock the code reads (an `App` or scheduler on a `ManualClock`, an
//! explicit `now` for a dispatcher step), or it works relative to
//! [`real_now`]. Never both in one comparison.
//!
//! Pinned times move together by `FLIPFIX_TEST_SHIFT_WEEKS`: CI runs the
//! pinned tests again 52 weeks back and 52 weeks forward (whole weeks keep
//! weekdays, and DST changes on the last Sunday of a month stay on it), so a
//! test that depends on the calendar fails the day it is written, not the
//! day the calendar passes its dates.

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// How far pinned times are moved in this run.
pub fn shift() -> Duration {
    match std::env::var("FLIPFIX_TEST_SHIFT_WEEKS") {
        Ok(weeks) => Duration::weeks(weeks.trim().parse().unwrap_or_else(|_| {
            panic!("FLIPFIX_TEST_SHIFT_WEEKS must be a whole number of weeks, not {weeks:?}")
        })),
        Err(_) => Duration::zero(),
    }
}

/// An RFC 3339 instant, moved by [`shift`].
pub fn pinned(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|err| panic!("test time {text:?}: {err}"))
        .with_timezone(&Utc)
        + shift()
}

/// A calendar date (`YYYY-MM-DD`) moved by [`shift`], as Postgres prints it.
pub fn pinned_date(text: &str) -> String {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .unwrap_or_else(|err| panic!("test date {text:?}: {err}"));
    (date + shift()).format("%Y-%m-%d").to_string()
}

/// The system's time, for tests written relative to it.
#[allow(clippy::disallowed_methods)]
pub fn real_now() -> DateTime<Utc> {
    Utc::now()
}
