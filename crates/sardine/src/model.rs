//! The simulator: SARDINE's user, its click model and its transition, in the order of
//! `sardine/simulator.py` 1.0.8 (`reset`, `step`, `_update_user_state`).

use std::collections::VecDeque;

use rand::Rng;
use recsim_core::{sigmoid, ConfigError, Params, SimRng, StepError, Streams};
use serde::{Deserialize, Serialize};

use crate::catalogue::{normalize, refuse, Catalogue};
use crate::SardineParams;

/// A SARDINE world built from its parameters and catalogue: what every episode shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Sardine {
    params: SardineParams,
    topics: usize,
    /// `N × T` item embeddings.
    items: Vec<f64>,
    /// Each item's main topic (its largest component; the first of equal ones).
    main_topic: Vec<usize>,
    /// The largest item norm, which scores are divided by.
    max_score: f64,
    /// The examination probability of each slate position.
    propensities: Vec<f64>,
}

/// One user's state: SARDINE's attributes that `reset` and `step` change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Long-term interests (`user_embedd`), unit length.
    pub embedding: Vec<f64>,
    /// The interests after boredom (`cur_user_embedd`): what relevance is computed from.
    pub current: Vec<f64>,
    /// Steps taken, the reset's first interaction included (`t`).
    pub t: u64,
    /// The main topic and step of each remembered click, oldest first, at most
    /// `recent_items_maxlen` (`clicked_item_topics`, `clicked_step`).
    recent: VecDeque<(u16, u64)>,
    /// Bored topics (`bored`).
    pub bored: Vec<bool>,
    /// Steps of boredom left per topic (`bored_timeout`).
    pub bored_timeout: Vec<u64>,
    /// Remembered clicks per topic (`recent_topics_hist`).
    pub hist: Vec<u32>,
    /// The last slate shown (the reset's random one at first).
    pub slate: Vec<usize>,
    /// The last slate's clicks.
    pub clicks: Vec<bool>,
}

impl Sardine {
    /// The world of `params` over `catalogue`, with slates of `slate_size` (checked by
    /// the caller against the catalogue).
    pub fn new(
        params: SardineParams,
        catalogue: Catalogue,
        slate_size: usize,
    ) -> Result<Self, ConfigError> {
        params.validate()?;
        let topics = params.num_topics as usize;
        if catalogue.num_topics != topics {
            return Err(refuse(format!(
                "the item embeddings have {} topics, but num_topics = {topics}",
                catalogue.num_topics
            )));
        }
        if slate_size == 0 || catalogue.embeddings.is_empty() {
            return Err(refuse(
                "a world needs items and slates of at least one".into(),
            ));
        }
        let items = catalogue.embeddings;
        let main_topic = items
            .chunks_exact(topics)
            .map(|row| {
                // numpy's argmax: the first of equal maxima.
                (0..topics).fold(0, |best, i| if row[i] > row[best] { i } else { best })
            })
            .collect();
        let max_score = items
            .chunks_exact(topics)
            .map(|row| row.iter().map(|x| x * x).sum::<f64>().sqrt())
            .fold(0.0, f64::max);
        let decay: Vec<f64> = (0..slate_size)
            .map(|i| params.click_prop.powi(i as i32))
            .collect();
        let propensities = if params.click_model == 0.0 {
            decay
        } else {
            (0..slate_size)
                .map(|i| 0.5 * decay[i] + 0.5 * decay[slate_size - 1 - i])
                .collect()
        };
        Ok(Self {
            params,
            topics,
            items,
            main_topic,
            max_score,
            propensities,
        })
    }

    /// Items in the catalogue.
    pub fn num_items(&self) -> usize {
        self.main_topic.len()
    }

    /// Topics.
    pub fn num_topics(&self) -> usize {
        self.topics
    }

    /// Items per slate.
    pub fn slate_size(&self) -> usize {
        self.propensities.len()
    }

    /// The item embeddings, `N × T`, row-major.
    pub fn items(&self) -> &[f64] {
        &self.items
    }

    /// Steps per episode.
    pub fn horizon(&self) -> u64 {
        self.params.episode_length as u64
    }

    /// A user before its first reset: every buffer at its size, no interest yet.
    pub fn new_user(&self) -> User {
        let t = self.topics;
        let k = self.slate_size();
        User {
            embedding: vec![0.0; t],
            current: vec![0.0; t],
            t: 0,
            recent: VecDeque::with_capacity(self.memory()),
            bored: vec![false; t],
            bored_timeout: vec![self.window(); t],
            hist: vec![0; t],
            slate: vec![0; k],
            clicks: vec![false; k],
        }
    }

    fn window(&self) -> u64 {
        self.params.boredom_moving_window as u64
    }

    /// The most clicks the user can remember at once: `recent_items_maxlen`, or fewer
    /// where the window forgets them first (`K` a step over `W + 1` steps).
    fn memory(&self) -> usize {
        let window = (self.window() as usize + 1).saturating_mul(self.slate_size());
        (self.params.recent_items_maxlen as usize).min(window)
    }

    /// Checks a user restored from a saved state: every buffer at this world's sizes, and
    /// a state that the model could have reached (the step would index or count past its
    /// ranges otherwise). Makes room for the remembered clicks, so stepping allocates
    /// nothing.
    pub fn check_user(&self, user: &mut User) -> Result<(), String> {
        let (t, k, window) = (self.topics, self.slate_size(), self.window());
        let sizes = [
            user.embedding.len(),
            user.current.len(),
            user.bored.len(),
            user.bored_timeout.len(),
            user.hist.len(),
        ];
        if sizes.iter().any(|&n| n != t) || user.slate.len() != k || user.clicks.len() != k {
            return Err(format!("it does not fit {t} topics and slates of {k}"));
        }
        if user.slate.iter().any(|&i| i >= self.num_items()) {
            return Err(format!(
                "its slate names items past the {}",
                self.num_items()
            ));
        }
        if user
            .embedding
            .iter()
            .chain(&user.current)
            .any(|x| !x.is_finite())
        {
            return Err("its interests are not finite".into());
        }
        if user.recent.len() > self.memory()
            || user
                .recent
                .iter()
                .any(|&(topic, step)| usize::from(topic) >= t || step > user.t)
        {
            return Err("its remembered clicks do not fit this world".into());
        }
        let timers = user
            .bored
            .iter()
            .zip(&user.bored_timeout)
            .all(|(&b, &left)| {
                if b {
                    (1..=window).contains(&left)
                } else {
                    left == window
                }
            });
        if !timers {
            return Err("its boredom timers are out of range".into());
        }
        let mut counts = vec![0; t];
        for &(topic, _) in &user.recent {
            counts[usize::from(topic)] += 1;
        }
        if counts != user.hist {
            return Err("its click counts disagree with its remembered clicks".into());
        }
        user.recent.reserve(self.memory() - user.recent.len());
        Ok(())
    }

    /// `reset`: a new user (from the users' stream) interested in 3 to 5 topics, shown a
    /// random slate whose clicks count as a first interaction.
    pub fn reset(&self, user: &mut User, streams: &mut Streams) {
        let t = self.topics;
        user.t = 0;
        user.recent.clear();
        user.bored.fill(false);
        user.bored_timeout.fill(self.window());
        // `_reset_user_embedds`: each topic kept with probability 4/T, drawn again until
        // 3 to 5 are kept.
        let threshold = 1.0 - 4.0 / t as f64;
        let rng = &mut streams.users;
        for x in user.embedding.iter_mut() {
            *x = rng.random::<f64>();
        }
        let mask = loop {
            let mask: u64 = (0..t).fold(0, |m, i| {
                m | (u64::from(rng.random::<f64>() > threshold) << i)
            });
            if (3..=5).contains(&mask.count_ones()) {
                break mask;
            }
        };
        for (i, x) in user.embedding.iter_mut().enumerate() {
            if mask >> i & 1 == 0 {
                *x = 0.0;
            }
        }
        normalize(&mut user.embedding);
        // `_initial_reco`, then the first interaction on the user's own interests.
        for slot in user.slate.iter_mut() {
            *slot = rng.random_range(0..self.num_items());
        }
        user.current.copy_from_slice(&user.embedding);
        self.interact(user, &mut streams.noise);
    }

    /// `step`: shows `slate` (positions in the catalogue, repeats allowed, exactly
    /// `slate_size` of them) and returns the clicks. The user is unchanged on error.
    pub fn step(
        &self,
        user: &mut User,
        slate: &[usize],
        rng: &mut SimRng,
    ) -> Result<u32, StepError> {
        let k = self.slate_size();
        if slate.len() > k {
            return Err(StepError::SlateTooLong {
                len: slate.len(),
                slate_size: k,
            });
        }
        if slate.len() < k {
            return Err(StepError::SlateTooShort {
                len: slate.len(),
                slate_size: k,
            });
        }
        if let Some(&position) = slate.iter().find(|&&i| i >= self.num_items()) {
            return Err(StepError::PositionOutOfRange {
                position,
                num_candidates: self.num_items(),
            });
        }
        user.slate.copy_from_slice(slate);
        Ok(self.interact(user, rng))
    }

    /// Whether the episode is over after the last step: SARDINE ends it once `t > H`.
    pub fn is_terminal(&self, user: &User) -> bool {
        user.t > self.horizon()
    }

    /// The relevance of every item to the user's current interests, as the short-term
    /// oracle ranks them (`step`'s `relevances`, before the slate picks its own).
    pub fn relevances(&self, user: &User, out: &mut [f64]) {
        let penalty = self.boredom_penalty(user);
        for (row, out) in self.items.chunks_exact(self.topics).zip(out) {
            *out = self.relevance(row, &user.current) * penalty;
        }
    }

    /// Scores that rank the items as their relevances do, for the short-term oracle:
    /// the score `⟨e_i, ũ⟩` itself where the relevance is an increasing sigmoid of it
    /// (every preset; no `exp` per item), else the relevance. Items whose relevances are
    /// equal only in floating point are ranked by their scores.
    pub fn oracle_scores(&self, user: &User, out: &mut [f64]) {
        if self.params.rel_threshold != -1.0 || self.params.env_slope <= 0.0 {
            return self.relevances(user, out);
        }
        for (row, out) in self.items.chunks_exact(self.topics).zip(out) {
            *out = dot(row, &user.current);
        }
    }

    /// `rel_penalty`: each bored topic halves every relevance.
    fn boredom_penalty(&self, user: &User) -> f64 {
        if self.params.rel_penalty == 0.0 {
            1.0
        } else {
            0.5f64.powi(user.bored.iter().filter(|&&b| b).count() as i32)
        }
    }

    fn relevance(&self, item: &[f64], interests: &[f64]) -> f64 {
        let score = dot(item, interests) / self.max_score;
        if self.params.rel_threshold == -1.0 {
            sigmoid((score - self.params.env_offset) * self.params.env_slope)
        } else {
            f64::from(u8::from(score > self.params.rel_threshold))
        }
    }

    /// The click model on `user.slate`, then `_update_user_state`.
    fn interact(&self, user: &mut User, rng: &mut SimRng) -> u32 {
        let penalty = self.boredom_penalty(user);
        // `_compute_clicks`: a slate with diversity_threshold items of one main topic
        // divides every attractiveness by diversity_penalty.
        let mut per_topic = [0u32; 64];
        for &item in &user.slate {
            per_topic[self.main_topic[item]] += 1;
        }
        let crowded = per_topic
            .iter()
            .any(|&c| f64::from(c) >= self.params.diversity_threshold);
        let divide = if crowded {
            self.params.diversity_penalty
        } else {
            1.0
        };
        let mut clicked = 0;
        for slot in 0..user.slate.len() {
            let item = user.slate[slot];
            let row = &self.items[item * self.topics..(item + 1) * self.topics];
            let attraction = self.params.env_alpha * self.relevance(row, &user.current) * penalty;
            let p = attraction / divide * self.propensities[slot];
            let click = rng.random::<f64>() < p;
            user.clicks[slot] = click;
            if click {
                clicked += 1;
                self.remember(user, self.main_topic[item]);
            }
        }
        self.update_state(user, clicked);
        clicked
    }

    /// Appends a click to the bounded memory (a deque with `maxlen`).
    fn remember(&self, user: &mut User, topic: usize) {
        // num_topics ≤ 64 (validated), so the topic fits.
        let maxlen = self.params.recent_items_maxlen as usize;
        if maxlen == 0 {
            return;
        }
        if user.recent.len() == maxlen {
            user.recent.pop_front();
        }
        user.recent.push_back((topic as u16, user.t));
    }

    /// `_update_user_state`.
    fn update_state(&self, user: &mut User, clicked: u32) {
        user.t += 1;
        let window = self.window();
        // Forget clicks older than the window.
        while user
            .recent
            .front()
            .is_some_and(|&(_, step)| step + window < user.t)
        {
            user.recent.pop_front();
        }
        // Boredom wears off after `window` steps; the topics no longer bored get a full
        // timer again.
        for (bored, timeout) in user.bored.iter_mut().zip(&mut user.bored_timeout) {
            *timeout -= u64::from(*bored);
            *bored &= *timeout != 0;
            if !*bored {
                *timeout = window;
            }
        }
        user.hist.fill(0);
        for &(topic, _) in &user.recent {
            user.hist[topic as usize] += 1;
        }
        for (bored, &count) in user.bored.iter_mut().zip(&user.hist) {
            *bored |= f64::from(count) >= self.params.boredom_threshold;
        }
        if clicked > 0 {
            self.influence(user, clicked);
        }
        user.current.copy_from_slice(&user.embedding);
        let any_bored = user.bored.iter().any(|&b| b);
        if self.params.boredom_type == 0.0 {
            // user_car: any boredom zeroes every interest.
            if any_bored {
                user.current.fill(0.0);
            }
        } else {
            // user_tloi: the bored topics only.
            for (x, &bored) in user.current.iter_mut().zip(&user.bored) {
                if bored {
                    *x = 0.0;
                }
            }
        }
    }

    /// `_clicked_item_influence`: interests move toward the clicked items, by `1 − ω`.
    fn influence(&self, user: &mut User, clicked: u32) {
        let omega = self.params.env_omega;
        let t = self.topics;
        let clicked_rows = user
            .slate
            .iter()
            .zip(&user.clicks)
            .filter(|(_, &c)| c)
            .map(|(&item, _)| &self.items[item * t..(item + 1) * t]);
        if self.params.vector_influence == 0.0 {
            // SARDINE's `np.mean` of a list of embeddings: one number, the mean of every
            // element, added to every topic alike.
            let mean = clicked_rows.flatten().sum::<f64>() / (f64::from(clicked) * t as f64);
            for x in user.embedding.iter_mut() {
                *x = omega * *x + (1.0 - omega) * mean;
            }
        } else {
            for x in user.embedding.iter_mut() {
                *x *= omega;
            }
            for row in clicked_rows {
                for (x, &e) in user.embedding.iter_mut().zip(row) {
                    *x += (1.0 - omega) * e / f64::from(clicked);
                }
            }
        }
        normalize(&mut user.embedding);
    }

    /// The histogram of remembered clicks per topic as observed (`hist`): each count
    /// over `boredom_threshold`, at most 1.
    pub fn write_hist(&self, user: &User, out: &mut [f32]) {
        for (out, &count) in out.iter_mut().zip(&user.hist) {
            *out = (f64::from(count) / self.params.boredom_threshold).min(1.0) as f32;
        }
    }

    /// The true user state SARDINE puts in `info["user_state"]`: the current interests,
    /// the observed histogram, and each topic's boredom timer over the window; `3 × T`.
    pub fn write_user_state(&self, user: &User, out: &mut [f32]) {
        let t = self.topics;
        for (out, &x) in out[..t].iter_mut().zip(&user.current) {
            *out = x as f32;
        }
        self.write_hist(user, &mut out[t..2 * t]);
        let window = self.window() as f64;
        for (out, &left) in out[2 * t..3 * t].iter_mut().zip(&user.bored_timeout) {
            *out = (left as f64 / window) as f32;
        }
    }
}

/// `⟨a, b⟩`: an item's score for a user's interests.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
