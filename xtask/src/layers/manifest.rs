//! `Cargo.toml`, read line by line (no TOML crate here): the package name and the
//! dependency tables, enough to tell which workspace crates a crate depends on.

/// A dependency, by its key.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Dep {
    /// The dependency's key (its package name unless renamed).
    pub(super) name: String,
    /// A `[dev-dependencies]` one.
    pub(super) dev: bool,
    /// Given by `path` or `workspace = true`: maybe a workspace crate.
    pub(super) local: bool,
}

/// `[package]`'s name, and the dependencies of the `[dependencies]` and `[dev-dependencies]`
/// tables (target-specific ones too): inline (`foo = { path = "…" }`), dotted
/// (`foo.workspace = true`) or as a `[dependencies.foo]` table.
pub(super) fn parse_manifest(text: &str) -> (Option<String>, Vec<Dep>) {
    let (mut name, mut deps, mut section) = (None, Vec::<Dep>::new(), String::new());
    for line in text.lines() {
        // Up to a comment (a `#` in a string is not expected in what is read here).
        let line = line.split('#').next().unwrap_or_default().trim();
        if let Some(header) = line.strip_prefix('[') {
            section = header.trim_end_matches(']').to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (unquote(key), value.trim());
        if section == "package" && key == "name" {
            name = Some(unquote(value));
        }
        let Some((dev, table)) = dependency_table(&section) else {
            continue;
        };
        let (dep, fields) = match (table, key.split_once('.')) {
            (Some(dep), _) => (dep, format!("{key}={value}")),
            (None, Some((dep, field))) => (dep.to_string(), format!("{field}={value}")),
            (None, None) => (key, value.to_string()),
        };
        let local = field(&fields, "path").is_some() || field(&fields, "workspace") == Some("true");
        match deps.iter_mut().find(|d| d.name == dep && d.dev == dev) {
            Some(d) => d.local |= local,
            None => deps.push(Dep {
                name: dep,
                dev,
                local,
            }),
        }
    }
    (name, deps)
}

/// For a dependency table's header: whether it is dev, and its one dependency if it is a
/// `[dependencies.foo]` table.
fn dependency_table(header: &str) -> Option<(bool, Option<String>)> {
    let parts: Vec<String> = header.split('.').map(unquote).collect();
    let parts = match parts.first() {
        Some(first) if first == "target" => parts.get(2..)?,
        _ => &parts[..],
    };
    let dev = match parts.first()?.as_str() {
        "dependencies" => false,
        "dev-dependencies" => true,
        _ => return None,
    };
    match parts {
        [_] => Some((dev, None)),
        [_, dep] => Some((dev, Some(dep.clone()))),
        _ => None,
    }
}

/// The value of `name = value` in `text`: one pair, or an inline table's.
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.match_indices(name).find_map(|(i, _)| {
        // A whole key: not `features = ["path"]`, not `xpath`.
        let before = text[..i].trim_end();
        let after = text[i + name.len()..].trim_start().strip_prefix('=')?;
        let end = after.find([',', '}']).unwrap_or(after.len());
        (before.is_empty() || before.ends_with([',', '{'])).then(|| after[..end].trim())
    })
}

fn unquote(text: &str) -> String {
    text.trim().trim_matches(['"', '\'']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_dependencies_in_every_form() {
        let manifest = "[package]\nname = \"trainer\" # the name\nversion.workspace = true\n\
            [dependencies]\nenv.workspace = true\nslateq = { workspace = true, optional = true }\n\
            foo = { features = [\"path\"], path = \"../foo\" }\nrand = { version = \"0.9\" }\n\
            [dev-dependencies.tempfile]\nworkspace = true\n\
            [target.'cfg(unix)'.dev-dependencies]\n\"quoted\" = { path = \"../q\" }\n\
            [[example]]\nname = \"custom_world\"\n";
        let (name, deps) = parse_manifest(manifest);
        assert_eq!(name.as_deref(), Some("trainer"));
        let found: Vec<(&str, bool, bool)> = deps
            .iter()
            .map(|d| (d.name.as_str(), d.dev, d.local))
            .collect();
        let expected = [
            ("env", false, true),
            ("slateq", false, true),
            ("foo", false, true),
            ("rand", false, false),
            ("tempfile", true, true),
            ("quoted", true, true),
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn a_dependency_named_twice_is_local_if_either_is() {
        let manifest = "[dependencies]\nenv = \"1\"\n[dependencies.env]\npath = \"../env\"\n\
            [dev-dependencies]\nenv = \"1\"\n";
        let (name, deps) = parse_manifest(manifest);
        assert_eq!(name, None);
        let found: Vec<(&str, bool, bool)> = deps
            .iter()
            .map(|d| (d.name.as_str(), d.dev, d.local))
            .collect();
        assert_eq!(found, [("env", false, true), ("env", true, false)]);
    }

    #[test]
    fn tables_and_fields() {
        assert_eq!(dependency_table("dependencies"), Some((false, None)));
        let dev_table = Some((true, Some("foo".to_string())));
        assert_eq!(dependency_table("dev-dependencies.\"foo\""), dev_table);
        let target = "target.'cfg(unix)'.dependencies";
        assert_eq!(dependency_table(target), Some((false, None)));
        assert_eq!(dependency_table("build-dependencies"), None);
        assert_eq!(dependency_table("package"), None);
        let inline = "{ xpath = 1, features = [\"path\"], path = \"../a\" }";
        assert_eq!(field(inline, "path"), Some("\"../a\""));
        assert_eq!(field("workspace=true", "workspace"), Some("true"));
        assert_eq!(field("{ version = \"1\" }", "path"), None);
        assert_eq!(unquote(" 'a' "), "a");
    }
}
