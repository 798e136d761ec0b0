//! Rust source, read lexically: its tokens, and the paths among them that may name modules
//! of the crate (`crate::…`, `super::…`, `self::…`, a child's name), each resolved to the
//! module it names.

use std::collections::{BTreeMap, BTreeSet};

/// A module's path from the crate root (`[]`: the root itself).
pub(super) type Module = Vec<String>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Identifiers, `::` and punctuation; comments and literals (strings, characters, numbers)
/// dropped, so that only code is searched for paths.
fn lex(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let word_char = |ch: char| ch.is_alphanumeric() || ch == '_';
    let (mut toks, mut i) = (Vec::new(), 0);
    while i < c.len() {
        let (start, ch) = (i, c[i]);
        i += 1;
        match (ch, at(i)) {
            _ if ch.is_whitespace() => {}
            ('/', '/') => i = (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len()),
            ('/', '*') => i = skip_block_comment(&c, start),
            // `b"…"` and `b'…'` come here too, after a harmless `b`.
            ('"', _) => i = skip_string(&c, i, None),
            ('\'', _) => i = skip_char(&c, start),
            (':', ':') => {
                toks.push(Tok::PathSep);
                i += 1;
            }
            _ if word_char(ch) => {
                while i < c.len() && word_char(c[i]) {
                    i += 1;
                }
                let hashes = c[i..].iter().take_while(|&&h| h == '#').count();
                let word: String = c[start..i].iter().collect();
                if matches!(word.as_str(), "r" | "br" | "cr") && at(i + hashes) == '"' {
                    i = skip_string(&c, i + hashes + 1, Some(hashes));
                } else if !ch.is_ascii_digit() {
                    toks.push(Tok::Ident(word));
                }
            }
            _ => toks.push(Tok::Punct(ch)),
        }
    }
    toks
}

/// Past the (nestable) block comment at `i`.
fn skip_block_comment(c: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i + 1 < c.len() {
        let pair = [c[i], c[i + 1]];
        if pair == ['/', '*'] || pair == ['*', '/'] {
            depth += if pair[0] == '/' { 1 } else { -1 };
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    c.len()
}

/// Past the string whose content starts at `i`; a raw one (with its count of `#`) has no
/// escapes.
fn skip_string(c: &[char], mut i: usize, raw: Option<usize>) -> usize {
    let hashes = raw.unwrap_or(0);
    while i < c.len() {
        if c[i] == '\\' && raw.is_none() {
            i += 1;
        } else if c[i] == '"' && c[i + 1..].iter().take(hashes).all(|&h| h == '#') {
            return (i + 1 + hashes).min(c.len());
        }
        i += 1;
    }
    c.len()
}

/// Past the character literal at `i` (`'x'`, `'\n'`, `'\''`), or the `'` of a lifetime.
fn skip_char(c: &[char], i: usize) -> usize {
    match (c.get(i + 1), c.get(i + 2)) {
        // The escaped character may be a quote itself: the closing one comes after it.
        (Some('\\'), _) => (i + 3..c.len())
            .find(|&j| c[j] == '\'')
            .map_or(c.len(), |j| j + 1),
        (_, Some('\'')) => i + 3,
        _ => i + 1,
    }
}

/// The modules of `modules` that the code of module `file` imports from, other than itself
/// and other than its tests' `super::` paths to it or its ancestors; each with how its
/// paths start (`crate`, `super`, `self` or a child's name), to tell a report's reader which
/// `use` to look for.
pub(super) fn imports(
    src: &str,
    file: &[String],
    modules: &BTreeSet<Module>,
) -> BTreeMap<Module, BTreeSet<String>> {
    let toks = lex(src);
    // A path may start with a child's name (`use writer::Row` in `logs/mod.rs`).
    let children: BTreeSet<&str> = (modules.iter())
        .filter(|m| m.len() == file.len() + 1 && m.starts_with(file))
        .map(|m| m[file.len()].as_str())
        .collect();
    // Open `{` blocks: the inline module each opens (if one), and whether under `#[cfg(test)]`.
    let mut blocks: Vec<(Option<String>, bool)> = Vec::new();
    // Between `#[cfg(test)]` and its item's `{` or `;`.
    let mut pending_test = false;
    let (mut found, mut i) = (BTreeMap::<Module, BTreeSet<String>>::new(), 0);
    while i < toks.len() {
        let before = |back: usize| i.checked_sub(back).map(|j| &toks[j]);
        match &toks[i] {
            Tok::Punct('#') if is_cfg_test(&toks[i..]) => pending_test = true,
            Tok::Punct('{') => {
                let module = match (before(2), before(1)) {
                    (Some(Tok::Ident(m)), Some(Tok::Ident(name))) if m == "mod" => Some(name),
                    _ => None,
                };
                blocks.push((module.cloned(), pending_test));
                pending_test = false;
            }
            Tok::Punct('}') => _ = blocks.pop(),
            Tok::Punct(';') => pending_test = false,
            Tok::Ident(word) if starts_path(&toks, i, word, &children) => {
                let test = pending_test || blocks.iter().any(|b| b.1);
                let mut logical = file.to_vec();
                logical.extend(blocks.iter().filter_map(|b| b.0.clone()));
                let mut paths = Vec::new();
                i = parse_tree(&toks, i, Vec::new(), &mut paths).max(i + 1);
                for path in paths {
                    let Some(target) = resolve(&path, file, &logical, modules) else {
                        continue;
                    };
                    // `use super::*` in `mod tests` is the tests reading their own module.
                    let test_ancestor = test && path[0] == "super" && file.starts_with(&target);
                    if target != file && !test_ancestor {
                        found.entry(target).or_default().insert(path[0].clone());
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// `#[cfg(test)]` at the start of `toks`.
fn is_cfg_test(toks: &[Tok]) -> bool {
    let (p, w) = (Tok::Punct, |s: &str| Tok::Ident(s.to_string()));
    toks.starts_with(&[p('#'), p('['), w("cfg"), p('('), w("test"), p(')'), p(']')])
}

/// Whether the identifier at `i` starts a path that may name a module of the crate.
fn starts_path(toks: &[Tok], i: usize, word: &str, children: &BTreeSet<&str>) -> bool {
    let before = |back: usize| i.checked_sub(back).map(|j| &toks[j]);
    // Not inside a longer path, a field, a macro's `$crate`, nor `pub(in crate::x)`.
    let inside = matches!(before(1), Some(Tok::PathSep | Tok::Punct('$' | '.')));
    let visibility = matches!((before(2), before(1)),
        (Some(Tok::Punct('(')), Some(Tok::Ident(w))) if w == "in");
    !inside
        && !visibility
        && toks.get(i + 1) == Some(&Tok::PathSep)
        && (matches!(word, "crate" | "super" | "self") || children.contains(word))
}

/// Reads the path or `use` tree at `i` into `out`, a full path per leaf (`a::{b, c::{d,
/// self}}` gives `a::b`, `a::c::d`, `a::c::self`); returns where it ends.
fn parse_tree(toks: &[Tok], mut i: usize, mut path: Module, out: &mut Vec<Module>) -> usize {
    while let Some(Tok::Ident(segment)) = toks.get(i) {
        path.push(segment.clone());
        i += 1;
        if toks.get(i) != Some(&Tok::PathSep) {
            out.push(path);
            return i;
        }
        i += 1;
    }
    if toks.get(i) != Some(&Tok::Punct('{')) {
        // A glob, or a path such as `crate::Foo::<T>`: the path so far.
        out.push(path);
        return i;
    }
    i += 1;
    while let Some(tok) = toks.get(i) {
        i = match tok {
            Tok::Punct('}') => return i + 1,
            Tok::Punct(',') => i + 1,
            // `use crate::{x as y}`.
            Tok::Ident(w) if w == "as" => i + 2,
            _ => parse_tree(toks, i, path.clone(), out).max(i + 1),
        };
    }
    i
}

/// The module `path` names: the longest prefix of its absolute form among `modules` (at
/// least the root, `[]`). `logical` is where it is written (`file` and any inline modules),
/// for `self` and `super`.
fn resolve(
    path: &[String],
    file: &[String],
    logical: &[String],
    modules: &BTreeSet<Module>,
) -> Option<Module> {
    let (mut absolute, skip) = match path.first()?.as_str() {
        "crate" => (Vec::new(), 1),
        "self" => (logical.to_vec(), 1),
        // The loop below pops for `super`, and pushes a child's name.
        "super" => (logical.to_vec(), 0),
        _ => (file.to_vec(), 0),
    };
    for segment in &path[skip..] {
        match segment.as_str() {
            "super" => _ = absolute.pop()?,
            "self" => {}
            name => absolute.push(name.to_string()),
        }
    }
    let mut prefixes = (0..=absolute.len()).rev().map(|n| absolute[..n].to_vec());
    prefixes.find(|prefix| modules.contains(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(path: &str) -> Module {
        path.split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }

    /// The modules that `src`, the file of module `file`, imports, among `all`, each with
    /// the heads of its paths.
    fn found(src: &str, file: &str, all: &[&str]) -> Vec<(String, Vec<String>)> {
        let modules = all.iter().map(|p| m(p)).collect();
        (imports(src, &m(file), &modules).into_iter())
            .map(|(target, heads)| (target.join("::"), heads.into_iter().collect()))
            .collect()
    }

    /// The modules that `src` imports, without their paths' heads.
    fn targets(src: &str, file: &str, all: &[&str]) -> Vec<String> {
        found(src, file, all).into_iter().map(|f| f.0).collect()
    }

    #[test]
    fn use_groups_resolve_to_the_longest_module_prefix() {
        let all = ["", "logs", "logs::writer", "ope", "algorithm", "run"];
        let src = "use crate::{algorithm::finite, logs::{writer::Row as R, self}, TrainError};\n\
                   fn f() { crate::ope::estimate::<u8>(); crate::run::g(); }";
        let found = targets(src, "run", &all);
        assert_eq!(found, ["", "algorithm", "logs", "logs::writer", "ope"]);
    }

    #[test]
    fn comments_strings_and_visibilities_are_not_paths() {
        let src = r####"
            //! See [`crate::a`].
            /* crate::b::x /* nested crate::b */ */
            const S: &str = "crate::c::y \" crate::c";
            const R: &[u8] = br#"use crate::c; "quoted""#;
            const C: [char; 2] = ['"', '\''];
            pub(in crate::b) fn f<'a>(x: &'a u8) { let _ = x; }
            fn g() { crate::d::h(); }
        "####;
        assert_eq!(targets(src, "", &["", "a", "b", "c", "d"]), ["d"]);
    }

    #[test]
    fn super_child_and_test_paths() {
        let all = ["", "planner", "planner::grid", "planner::bellman", "b"];
        let bellman = "use super::grid::Grid;\nuse super::{PlannerError, MAX};";
        let found = targets(bellman, "planner::bellman", &all);
        assert_eq!(found, ["planner", "planner::grid"]);
        let planner = "mod grid; mod bellman; pub use bellman::solve; fn f() { grid::new(); }";
        let found = targets(planner, "planner", &all);
        assert_eq!(found, ["planner::bellman", "planner::grid"]);
        // Tests reading their own module or its ancestors through `super` make no edge.
        let tests = "#[cfg(test)]\nmod tests { use super::*; use super::super::X; use crate::b; }";
        assert_eq!(targets(tests, "planner::grid", &all), ["b"]);
        assert_eq!(targets("use super::super::X;", "planner::grid", &all), [""]);
    }

    #[test]
    fn each_import_keeps_how_its_paths_start() {
        let all = ["", "planner", "planner::grid", "planner::bellman"];
        let src = "use super::Planner; use crate::planner::MAX; use self::inner::X;\n\
                   mod inner { use super::super::grid::Grid; }";
        let expected = [
            (
                "planner".to_string(),
                vec!["crate".to_string(), "super".to_string()],
            ),
            ("planner::grid".to_string(), vec!["super".to_string()]),
        ];
        assert_eq!(found(src, "planner::bellman", &all), expected);
        let planner = "pub use grid::Grid; use self::bellman::solve;";
        let heads = |h: &str| vec![h.to_string()];
        let expected = [
            ("planner::bellman".to_string(), heads("self")),
            ("planner::grid".to_string(), heads("grid")),
        ];
        assert_eq!(found(planner, "planner", &all), expected);
    }

    #[test]
    fn tokens_skip_literals_and_keep_lifetimes_apart() {
        let words = |src: &str| -> Vec<String> {
            (lex(src).into_iter())
                .filter_map(|t| match t {
                    Tok::Ident(w) => Some(w),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(
            words("a::b 12u8 'c' b\"x\" r#\"y\"# d"),
            ["a", "b", "b", "d"]
        );
        assert_eq!(
            words("fn f<'a>(x: &'a str) {}"),
            ["fn", "f", "a", "x", "a", "str"]
        );
        let toks = lex("x::y");
        assert_eq!(toks[1], Tok::PathSep);
        assert!(is_cfg_test(&lex("#[cfg(test)] mod t;")));
        assert!(!is_cfg_test(&lex("#[cfg(feature = \"x\")]")));
    }
}
