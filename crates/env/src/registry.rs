//! The registry of worlds, as Gymnasium's: the four RecSim worlds are registered from the
//! start, [`register`] adds others (as `gymnasium.register` does), built from any
//! [`recsim_core::Model`], and [`world`] finds one by name.

use std::sync::{Arc, OnceLock, RwLock};

use recsim_core::{
    ConfigError, IeParams, IevParams, InterestEvolution, InterestExploration, LongTermSatisfaction,
    LtsParams,
};
use thiserror::Error;

use crate::{ModelWorld, World};

/// Why a world cannot be registered.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// The name is taken.
    #[error("an environment named `{0}` is already registered")]
    Duplicate(String),
    /// The name cannot be typed as `--env NAME`.
    #[error("`{0}` is not a valid environment name: use letters, digits, `-`, `_`, `/` and `.`")]
    InvalidName(String),
}

type Registry = RwLock<Vec<Arc<dyn World>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(builtin()))
}

/// RecSim's three worlds, the first in two user settings, then SARDINE's eight presets.
fn builtin() -> Vec<Arc<dyn World>> {
    let mut worlds: Vec<Arc<dyn World>> = vec![
        Arc::new(ModelWorld::<LongTermSatisfaction>::new(
            "strong-lts",
            "long-term satisfaction with the tutorial's StrongLTS user (sensitivity 0.06, budget 120)",
            LtsParams::strong(),
        )),
        Arc::new(ModelWorld::<LongTermSatisfaction>::new(
            "lts",
            "long-term satisfaction with RecSim's default user",
            LtsParams::default(),
        )),
        // RecSim's episodes end when the budget does; with parameters under which it
        // never runs out (a large user_quality_factor, say) the cut at 1000 steps ends
        // them. With the defaults no episode comes near it (at most about 400 steps).
        Arc::new(
            ModelWorld::<InterestEvolution>::new(
                "interest-evolution",
                "interest evolution: observed interests, videos in 20 clusters, a time budget",
                IevParams::default(),
            )
            .with_default_horizon(1000),
        ),
        // It never ends by itself (RecSim's runner cuts it at 27,000 steps, RLlib not at
        // all); 100 steps is the horizon of the reference figures.
        Arc::new(
            ModelWorld::<InterestExploration>::new(
                "interest-exploration",
                "interest exploration: two topics, hidden users; ends only at its horizon",
                IeParams::default(),
            )
            .with_default_horizon(100),
        ),
    ];
    worlds.extend(crate::sardine::presets().map(|w| Arc::new(w) as Arc<dyn World>));
    worlds
}

/// Adds a world to the registry, as `gymnasium.register` does; a taken name is refused.
pub fn register(world: impl World + 'static) -> Result<(), RegistryError> {
    let name = world.name().to_string();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c));
    if !valid {
        return Err(RegistryError::InvalidName(name));
    }
    let mut worlds = registry().write().unwrap_or_else(|e| e.into_inner());
    if worlds.iter().any(|w| w.name() == name) {
        return Err(RegistryError::Duplicate(name));
    }
    worlds.push(Arc::new(world));
    Ok(())
}

/// Every registered world, the built-in ones first.
pub fn registered() -> Vec<Arc<dyn World>> {
    registry().read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The world registered as `name`.
pub fn world(name: &str) -> Result<Arc<dyn World>, ConfigError> {
    let worlds = registry().read().unwrap_or_else(|e| e.into_inner());
    worlds
        .iter()
        .find(|w| w.name() == name)
        .cloned()
        .ok_or_else(|| ConfigError::UnknownEnvironment {
            name: name.to_string(),
            known: worlds
                .iter()
                .map(|w| w.name())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registering_refuses_taken_and_untypable_names() {
        let world = |name: &str| {
            ModelWorld::<LongTermSatisfaction>::new(name, "test", LtsParams::default())
        };
        assert!(matches!(
            register(world("strong-lts")),
            Err(RegistryError::Duplicate(name)) if name == "strong-lts"
        ));
        assert!(matches!(
            register(world("two words")),
            Err(RegistryError::InvalidName(name)) if name == "two words"
        ));
        register(world("registry-test/lts-v0")).unwrap();
        assert!(crate::make("registry-test/lts-v0").is_ok());
        assert!(registered()
            .iter()
            .any(|w| w.name() == "registry-test/lts-v0"));
    }
}
