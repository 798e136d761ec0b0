//! The learning algorithms' hyperparameters: the `[linucb]`, `[lints]`, `[slateq]` and
//! `[es]` tables of a run's configuration. Each is checked into its range before anything runs
//! ([`LinUcbConfig::validate`] and its siblings), and an unknown key is an error.

use serde::{Deserialize, Serialize};

use crate::AgentError;

/// Checks that `value` is finite and lies in `[lo, hi]`.
fn in_range(name: &'static str, value: f64, lo: f64, hi: f64) -> Result<(), AgentError> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(AgentError::Config {
            name,
            why: format!(
                "{} must be finite and in [{lo:e}, {hi:e}]",
                env::Number(value)
            ),
        })
    }
}

/// Checks that a count lies in `[lo, hi]`, saying why the bound is there.
fn count_in(
    name: &'static str,
    value: usize,
    lo: usize,
    hi: usize,
    why: &str,
) -> Result<(), AgentError> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(AgentError::Config {
            name,
            why: format!("{value} must be between {lo} and {hi} ({why})"),
        })
    }
}

/// LinUCB's hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinUcbConfig {
    /// Width of the confidence bonus `α·sqrt(xᵀA⁻¹x)`.
    pub alpha: f64,
    /// Ridge regularisation: the prior precision `λI`.
    pub lambda: f64,
}

impl Default for LinUcbConfig {
    fn default() -> Self {
        Self {
            alpha: 1.0,
            lambda: 1.0,
        }
    }
}

/// The prior precision of the linear bandits: below 1e-6 the posterior covariance is so
/// wide that the first updates lose all precision and nothing is learned.
const LAMBDA_RANGE: (f64, f64) = (1e-6, 1e6);

impl LinUcbConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), AgentError> {
        in_range("linucb.alpha", self.alpha, 0.0, 1e6)?;
        in_range("linucb.lambda", self.lambda, LAMBDA_RANGE.0, LAMBDA_RANGE.1)
    }
}

/// Linear Thompson sampling's hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinTsConfig {
    /// Scale `v` of the posterior draw `θ̃ ~ N(θ̂, v²A⁻¹)`.
    pub noise_scale: f64,
    /// Ridge regularisation: the prior precision `λI`.
    pub lambda: f64,
}

impl Default for LinTsConfig {
    fn default() -> Self {
        Self {
            noise_scale: 1.0,
            lambda: 1.0,
        }
    }
}

impl LinTsConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), AgentError> {
        in_range("lints.noise_scale", self.noise_scale, 1e-9, 1e6)?;
        in_range("lints.lambda", self.lambda, LAMBDA_RANGE.0, LAMBDA_RANGE.1)
    }
}

/// Evolution strategies' hyperparameters: random search over a slate-aware scoring
/// network (Mania et al., "Simple random search of static linear policies is competitive
/// for reinforcement learning", NeurIPS 2018: ARS V1-t on a small network).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EsConfig {
    /// Hidden units of the scoring network.
    pub hidden: usize,
    /// Search directions per generation; each is played with `+noise` and `-noise`.
    pub directions: usize,
    /// The directions of the best returns that make the step (`≤ directions`).
    pub top_directions: usize,
    /// Episodes played per direction and sign; their mean is its return.
    pub episodes_per_direction: usize,
    /// The perturbation's scale `ν`.
    pub noise: f64,
    /// The step size `α`.
    pub lr: f64,
}

impl Default for EsConfig {
    fn default() -> Self {
        Self {
            hidden: 8,
            directions: 8,
            top_directions: 4,
            episodes_per_direction: 2,
            // On SlateTopK-Bored's true state (seed 0, 150 generations), ν = 0.3 and
            // α = 0.2 reached 179 clicks an episode, ν = 0.1 and α = 0.05 171.
            noise: 0.3,
            lr: 0.2,
        }
    }
}

impl EsConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), AgentError> {
        let budget = "a generation's cost grows with it";
        count_in(
            "es.hidden",
            self.hidden,
            1,
            1024,
            "units of the one hidden layer",
        )?;
        count_in("es.directions", self.directions, 1, 10_000, budget)?;
        count_in(
            "es.top_directions",
            self.top_directions,
            1,
            self.directions,
            "the best of es.directions",
        )?;
        count_in(
            "es.episodes_per_direction",
            self.episodes_per_direction,
            1,
            10_000,
            budget,
        )?;
        in_range("es.noise", self.noise, 1e-9, 1e3)?;
        in_range("es.lr", self.lr, 1e-9, 1e3)
    }
}

/// Which choice model SlateQ uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChoiceModelKind {
    /// The environment's own where observations reveal it, else learned.
    Auto,
    /// The environment's own (an error where it is unknown).
    Known,
    /// A conditional logit learned from the observed clicks, as RLlib's SlateQ does.
    Learned,
}

/// How SlateQ builds slates from item values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SlateOptimizer {
    /// The paper's greedy: add the item that most raises the slate value, K times.
    Greedy,
    /// The paper's top-K: the K items with the largest `v(s,i)·Q̄(s,i)`.
    TopK,
}

/// SlateQ's hyperparameters (the `[slateq]` table of a run's config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlateQConfig {
    /// Hidden layer widths of the item-value network `Q̄(user, doc)`.
    pub hidden: Vec<usize>,
    /// Adam's learning rate at the start.
    pub lr: f64,
    /// The learning rate falls linearly to `lr_final` over `lr_decay_steps` gradient steps
    /// (0: constant). Decisions here hang on small differences of value, and annealing the
    /// step size stops late updates from flipping them.
    pub lr_final: f64,
    /// Gradient steps of the learning-rate decay.
    pub lr_decay_steps: usize,
    /// Discount of future value.
    pub gamma: f64,
    /// Rewards summed before bootstrapping (`n`-step returns; 1 is one-step TD). Values
    /// that depend on the time left carry over the episode's last steps in `n` times fewer
    /// bootstraps, but the `n − 1` later rewards are those of the policy that collected
    /// them, not of the best one, so the values learned lean towards the behaviour's.
    pub n_step: usize,
    /// Transitions per gradient step.
    pub batch_size: usize,
    /// Transitions the replay buffer holds.
    pub buffer_size: usize,
    /// Environment steps of uniformly random slates before learning starts; the
    /// feature and reward normalisation is measured on them.
    pub learning_starts: usize,
    /// Environment steps between gradient steps.
    pub train_every: usize,
    /// Environments experience is collected from at once: their slates are chosen in one
    /// batched forward pass, and each steps in turn. Environment `i` is seeded with
    /// `env::slot_seed(seed, i)`, so one environment is the plain run.
    pub num_envs: usize,
    /// Gradient steps between copies of the online network into the target network.
    pub target_update_every: usize,
    /// Slate-level ε-greedy: ε falls linearly from `epsilon_start` to `epsilon_end` over
    /// `epsilon_steps` environment steps after learning starts.
    pub epsilon_start: f64,
    /// The final ε.
    pub epsilon_end: f64,
    /// Environment steps of the ε decay.
    pub epsilon_steps: usize,
    /// Global gradient-norm clip (0 = none).
    pub grad_clip: f64,
    /// Huber loss threshold, in normalised reward units.
    pub huber_delta: f64,
    /// Choose the next slate with the online network, value it with the target network.
    pub double_q: bool,
    /// The user choice model the slate values use.
    pub choice_model: ChoiceModelKind,
    /// How slates are built from item values.
    pub slate_optimizer: SlateOptimizer,
    /// Subtract the warm-up steps' mean reward (rewards and features are always scaled
    /// by the warm-up statistics). Right where every episode has the same length, so a
    /// constant shift cannot favour longer or shorter episodes; unset: exactly then.
    pub center_rewards: Option<bool>,
    /// Treat the end of an episode as a time limit and bootstrap through it: where every
    /// episode has the same length the agent cannot see the remaining budget, so it
    /// learns stationary values; unset: exactly then.
    pub bootstrap_at_episode_end: Option<bool>,
    /// With the time left in the observation, the candidates' values see it only within
    /// an episode's last `time_window` steps; a second network, the value of the user's
    /// state, sees all of it. Where the user's state forgets its past, the best slate
    /// depends on the time left only near the end, and outside the window the network
    /// cannot make it depend on it. 0: the candidates' values never see the time.
    pub time_window: usize,
    /// Acting without exploration (evaluation, inference) uses an exponential moving
    /// average of the network's parameters over about this many gradient steps (at most
    /// the last tenth of the steps so far, so that early evaluations do not lag): the
    /// noise of the last updates stays out of decisions that hang on small differences of
    /// value. 0: the online network itself.
    pub average_steps: usize,
    /// `cpu` or `cuda`.
    pub device: String,
    /// libtorch threads on the CPU; one is fastest for networks this small.
    pub threads: usize,
}

impl Default for SlateQConfig {
    fn default() -> Self {
        Self {
            hidden: vec![32, 32],
            // The default run's (180,000 steps of StrongLTS 20/2 with the time left in
            // view; docs/slateq.md): the learning rate decays over all of its gradient
            // steps, (180,000 − 2,000 of warm-up)/4, so that late updates cannot flip
            // decisions that hang on small differences of value.
            lr: 1e-3,
            lr_final: 3e-5,
            lr_decay_steps: 44_500,
            gamma: 0.995,
            // 5-step returns carry the value of a satisfied user back to the start of an
            // episode in a fifth of the bootstraps: with four environments and a quarter
            // of the gradient steps, one-step targets stayed greedy for 20,000 steps.
            // They learn the episode's end slightly less well (0.7 lower over six seeds
            // than one environment with one-step targets, docs/slateq.md).
            n_step: 5,
            batch_size: 256,
            buffer_size: 200_000,
            learning_starts: 2_000,
            // One gradient step of 256 after each step of all four environments, whose
            // slates one forward pass chooses: 1.7 times the steps per second of one
            // environment with a step of 64 after each of its steps.
            train_every: 4,
            num_envs: 4,
            target_update_every: 1_000,
            epsilon_start: 1.0,
            epsilon_end: 0.02,
            epsilon_steps: 30_000,
            grad_clip: 10.0,
            // In effect a squared loss: the finite-horizon values' errors are large early
            // and the Huber loss's bounded gradient learned them more slowly.
            huber_delta: 100.0,
            double_q: true,
            choice_model: ChoiceModelKind::Auto,
            slate_optimizer: SlateOptimizer::Greedy,
            center_rewards: None,
            bootstrap_at_episode_end: None,
            time_window: 20,
            average_steps: 5_000,
            device: "cpu".into(),
            threads: 1,
        }
    }
}

/// The most steps any SlateQ schedule or buffer counts: far beyond any run here.
const MAX_STEPS: usize = 1_000_000_000;
/// The most weights between SlateQ's hidden layers: two layers of 4096. The network is
/// held four times (online, target, Adam's two moments) in memory and in every
/// checkpoint, so eight such layers would take gigabytes and fail to encode.
const MAX_HIDDEN_WEIGHTS: usize = 4096 * 4096;
/// The most environments SlateQ collects from at once.
const MAX_ENVS: usize = 4096;

impl SlateQConfig {
    /// Checks every field's range. Whether the device exists is checked when the agent
    /// is built.
    pub fn validate(&self) -> Result<(), AgentError> {
        in_range("slateq.lr", self.lr, 1e-9, 1.0)?;
        in_range("slateq.lr_final", self.lr_final, 1e-9, 1.0)?;
        // The loss's gradient per sample is at most huber_delta: far below 1e-2 it sinks
        // under Adam's epsilon (1e-8) per weight and nothing is learned, silently.
        in_range("slateq.huber_delta", self.huber_delta, 1e-2, 1e6)?;
        in_range("slateq.gamma", self.gamma, 0.0, 1.0)?;
        in_range("slateq.epsilon_start", self.epsilon_start, 0.0, 1.0)?;
        in_range("slateq.epsilon_end", self.epsilon_end, 0.0, 1.0)?;
        in_range("slateq.grad_clip", self.grad_clip, 0.0, 1e9)?;
        let widths = "a network this wide cannot train on a CPU in any useful time";
        count_in("slateq.hidden (layers)", self.hidden.len(), 1, 8, widths)?;
        for &width in &self.hidden {
            count_in("slateq.hidden", width, 1, 4096, widths)?;
        }
        let weights = self
            .hidden
            .windows(2)
            .map(|pair| pair[0] * pair[1])
            .sum::<usize>();
        count_in(
            "slateq.hidden (weights between its layers)",
            weights,
            0,
            MAX_HIDDEN_WEIGHTS,
            "the network is held four times, in memory and in every checkpoint",
        )?;
        count_in(
            "slateq.batch_size",
            self.batch_size,
            1,
            65_536,
            "a minibatch beyond that holds more than a gradient step needs",
        )?;
        count_in(
            "slateq.buffer_size",
            self.buffer_size,
            1,
            10_000_000,
            "the replay lives in memory and in every checkpoint",
        )?;
        count_in(
            "slateq.num_envs",
            self.num_envs,
            1,
            MAX_ENVS,
            "every environment is held in memory and in every checkpoint",
        )?;
        count_in(
            "slateq.threads",
            self.threads,
            1,
            64,
            "libtorch's CPU thread pool",
        )?;
        for (name, value) in [
            ("slateq.lr_decay_steps", self.lr_decay_steps),
            ("slateq.learning_starts", self.learning_starts),
            ("slateq.epsilon_steps", self.epsilon_steps),
            ("slateq.time_window", self.time_window),
            ("slateq.average_steps", self.average_steps),
        ] {
            count_in(name, value, 0, MAX_STEPS, "longer than any run")?;
        }
        count_in(
            "slateq.n_step",
            self.n_step,
            1,
            255,
            "a return of more steps than that is a Monte Carlo return",
        )?;
        for (name, value) in [
            ("slateq.train_every", self.train_every),
            ("slateq.target_update_every", self.target_update_every),
        ] {
            count_in(name, value, 1, MAX_STEPS, "longer than any run")?;
        }
        match self.device.as_str() {
            "cpu" | "cuda" => Ok(()),
            other => Err(AgentError::Config {
                name: "slateq.device",
                why: format!("`{other}`: expected cpu or cuda"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_absurd_values_are_refused_by_name() {
        assert!(LinUcbConfig::default().validate().is_ok());
        assert!(LinTsConfig::default().validate().is_ok());
        assert!(SlateQConfig::default().validate().is_ok());
        let lambda = LinUcbConfig {
            lambda: 1e-300,
            ..Default::default()
        };
        assert!(lambda
            .validate()
            .unwrap_err()
            .to_string()
            .contains("linucb.lambda"));
        let scale = LinTsConfig {
            noise_scale: f64::NAN,
            ..Default::default()
        };
        assert!(scale
            .validate()
            .unwrap_err()
            .to_string()
            .contains("lints.noise_scale"));
        let slateq = |edit: fn(&mut SlateQConfig)| {
            let mut c = SlateQConfig::default();
            edit(&mut c);
            c.validate().unwrap_err().to_string()
        };
        assert!(slateq(|c| c.lr = 1e300).contains("slateq.lr"));
        assert!(slateq(|c| c.lr_final = 1e300).contains("slateq.lr_final"));
        assert!(slateq(|c| c.huber_delta = 1e-300).contains("slateq.huber_delta"));
        // It learned nothing at 1e-6 (issue 27, finding 11).
        assert!(slateq(|c| c.huber_delta = 1e-3).contains("slateq.huber_delta"));
        // Each layer within its bound, the whole beyond what a checkpoint can hold
        // (issue 27, finding 4).
        assert!(slateq(|c| c.hidden = vec![4096; 8]).contains("weights between its layers"));
        assert!(slateq(|c| c.hidden = vec![4096; 3]).contains("weights between its layers"));
        let two = SlateQConfig {
            hidden: vec![4096, 4096],
            ..Default::default()
        };
        assert!(two.validate().is_ok());
        assert!(slateq(|c| c.hidden = vec![100_000, 100_000]).contains("slateq.hidden"));
        assert!(slateq(|c| c.hidden = vec![]).contains("slateq.hidden"));
        assert!(slateq(|c| c.batch_size = 1_000_000_000).contains("slateq.batch_size"));
        assert!(slateq(|c| c.threads = 1000).contains("slateq.threads"));
        assert!(slateq(|c| c.num_envs = 0).contains("slateq.num_envs"));
        assert!(slateq(|c| c.num_envs = 1 << 40).contains("slateq.num_envs"));
        assert!(slateq(|c| c.device = "tpu".into()).contains("expected cpu or cuda"));
        assert!(slateq(|c| c.gamma = 1.5).contains("slateq.gamma"));
        assert!(slateq(|c| c.n_step = 0).contains("slateq.n_step"));
        assert!(slateq(|c| c.time_window = usize::MAX).contains("slateq.time_window"));
        assert!(slateq(|c| c.average_steps = usize::MAX).contains("slateq.average_steps"));
    }
}
