//! The policy an off-policy estimate is for, acting on what a log holds.

use env::Scenario;

use logs::{LoadPolicy, LogError, Policy, PolicySpec};

/// The policy `spec` for the logs' scenario, acting on logged observations; refused where
/// it needs to see what the logs do not hold, or was trained for other slates.
pub fn target_policy(
    spec: &PolicySpec,
    scenario: &Scenario,
    checkpoints: &dyn LoadPolicy,
) -> Result<Policy, LogError> {
    let mut wanted = scenario.clone();
    let policy = Policy::new(spec, &mut wanted, 0, checkpoints)?;
    if wanted.wrappers != scenario.wrappers {
        return Err(LogError::invalid(
            std::path::Path::new(&scenario.env),
            format!(
                "{spec} reads the user's true state, which these logs do not hold: write them \
                 with --user-observation"
            ),
        ));
    }
    Ok(policy)
}
