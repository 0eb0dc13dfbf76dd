//! When a daily summary is due: a local time of day in an IANA timezone,
//! turned into instants day by day, so it follows daylight-saving changes
//! (18:00 London is 18:00 UTC in winter and 17:00 UTC in summer).

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// A time of day in a timezone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub at: NaiveTime,
    pub timezone: Tz,
}

impl Schedule {
    pub fn new(at: NaiveTime, timezone: Tz) -> Self {
        Self { at, timezone }
    }

    /// The instant the summary for local `date` is due. A time that does
    /// not exist that day (skipped by a spring-forward change) is read with
    /// the offset from before the change, i.e. as long after the change as
    /// it would have been after the hour: 01:30 on a day that jumps from
    /// 01:00 to 02:00 is 02:30. A time that happens twice (fall-back) is
    /// due the first time.
    pub(crate) fn due_on(&self, date: NaiveDate) -> DateTime<Utc> {
        let local = date.and_time(self.at);
        match self.timezone.from_local_datetime(&local) {
            LocalResult::Single(at) => at.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => {
                let before = self
                    .timezone
                    .offset_from_utc_datetime(&(local - Duration::days(1)))
                    .fix();
                (local - Duration::seconds(i64::from(before.local_minus_utc()))).and_utc()
            }
        }
    }

    /// The local date (in this timezone) at `instant`.
    pub fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.timezone).date_naive()
    }

    /// The most recent due time at or before `now`, with its local date.
    pub(crate) fn latest_due(&self, now: DateTime<Utc>) -> (NaiveDate, DateTime<Utc>) {
        let mut date = self.local_date(now);
        // At most two steps: today's time has passed, or yesterday's has.
        loop {
            let due = self.due_on(date);
            if due <= now {
                return (date, due);
            }
            match date.pred_opt() {
                Some(previous) => date = previous,
                None => return (date, due),
            }
        }
    }

    /// The first due time strictly after `now`.
    pub fn next_due(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let (date, due) = self.latest_due(now);
        let mut date = date;
        let mut next = due;
        while next <= now {
            match date.succ_opt() {
                Some(following) => {
                    date = following;
                    next = self.due_on(date);
                }
                None => return now + Duration::days(1),
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn london(hour: u32, minute: u32) -> Schedule {
        Schedule::new(
            NaiveTime::from_hms_opt(hour, minute, 0).unwrap(),
            chrono_tz::Europe::London,
        )
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_same_local_time_moves_in_utc_across_daylight_saving() {
        let schedule = london(18, 0);
        assert_eq!(
            schedule.due_on(date("2026-03-28")),
            utc("2026-03-28T18:00:00Z")
        );
        assert_eq!(
            schedule.due_on(date("2026-03-29")),
            utc("2026-03-29T17:00:00Z")
        );
        assert_eq!(
            schedule.due_on(date("2026-10-25")),
            utc("2026-10-25T18:00:00Z")
        );
    }

    #[test]
    fn next_due_across_the_spring_change_is_23_hours_later() {
        let schedule = london(18, 0);
        let just_after = utc("2026-03-28T18:00:01Z");
        assert_eq!(schedule.next_due(just_after), utc("2026-03-29T17:00:00Z"));
        let autumn = utc("2026-10-24T17:00:01Z");
        assert_eq!(schedule.next_due(autumn), utc("2026-10-25T18:00:00Z"));
    }

    #[test]
    fn a_skipped_local_time_is_due_just_after_the_gap() {
        // 2026-03-29 01:00 GMT jumps to 02:00 BST; 01:30 does not exist.
        let schedule = london(1, 30);
        assert_eq!(
            schedule.due_on(date("2026-03-29")),
            utc("2026-03-29T01:30:00Z")
        );
        assert_eq!(
            schedule
                .due_on(date("2026-03-29"))
                .with_timezone(&chrono_tz::Europe::London)
                .format("%H:%M")
                .to_string(),
            "02:30"
        );
    }

    #[test]
    fn a_repeated_local_time_is_due_the_first_time() {
        // 2026-10-25 02:00 BST falls back to 01:00 GMT; 01:30 happens twice.
        let schedule = london(1, 30);
        assert_eq!(
            schedule.due_on(date("2026-10-25")),
            utc("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            schedule.next_due(utc("2026-10-25T00:30:00Z")),
            utc("2026-10-26T01:30:00Z")
        );
    }

    #[test]
    fn latest_due_is_today_after_the_time_and_yesterday_before_it() {
        let schedule = london(18, 0);
        assert_eq!(
            schedule.latest_due(utc("2026-11-24T18:05:00Z")),
            (date("2026-11-24"), utc("2026-11-24T18:00:00Z"))
        );
        assert_eq!(
            schedule.latest_due(utc("2026-11-24T17:59:59Z")),
            (date("2026-11-23"), utc("2026-11-23T18:00:00Z"))
        );
        // Exactly at the time counts as due.
        assert_eq!(
            schedule.latest_due(utc("2026-11-24T18:00:00Z")).1,
            utc("2026-11-24T18:00:00Z")
        );
    }

    #[test]
    fn local_dates_follow_the_timezone_not_utc() {
        // 23:30 in Auckland is still the morning before in UTC.
        let schedule = Schedule::new(
            NaiveTime::from_hms_opt(23, 30, 0).unwrap(),
            chrono_tz::Pacific::Auckland,
        );
        let due = schedule.due_on(date("2026-11-24"));
        assert_eq!(due, utc("2026-11-24T10:30:00Z"));
        assert_eq!(
            schedule.latest_due(due + Duration::minutes(1)).0,
            date("2026-11-24")
        );
    }
}
