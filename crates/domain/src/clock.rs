//! Where "now" comes from: the system clock in production, a shiftable one in tests,
//! so that expiry and sliding refresh are tested without sleeping.

use std::fmt;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock shifted by an adjustable offset: time keeps flowing (so rows
/// written one after another still have increasing timestamps), and a test can jump
/// days ahead with [`ShiftedClock::advance`].
///
/// ```
/// use chrono::TimeDelta;
/// use domain::{Clock, ShiftedClock, SystemClock};
/// let clock = ShiftedClock::default();
/// clock.advance(TimeDelta::days(8));
/// assert!(clock.now() - SystemClock.now() >= TimeDelta::days(8) - TimeDelta::seconds(1));
/// ```
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset: Mutex<TimeDelta>,
}

impl ShiftedClock {
    /// Moves the clock forward (or back, with a negative delta).
    pub fn advance(&self, by: TimeDelta) {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset += by;
    }

    /// The current offset from the system clock.
    pub fn offset(&self) -> TimeDelta {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }
}
