//! Quadrature: Gauss–Hermite rules for the innovation noise, and the expected best of
//! `N` i.i.d. candidates over equal-probability cells of their distribution.

/// `(He_n(x), He_{n−1}(x))`, the probabilists' Hermite polynomials.
pub(super) fn hermite(n: usize, x: f64) -> (f64, f64) {
    let (mut prev, mut cur) = (0.0, 1.0);
    for k in 0..n {
        let next = x * cur - k as f64 * prev;
        prev = cur;
        cur = next;
    }
    (cur, prev)
}

/// The `n`-point Gauss–Hermite rule for the standard normal: `(node, weight)` pairs with
/// `Σ w·f(z) = E[f(Z)]` exactly for polynomials `f` of degree below `2n`.
pub(super) fn gauss_hermite(n: usize) -> Vec<(f64, f64)> {
    // The roots of He_n are simple, symmetric about 0 and below √(4n+2). Neighbouring roots
    // are at least ~π/√(2n) apart, so a scan with steps of √(4n+2)/(64n) brackets each
    // positive root alone; bisection then finds it to machine precision.
    let bound = ((4 * n + 2) as f64).sqrt();
    let steps = 64 * n;
    let h = bound / steps as f64;
    let value = |x: f64| hermite(n, x).0;
    let mut roots = Vec::with_capacity(n);
    if n % 2 == 1 {
        roots.push(0.0);
    }
    // The scan starts half a step above 0, which is itself a root when n is odd.
    let mut a = 0.5 * h;
    let mut fa = value(a);
    for k in 1..=steps {
        let b = (k as f64 + 0.5) * h;
        let fb = value(b);
        if (fa < 0.0) != (fb < 0.0) {
            let (mut lo, mut hi) = (a, b);
            loop {
                let mid = 0.5 * (lo + hi);
                if mid <= lo || mid >= hi {
                    break;
                }
                if (value(mid) < 0.0) == (fa < 0.0) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let root = 0.5 * (lo + hi);
            roots.extend([root, -root]);
        }
        (a, fa) = (b, fb);
    }
    debug_assert_eq!(roots.len(), n, "every root of He_{n} bracketed");
    // w_i = (n−1)! / (n·He_{n−1}(z_i)²) for the normalised Gaussian weight.
    let factorial: f64 = (1..n).map(|k| k as f64).product();
    roots
        .into_iter()
        .map(|z| {
            let below = hermite(n, z).1;
            (z, factorial / (n as f64 * below * below))
        })
        .collect()
}

/// `P(the best of n i.i.d. draws lies in cell k)` for the `m` equal-probability cells of
/// its distribution, worst cell first: `(k/m)^n − ((k−1)/m)^n`.
pub(super) fn best_of_weights(m: usize, n: usize) -> Vec<f64> {
    let cdf = |k: usize| (k as f64 / m as f64).powf(n as f64);
    (1..=m).map(|k| cdf(k) - cdf(k - 1)).collect()
}

/// `E[max of n]` of a quantity whose distribution is the `m` equally likely `values`
/// (sorted in place); `weights` = [`best_of_weights`]`(m, n)`.
pub(super) fn expected_best(values: &mut [f64], weights: &[f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values.iter().zip(weights).map(|(q, p)| q * p).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_best_of_n_matches_closed_forms() {
        let m = 256;
        let cells: Vec<f64> = (0..m).map(|j| (j as f64 + 0.5) / m as f64).collect();
        for n in [1, 2, 5, 20] {
            let weights = best_of_weights(m, n);
            assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            // The best of n uniforms has mean n/(n+1). Cell midpoints err by about
            // n/(12m²) for a linear quantity, hence the n/(6m²) allowance.
            let tolerance = n as f64 / (6.0 * (m * m) as f64);
            let mut q = cells.clone();
            let exact = n as f64 / (n as f64 + 1.0);
            assert!((expected_best(&mut q, &weights) - exact).abs() < tolerance);
            // |c − ½| is uniform on [0, ½) but not monotone in c: the sort must rank it.
            let mut q: Vec<f64> = cells.iter().map(|c| (c - 0.5).abs()).collect();
            assert!((expected_best(&mut q, &weights) - 0.5 * exact).abs() < tolerance);
        }
    }

    #[test]
    fn gauss_hermite_integrates_polynomials_exactly() {
        for n in 1..=12 {
            let rule = gauss_hermite(n);
            assert_eq!(rule.len(), n);
            // E[Z^k] = 0 for odd k and (k−1)!! for even k; exact up to degree 2n−1.
            let mut double_factorial = 1.0;
            for k in 0..2 * n {
                let moment: f64 = rule.iter().map(|&(z, w)| w * z.powi(k as i32)).sum();
                let exact = if k % 2 == 1 { 0.0 } else { double_factorial };
                if k % 2 == 1 {
                    double_factorial *= k as f64;
                }
                assert!(
                    (moment - exact).abs() < 1e-10 * exact.max(1.0),
                    "n={n}, k={k}: {moment} vs {exact}"
                );
            }
            let sigma = 0.05;
            let variance: f64 = rule.iter().map(|&(z, w)| w * (sigma * z).powi(2)).sum();
            if n >= 2 {
                assert!((variance - sigma * sigma).abs() < 1e-15);
            }
        }
        let widest = gauss_hermite(64);
        assert_eq!(widest.len(), 64);
        assert!((widest.iter().map(|&(_, w)| w).sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
