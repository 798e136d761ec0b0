//! SARDINE's simulated users (Deffayet et al., "SARDINE: a Simulator for Automated
//! Recommendation in Dynamic and Interactive Environments", ACM TORS 2024; NAVER's
//! `sardine-rec` 1.0.8, MIT licence), faithful to its `simulator.py`, quirks included:
//! `docs/sardine.md` states the model and each quirk.
//!
//! Users and items are embeddings over topics. A user's clicks pull their interests toward
//! the clicked items, and too many clicks on one topic within a window bore them: their
//! interest drops to zero (churn and return) or in that topic only, for a while. Clicks
//! follow a position-based model over a sigmoid of the relevance. The candidates are the
//! whole catalogue, the same every step.
//!
//! ```
//! use recsim_core::{EnvConfig, Streams};
//! use sardine::{Catalogue, Preset, Sardine};
//!
//! let preset = Preset::all()[0]; // SingleItem-Static: one item of 1,000, never bored
//! let catalogue = Catalogue::generate(preset.num_items, 10, 0);
//! let world = Sardine::new(preset.params, catalogue, preset.slate_size).unwrap();
//! let mut streams = Streams::new(0);
//! let mut user = world.new_user();
//! world.reset(&mut user, &mut streams);
//! // The short-term oracle: the item most relevant to the user's current interests.
//! let mut relevance = vec![0.0; world.num_items()];
//! world.relevances(&user, &mut relevance);
//! let best = (0..relevance.len()).max_by(|&a, &b| relevance[a].total_cmp(&relevance[b])).unwrap();
//! let mut clicks = 0;
//! while !world.is_terminal(&user) {
//!     clicks += world.step(&mut user, &[best], &mut streams.noise).unwrap();
//! }
//! assert_eq!(clicks, 100, "a static user clicks its best item every step");
//! ```

#![warn(missing_docs)]

mod catalogue;
mod model;
mod params;

pub use catalogue::{refuse, Catalogue};
pub use model::{Sardine, User};
pub use params::{Embeddings, Preset, SardineParams};

#[cfg(test)]
mod tests;
