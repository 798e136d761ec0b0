use crate::ConfigError;

/// A model's parameter set, addressable by name (`--set name=value` on the command line).
///
/// Implementors list their fields once in [`Params::fields`]; reading, writing and the
/// unknown-name error follow from that list.
pub trait Params: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The model's name, for error messages.
    const MODEL: &'static str;

    /// Every parameter, by name, in a fixed order; reading, writing and the unknown-name
    /// error all follow from this list.
    fn fields(&mut self) -> Vec<(&'static str, &mut f64)>;

    /// Checks every parameter's range; a model is only built from a validated set.
    fn validate(&self) -> Result<(), ConfigError>;

    /// `(name, value)` of every parameter.
    fn values(&self) -> Vec<(&'static str, f64)> {
        let mut copy = self.clone();
        copy.fields().into_iter().map(|(n, v)| (n, *v)).collect()
    }

    /// Sets one parameter by name. The value is checked with the whole set by
    /// [`Params::validate`]; an unknown name is an error naming the known ones.
    fn set(&mut self, name: &str, value: f64) -> Result<(), ConfigError> {
        let mut fields = self.fields();
        let known = fields
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ");
        match fields.iter_mut().find(|(n, _)| *n == name) {
            Some((_, slot)) => {
                **slot = value;
                Ok(())
            }
            None => Err(ConfigError::UnknownParam {
                model: Self::MODEL,
                name: name.to_string(),
                known,
            }),
        }
    }

    /// Applies `(name, value)` overrides, then validates; on error `self` is unchanged.
    fn with_overrides(&self, overrides: &ParamSet) -> Result<Self, ConfigError> {
        let mut next = self.clone();
        for (name, value) in overrides {
            next.set(name, *value)?;
        }
        next.validate()?;
        Ok(next)
    }
}

/// Parameter overrides by name (`--set name=value`, a config's `[env.params]`).
pub type ParamSet = std::collections::BTreeMap<String, f64>;

/// Checks that `value` is finite and at least `min` (strictly above it when `strict`).
pub fn check_min(
    name: &'static str,
    value: f64,
    min: f64,
    strict: bool,
) -> Result<(), ConfigError> {
    let ok = value.is_finite() && if strict { value > min } else { value >= min };
    if ok {
        Ok(())
    } else {
        Err(ConfigError::InvalidParam {
            name,
            value,
            why: match (strict, min == 0.0) {
                (true, true) => "must be finite and positive",
                (false, true) => "must be finite and non-negative",
                _ => "must be finite and within range",
            },
        })
    }
}

/// Checks that `value` is finite and lies in `[lo, hi]`.
pub fn check_range(
    name: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
    why: &'static str,
) -> Result<(), ConfigError> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::InvalidParam { name, value, why })
    }
}
