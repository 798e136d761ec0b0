//! Gym's spaces: `Discrete`, `MultiDiscrete`, `Box`, `Dict`, `Tuple`.

use std::fmt;

use rand::Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};

/// A set of valid observations or actions, as gymnasium defines them.
#[derive(Debug, Clone, PartialEq)]
pub enum Space {
    /// `{0, …, n−1}`.
    Discrete(u64),
    /// One `Discrete(n_i)` per coordinate.
    MultiDiscrete(Vec<u64>),
    /// Real arrays of `shape` with every element in `[low, high]` (bounds may be infinite).
    Box {
        /// The lower bound of every element.
        low: f64,
        /// The upper bound of every element.
        high: f64,
        /// The array's shape (`[]` for a scalar).
        shape: Vec<usize>,
    },
    /// Named sub-spaces; gym sorts plain-dict keys, so the order here is the display order.
    Dict(Vec<(String, Space)>),
    /// Sub-spaces by position.
    Tuple(Vec<Space>),
}

/// A point of a [`Space`]. Box values are flat, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A point of a `Discrete` space.
    Int(u64),
    /// A point of a `MultiDiscrete` space.
    Ints(Vec<u64>),
    /// A point of a `Box` space, flat and row-major.
    Array(Vec<f64>),
    /// A point of a `Dict` space, keys in the space's order.
    Dict(Vec<(String, Value)>),
    /// A point of a `Tuple` space.
    Tuple(Vec<Value>),
}

impl Space {
    /// A `Box` with the same bounds everywhere.
    pub fn boxed(low: f64, high: f64, shape: &[usize]) -> Self {
        Space::Box {
            low,
            high,
            shape: shape.to_vec(),
        }
    }

    /// A `Dict` of named sub-spaces, in the order given.
    pub fn dict(entries: Vec<(&str, Space)>) -> Self {
        Space::Dict(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    /// A uniform sample, as gymnasium draws it: unbounded Box coordinates are normal,
    /// half-bounded ones shifted exponentials, bounded ones uniform.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Value {
        match self {
            Space::Discrete(n) => Value::Int(rng.random_range(0..*n)),
            Space::MultiDiscrete(nvec) => {
                Value::Ints(nvec.iter().map(|&n| rng.random_range(0..n)).collect())
            }
            Space::Box { low, high, shape } => {
                let len = shape.iter().product();
                let (lo, hi) = (*low, *high);
                let draw = |rng: &mut R| -> f64 {
                    match (lo.is_finite(), hi.is_finite()) {
                        (true, true) => lo + (hi - lo) * rng.random::<f64>(),
                        (true, false) => lo + Distribution::<f64>::sample(&Exp1, rng),
                        (false, true) => hi - Distribution::<f64>::sample(&Exp1, rng),
                        (false, false) => StandardNormal.sample(rng),
                    }
                };
                Value::Array((0..len).map(|_| draw(rng)).collect())
            }
            Space::Dict(entries) => Value::Dict(
                entries
                    .iter()
                    .map(|(k, s)| (k.clone(), s.sample(rng)))
                    .collect(),
            ),
            Space::Tuple(items) => Value::Tuple(items.iter().map(|s| s.sample(rng)).collect()),
        }
    }

    /// Whether `value` is a point of the space (gym's `contains`).
    pub fn contains(&self, value: &Value) -> bool {
        match (self, value) {
            (Space::Discrete(n), Value::Int(x)) => x < n,
            (Space::MultiDiscrete(nvec), Value::Ints(xs)) => {
                nvec.len() == xs.len() && xs.iter().zip(nvec).all(|(x, n)| x < n)
            }
            (Space::Box { low, high, shape }, Value::Array(xs)) => {
                xs.len() == shape.iter().product::<usize>()
                    && xs.iter().all(|x| (*low..=*high).contains(x))
            }
            (Space::Dict(spaces), Value::Dict(values)) => {
                spaces.len() == values.len()
                    && spaces
                        .iter()
                        .zip(values)
                        .all(|((ks, s), (kv, v))| ks == kv && s.contains(v))
            }
            (Space::Tuple(spaces), Value::Tuple(values)) => {
                spaces.len() == values.len()
                    && spaces.iter().zip(values).all(|(s, v)| s.contains(v))
            }
            _ => false,
        }
    }

    /// The number of elements in a `Discrete` or `MultiDiscrete` space, when it fits.
    pub fn cardinality(&self) -> Option<u64> {
        match self {
            Space::Discrete(n) => Some(*n),
            Space::MultiDiscrete(nvec) => nvec.iter().try_fold(1u64, |acc, &n| acc.checked_mul(n)),
            _ => None,
        }
    }
}

fn fmt_bound(x: f64) -> String {
    if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{x:?}")
    }
}

impl fmt::Display for Space {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Space::Discrete(n) => write!(f, "Discrete({n})"),
            Space::MultiDiscrete(nvec) => {
                let items: Vec<String> = nvec.iter().map(u64::to_string).collect();
                write!(f, "MultiDiscrete([{}])", items.join(" "))
            }
            Space::Box { low, high, shape } => {
                let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
                let shape = if dims.len() == 1 {
                    format!("({},)", dims[0])
                } else {
                    format!("({})", dims.join(", "))
                };
                write!(
                    f,
                    "Box({}, {}, {shape}, float32)",
                    fmt_bound(*low),
                    fmt_bound(*high)
                )
            }
            Space::Dict(entries) => {
                let items: Vec<String> =
                    entries.iter().map(|(k, s)| format!("'{k}': {s}")).collect();
                write!(f, "Dict({})", items.join(", "))
            }
            Space::Tuple(items) => {
                let items: Vec<String> = items.iter().map(Space::to_string).collect();
                write!(f, "Tuple({})", items.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use recsim_core::SimRng;

    #[test]
    fn display_reads_like_gym() {
        assert_eq!(
            Space::MultiDiscrete(vec![20, 20]).to_string(),
            "MultiDiscrete([20 20])"
        );
        assert_eq!(Space::Discrete(400).to_string(), "Discrete(400)");
        assert_eq!(
            Space::boxed(0.0, 1.0, &[1]).to_string(),
            "Box(0.0, 1.0, (1,), float32)"
        );
        assert_eq!(
            Space::boxed(0.0, f64::INFINITY, &[0]).to_string(),
            "Box(0.0, inf, (0,), float32)"
        );
        let d = Space::dict(vec![
            ("a", Space::Discrete(2)),
            ("b", Space::boxed(-1.0, 1.0, &[20, 3])),
        ]);
        assert_eq!(
            d.to_string(),
            "Dict('a': Discrete(2), 'b': Box(-1.0, 1.0, (20, 3), float32))"
        );
        assert_eq!(
            Space::Tuple(vec![Space::Discrete(2), Space::Discrete(3)]).to_string(),
            "Tuple(Discrete(2), Discrete(3))"
        );
    }

    #[test]
    fn samples_are_contained() {
        let mut rng = SimRng::seed_from_u64(7);
        let spaces = [
            Space::Discrete(5),
            Space::MultiDiscrete(vec![3, 4]),
            Space::boxed(-1.0, 1.0, &[4, 2]),
            Space::boxed(0.0, f64::INFINITY, &[3]),
            Space::boxed(f64::NEG_INFINITY, 2.0, &[3]),
            Space::boxed(f64::NEG_INFINITY, f64::INFINITY, &[3]),
            Space::dict(vec![
                ("x", Space::Discrete(2)),
                ("y", Space::Tuple(vec![Space::Discrete(3)])),
            ]),
        ];
        for space in &spaces {
            for _ in 0..200 {
                let v = space.sample(&mut rng);
                assert!(space.contains(&v), "{space} does not contain {v:?}");
            }
        }
    }

    #[test]
    fn contains_rejects_outsiders() {
        assert!(!Space::Discrete(3).contains(&Value::Int(3)));
        assert!(!Space::MultiDiscrete(vec![2, 2]).contains(&Value::Ints(vec![1])));
        assert!(!Space::boxed(0.0, 1.0, &[2]).contains(&Value::Array(vec![0.5, 1.5])));
        assert!(!Space::boxed(0.0, 1.0, &[2]).contains(&Value::Array(vec![0.5])));
        assert!(!Space::Discrete(3).contains(&Value::Array(vec![0.0])));
    }

    #[test]
    fn multidiscrete_samples_cover_every_position() {
        let space = Space::MultiDiscrete(vec![20, 20]);
        let mut rng = SimRng::seed_from_u64(1);
        let mut seen = [false; 20];
        for _ in 0..1000 {
            if let Value::Ints(v) = space.sample(&mut rng) {
                seen[v[0] as usize] = true;
                seen[v[1] as usize] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(space.cardinality(), Some(400));
    }
}
