//! The adaptive ratio: instead of a fixed share, a target of traces kept per second per
//! service (`[[sample.rules]] target_traces_per_second`).
//!
//! * The ratio is the target over the service's rate of traces that reach the ratio policy
//!   (errors, slow and critical traces are kept on top of the target), that rate counted over
//!   the last `window_secs` (60 s): after a step in traffic the kept rate is back at the target
//!   within one window. At most 1; at least `min_ratio`.
//! * While the service's error rate (traces with an error, over the same window) is above
//!   `error_rise` times its baseline, and at least 1 point above it, the ratio is multiplied
//!   by `error_boost`: more of the normal traffic around an incident is kept. The baseline is
//!   the window's error rate averaged exponentially over `baseline_secs` (15 min).
//!
//! Times are passed in (the store's clock), so tests drive it without sleeping.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::config::error::Invalid;

/// The `[sample.adaptive]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptiveConfig {
    /// Seconds of traffic the rate and the error rate are counted over. Default 60.
    pub window_secs: u64,
    /// Time constant of the error-rate baseline, in seconds. Default 900.
    pub baseline_secs: u64,
    /// How many times the baseline error rate counts as a rise. Default 1.5.
    pub error_rise: f64,
    /// What the ratio is multiplied by during a rise. Default 4.
    pub error_boost: f64,
    /// The lowest ratio. Default 0.0001.
    pub min_ratio: f64,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        AdaptiveConfig {
            window_secs: 60,
            baseline_secs: 900,
            error_rise: 1.5,
            error_boost: 4.0,
            min_ratio: 0.0001,
        }
    }
}

impl AdaptiveConfig {
    pub fn check(&self) -> Result<(), Invalid> {
        if self.window_secs == 0 || self.window_secs > 3600 {
            return Err(Invalid::new(
                "sample.adaptive.window_secs",
                format!("{} is not between 1 and 3600", self.window_secs),
            ));
        }
        if self.baseline_secs < self.window_secs {
            return Err(Invalid::new(
                "sample.adaptive.baseline_secs",
                "must be at least sample.adaptive.window_secs".to_string(),
            ));
        }
        if !(self.error_rise >= 1.0 && self.error_boost >= 1.0) {
            return Err(Invalid::new(
                "sample.adaptive.error_rise / error_boost",
                "must be at least 1.0".to_string(),
            ));
        }
        if !(0.0..=1.0).contains(&self.min_ratio) {
            return Err(Invalid::new(
                "sample.adaptive.min_ratio",
                format!("{} is not between 0.0 and 1.0", self.min_ratio),
            ));
        }
        Ok(())
    }
}

/// The smallest rise over the baseline that counts (one percentage point): a service with
/// almost no errors would otherwise count a single error as a rise.
const MIN_RISE: f64 = 0.01;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// One second of a service's decided traces.
#[derive(Debug, Clone, Copy, Default)]
struct Second {
    at: i64,
    traces: u64,
    to_ratio: u64,
    errors: u64,
}

#[derive(Debug, Default)]
struct Service {
    seconds: VecDeque<Second>,
    first_second: i64,
    baseline: Option<f64>,
    baseline_at: i64,
}

/// A service's adaptive state, as `/metrics` and `GET /api/sampling` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceRatio {
    pub service: String,
    pub ratio: f64,
    pub target_traces_per_second: f64,
    /// Traces per second reaching the ratio policy, over the window.
    pub incoming_per_second: f64,
    pub error_rate: f64,
    pub baseline_error_rate: f64,
    /// Whether the error rate is above its baseline (the ratio is boosted).
    pub error_rise: bool,
}

/// Every adaptive service's rates.
#[derive(Debug)]
pub struct Adaptive {
    config: AdaptiveConfig,
    services: BTreeMap<String, Service>,
    /// The last ratio handed out per service, with its target: what the snapshot shows.
    current: BTreeMap<String, ServiceRatio>,
}

impl Adaptive {
    pub fn new(config: &AdaptiveConfig) -> Adaptive {
        Adaptive {
            config: config.clone(),
            services: BTreeMap::new(),
            current: BTreeMap::new(),
        }
    }

    /// Counts a decided trace of `service` at `now`: whether it had an error, and whether it
    /// reached the ratio policy (no other policy decided it).
    pub fn observe(&mut self, service: &str, now_unix_nano: i64, error: bool, to_ratio: bool) {
        let second = now_unix_nano.div_euclid(NANOS_PER_SEC);
        let state = self
            .services
            .entry(service.to_string())
            .or_insert_with(|| Service {
                first_second: second,
                baseline_at: second,
                ..Service::default()
            });
        match state.seconds.back_mut() {
            Some(last) if last.at == second => {
                last.traces += 1;
                last.to_ratio += u64::from(to_ratio);
                last.errors += u64::from(error);
            }
            _ => state.seconds.push_back(Second {
                at: second,
                traces: 1,
                to_ratio: u64::from(to_ratio),
                errors: u64::from(error),
            }),
        }
    }

    /// The ratio for a trace of `service` with this target, at `now`.
    pub fn ratio(&mut self, service: &str, target: f64, now_unix_nano: i64) -> f64 {
        let config = &self.config;
        let now = now_unix_nano.div_euclid(NANOS_PER_SEC);
        let window = i64::try_from(config.window_secs).unwrap_or(60);
        let Some(state) = self.services.get_mut(service) else {
            return 1.0;
        };
        while state.seconds.front().is_some_and(|s| s.at <= now - window) {
            state.seconds.pop_front();
        }
        let (traces, to_ratio, errors) = state.seconds.iter().fold((0, 0, 0), |acc, s| {
            (acc.0 + s.traces, acc.1 + s.to_ratio, acc.2 + s.errors)
        });
        // A service seen for less than a window is counted over the time it has been seen.
        let span = (now - state.first_second + 1).clamp(1, window) as f64;
        let incoming = to_ratio as f64 / span;
        let error_rate = if traces == 0 {
            0.0
        } else {
            errors as f64 / traces as f64
        };
        // The baseline starts from the first full window (a few traces are no baseline).
        let full_window = now - state.first_second + 1 >= window;
        let baseline = match state.baseline {
            None if !full_window => None,
            None => Some(error_rate),
            Some(baseline) => {
                let elapsed = (now - state.baseline_at).max(0) as f64;
                let weight = 1.0 - (-elapsed / config.baseline_secs as f64).exp();
                Some(baseline + (error_rate - baseline) * weight)
            }
        };
        state.baseline = baseline;
        state.baseline_at = now;
        let rise = baseline.is_some_and(|baseline| {
            error_rate > baseline * config.error_rise && error_rate - baseline >= MIN_RISE
        });
        let baseline = baseline.unwrap_or(error_rate);
        let mut ratio = if incoming > 0.0 {
            (target / incoming).min(1.0)
        } else {
            1.0
        };
        if rise {
            ratio = (ratio * config.error_boost).min(1.0);
        }
        let ratio = ratio.max(config.min_ratio);
        self.current.insert(
            service.to_string(),
            ServiceRatio {
                service: service.to_string(),
                ratio,
                target_traces_per_second: target,
                incoming_per_second: incoming,
                error_rate,
                baseline_error_rate: baseline,
                error_rise: rise,
            },
        );
        ratio
    }

    /// The services' current ratios, by service name.
    pub fn snapshot(&self) -> Vec<ServiceRatio> {
        self.current.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TraceId;
    use crate::sample::trace_id_ratio_keeps;

    /// splitmix64: trace ids as random as a real SDK's, reproducibly.
    struct Ids(u64);
    impl Ids {
        fn next(&mut self) -> TraceId {
            let mut id = [0u8; 16];
            for half in id.chunks_mut(8) {
                self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = self.0;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                half.copy_from_slice(&(z ^ (z >> 31)).to_be_bytes());
            }
            TraceId(id)
        }
    }

    /// Simulates `seconds` of `per_second` traces (every `error_every`-th with an error, kept
    /// by the error policy) from `start`; returns the traces the ratio kept in each second
    /// and the ratio at the end.
    fn run(
        adaptive: &mut Adaptive,
        ids: &mut Ids,
        start: i64,
        seconds: i64,
        per_second: u64,
        error_every: u64,
    ) -> (Vec<u64>, f64) {
        let mut kept = Vec::new();
        let mut ratio = 1.0;
        for s in start..start + seconds {
            let mut in_second = 0;
            for i in 0..per_second {
                let now = s * NANOS_PER_SEC + (i * 1_000_000_000 / per_second) as i64;
                let error = error_every > 0 && i % error_every == 0;
                ratio = adaptive.ratio("shop", 10.0, now);
                if !error && trace_id_ratio_keeps(&ids.next(), ratio) {
                    in_second += 1;
                }
                adaptive.observe("shop", now, error, !error);
            }
            kept.push(in_second);
        }
        (kept, ratio)
    }

    fn mean(values: &[u64]) -> f64 {
        values.iter().sum::<u64>() as f64 / values.len() as f64
    }

    #[test]
    fn the_kept_rate_follows_a_traffic_step_to_the_target_within_one_window() {
        let mut adaptive = Adaptive::new(&AdaptiveConfig::default());
        let mut ids = Ids(7);
        // 100 traces/s for two minutes, then a step to 1,000/s; the target is 10/s.
        let (before, ratio_before) = run(&mut adaptive, &mut ids, 0, 120, 100, 0);
        let (after, ratio_after) = run(&mut adaptive, &mut ids, 120, 180, 1000, 0);
        let settled_before = mean(&before[60..]);
        let overshoot = mean(&after[..10]);
        let settled_after = mean(&after[60..]);
        println!(
            "kept/s: {settled_before:.2} at 100/s (ratio {ratio_before:.4}); {overshoot:.1} in the \
             step's first 10 s; {settled_after:.2} from 60 s after it (ratio {ratio_after:.5})"
        );
        assert!((ratio_before - 0.1).abs() < 0.005, "{ratio_before}");
        assert!((ratio_after - 0.01).abs() < 0.0005, "{ratio_after}");
        // Poisson noise of 60 s at 10/s: σ ≈ 0.4 per second.
        assert!((settled_before - 10.0).abs() < 1.5, "{settled_before}");
        assert!((settled_after - 10.0).abs() < 1.5, "{settled_after}");
        // The step itself shows first (the window still holds the old rate).
        assert!(overshoot > 20.0, "{overshoot}");
    }

    #[test]
    fn the_ratio_rises_while_the_error_rate_is_above_its_baseline() {
        let mut adaptive = Adaptive::new(&AdaptiveConfig::default());
        let mut ids = Ids(11);
        // 1 % errors for 20 minutes (the baseline settles), then 10 %.
        let (_, calm) = run(&mut adaptive, &mut ids, 0, 1200, 200, 100);
        let calm_state = adaptive.snapshot()[0].clone();
        let (_, incident) = run(&mut adaptive, &mut ids, 1200, 30, 200, 10);
        let state = adaptive.snapshot()[0].clone();
        println!("calm: {calm_state:?}\nincident: {state:?}");
        assert!(!calm_state.error_rise);
        assert!((calm - 10.0 / 198.0).abs() < 0.005, "{calm}");
        assert!(state.error_rise, "{state:?}");
        // Four times the ratio the traffic alone would give (10/s of 180/s normal traces).
        assert!((incident - 4.0 * 10.0 / 180.0).abs() < 0.03, "{incident}");
        // Once the errors stay, the baseline follows and the boost ends.
        let (_, later) = run(&mut adaptive, &mut ids, 1230, 3600, 200, 10);
        assert!(!adaptive.snapshot()[0].error_rise, "{later}");
    }

    #[test]
    fn an_unseen_service_keeps_everything_and_the_floor_holds() {
        let mut adaptive = Adaptive::new(&AdaptiveConfig {
            min_ratio: 0.5,
            ..AdaptiveConfig::default()
        });
        assert_eq!(adaptive.ratio("new", 1.0, 0), 1.0);
        for i in 0..1000 {
            adaptive.observe("busy", i, false, true);
        }
        assert_eq!(adaptive.ratio("busy", 1.0, 1000), 0.5);
    }
}
