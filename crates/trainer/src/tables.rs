//! A configuration as TOML tables: a partial file merged over the defaults, values set at
//! dotted keys (`slateq.lr`), the keys at which two configurations differ, and a file
//! edited in place to read as another.

use crate::{InvalidConfig, TrainConfig};

/// Merges `overlay` into `base`, table by table; other values replace.
pub(crate) fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Sets `value` at a dotted path of `table` (`slateq.lr`), making the tables on the way;
/// the error says why the path cannot be set.
pub(crate) fn set_path(
    table: &mut toml::Table,
    path: &str,
    value: toml::Value,
) -> Result<(), String> {
    let mut keys: Vec<&str> = path.split('.').collect();
    let last = keys.pop().expect("split gives one piece at least");
    if last.is_empty() || keys.iter().any(|k| k.is_empty()) {
        return Err("not a dotted key (`slateq.lr`)".into());
    }
    let mut at = table;
    for (depth, key) in keys.iter().enumerate() {
        let entry = at
            .entry(key.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        at = match entry {
            toml::Value::Table(t) => t,
            _ => return Err(format!("`{}` is not a table", keys[..=depth].join("."))),
        };
    }
    at.insert(last.to_string(), value);
    Ok(())
}

impl TrainConfig {
    /// This configuration with values at dotted keys (`slateq.lr`, `env.seed`), as a
    /// sweep's axes set them: each value is TOML (`1e-4`, `[64, 64]`, `"cuda"`), or a bare
    /// word taken as a string (`cuda`).
    pub fn with_keys(&self, keys: &[(String, String)]) -> Result<Self, InvalidConfig> {
        let mut overlay = toml::Table::new();
        for (key, text) in keys {
            let value = toml::from_str::<toml::Table>(&format!("v = {text}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::String(text.clone()));
            set_path(&mut overlay, key, value).map_err(|why| InvalidConfig::DottedKey {
                key: key.clone(),
                why,
            })?;
        }
        self.merged_table(overlay)
    }
}

/// How [`TrainConfig::differences`] shows a key one side does not set.
const UNSET: &str = "(unset)";

/// `text`, a file that reads as `current`, edited in place to read as `config`: only the
/// keys that differ change, and the rest of the file (comments, order, layout) stays.
/// `None` where that cannot be done (a key of a shape the edit does not follow).
pub(crate) fn edit_toml(text: &str, current: &TrainConfig, config: &TrainConfig) -> Option<String> {
    let mut doc: toml_edit::DocumentMut = text.parse().ok()?;
    for (path, _, new) in current.differences(config) {
        let keys: Vec<&str> = path.split('.').collect();
        let (last, tables) = keys.split_last()?;
        let mut table: &mut dyn toml_edit::TableLike = doc.as_table_mut();
        for key in tables {
            if !table.contains_key(key) {
                table.insert(key, toml_edit::table());
            }
            table = table.get_mut(key)?.as_table_like_mut()?;
        }
        if new == UNSET {
            table.remove(last);
        } else {
            table.insert(
                last,
                toml_edit::value(new.parse::<toml_edit::Value>().ok()?),
            );
        }
    }
    let edited = doc.to_string();
    // Whatever the edit missed, the file must say exactly `config`.
    (TrainConfig::from_toml(&edited).ok()? == *config).then_some(edited)
}

/// Collects the dotted paths at which `a` and `b` differ.
pub(crate) fn diff(
    prefix: &str,
    a: &toml::Table,
    b: &toml::Table,
    out: &mut Vec<(String, String, String)>,
) {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for key in keys {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (a.get(key), b.get(key)) {
            (Some(toml::Value::Table(x)), Some(toml::Value::Table(y))) => diff(&path, x, y, out),
            (x, y) if x != y => {
                let show = |v: Option<&toml::Value>| v.map_or(UNSET.to_string(), |v| v.to_string());
                out.push((path, show(x), show(y)));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algo, AlgoConfig};

    #[test]
    fn an_edit_in_place_changes_only_the_keys_that_differ() {
        let current = TrainConfig::new(Algo::Slateq);
        let text = format!("# my run\n{}", current.to_toml())
            .replace("[slateq]\n", "[slateq]\n# tuned by hand\n");
        let mut config = current.clone();
        config.iterations = 7;
        let AlgoConfig::Slateq(c) = &mut config.agent else {
            unreachable!("a SlateQ configuration")
        };
        c.lr = 5e-4;
        c.center_rewards = Some(true);
        let edited = edit_toml(&text, &current, &config).expect("an editable file");
        assert_eq!(TrainConfig::from_toml(&edited).unwrap(), config);
        assert!(edited.starts_with("# my run\n"));
        assert!(edited.contains("[slateq]\n# tuned by hand\n"));
        // Three lines differ: two edited, one added.
        let changed = edited.lines().filter(|l| !text.lines().any(|t| t == *l));
        assert_eq!(changed.count(), 3, "{edited}");
        // A key the file leaves to its default is added where it belongs; one the new
        // configuration leaves unset is removed.
        let back = edit_toml(&edited, &config, &current).unwrap();
        assert_eq!(TrainConfig::from_toml(&back).unwrap(), current);
        assert!(!back.contains("center_rewards"));
        let sparse = "algo = \"slateq\"\n# short\n";
        let from_sparse = edit_toml(sparse, &current, &config).unwrap();
        assert_eq!(TrainConfig::from_toml(&from_sparse).unwrap(), config);
        assert!(from_sparse.contains("# short"));
    }
}
