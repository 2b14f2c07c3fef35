//! Token-bucket rate limits per ingest key and per client IP, with the per-IP map bounded.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::config::Rate;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket {
            tokens: rate.burst,
            updated: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(rate.burst);
        self.updated = now;
    }

    /// Takes a token, or says how long until one is there.
    fn take(&mut self, rate: Rate, now: Instant) -> Result<(), Duration> {
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / rate.per_second,
            ))
        }
    }

    /// A bucket that has refilled completely is the same as no bucket: it may be forgotten.
    fn is_idle(&self, rate: Rate, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens + elapsed * rate.per_second >= rate.burst
    }
}

/// Buckets by key, at most `capacity` of them.
#[derive(Debug)]
pub struct KeyedLimiter<K> {
    state: Mutex<State<K>>,
    capacity: usize,
}

#[derive(Debug)]
struct State<K> {
    buckets: HashMap<K, Bucket>,
    /// When idle buckets were last swept out; sweeps (a full scan) run at most once a second,
    /// so a flood of new addresses cannot make every request scan the map.
    last_sweep: Option<Instant>,
}

/// Least time between two sweeps of a full map.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    pub fn new(capacity: usize) -> Self {
        let state = State {
            buckets: HashMap::new(),
            last_sweep: None,
        };
        KeyedLimiter {
            state: Mutex::new(state),
            capacity: capacity.max(1),
        }
    }

    /// `Err(wait)` when `key` has no token left.
    pub fn check(&self, key: &K, rate: Rate, now: Instant) -> Result<(), Duration> {
        if rate.is_unlimited() {
            return Ok(());
        }
        // A poisoned lock only means another request panicked mid-update; the map is still
        // usable (at worst one bucket is off by a token).
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !state.buckets.contains_key(key) && state.buckets.len() >= self.capacity {
            let sweep_due = state
                .last_sweep
                .is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_INTERVAL);
            if sweep_due {
                // Forget buckets that are full again: that loses nothing.
                state.buckets.retain(|_, b| !b.is_idle(rate, now));
                state.last_sweep = Some(now);
            }
            if state.buckets.len() >= self.capacity {
                // Every bucket is busy (a flood of distinct clients): forget an arbitrary
                // one, which at worst gives that client a fresh burst.
                if let Some(victim) = state.buckets.keys().next().cloned() {
                    state.buckets.remove(&victim);
                }
            }
        }
        state
            .buckets
            .entry(key.clone())
            .or_insert_with(|| Bucket::full(rate, now))
            .take(rate, now)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .buckets
            .len()
    }
}

/// The client key of an address: IPv6 clients are limited per /64, since one host usually
/// holds a whole /64 and could otherwise rotate through it.
pub fn ip_key(ip: IpAddr) -> IpAddr {
    crate::model::net::network(ip, 32, 64)
}

/// Whole seconds for `Retry-After`, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_PER_SEC: Rate = Rate {
        per_second: 2.0,
        burst: 3.0,
    };

    #[test]
    fn burst_then_refill_at_the_rate() {
        let limiter = KeyedLimiter::new(10);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(&"k", TWO_PER_SEC, t0).is_ok());
        }
        let wait = limiter.check(&"k", TWO_PER_SEC, t0).expect_err("empty");
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        // Another key has its own bucket.
        assert!(limiter.check(&"other", TWO_PER_SEC, t0).is_ok());
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert!(limiter.check(&"k", TWO_PER_SEC, t1).is_ok());
        assert!(limiter.check(&"k", TWO_PER_SEC, t1).is_err());
    }

    #[test]
    fn a_slow_rate_asks_for_a_longer_retry() {
        let limiter = KeyedLimiter::new(10);
        let slow = Rate {
            per_second: 0.1,
            burst: 1.0,
        };
        let t0 = Instant::now();
        assert!(limiter.check(&1, slow, t0).is_ok());
        assert_eq!(
            limiter.check(&1, slow, t0).map_err(retry_after_secs),
            Err(10)
        );
        assert!(
            limiter
                .check(
                    &1,
                    Rate {
                        per_second: 0.0,
                        burst: 0.0
                    },
                    t0
                )
                .is_ok(),
            "0 is unlimited"
        );
    }

    #[test]
    fn the_map_stays_bounded_and_busy_buckets_survive_idle_ones() {
        let limiter = KeyedLimiter::new(4);
        let t0 = Instant::now();
        // Key 0 is busy (emptied); keys 1..3 used once.
        for _ in 0..3 {
            let _ = limiter.check(&0, TWO_PER_SEC, t0);
        }
        for k in 1..4 {
            assert!(limiter.check(&k, TWO_PER_SEC, t0).is_ok());
        }
        assert_eq!(limiter.len(), 4);
        // One second later keys 1..3 are full again (idle), key 0 is not: a new key evicts
        // the idle ones and key 0 keeps its state.
        let t1 = t0 + Duration::from_millis(1000);
        assert!(limiter.check(&99, TWO_PER_SEC, t1).is_ok());
        assert_eq!(limiter.len(), 2);
        assert!(limiter.check(&0, TWO_PER_SEC, t1).is_ok());
        assert!(limiter.check(&0, TWO_PER_SEC, t1).is_ok());
        assert!(
            limiter.check(&0, TWO_PER_SEC, t1).is_err(),
            "key 0 had 2 tokens, not a fresh 3"
        );
        // Many distinct keys at one instant: never more than the capacity.
        for k in 1000..2000 {
            let _ = limiter.check(&k, TWO_PER_SEC, t1);
            assert!(limiter.len() <= 4);
        }
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(ip_key(a), ip_key(b));
        assert_ne!(ip_key(a), ip_key(c));
        let v4: IpAddr = "198.51.100.7".parse().expect("ip");
        assert_eq!(ip_key(v4), v4);
    }
}
