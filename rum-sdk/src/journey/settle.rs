//! When a route change or a user action is over: once the page is quiet, with no fetch or XHR
//! it started still pending and no DOM mutation for [`QUIET_MS`], and at most [`MAX_MS`]
//! after it began (Elastic's route-change transactions and Sentry's navigation spans end
//! the same way). Its end is the last thing that happened, not the moment we noticed.

/// How long the page must stay quiet.
pub const QUIET_MS: f64 = 100.0;
/// The longest a route change or action lasts.
pub const MAX_MS: f64 = 10_000.0;

/// Activity since `start`; times are milliseconds since the navigation's start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settle {
    pub start: f64,
    /// Requests started since `start` and not finished.
    pending: u32,
    /// The last request start or end, or DOM mutation.
    last: f64,
}

impl Settle {
    pub fn new(start: f64) -> Self {
        Settle {
            start,
            pending: 0,
            last: start,
        }
    }

    /// A fetch or XHR call started at `now`.
    pub fn request_start(&mut self, now: f64) {
        self.pending += 1;
        self.touch(now);
    }

    /// A call that started at `started` finished at `now`. Calls older than this span
    /// never counted, and do not count now.
    pub fn request_end(&mut self, now: f64, started: f64) {
        if started >= self.start && self.pending > 0 {
            self.pending -= 1;
            self.touch(now);
        }
    }

    /// The DOM changed at `now`.
    pub fn touch(&mut self, now: f64) {
        if now > self.last {
            self.last = now;
        }
    }

    /// Its end when something new cuts it short at `now`.
    pub fn end_now(&self, now: f64) -> f64 {
        if self.pending > 0 {
            now
        } else {
            self.last
        }
    }

    /// Its end time, if it is over at `now`.
    pub fn end(&self, now: f64) -> Option<f64> {
        let cap = self.start + MAX_MS;
        if now >= cap {
            return Some(if self.pending > 0 {
                cap
            } else {
                self.last.min(cap)
            });
        }
        (self.pending == 0 && now - self.last >= QUIET_MS).then_some(self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_at_the_last_activity_once_quiet_for_100_ms() {
        let mut s = Settle::new(1000.0);
        assert_eq!(s.end(1099.0), None);
        assert_eq!(s.end(1100.0), Some(1000.0), "nothing happened");
        s.request_start(1010.0);
        s.touch(1050.0);
        assert_eq!(s.end(1500.0), None, "a request is pending");
        s.request_end(1600.0, 1010.0);
        assert_eq!(s.end(1650.0), None, "quiet for 50 ms only");
        s.touch(1680.0);
        assert_eq!(s.end(1779.0), None);
        assert_eq!(s.end(1780.0), Some(1680.0));
    }

    #[test]
    fn requests_started_before_it_are_not_waited_for() {
        let mut s = Settle::new(1000.0);
        s.request_end(1050.0, 900.0);
        assert_eq!(
            s.end(1100.0),
            Some(1000.0),
            "an older request's end is not activity"
        );
        s.request_start(1200.0);
        s.request_end(1300.0, 1200.0);
        s.request_end(1310.0, 1200.0); // counted once
        assert_eq!(s.end(1400.0), Some(1300.0));
    }

    #[test]
    fn capped_at_ten_seconds() {
        let mut s = Settle::new(0.0);
        s.request_start(5.0);
        assert_eq!(s.end(9_999.0), None);
        assert_eq!(
            s.end(10_000.0),
            Some(10_000.0),
            "still pending: ends at the cap"
        );
        let mut busy = Settle::new(0.0);
        for t in (0..200).map(|i| f64::from(i) * 50.0) {
            busy.touch(t);
            assert_eq!(busy.end(t), None, "mutations every 50 ms keep it open");
        }
        assert_eq!(busy.end(10_050.0), Some(9_950.0));
    }
}
