//! SlateQ's policy: what acting needs and nothing of learning. The learner ([`crate::SlateQ`])
//! holds one, updates its parameters in place, and copies it out
//! ([`agents::Agent::policy`]) for an evaluation to play while it trains on.

use agents::config::SlateQConfig;
use agents::portable::{Choice, Portable, Scorer, SlateQNet};
use agents::{AgentError, Policy};
use env::{Layout, SlateEnv};
use recsim_core::{KnownChoice, SimRng};
use tch::{Device, Tensor};

use agents::choice::ChoiceRule;

use crate::choice::LogitChoice;
use crate::collect::push_state;
use crate::net::{snapshot, Mlp};
use crate::normalize::{FeatureScale, Normalizer};
use crate::tensor::to_vec;

/// SlateQ's policy: the item-value network and its parameters, the choice model, the
/// feature standardisation, the exploration schedule and the random stream.
pub struct SlateQPolicy {
    pub(crate) config: SlateQConfig,
    pub(crate) layout: Layout,
    pub(crate) device: Device,
    pub(crate) known: KnownChoice,
    pub(crate) rule: ChoiceRule,
    /// `Q̄` of a candidate or of no click, from the user's features (the time left capped
    /// at `time_window` steps) and the candidate's; its parameters come first in `theta`.
    pub(crate) mlp: Mlp,
    /// With the time left in view, the value of the user's state, which sees all of it:
    /// `Q̄` is the sum of both networks' outputs. Its parameters follow `mlp`'s.
    pub(crate) state_mlp: Option<Mlp>,
    /// The online network's parameters, which exploring acts with and TD learning moves.
    pub(crate) theta: Tensor,
    /// The moving average of `theta` that acting without exploration uses.
    pub(crate) average: Option<Tensor>,
    /// The learned choice model, where the environment's is not known.
    pub(crate) choice: Option<LogitChoice>,
    pub(crate) norm: Option<Normalizer>,
    /// `norm`'s feature statistics (the identity's before it is measured).
    pub(crate) scale: FeatureScale,
    /// Exploration's random stream, which the learner's minibatches draw from as well.
    pub(crate) rng: SimRng,
    /// Environment steps learned from, which set ε.
    pub(crate) env_steps: u64,
    /// The states the last slates were chosen for, one per environment.
    pub(crate) shown: Vec<f32>,
    // Scratch, refilled on every call.
    pub(crate) explored: Vec<bool>,
    pub(crate) order: Vec<usize>,
}

impl SlateQPolicy {
    /// Sets the normalisation, and the tensors every forward pass standardises with.
    pub(crate) fn set_norm(&mut self, norm: Option<Normalizer>) {
        self.scale = FeatureScale::new(
            norm.as_ref().unwrap_or(&Normalizer::identity(&self.layout)),
            self.device,
        );
        self.norm = norm;
    }
}

/// A copy shares no tensor with the original: it acts as the original does now, and the
/// learner's later steps leave it as it is.
impl Clone for SlateQPolicy {
    fn clone(&self) -> Self {
        let mut copy = Self {
            config: self.config.clone(),
            layout: self.layout,
            device: self.device,
            known: self.known,
            rule: self.rule,
            mlp: self.mlp.clone(),
            state_mlp: self.state_mlp.clone(),
            theta: snapshot(&self.theta),
            average: self.average.as_ref().map(Tensor::copy),
            choice: self.choice.as_ref().map(LogitChoice::copy),
            norm: None,
            scale: FeatureScale::new(&Normalizer::identity(&self.layout), self.device),
            rng: self.rng.clone(),
            env_steps: self.env_steps,
            shown: Vec::with_capacity(self.shown.capacity()),
            explored: Vec::new(),
            order: Vec::new(),
        };
        copy.set_norm(self.norm.clone());
        copy
    }
}

impl SlateQPolicy {
    /// The networks' layers, and what of the time the candidates' values see.
    fn layers_description(&self) -> String {
        let layers = |mlp: &Mlp| {
            let mut parts = Vec::new();
            let last = mlp.sizes.len() - 2;
            for (l, (i, o)) in mlp.layers().enumerate() {
                parts.push(format!("Linear({i}→{o}, {} params)", i * o + o));
                if l < last {
                    parts.push("ReLU".into());
                }
            }
            parts.join(" → ")
        };
        let mut out = layers(&self.mlp);
        if let Some(state) = &self.state_mlp {
            out += &format!(
                " (the time left capped at {} steps)\n  plus the state's value V(user): {}",
                self.config.time_window,
                layers(state)
            );
        }
        if self.average.is_some() {
            out += &format!(
                "\n  acting without exploration: the parameters averaged over about {} gradient steps",
                self.config.average_steps
            );
        }
        out
    }

    /// The summary of [`Policy::describe`]; `learning` adds the learner's counts
    /// (gradient steps, replay size) after the environment steps.
    pub(crate) fn describe_with(&self, learning: Option<(u64, usize)>) -> String {
        let norm = self
            .norm
            .clone()
            .unwrap_or_else(|| Normalizer::identity(&self.layout));
        let choice = match (&self.choice, self.known) {
            (Some(c), _) => c.summary(),
            (None, KnownChoice::FirstPosition) => "the environment's own: the user always consumes slate position 0".into(),
            (None, KnownChoice::Proportional { no_click_mass, min_normalizer }) => format!(
                "the environment's own: multinomial proportional on ⟨user, doc⟩ (no-click mass {no_click_mass}, min normaliser {min_normalizer})"
            ),
            (None, KnownChoice::Unknown) => "none".into(),
        };
        let learning = learning.map_or(String::new(), |(grads, replay)| {
            format!(
                ", gradient steps {grads}, replay {replay}/{}",
                self.config.buffer_size
            )
        });
        format!(
            "slateq on {device:?}\n  item value network Q̄(user, doc, no-click flag): {layers}\n  parameters: {params}\n  choice model: {choice}\n  slate optimiser: {opt:?}\n  normalisation: user mean {um:?} sd {us:?}; doc mean {dm:?} sd {ds:?}; reward mean {rm:.4} sd {rs:.4}\n  environment steps {steps}{learning}, epsilon {eps:.3}",
            device = self.device,
            layers = self.layers_description(),
            params = self.theta.size()[0],
            opt = self.config.slate_optimizer,
            um = norm.user_mean,
            us = norm.user_sd,
            dm = norm.doc_mean,
            ds = norm.doc_sd,
            rm = norm.reward_mean,
            rs = norm.reward_sd,
            steps = self.env_steps,
            eps = self.epsilon(),
        )
    }
}

impl Policy for SlateQPolicy {
    fn algorithm(&self) -> &'static str {
        "slateq"
    }

    fn act(&mut self, env: &dyn SlateEnv, explore: bool, slate: &mut [usize]) {
        self.shown.clear();
        push_state(self.layout.time, env.user(), env.items(), &mut self.shown);
        self.choose(explore, slate);
    }

    /// Every environment's slate from one forward pass of the network.
    fn act_batch(&mut self, envs: &[Box<dyn SlateEnv>], explore: bool, slates: &mut [usize]) {
        self.shown.clear();
        for env in envs {
            push_state(self.layout.time, env.user(), env.items(), &mut self.shown);
        }
        self.choose(explore, slates);
    }

    fn describe(&self) -> String {
        self.describe_with(None)
    }

    /// The networks it acts with without exploring (the averaged parameters where it
    /// keeps them), its standardisation and its choice model.
    fn portable(&self) -> Result<Portable, AgentError> {
        let theta = to_vec(self.average.as_ref().unwrap_or(&self.theta));
        let (items, state) = theta.split_at(self.mlp.num_params());
        let norm = self
            .norm
            .clone()
            .unwrap_or_else(|| Normalizer::identity(&self.layout));
        let (u, d) = (self.layout.user_dim, self.layout.doc_dim);
        let choice = match (&self.choice, self.known) {
            (Some(logit), _) => {
                let v = to_vec(&logit.theta);
                Choice::Logit {
                    w: v[..u * d].to_vec(),
                    a: v[u * d..u * d + d].to_vec(),
                    b: v[u * d + d],
                    c: v[u * d + d + 1..].to_vec(),
                }
            }
            (
                None,
                KnownChoice::Proportional {
                    no_click_mass,
                    min_normalizer,
                },
            ) => Choice::Proportional {
                no_click_mass,
                min_normalizer,
            },
            (None, _) => Choice::FirstPosition,
        };
        Ok(Portable {
            algorithm: "slateq".into(),
            layout: self.layout,
            scorer: Scorer::SlateQ(Box::new(SlateQNet {
                user_mean: norm.user_mean,
                user_sd: norm.user_sd,
                doc_mean: norm.doc_mean,
                doc_sd: norm.doc_sd,
                time_ceiling: self.time_ceiling().map(|(_, c)| c as f32),
                item_net: self.mlp.dense(items),
                state_net: self.state_mlp.as_ref().map(|m| m.dense(state)),
                choice,
                optimizer: self.config.slate_optimizer,
            })),
        })
    }
}
