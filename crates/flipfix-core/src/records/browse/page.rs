//! Paging of lists by position (keyset): a page starts right after (or ends
//! right before) the sort key of a record on the page next to it, so page 40
//! costs what page 1 costs and a record added meanwhile neither repeats nor
//! skips one. A plain page number (`OFFSET`) is still understood, for old
//! links and for callers that only have a number.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};

use super::MAX_PAGE_SIZE;

/// A list's sort key: newest first, ties broken by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub occurred_at: DateTime<Utc>,
    pub id: i64,
}

impl Cursor {
    /// `<microseconds since 1970>_<id>`: exact (the database keeps
    /// microseconds) and carries no record detail a link should not.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.occurred_at.timestamp_micros(), self.id)
    }

    /// The inverse of [`Cursor::encode`]; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let (micros, id) = text.trim().split_once('_')?;
        Some(Self {
            occurred_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }
}

/// How a page's `LIMIT` reaches Postgres, which decides whether a prepared
/// statement is planned once or at every execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Limit {
    /// A parameter: each execution gets a plan for its values (a custom
    /// plan), since with a bound `LIMIT` the one plan made for any value (the
    /// generic plan) expects a tenth of the rows and always looks dearer.
    /// For a list whose best plan depends on how selective its filters are.
    Bound,
    /// In the statement's text (a page size, bounded by [`MAX_PAGE_SIZE`],
    /// so few texts): the generic plan's estimate matches, and Postgres
    /// keeps it after its five trial plans. For a list whose plan is the
    /// same for any values: planning the machine timeline cost 0.7–1.2 ms
    /// at every request against 0.3 ms to run it (`pages` bench data).
    Written,
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seek {
    /// The newest records.
    Start,
    /// The records older than this key.
    After(Cursor),
    /// The records newer than this key (a "newer" link).
    Before(Cursor),
    /// Skip this many records (old `?page=N` links; costs a scan of them).
    Offset(i64),
}

/// A page of a list: its 1-based number (for display), a size bounded by
/// [`MAX_PAGE_SIZE`], and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub number: u32,
    pub size: u32,
    pub seek: Seek,
}

impl PageRequest {
    /// Page `number` by counting (`OFFSET`); page 1 is [`Seek::Start`].
    pub fn new(number: u32, size: u32) -> Self {
        let number = number.max(1);
        let size = size.clamp(1, MAX_PAGE_SIZE);
        let seek = match number {
            1 => Seek::Start,
            n => Seek::Offset(i64::from(n - 1) * i64::from(size)),
        };
        Self { number, size, seek }
    }

    /// Page `number`, found by position.
    pub fn at(number: u32, size: u32, seek: Seek) -> Self {
        Self {
            seek,
            ..Self::new(number, size)
        }
    }

    /// Reads newest-last (a "newer" page), to be reversed after.
    pub(super) fn backwards(&self) -> bool {
        matches!(self.seek, Seek::Before(_))
    }

    /// ` ORDER BY …` of `r` in the order the page is read.
    pub(super) fn order_by(&self) -> &'static str {
        if self.backwards() {
            " ORDER BY r.occurred_at, r.id"
        } else {
            " ORDER BY r.occurred_at DESC, r.id DESC"
        }
    }

    /// Appends ` AND <position>` for `r`, the order and the limit (one row
    /// past the page, to know whether there is more), the limit as `limit`
    /// says.
    pub(super) fn push_tail(&self, query: &mut QueryBuilder<'_, Postgres>, limit: Limit) {
        match self.seek {
            Seek::After(c) => {
                query
                    .push(" AND (r.occurred_at, r.id) < (")
                    .push_bind(c.occurred_at)
                    .push(", ")
                    .push_bind(c.id)
                    .push(")");
            }
            Seek::Before(c) => {
                query
                    .push(" AND (r.occurred_at, r.id) > (")
                    .push_bind(c.occurred_at)
                    .push(", ")
                    .push_bind(c.id)
                    .push(")");
            }
            Seek::Start | Seek::Offset(_) => {}
        }
        query.push(self.order_by());
        let rows = i64::from(self.size) + 1;
        match limit {
            Limit::Bound => query.push(" LIMIT ").push_bind(rows),
            Limit::Written => query.push(format_args!(" LIMIT {rows}")),
        };
        if let Seek::Offset(skip) = self.seek {
            query.push(" OFFSET ").push_bind(skip);
        }
    }

    /// Splits rows read with [`PageRequest::push_tail`] (one past the page)
    /// into the page, newest first, and its neighbours' positions.
    pub(super) fn cut<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> Cursor) -> Cut<T> {
        let more = rows.len() > self.size as usize;
        rows.truncate(self.size as usize);
        if self.backwards() {
            rows.reverse();
        }
        let first = rows.first().map(&key);
        let last = rows.last().map(&key);
        let (newer, older) = match self.seek {
            Seek::Start => (false, more),
            // Came from an older page: there is one; newer ones if read past.
            Seek::Before(_) => (more, true),
            Seek::After(_) | Seek::Offset(_) => (true, more),
        };
        Cut {
            rows,
            newer: if newer { first } else { None },
            older: if older { last } else { None },
        }
    }
}

/// A page's rows and where its neighbours start.
pub(super) struct Cut<T> {
    pub rows: Vec<T>,
    pub newer: Option<Cursor>,
    pub older: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_its_link() {
        let cursor = Cursor {
            occurred_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: 42,
        };
        assert_eq!(Cursor::parse(&cursor.encode()), Some(cursor));
        for bad in ["", "12", "x_1", "1_x", "1_2_3"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }
}
