//! Agents that need no libtorch: the baseline policies (random, greedy, kale), the
//! linear contextual bandits (LinUCB, linear Thompson sampling) and evolution strategies
//! over a small slate-filling network.
//!
//! ```
//! use agents::Policy;
//! use agents_bandit::{Baseline, BaselineKind};
//!
//! let mut env = env::make("strong-lts").unwrap();
//! env.reset(None);
//! let mut greedy = Baseline::new(BaselineKind::Greedy, 0);
//! let mut slate = [0; 2];
//! greedy.act(env.as_ref(), false, &mut slate);
//! // Greedy puts the most clickbaity candidate first.
//! let best = env.items().iter().copied().fold(f32::MIN, f32::max);
//! assert_eq!(env.items()[slate[0]], best);
//! ```

#![warn(missing_docs)]

mod baseline;
mod es;
mod linear;

pub use baseline::{Baseline, BaselineKind};
pub use es::Es;
pub use linear::{Exploration, LinearBandit};
