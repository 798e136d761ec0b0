//! Flat observations: one `f32` vector per observation, for learners that want a vector
//! (Python's `flat=True`) and for batches written straight into an array.
//!
//! The vector is the observation's parts in the order user ‖ candidates ‖ response (the
//! bandit observation has only its `item` matrix); SARDINE's are its `Dict`'s entries in
//! their order, or its one `Box`. Each part is laid out as gymnasium's
//! `flatten` lays out its space: a `Box` as its elements, row-major; a `Discrete(n)` as a
//! one-hot vector of `n` entries; a `Dict` as its entries in order; a `Tuple` as its items
//! in order. The candidates' part is [`SlateEnv::items`] itself, because a model's
//! document features are the flattening of its document value
//! ([`crate::ModelSpaces::doc_value`]).
//!
//! [`SlateEnv::write_flat`] writes the vector without allocating; [`flatten_observation`]
//! derives the same vector from the observation's [`Value`], slowly but for any space,
//! which is how the fast path is tested.

use crate::{SlateEnv, Space, Value};

/// The observation's top-level keys in the order of the flat vector.
pub const FLAT_PARTS: [&str; 4] = ["user", "doc", "item", "response"];

impl Space {
    /// The length of the space's flat encoding.
    pub fn flat_dim(&self) -> usize {
        match self {
            Space::Discrete(n) => *n as usize,
            Space::MultiDiscrete(nvec) => nvec.iter().map(|&n| n as usize).sum(),
            Space::Box { shape, .. } => shape.iter().product(),
            Space::Dict(entries) => entries.iter().map(|(_, s)| s.flat_dim()).sum(),
            Space::Tuple(items) => items.iter().map(Space::flat_dim).sum(),
        }
    }

    /// Appends the bounds of every element of the flat encoding (a one-hot entry lies in
    /// `[0, 1]`).
    pub fn flat_bounds(&self, low: &mut Vec<f64>, high: &mut Vec<f64>) {
        match self {
            Space::Box {
                low: lo,
                high: hi,
                shape,
            } => {
                let len: usize = shape.iter().product();
                low.extend(std::iter::repeat_n(*lo, len));
                high.extend(std::iter::repeat_n(*hi, len));
            }
            Space::Discrete(_) | Space::MultiDiscrete(_) => {
                let len = self.flat_dim();
                low.extend(std::iter::repeat_n(0.0, len));
                high.extend(std::iter::repeat_n(1.0, len));
            }
            Space::Dict(entries) => entries.iter().for_each(|(_, s)| s.flat_bounds(low, high)),
            Space::Tuple(items) => items.iter().for_each(|s| s.flat_bounds(low, high)),
        }
    }
}

/// Writes the flat encoding of `value`, a point of `space`, at the start of `out`;
/// returns the length written. Values outside the space are written as far as they fit
/// it (a one-hot entry past `n` is dropped).
pub fn flatten_value(space: &Space, value: &Value, out: &mut [f32]) -> usize {
    match (space, value) {
        (Space::Discrete(n), Value::Int(x)) => {
            let n = *n as usize;
            out[..n].fill(0.0);
            if let Some(slot) = out[..n].get_mut(*x as usize) {
                *slot = 1.0;
            }
            n
        }
        (Space::MultiDiscrete(nvec), Value::Ints(xs)) => {
            let mut at = 0;
            for (&n, &x) in nvec.iter().zip(xs) {
                at += flatten_value(&Space::Discrete(n), &Value::Int(x), &mut out[at..]);
            }
            at
        }
        (Space::Box { .. }, Value::Array(xs)) => {
            for (o, &x) in out.iter_mut().zip(xs) {
                *o = x as f32;
            }
            xs.len()
        }
        (Space::Dict(spaces), Value::Dict(values)) => {
            let mut at = 0;
            for ((_, s), (_, v)) in spaces.iter().zip(values) {
                at += flatten_value(s, v, &mut out[at..]);
            }
            at
        }
        (Space::Tuple(spaces), Value::Tuple(values)) => {
            let mut at = 0;
            for (s, v) in spaces.iter().zip(values) {
                at += flatten_value(s, v, &mut out[at..]);
            }
            at
        }
        _ => 0,
    }
}

/// The observation's parts in the flat order: RecSim's ([`FLAT_PARTS`]) where the space
/// has them, else a `Dict`'s entries in their order (SARDINE's), else the whole space as
/// one part named `""`.
fn parts(observation_space: &Space) -> Vec<(&str, &Space)> {
    let Space::Dict(entries) = observation_space else {
        return vec![("", observation_space)];
    };
    if !entries
        .iter()
        .any(|(k, _)| FLAT_PARTS.contains(&k.as_str()))
    {
        return entries.iter().map(|(k, s)| (k.as_str(), s)).collect();
    }
    FLAT_PARTS
        .iter()
        .filter_map(|part| entries.iter().find(|(k, _)| k == part))
        .map(|(k, s)| (k.as_str(), s))
        .collect()
}

/// The length of a flat observation of `observation_space`.
pub fn flat_dim(observation_space: &Space) -> usize {
    parts(observation_space)
        .iter()
        .map(|(_, s)| s.flat_dim())
        .sum()
}

/// `(low, high)` of every element of a flat observation of `observation_space`.
pub fn flat_bounds(observation_space: &Space) -> (Vec<f64>, Vec<f64>) {
    let (mut low, mut high) = (Vec::new(), Vec::new());
    for (_, space) in parts(observation_space) {
        space.flat_bounds(&mut low, &mut high);
    }
    (low, high)
}

/// Where each part of the observation lies in the flat vector: `(key, offset, space)`.
pub fn flat_offsets(observation_space: &Space) -> Vec<(String, usize, Space)> {
    let mut at = 0;
    parts(observation_space)
        .into_iter()
        .map(|(key, space)| {
            let part = (key.to_string(), at, space.clone());
            at += space.flat_dim();
            part
        })
        .collect()
}

/// The flat observation derived from the observation's [`Value`] (allocates; what
/// [`SlateEnv::write_flat`] writes directly).
pub fn flatten_observation(observation_space: &Space, observation: &Value) -> Vec<f32> {
    let mut out = vec![0.0; flat_dim(observation_space)];
    let Value::Dict(values) = observation else {
        flatten_value(observation_space, observation, &mut out);
        return out;
    };
    let mut at = 0;
    for (key, space) in parts(observation_space) {
        if let Some((_, value)) = values.iter().find(|(k, _)| k == key) {
            flatten_value(space, value, &mut out[at..]);
        }
        at += space.flat_dim();
    }
    out
}

/// The length of `env`'s flat observation (builds the observation space: call it once).
pub fn env_flat_dim(env: &dyn SlateEnv) -> usize {
    flat_dim(&env.spaces().0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scenario, Wrappers};

    fn switches() -> Vec<Wrappers> {
        let mut all = Vec::new();
        for bits in 0..16u8 {
            let w = Wrappers {
                user_observation: bits & 1 != 0,
                bandit_observation: bits & 2 != 0,
                discrete_action: bits & 4 != 0,
                time_aware: bits & 8 != 0,
            };
            // The bandit observation refuses the features it would drop.
            if !(w.bandit_observation && (w.user_observation || w.time_aware)) {
                all.push(w);
            }
        }
        all
    }

    #[test]
    fn the_fast_flat_observation_is_the_flattened_value_and_lies_in_its_bounds() {
        for world in [
            "strong-lts",
            "lts",
            "interest-evolution",
            "interest-exploration",
        ] {
            for wrappers in switches() {
                let scenario = Scenario {
                    num_candidates: 5,
                    slate_size: 3,
                    wrappers,
                    ..Scenario::new(world)
                };
                let mut env = scenario.build().unwrap();
                let space = env.spaces().0;
                let dim = env_flat_dim(env.as_ref());
                let (low, high) = flat_bounds(&space);
                assert_eq!((low.len(), high.len()), (dim, dim));
                let mut flat = vec![f32::NAN; dim];
                env.reset(Some(3));
                for step in 0..40 {
                    env.write_flat(&mut flat);
                    let value = env.observation_value();
                    assert!(space.contains(&value), "{world} {wrappers:?}");
                    assert_eq!(
                        flat,
                        flatten_observation(&space, &value),
                        "{world} {wrappers:?} step {step}"
                    );
                    for ((x, lo), hi) in flat.iter().zip(&low).zip(&high) {
                        assert!(
                            (*lo..=*hi).contains(&f64::from(*x)),
                            "{x} outside [{lo}, {hi}]"
                        );
                    }
                    let slate = [step % 5, (step + 1) % 5, (step + 3) % 5];
                    if env.step(&slate[..1 + step % 3]).unwrap().done() {
                        env.reset(None);
                    }
                }
            }
        }
    }

    #[test]
    fn layouts_follow_gymnasium_flatten() {
        let space = Space::dict(vec![
            ("a", Space::Discrete(3)),
            ("b", Space::boxed(-1.0, 2.0, &[2])),
            ("c", Space::Tuple(vec![Space::MultiDiscrete(vec![2, 2])])),
        ]);
        assert_eq!(space.flat_dim(), 3 + 2 + 4);
        let value = Value::Dict(vec![
            ("a".into(), Value::Int(2)),
            ("b".into(), Value::Array(vec![0.5, -1.0])),
            ("c".into(), Value::Tuple(vec![Value::Ints(vec![1, 0])])),
        ]);
        let mut out = vec![9.0; 9];
        assert_eq!(flatten_value(&space, &value, &mut out), 9);
        assert_eq!(out, [0.0, 0.0, 1.0, 0.5, -1.0, 0.0, 1.0, 1.0, 0.0]);
        let (mut low, mut high) = (Vec::new(), Vec::new());
        space.flat_bounds(&mut low, &mut high);
        assert_eq!(low, [0.0, 0.0, 0.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(high, [1.0, 1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn parts_come_user_first_whatever_the_key_order() {
        let scenario = Scenario {
            num_candidates: 4,
            slate_size: 2,
            ..Scenario::new("interest-evolution")
        };
        let env = scenario.build().unwrap();
        let offsets: Vec<(String, usize)> = flat_offsets(&env.spaces().0)
            .into_iter()
            .map(|(k, at, _)| (k, at))
            .collect();
        // user 20, 4 documents × 20, then 2 responses × (2 + 20 + 2 + 1 + 1).
        assert_eq!(
            offsets,
            [
                ("user".into(), 0),
                ("doc".into(), 20),
                ("response".into(), 100)
            ]
        );
        assert_eq!(env_flat_dim(env.as_ref()), 100 + 2 * 26);
    }
}
