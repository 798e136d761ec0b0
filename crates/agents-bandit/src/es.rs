//! Evolution strategies: random search (ARS V1-t, Mania et al. 2018) over a small network
//! that fills a slate one position at a time.
//!
//! Each candidate `i` is described by its features `e_i` against the user features, read
//! as blocks of the items' width (interests, a histogram of recent topics, a click
//! history: anything laid out like the items): per block `u_b`, the product `⟨e_i, u_b⟩`
//! and the block's value at the item's main coordinate (its largest feature: its topic);
//! then any user features left over; then the slate so far: `Σ_{j placed} ⟨e_i, e_j⟩` and
//! the number of placed items of the same main coordinate. A network of one hidden layer
//! scores these; the best unplaced candidate takes the next position. The myopic ranking
//! is one such network (the interests' product alone); one that stops showing a topic
//! before boredom strikes is another, and the search finds what the returns reward.
//!
//! Learning plays whole episodes: each generation draws `directions` Gaussian directions
//! `δ`, plays every one with `θ + νδ` and `θ − νδ` for `episodes_per_direction` episodes,
//! and steps `θ += α / (b·σ_R) · Σ (r₊ − r₋) δ` over the `b` directions whose better sign
//! returned most, `σ_R` the spread of their returns.

use env::{Layout, SlateEnv, Transition};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use recsim_core::{stream, SimRng, StreamId};
use serde::{Deserialize, Serialize};

use agents::config::EsConfig;
use agents::{check_layout, Agent, AgentError, Policy};

/// The scoring network's shape for a layout.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Shape {
    /// Whole blocks of `doc_dim` user features, each dotted with the item.
    blocks: usize,
    /// User features after the blocks, each an input of its own.
    scalars: usize,
    hidden: usize,
}

impl Shape {
    fn new(layout: &Layout, hidden: usize) -> Self {
        let d = layout.doc_dim.max(1);
        let blocks = layout.user_dim / d;
        Self {
            blocks,
            scalars: layout.user_dim - blocks * d,
            hidden,
        }
    }

    /// Inputs: per block its product with the item and its value at the item's main
    /// coordinate, the scalars, and the slate context's two.
    fn inputs(&self) -> usize {
        2 * self.blocks + self.scalars + 2
    }

    fn num_params(&self) -> usize {
        self.hidden * (self.inputs() + 1) + self.hidden + 1
    }
}

/// Where the search stands: what a checkpoint holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    config: EsConfig,
    layout: Layout,
    theta: Vec<f32>,
    /// This generation's directions, `directions × params`.
    deltas: Vec<f32>,
    /// Summed returns per direction and sign (`+` at `2j`, `−` at `2j + 1`).
    returns: Vec<f64>,
    /// Episodes finished in this generation.
    played: usize,
    /// The running episode's return so far.
    episode_return: f64,
    generations: u64,
    rng: SimRng,
    /// Since the last `stats()`: the generations' mean return and step size.
    stat_return: f64,
    stat_step: f64,
    stat_count: u64,
}

/// Random search over a slate-aware scoring network.
#[derive(Debug, Clone)]
pub struct Es {
    state: State,
    /// The network's shape, from the layout and `hidden`.
    shape: Shape,
    // Scratch, refilled on every call.
    params: Vec<f32>,
    input: Vec<f32>,
    pre: Vec<f32>,
    main: Vec<usize>,
    overlap: Vec<f32>,
    shown: Vec<f32>,
    placed: Vec<bool>,
}

impl Es {
    /// An untrained search for `layout`: the network drawn as PyTorch initialises one, and
    /// the first generation's directions, from `seed`'s own stream.
    pub fn new(config: EsConfig, layout: Layout, seed: u64) -> Result<Self, AgentError> {
        config.validate()?;
        if layout.doc_dim == 0 {
            return Err(AgentError::Unsupported(
                "es scores candidates by their features, and these have none".into(),
            ));
        }
        let shape = Shape::new(&layout, config.hidden);
        let mut rng = stream(seed, StreamId::Search);
        let mut theta = Vec::with_capacity(shape.num_params());
        for (fan_in, count) in [
            (shape.inputs(), shape.hidden * (shape.inputs() + 1)),
            (shape.hidden, shape.hidden + 1),
        ] {
            let bound = 1.0 / (fan_in as f32).sqrt();
            theta.extend((0..count).map(|_| rng.random_range(-bound..bound)));
        }
        let mut state = State {
            config,
            layout,
            theta,
            deltas: Vec::new(),
            returns: vec![0.0; 2 * config.directions],
            played: 0,
            episode_return: 0.0,
            generations: 0,
            rng,
            stat_return: 0.0,
            stat_step: 0.0,
            stat_count: 0,
        };
        state.draw_directions();
        Ok(Self::from_state(state))
    }

    fn from_state(state: State) -> Self {
        let n = state.layout.num_candidates;
        let shape = Shape::new(&state.layout, state.config.hidden);
        Self {
            shape,
            params: Vec::with_capacity(state.theta.len()),
            input: Vec::with_capacity(shape.inputs()),
            pre: Vec::with_capacity(n * shape.hidden),
            main: Vec::with_capacity(n),
            overlap: Vec::with_capacity(n),
            shown: Vec::with_capacity(state.layout.doc_dim),
            placed: Vec::with_capacity(n),
            state,
        }
    }

    /// The perturbation playing the running episode: its direction and sign.
    fn member(&self) -> (usize, f32) {
        let member = self.state.member();
        let sign = if member.is_multiple_of(2) { 1.0 } else { -1.0 };
        (member / 2, sign)
    }

    /// Fills `slate` with the network `params` on the environment's observation.
    fn fill(&mut self, env: &dyn SlateEnv, slate: &mut [usize]) {
        let Shape {
            blocks,
            scalars,
            hidden,
        } = self.shape;
        let d = self.state.layout.doc_dim;
        let (user, items) = (env.user(), env.items());
        let inputs = self.shape.inputs();
        let p = &self.params;
        // Layer one: `hidden` rows of `inputs` weights and a bias, the slate context's two
        // weights last among the inputs; then layer two's weights and bias.
        let (w1, rest) = p.split_at(hidden * (inputs + 1));
        let (w2, b2) = rest.split_at(hidden);
        let n = items.len() / d;
        // Everything but the slate context, which changes as the slate fills.
        self.pre.clear();
        self.main.clear();
        for e in items.chunks_exact(d) {
            let main = main_coordinate(e);
            self.main.push(main);
            self.input.clear();
            for u in user.chunks_exact(d).take(blocks) {
                self.input.push(dot(e, u));
                self.input.push(u[main]);
            }
            self.input
                .extend_from_slice(&user[blocks * d..blocks * d + scalars]);
            for row in w1.chunks_exact(inputs + 1) {
                self.pre
                    .push(dot(&row[..inputs - 2], &self.input) + row[inputs]);
            }
        }
        self.overlap.clear();
        self.overlap.resize(n, 0.0);
        self.shown.clear();
        self.shown.resize(d, 0.0);
        self.placed.clear();
        self.placed.resize(n, false);
        for position in slate.iter_mut() {
            let mut best = (f32::NEG_INFINITY, usize::MAX);
            for i in 0..n {
                if self.placed[i] {
                    continue;
                }
                let (overlap, same) = (self.overlap[i], self.shown[self.main[i]]);
                let mut score = b2[0];
                let pre = &self.pre[i * hidden..(i + 1) * hidden];
                for ((&x, row), &w) in pre.iter().zip(w1.chunks_exact(inputs + 1)).zip(w2) {
                    let h = x + row[inputs - 2] * overlap + row[inputs - 1] * same;
                    score += w * h.max(0.0);
                }
                if score > best.0 || best.1 == usize::MAX {
                    best = (score, i);
                }
            }
            let chosen = best.1;
            *position = chosen;
            self.placed[chosen] = true;
            self.shown[self.main[chosen]] += 1.0;
            let e = &items[chosen * d..(chosen + 1) * d];
            for (o, row) in self.overlap.iter_mut().zip(items.chunks_exact(d)) {
                *o += dot(row, e);
            }
        }
    }
}

/// The coordinate of an item's largest feature (the first of equal maxima): its main
/// topic where the features are topic affinities.
fn main_coordinate(e: &[f32]) -> usize {
    let mut best = 0;
    for (t, &x) in e.iter().enumerate() {
        if x > e[best] {
            best = t;
        }
    }
    best
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl State {
    /// The running episode's perturbation: direction `m / 2`, `+` for even `m`.
    fn member(&self) -> usize {
        self.played / self.config.episodes_per_direction
    }

    fn draw_directions(&mut self) {
        let n = self.theta.len();
        self.deltas.clear();
        self.deltas.extend((0..self.config.directions * n).map(|_| {
            let x: f64 = StandardNormal.sample(&mut self.rng);
            x as f32
        }));
    }

    /// Adds the finished episode's return; at the end of a generation, steps and draws
    /// the next directions.
    fn finish_episode(&mut self) {
        let c = self.config;
        let member = self.member();
        self.returns[member] += self.episode_return;
        self.episode_return = 0.0;
        self.played += 1;
        if self.played < 2 * c.directions * c.episodes_per_direction {
            return;
        }
        let per = c.episodes_per_direction as f64;
        let pairs: Vec<(f64, f64)> = self
            .returns
            .chunks_exact(2)
            .map(|r| (r[0] / per, r[1] / per))
            .collect();
        let mut order: Vec<usize> = (0..c.directions).collect();
        order.sort_by(|&a, &b| {
            let best = |j: usize| pairs[j].0.max(pairs[j].1);
            best(b).total_cmp(&best(a)).then(a.cmp(&b))
        });
        let top = &order[..c.top_directions];
        let used: Vec<f64> = top.iter().flat_map(|&j| [pairs[j].0, pairs[j].1]).collect();
        let mean = used.iter().sum::<f64>() / used.len() as f64;
        let sd = (used.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / used.len() as f64).sqrt();
        let n = self.theta.len();
        let mut step_sq = 0.0;
        if sd > 0.0 {
            let scale = c.lr / (c.top_directions as f64 * sd);
            let mut step = vec![0.0f64; n];
            for &j in top {
                let diff = pairs[j].0 - pairs[j].1;
                for (s, &delta) in step.iter_mut().zip(&self.deltas[j * n..(j + 1) * n]) {
                    *s += scale * diff * f64::from(delta);
                }
            }
            for (t, s) in self.theta.iter_mut().zip(&step) {
                *t += *s as f32;
                step_sq += s * s;
            }
        }
        let all = pairs.iter().map(|p| p.0 + p.1).sum::<f64>() / (2 * c.directions) as f64;
        self.stat_return += all;
        self.stat_step += step_sq.sqrt();
        self.stat_count += 1;
        self.generations += 1;
        self.returns.iter_mut().for_each(|r| *r = 0.0);
        self.played = 0;
        self.draw_directions();
    }
}

impl Policy for Es {
    fn algorithm(&self) -> &'static str {
        "es"
    }

    fn act(&mut self, env: &dyn SlateEnv, explore: bool, slate: &mut [usize]) {
        self.params.clear();
        self.params.extend_from_slice(&self.state.theta);
        if explore {
            let (direction, sign) = self.member();
            let n = self.params.len();
            let nu = self.state.config.noise as f32;
            let delta = &self.state.deltas[direction * n..(direction + 1) * n];
            for (p, &x) in self.params.iter_mut().zip(delta) {
                *p += sign * nu * x;
            }
        }
        self.fill(env, slate);
    }

    fn describe(&self) -> String {
        let (s, shape) = (&self.state, &self.shape);
        format!(
            "random search over a slate-aware scoring network: {} inputs ({} user blocks, {} user scalars, the slate context), {} hidden, {} parameters; {} generations",
            shape.inputs(),
            shape.blocks,
            shape.scalars,
            shape.hidden,
            s.theta.len(),
            s.generations
        )
    }
}

impl Agent for Es {
    fn policy(&self) -> Box<dyn Policy> {
        Box::new(self.clone())
    }

    /// Only the return counts: the search learns from whole episodes.
    fn observe(&mut self, _slate: &[usize], t: &Transition, _next: &dyn SlateEnv) {
        self.state.episode_return += t.reward;
        if t.done() {
            self.state.finish_episode();
        }
    }

    fn stats(&mut self) -> Vec<(&'static str, f64)> {
        let s = &mut self.state;
        let per = |v: f64| {
            if s.stat_count > 0 {
                v / s.stat_count as f64
            } else {
                f64::NAN
            }
        };
        let out = vec![
            ("generations", s.generations as f64),
            ("generation_return_mean", per(s.stat_return)),
            ("step_norm", per(s.stat_step)),
        ];
        (s.stat_return, s.stat_step, s.stat_count) = (0.0, 0.0, 0);
        out
    }

    fn save(&self) -> Vec<u8> {
        bincode::serde::encode_to_vec(&self.state, bincode::config::standard())
            .expect("the search state encodes")
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), AgentError> {
        let (state, _): (State, usize) =
            bincode::serde::decode_from_slice(bytes, bincode::config::standard()).map_err(|e| {
                AgentError::Decode {
                    what: "the search state",
                    source: Box::new(e),
                }
            })?;
        check_layout(&self.state.layout, &state.layout)?;
        let c = state.config;
        let shape = Shape::new(&state.layout, c.hidden);
        let n = shape.num_params();
        if shape != self.shape
            || state.theta.len() != n
            || state.deltas.len() != c.directions * n
            || state.returns.len() != 2 * c.directions
            || state.played >= 2 * c.directions * c.episodes_per_direction
            || c.validate().is_err()
        {
            return Err(AgentError::State(
                "the search state does not fit its network".into(),
            ));
        }
        *self = Self::from_state(state);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use env::Scenario;

    fn ideal_bored() -> Box<dyn SlateEnv> {
        let mut scenario = Scenario::new("sardine-slate-top-k-bored");
        scenario.wrappers.user_observation = true;
        scenario.build().unwrap()
    }

    /// The network `relu(⟨e_i, ũ⟩)`, which is `⟨e_i, ũ⟩` itself: the short-term oracle's
    /// ranking.
    #[test]
    fn the_interests_alone_fill_the_oracles_slate() {
        let mut env = ideal_bored();
        env.reset(Some(3));
        let layout = env.layout();
        let mut es = Es::new(EsConfig::default(), layout, 0).unwrap();
        let s = es.shape;
        assert_eq!((s.blocks, s.scalars, s.inputs()), (3, 0, 8));
        let mut theta = vec![0.0; s.num_params()];
        theta[0] = 1.0; // hidden unit 0 reads the interests' product with the item
        theta[s.hidden * (s.inputs() + 1)] = 1.0; // and is the output
        es.state.theta = theta;
        let mut slate = [0; 10];
        es.act(env.as_ref(), false, &mut slate);
        let (user, items) = (env.user(), env.items());
        let score = |i: usize| dot(&items[i * 10..(i + 1) * 10], &user[..10]);
        let mut best: Vec<usize> = (0..layout.num_candidates).collect();
        best.sort_by(|&a, &b| score(b).total_cmp(&score(a)).then(a.cmp(&b)));
        assert!(score(best[0]) > 0.0, "the user is not bored");
        assert_eq!(slate[..], best[..10]);
    }

    /// Two directions played once each way, the better one stepped along:
    /// `θ += α / (1·σ_R) · (r₊ − r₋) δ`, with `σ_R` the spread of its two returns.
    #[test]
    fn a_generation_steps_along_the_best_direction() {
        let env = ideal_bored();
        let config = EsConfig {
            directions: 2,
            top_directions: 1,
            episodes_per_direction: 1,
            lr: 0.5,
            ..EsConfig::default()
        };
        let mut es = Es::new(config, env.layout(), 1).unwrap();
        let before = es.state.theta.clone();
        let deltas = es.state.deltas.clone();
        let n = before.len();
        // Direction 0: +10 / −6; direction 1: +1 / −3. Direction 0 has the best return.
        for r in [10.0, 6.0, 1.0, 3.0] {
            es.state.episode_return = r;
            es.state.finish_episode();
        }
        assert_eq!(es.state.generations, 1);
        assert_eq!(es.state.played, 0);
        assert_ne!(es.state.deltas, deltas, "the next generation's directions");
        let sd = 2.0; // of {10, 6}
        for k in 0..n {
            let expected = before[k] + (0.5 / sd * (10.0 - 6.0) * f64::from(deltas[k])) as f32;
            assert!((es.state.theta[k] - expected).abs() < 1e-6, "parameter {k}");
        }
    }

    #[test]
    fn a_saved_search_loads_back_and_a_foreign_one_is_refused() {
        let env = ideal_bored();
        let mut es = Es::new(EsConfig::default(), env.layout(), 2).unwrap();
        es.state.episode_return = 4.0;
        es.state.finish_episode();
        let bytes = es.save();
        let mut other = Es::new(EsConfig::default(), env.layout(), 9).unwrap();
        other.load(&bytes).unwrap();
        assert_eq!(other.state, es.state);
        assert!(other.load(&bytes[..bytes.len() / 2]).is_err());
        let mut rerank = Scenario::new("sardine-slate-rerank-bored");
        rerank.wrappers.user_observation = true;
        let mut foreign =
            Es::new(EsConfig::default(), rerank.build().unwrap().layout(), 0).unwrap();
        assert!(matches!(foreign.load(&bytes), Err(AgentError::State(_))));
    }
}
