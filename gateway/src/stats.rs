//! The statistics of release comparison (`releases.rs`): the Mann–Whitney U test for two
//! distributions, the two-proportion z-test for two rates, the normal distribution's tail
//! through an `erfc` of our own, and nearest-rank percentiles. Pure functions of numbers; no
//! I/O and nothing of the crate.
//!
//! Both tests are two-sided and use the normal approximation, as `scipy.stats` computes them:
//! * Mann–Whitney U: `scipy.stats.mannwhitneyu(x, y, alternative='two-sided',
//!   method='asymptotic', use_continuity=True)`: U from the ranks (ties get their mean rank),
//!   the variance corrected for ties, z = (max(U₁, U₂) − n₁n₂/2 − 0.5) / σ (continuity
//!   correction), p = 2·P(Z > z), at most 1.
//! * Two proportions: pooled p̂ = (x₁ + x₂) / (n₁ + n₂), z = (x₂/n₂ − x₁/n₁) /
//!   √(p̂(1 − p̂)(1/n₁ + 1/n₂)), p = 2·P(Z > |z|); no continuity correction.

/// `erfc(x)`, the complementary error function, with a fractional error below 1.2e-7 for every
/// `x`: the Chebyshev fit of Numerical Recipes (Press et al., 2nd ed., §6.2, `erfcc`). Accurate
/// in the far tail too, where `1 - erf(x)` would cancel to zero.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// P(Z > z) for a standard normal Z.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The outcome of a two-sided test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// The z statistic, signed: positive when the second sample is the larger (U) or has the
    /// higher rate (proportions).
    pub z: f64,
    /// Two-sided p-value, 0 to 1.
    pub p_value: f64,
}

/// Mann–Whitney U of `x` against `y` (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of `x`: pairs (xᵢ, yⱼ) with xᵢ > yⱼ, plus half the ties (scipy's `statistic`).
    pub u_x: f64,
    /// The probability that a value of `y` exceeds one of `x` (ties count half): U_y / n₁n₂.
    pub p_y_greater: f64,
    pub test: TestResult,
}

/// The Mann–Whitney U test of `x` against `y`; None when either is empty. NaNs are not
/// expected (callers pass stored finite values) and sort last.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut all: Vec<(f64, bool)> = x
        .iter()
        .map(|&v| (v, true))
        .chain(y.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Ranks from 1; a run of ties gets its mean rank, and adds t³ − t to the tie term.
    let mut rank_sum_x = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i + 1;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let t = (j - i) as f64;
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum_x += mean_rank * all[i..j].iter().filter(|v| v.1).count() as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let n = n1f + n2f;
    let u_x = rank_sum_x - n1f * (n1f + 1.0) / 2.0;
    let u_y = n1f * n2f - u_x;
    let mu = n1f * n2f / 2.0;
    let sigma = (n1f * n2f / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
    let (z, p_value) = if sigma > 0.0 && sigma.is_finite() {
        let z = (u_x.max(u_y) - mu - 0.5) / sigma;
        // The sign says which side is larger; the p-value is scipy's, clipped to 1.
        let signed = if u_y >= u_x { z } else { -z };
        (signed, (2.0 * normal_sf(z)).min(1.0))
    } else {
        // Every value equal (or one value in all): no evidence of a difference.
        (0.0, 1.0)
    };
    Some(MannWhitney {
        u_x,
        p_y_greater: u_y / (n1f * n2f),
        test: TestResult { z, p_value },
    })
}

/// The two-proportion z-test of `x1` events in `n1` trials against `x2` in `n2`; None when
/// either side has no trials or more events than trials.
pub fn two_proportion_z(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<TestResult> {
    if n1 == 0 || n2 == 0 || x1 > n1 || x2 > n2 {
        return None;
    }
    let (x1, n1, x2, n2) = (x1 as f64, n1 as f64, x2 as f64, n2 as f64);
    let pooled = (x1 + x2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se <= 0.0 || !se.is_finite() {
        // Both rates 0, or both 1: no difference to find.
        return Some(TestResult {
            z: 0.0,
            p_value: 1.0,
        });
    }
    let z = (x2 / n2 - x1 / n1) / se;
    Some(TestResult {
        z,
        p_value: (2.0 * normal_sf(z.abs())).min(1.0),
    })
}

/// The nearest-rank percentile `q` (0 < q ≤ 1) of `sorted` (ascending): the smallest value
/// at least `q` of the values do not exceed, as `store/summary.rs`' p75. None when empty.
pub fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs().max(f64::MIN_POSITIVE)
    }

    #[test]
    fn erfc_matches_scipy_to_the_fits_accuracy() {
        // scipy.special.erfc (scipy 1.17.1).
        let cases = [
            (0.0, 1.0),
            (0.1, 0.8875370839817152),
            (0.5, 0.4795001221869535),
            (1.0, 0.15729920705028516),
            (2.0, 0.004677734981047266),
            (3.0, 2.2090496998585445e-05),
            (5.0, 1.5374597944280347e-12),
            (-1.5, 1.9661051464753108),
            (10.0, 2.0884875837625446e-45),
        ];
        for (x, want) in cases {
            assert!(close(erfc(x), want, 1.2e-7), "erfc({x}) = {}", erfc(x));
        }
    }

    #[test]
    fn mann_whitney_matches_scipy_asymptotic_with_continuity() {
        // scipy.stats.mannwhitneyu(x, y, alternative='two-sided', method='asymptotic',
        // use_continuity=True), scipy 1.17.1: (statistic, pvalue).
        let x = [1.1, 2.2, 3.3, 4.4, 5.5, 6.6, 7.7, 8.8];
        let y = [3.0, 4.4, 5.5, 9.9, 10.0, 11.0, 12.5, 13.0, 14.0];
        let r = mann_whitney_u(&x, &y).expect("test");
        assert_eq!(r.u_x, 14.0);
        assert!(close(r.test.p_value, 0.03832344074035729, 1e-6), "{r:?}");
        assert!(r.test.z > 0.0, "y is the larger: {r:?}");
        let swapped = mann_whitney_u(&y, &x).expect("test");
        assert_eq!(swapped.u_x, 58.0);
        assert!(close(swapped.test.p_value, 0.03832344074035729, 1e-6));
        assert!(swapped.test.z < 0.0);

        // Many ties: the tie-corrected variance.
        let a = [1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0, 4.0];
        let b = [2.0, 2.0, 3.0, 4.0, 4.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0];
        let r = mann_whitney_u(&a, &b).expect("test");
        assert_eq!(r.u_x, 16.5);
        assert!(close(r.test.p_value, 0.006270748484461931, 1e-6), "{r:?}");

        // Identical samples: p clipped to 1.
        let same = mann_whitney_u(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).expect("test");
        assert_eq!((same.u_x, same.test.p_value), (4.5, 1.0));

        // Far apart: the tail, where erfc's relative accuracy matters.
        let a: Vec<f64> = (0..100).map(f64::from).collect();
        let b: Vec<f64> = (0..100).map(|v| f64::from(v) + 60.0).collect();
        let r = mann_whitney_u(&a, &b).expect("test");
        assert_eq!(r.u_x, 800.0);
        assert!(close(r.test.p_value, 1.0542644697436216e-24, 1e-6), "{r:?}");
        assert!(close(r.p_y_greater, 1.0 - 800.0 / 10_000.0, 1e-12));
    }

    #[test]
    fn mann_whitney_needs_both_samples_and_a_spread() {
        assert_eq!(mann_whitney_u(&[], &[1.0]), None);
        let flat = mann_whitney_u(&[2.0; 40], &[2.0; 40]).expect("test");
        assert_eq!(
            flat.test,
            TestResult {
                z: 0.0,
                p_value: 1.0
            }
        );
    }

    #[test]
    fn two_proportions_match_the_pooled_z_test() {
        // z = (x2/n2 − x1/n1) / sqrt(p(1−p)(1/n1 + 1/n2)) with the pooled p, and
        // 2 * scipy.stats.norm.sf(|z|) (scipy 1.17.1).
        let cases = [
            ((20, 400, 40, 400), 2.6846242208560973, 0.007261139462332321),
            ((12, 300, 15, 310), 0.5035027958655868, 0.6146108151332821),
            (
                (1, 1000, 30, 1000),
                5.24939545316719,
                1.5259917410197866e-07,
            ),
        ];
        for ((x1, n1, x2, n2), z, p) in cases {
            let r = two_proportion_z(x1, n1, x2, n2).expect("test");
            assert!(close(r.z, z, 1e-12), "{r:?}");
            assert!(close(r.p_value, p, 1e-6), "{r:?}");
            let back = two_proportion_z(x2, n2, x1, n1).expect("test");
            assert!(close(back.z, -z, 1e-12) && close(back.p_value, p, 1e-6));
        }
        assert_eq!(
            two_proportion_z(0, 50, 0, 60),
            Some(TestResult {
                z: 0.0,
                p_value: 1.0
            })
        );
        assert_eq!(two_proportion_z(1, 0, 1, 5), None);
        assert_eq!(two_proportion_z(6, 5, 1, 5), None);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(nearest_rank(&hundred, 0.75), Some(75.0));
        assert_eq!(nearest_rank(&hundred, 0.95), Some(95.0));
        assert_eq!(nearest_rank(&[5.0], 0.95), Some(5.0));
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0, 4.0], 0.75), Some(3.0));
        assert_eq!(nearest_rank(&[], 0.5), None);
    }
}
