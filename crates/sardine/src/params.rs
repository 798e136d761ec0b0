//! SARDINE's parameters under its own keyword names, and its eight registered presets.

use recsim_core::{check_min, check_range, ConfigError, Params};
use serde::{Deserialize, Serialize};

/// The parameters of `sardine.simulator.Sardine`, by its keyword names, but for the
/// catalogue's size and the slate's (rlrec's `num_candidates` and `slate_size`) and the
/// item embeddings (generated from `item_seed`, or a file the world was registered with).
///
/// Choices SARDINE makes with strings are numbers here (`click_model`, `boredom_type`),
/// its `None` threshold is `-1`, its booleans are `0`/`1`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SardineParams {
    /// Topics: the length of every user and item embedding.
    pub num_topics: f64,
    /// Steps per episode (`episode_length`, SARDINE's `H`).
    pub episode_length: f64,
    /// Attractiveness per unit of relevance (`env_alpha`).
    pub env_alpha: f64,
    /// The position-based model's decay: position `i` is examined with `click_prop^i`.
    pub click_prop: f64,
    /// `0`: `tdPBM` (examination decays down the slate); `1`: `mixPBM` (each position's
    /// propensity the mean of the decaying one and the reversed one).
    pub click_model: f64,
    /// The relevance sigmoid's centre, on the normalised score (`env_offset`).
    pub env_offset: f64,
    /// The relevance sigmoid's slope (`env_slope`).
    pub env_slope: f64,
    /// How much of their embedding users keep at each click (`env_omega`; 1: static).
    pub env_omega: f64,
    /// The most recent clicks the boredom count remembers (`recent_items_maxlen`).
    pub recent_items_maxlen: f64,
    /// Clicks on one topic within the window that bore the user (`boredom_threshold`).
    pub boredom_threshold: f64,
    /// The window, in steps, of the boredom count, and how long boredom lasts
    /// (`boredom_moving_window`).
    pub boredom_moving_window: f64,
    /// `-1` (SARDINE's `None`): relevance is the sigmoid; else relevance is 1 above this
    /// normalised score and 0 below.
    pub rel_threshold: f64,
    /// What a slate with too many items of one topic divides its attractiveness by.
    pub diversity_penalty: f64,
    /// Items of one topic in a slate that trigger the diversity penalty.
    pub diversity_threshold: f64,
    /// `0`: `user_car` (churn and return: any boredom zeroes the whole interest);
    /// `1`: `user_tloi` (temporary loss of interest in the boring topics only).
    pub boredom_type: f64,
    /// `1`: each bored topic halves every relevance (`rel_penalty`).
    pub rel_penalty: f64,
    /// The seed of the generated item embeddings (SARDINE draws them from numpy's global
    /// generator; rlrec from this seed).
    pub item_seed: f64,
    /// `0`: a click moves the user toward the mean of every element of the clicked
    /// items' embeddings, a scalar, as SARDINE's `np.mean` of a list computes it; `1`:
    /// toward the mean embedding, a vector (what its comment describes).
    pub vector_influence: f64,
    /// rlrec's, not SARDINE's: `-1` (off) leaves SARDINE's observation as it is; `λ` in
    /// `[0, 1]` adds `history`, the embeddings of the items clicked so far this episode
    /// (the reset's slate included), averaged with weights that decay by `λ` a step: what
    /// the observation showed, remembered, so that an agent can tell the user's interests.
    pub click_history: f64,
}

/// What a [`Preset`] sets beyond the parameters: the catalogue's and the slate's sizes
/// and which of SARDINE's embedding files its items come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embeddings {
    /// `item_embeddings_focused_small.npy`: 1,000 items.
    FocusedSmall,
    /// `item_embeddings_rerank.npy`: 10 items.
    Rerank,
}

impl Embeddings {
    /// The file's name in SARDINE's `embeddings/` folder.
    pub fn file_name(self) -> &'static str {
        match self {
            Embeddings::FocusedSmall => "item_embeddings_focused_small.npy",
            Embeddings::Rerank => "item_embeddings_rerank.npy",
        }
    }
}

/// One of SARDINE's eight registered environments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    /// SARDINE's Gymnasium id.
    pub id: &'static str,
    /// rlrec's registry name.
    pub name: &'static str,
    /// One line on what it is.
    pub description: &'static str,
    /// Items in the catalogue (`num_items`).
    pub num_items: usize,
    /// Items per slate (`slate_size`).
    pub slate_size: usize,
    /// The embeddings file SARDINE loads.
    pub embeddings: Embeddings,
    /// The parameters.
    pub params: SardineParams,
}

impl SardineParams {
    /// The parameters every preset shares, with the `Static` presets' user.
    fn base() -> Self {
        Self {
            num_topics: 10.0,
            episode_length: 100.0,
            env_alpha: 1.0,
            click_prop: 0.85,
            click_model: 0.0,
            env_offset: 0.65,
            env_slope: 100.0,
            env_omega: 1.0,
            recent_items_maxlen: 10.0,
            boredom_threshold: 11.0,
            boredom_moving_window: 5.0,
            rel_threshold: -1.0,
            diversity_penalty: 1.0,
            diversity_threshold: 4.0,
            boredom_type: 0.0,
            rel_penalty: 0.0,
            item_seed: 0.0,
            vector_influence: 0.0,
            click_history: -1.0,
        }
    }

    /// The click history's decay, where the observation has one (`click_history` ≥ 0).
    pub fn click_history_decay(&self) -> Option<f64> {
        (self.click_history >= 0.0).then_some(self.click_history)
    }

    /// Steps per episode.
    pub fn horizon(&self) -> usize {
        self.episode_length as usize
    }
}

impl Preset {
    /// SARDINE 1.0.8's eight environments, as its `__init__.py` registers them.
    pub fn all() -> [Preset; 8] {
        let base = SardineParams::base();
        let bored = SardineParams {
            boredom_threshold: 5.0,
            ..base
        };
        let top_k = |id, name, description, params| Preset {
            id,
            name,
            description,
            num_items: 1000,
            slate_size: 10,
            embeddings: Embeddings::FocusedSmall,
            params,
        };
        let single = |id, name, description, params| Preset {
            slate_size: 1,
            ..top_k(id, name, description, params)
        };
        let rerank = |id, name, description, boredom_threshold| Preset {
            id,
            name,
            description,
            num_items: 10,
            slate_size: 10,
            embeddings: Embeddings::Rerank,
            params: SardineParams {
                episode_length: 10.0,
                click_prop: 0.7,
                env_offset: 0.3,
                env_slope: 5.0,
                boredom_threshold,
                ..base
            },
        };
        [
            single(
                "sardine/SingleItem-Static-v0",
                "sardine-single-item-static",
                "SARDINE: one item of 1,000 per step, a static user who is never bored",
                base,
            ),
            single(
                "sardine/SingleItem-BoredInf-v0",
                "sardine-single-item-bored-inf",
                "SARDINE: one item of 1,000 per step, a user drifting toward clicks and bored by 5 clicks on a topic",
                SardineParams {
                    env_omega: 0.95,
                    ..bored
                },
            ),
            single(
                "sardine/SingleItem-Uncertain-v0",
                "sardine-single-item-uncertain",
                "SARDINE: one item of 1,000 per step, a static user with a soft relevance (slope 10)",
                SardineParams {
                    env_slope: 10.0,
                    ..base
                },
            ),
            top_k(
                "sardine/SlateTopK-Bored-v0",
                "sardine-slate-top-k-bored",
                "SARDINE: slates of 10 of 1,000 items, a static user bored by 5 clicks on a topic",
                bored,
            ),
            top_k(
                "sardine/SlateTopK-BoredInf-v0",
                "sardine-slate-top-k-bored-inf",
                "SARDINE: slates of 10 of 1,000 items, a user drifting toward clicks and bored by 5 clicks on a topic",
                SardineParams {
                    env_omega: 0.95,
                    ..bored
                },
            ),
            top_k(
                "sardine/SlateTopK-Uncertain-v0",
                "sardine-slate-top-k-uncertain",
                "SARDINE: slates of 10 of 1,000 items, a drifting, boredom-prone user with a soft relevance",
                SardineParams {
                    env_omega: 0.95,
                    env_slope: 10.0,
                    ..bored
                },
            ),
            rerank(
                "sardine/SlateRerank-Static-v0",
                "sardine-slate-rerank-static",
                "SARDINE: order 10 items into a slate of 10, 10-step episodes, a static user",
                11.0,
            ),
            rerank(
                "sardine/SlateRerank-Bored-v0",
                "sardine-slate-rerank-bored",
                "SARDINE: order 10 items into a slate of 10, 10-step episodes, bored by 4 clicks on a topic",
                4.0,
            ),
        ]
    }
}

/// Checks that `value` is a whole number in `[lo, hi]`.
fn whole(name: &'static str, value: f64, lo: f64, hi: f64) -> Result<(), ConfigError> {
    check_range(name, value, lo, hi, "must be a whole number in range")?;
    if value.fract() != 0.0 {
        return Err(ConfigError::InvalidParam {
            name,
            value,
            why: "must be a whole number",
        });
    }
    Ok(())
}

impl Params for SardineParams {
    const MODEL: &'static str = "SARDINE";

    fn fields(&mut self) -> Vec<(&'static str, &mut f64)> {
        vec![
            ("num_topics", &mut self.num_topics),
            ("episode_length", &mut self.episode_length),
            ("env_alpha", &mut self.env_alpha),
            ("click_prop", &mut self.click_prop),
            ("click_model", &mut self.click_model),
            ("env_offset", &mut self.env_offset),
            ("env_slope", &mut self.env_slope),
            ("env_omega", &mut self.env_omega),
            ("recent_items_maxlen", &mut self.recent_items_maxlen),
            ("boredom_threshold", &mut self.boredom_threshold),
            ("boredom_moving_window", &mut self.boredom_moving_window),
            ("rel_threshold", &mut self.rel_threshold),
            ("diversity_penalty", &mut self.diversity_penalty),
            ("diversity_threshold", &mut self.diversity_threshold),
            ("boredom_type", &mut self.boredom_type),
            ("rel_penalty", &mut self.rel_penalty),
            ("item_seed", &mut self.item_seed),
            ("vector_influence", &mut self.vector_influence),
            ("click_history", &mut self.click_history),
        ]
    }

    fn validate(&self) -> Result<(), ConfigError> {
        // Users are drawn until 3 to 5 of their topics are on: fewer than 3 topics never
        // gets there (SARDINE loops for ever); 64 keeps the bitmasks of a step in a word.
        whole("num_topics", self.num_topics, 3.0, 64.0)?;
        whole("episode_length", self.episode_length, 1.0, 1e6)?;
        // α·relevance·propensity is a click probability: α ≤ 1 keeps it one.
        check_range("env_alpha", self.env_alpha, 0.0, 1.0, "must be in [0, 1]")?;
        check_range("click_prop", self.click_prop, 0.0, 1.0, "must be in [0, 1]")?;
        whole("click_model", self.click_model, 0.0, 1.0)?;
        check_range("env_offset", self.env_offset, -1e6, 1e6, "must be finite")?;
        check_range("env_slope", self.env_slope, -1e6, 1e6, "must be finite")?;
        check_range("env_omega", self.env_omega, 0.0, 1.0, "must be in [0, 1]")?;
        whole("recent_items_maxlen", self.recent_items_maxlen, 0.0, 1e6)?;
        whole("boredom_threshold", self.boredom_threshold, 1.0, 1e6)?;
        whole(
            "boredom_moving_window",
            self.boredom_moving_window,
            1.0,
            1e6,
        )?;
        if self.rel_threshold != -1.0 {
            check_range(
                "rel_threshold",
                self.rel_threshold,
                -1e6,
                1e6,
                "must be -1 (the sigmoid) or a finite threshold",
            )?;
        }
        // Dividing an attractiveness by less than 1 could make it more than a probability.
        check_min("diversity_penalty", self.diversity_penalty, 1.0, false)?;
        whole("diversity_threshold", self.diversity_threshold, 1.0, 1e6)?;
        whole("boredom_type", self.boredom_type, 0.0, 1.0)?;
        whole("rel_penalty", self.rel_penalty, 0.0, 1.0)?;
        whole("item_seed", self.item_seed, 0.0, 9007199254740992.0)?;
        whole("vector_influence", self.vector_influence, 0.0, 1.0)?;
        if self.click_history != -1.0 {
            check_range(
                "click_history",
                self.click_history,
                0.0,
                1.0,
                "must be -1 (off) or a decay in [0, 1]",
            )?;
        }
        Ok(())
    }
}
