//! `cargo xtask layers [--check]`: the workspace's structure, measured. Per crate (each
//! folder of `crates/` with a `Cargo.toml`, and `xtask`): the lines of Rust under `src/`,
//! the largest file, the workspace crates it depends on, and the import graph of its
//! modules with the graph's circles (strongly connected components of two modules or more).
//! `--check` fails on any circle, of modules or of crates, any crate over 5000 lines and any
//! file over 720 (the project's "about 700").
//!
//! Imports are read lexically. A path in code (not comments or strings) that starts with
//! `crate::`, `super::`, `self::` or a child module's name, `use` groups expanded, is an edge
//! to the longest prefix of it that names a module file. `crate::Name` (an item of the root,
//! often a re-export) is a root edge: counted apart, and left out of the circles. A module's
//! paths to itself are no edges, nor are `super::` paths of `#[cfg(test)]` code to its own
//! file's module or that module's ancestors (`use super::*`); other test code counts. Files
//! under `src/bin/`, and `main.rs` beside `lib.rs`, count in lines but not in the graph.
//! Crate circles are looked for over normal dependencies (cargo allows dev ones back).
//! Each edge of a module circle is printed with how its paths start (`crate::`, `super::`,
//! `self::` or a child's name), so a reader knows which `use` to look for; a circle of a
//! module and its children by `super::` paths alone is still a circle.

mod lex;
mod manifest;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use lex::{imports, Module};
use manifest::{parse_manifest, Dep};

// The project's limits are "about 700" lines a file and "about 5000" a crate: a file a few
// lines over is fine, one that reaches the limit below is due a split.
const MAX_FILE_LINES: usize = 720;
const MAX_CRATE_LINES: usize = 5000;

/// `cargo xtask layers [--check]`: prints the workspace's layers report; `--check` fails,
/// naming each circle and each crate or file over its limit.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => bail!("usage: cargo xtask layers [--check]"),
    };
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = xtask.parent().context("xtask lives inside the workspace")?;
    report(root, check)
}

/// The report on the workspace at `root`, printed; with `check`, an error naming every
/// circle and every crate or file over its limit.
pub(crate) fn report(root: &Path, check: bool) -> Result<()> {
    let crates = load_crates(root)?;
    print!("{}{}", summary_table(&crates), crate_dependencies(&crates));
    let findings = findings(&crates);
    for (title, lines) in &findings {
        println!("\n{title}:");
        if lines.is_empty() {
            println!("  none");
        }
        lines.iter().for_each(|line| println!("  {line}"));
    }
    let lines: usize = crates.iter().map(|c| c.lines).sum();
    let files: usize = crates.iter().map(|c| c.files.len()).sum();
    let count = crates.len();
    println!("\ntotal: {lines} lines in {files} files, {count} crates");
    let failed: Vec<String> = (findings.iter())
        .flat_map(|(title, lines)| lines.iter().map(move |line| format!("{title}: {line}")))
        .collect();
    if check && !failed.is_empty() {
        bail!("layers check failed:\n  {}", failed.join("\n  "));
    }
    Ok(())
}

// ---- The workspace, read from disk.

/// One workspace crate, measured.
struct Crate {
    name: String,
    /// Workspace-relative.
    dir: PathBuf,
    /// The workspace crates it depends on (indices), `true` for dev-dependencies.
    links: Vec<(usize, bool)>,
    /// Every `.rs` file under `src/`: workspace-relative path and lines, by path.
    files: Vec<(PathBuf, usize)>,
    lines: usize,
    graph: ModuleGraph,
}

fn load_crates(root: &Path) -> Result<Vec<Crate>> {
    let folder = root.join("crates");
    let listing = || format!("listing {}", folder.display());
    let mut dirs = Vec::new();
    for entry in fs::read_dir(&folder).with_context(listing)? {
        let dir = Path::new("crates").join(entry.with_context(listing)?.file_name());
        if root.join(&dir).join("Cargo.toml").is_file() {
            dirs.push(dir);
        }
    }
    dirs.sort();
    dirs.push(PathBuf::from("xtask"));
    let loaded: Vec<(Crate, Vec<Dep>)> = dirs
        .iter()
        .map(|d| load_crate(root, d))
        .collect::<Result<_>>()?;
    let names: Vec<String> = loaded.iter().map(|(c, _)| c.name.clone()).collect();
    let link = |dep: &Dep| Some((names.iter().position(|n| *n == dep.name)?, dep.dev));
    let crates = loaded.into_iter().map(|(mut c, deps)| {
        // Only `path` and `workspace = true` dependencies can be workspace crates.
        c.links = deps.iter().filter(|d| d.local).filter_map(link).collect();
        c.links.sort();
        c.links.dedup();
        c
    });
    Ok(crates.collect())
}

/// The crate in `dir` (workspace-relative), and its manifest's dependencies.
fn load_crate(root: &Path, dir: &Path) -> Result<(Crate, Vec<Dep>)> {
    let (name, deps) = parse_manifest(&read(&root.join(dir).join("Cargo.toml"))?);
    let src = root.join(dir).join("src");
    let mut paths = Vec::new();
    if src.is_dir() {
        rust_files(&src, &mut paths)?;
    }
    paths.sort();
    let has_lib = src.join("lib.rs").is_file();
    let (mut files, mut sources) = (Vec::new(), Vec::new());
    for path in paths {
        let text = read(&path)?;
        let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        files.push((relative, text.lines().count()));
        if let Some(module) = module_path(path.strip_prefix(&src).unwrap_or(&path), has_lib) {
            sources.push((module, text));
        }
    }
    let name = name.unwrap_or_else(|| dir.display().to_string());
    let (dir, graph) = (dir.to_path_buf(), ModuleGraph::build(&sources));
    let lines = files.iter().map(|f| f.1).sum();
    let links = Vec::new();
    let krate = Crate {
        name,
        dir,
        links,
        files,
        lines,
        graph,
    };
    Ok((krate, deps))
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let listing = || format!("listing {}", dir.display());
    for entry in fs::read_dir(dir).with_context(listing)? {
        let path = entry.with_context(listing)?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The module a file under `src/` is (`[]`: the crate root), or `None` for another crate
/// root (`bin/…`, or `main.rs` beside `lib.rs`).
fn module_path(in_src: &Path, has_lib: bool) -> Option<Module> {
    let mut parts: Vec<String> = in_src.iter().map(|p| p.to_string_lossy().into()).collect();
    let stem = parts.pop()?.strip_suffix(".rs")?.to_string();
    match (stem.as_str(), parts.is_empty()) {
        _ if parts.first().is_some_and(|d| d == "bin") => return None,
        ("main", true) if has_lib => return None,
        ("lib" | "main", true) | ("mod", false) => {}
        _ => parts.push(stem),
    }
    Some(parts)
}

// ---- Graphs.

/// A crate's modules and the imports between them.
struct ModuleGraph {
    /// Sorted: the root, `[]`, first.
    modules: Vec<Module>,
    /// Imports between modules, none into the root, each with how its paths start
    /// (`crate`, `super`, `self` or a child's name).
    edges: BTreeMap<(usize, usize), BTreeSet<String>>,
    /// The modules that import from the root.
    root_importers: BTreeSet<usize>,
}

impl ModuleGraph {
    /// The graph of `(module, source)` pairs.
    fn build(sources: &[(Module, String)]) -> ModuleGraph {
        let mut set: BTreeSet<Module> = sources.iter().map(|s| s.0.clone()).collect();
        set.insert(Vec::new());
        let modules: Vec<Module> = set.iter().cloned().collect();
        let index: BTreeMap<&Module, usize> = modules.iter().zip(0..).collect();
        let (mut edges, mut root_importers) = (BTreeMap::new(), BTreeSet::new());
        for (module, src) in sources {
            let from = index[module];
            for (target, heads) in imports(src, module, &set) {
                match index[&target] {
                    0 => _ = root_importers.insert(from),
                    to => _ = edges.insert((from, to), heads),
                }
            }
        }
        ModuleGraph {
            modules,
            edges,
            root_importers,
        }
    }

    fn name(&self, i: usize) -> String {
        match self.modules[i].join("::") {
            root if root.is_empty() => "crate".to_string(),
            name => name,
        }
    }

    /// The circles, as module indices.
    fn circles(&self) -> Vec<Vec<usize>> {
        let mut adj = vec![Vec::new(); self.modules.len()];
        self.edges.keys().for_each(|&(a, b)| adj[a].push(b));
        circles(&adj)
    }
}

/// The strongly connected components of two nodes or more, each sorted, in order.
fn circles(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut found: Vec<Vec<usize>> = tarjan(adj).into_iter().filter(|c| c.len() > 1).collect();
    found.iter_mut().for_each(|c| c.sort_unstable());
    found.sort();
    found
}

/// Tarjan's strongly connected components of the graph `adj` (node → successors).
fn tarjan(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    #[derive(Default)]
    struct Walk {
        /// Per node, its visit order (`None`: not visited yet).
        order: Vec<Option<usize>>,
        visited: usize,
        stack: Vec<usize>,
        components: Vec<Vec<usize>>,
    }

    /// Visits `v`; returns the lowest visit order reachable from it through the stack.
    fn visit(adj: &[Vec<usize>], w: &mut Walk, v: usize) -> usize {
        let index = w.visited;
        let mut low = index;
        (w.order[v], w.visited) = (Some(index), index + 1);
        w.stack.push(v);
        for &u in &adj[v] {
            match w.order[u] {
                None => low = low.min(visit(adj, w, u)),
                Some(u_index) if w.stack.contains(&u) => low = low.min(u_index),
                Some(_) => {}
            }
        }
        // The first node of a component: it and all above it on the stack.
        if low == index {
            let at = w.stack.iter().rposition(|&u| u == v).unwrap_or(0);
            let component = w.stack.split_off(at);
            w.components.push(component);
        }
        low
    }

    let mut walk = Walk {
        order: vec![None; adj.len()],
        ..Walk::default()
    };
    for v in 0..adj.len() {
        if walk.order[v].is_none() {
            visit(adj, &mut walk, v);
        }
    }
    walk.components
}

// ---- The report.

/// One row per crate: its size, largest file, and module graph's edges and circles.
fn summary_table(crates: &[Crate]) -> String {
    let mut rows = vec![
        "crate|lines|files|largest file (lines)|edges|root edges|circles"
            .split('|')
            .map(String::from)
            .collect::<Vec<_>>(),
    ];
    for c in crates {
        let largest = c.files.iter().rev().max_by_key(|f| f.1);
        let largest = largest.map_or("-".into(), |(path, n)| {
            format!(
                "{} ({n})",
                path.strip_prefix(&c.dir).unwrap_or(path).display()
            )
        });
        let (g, mut row) = (&c.graph, vec![c.name.clone()]);
        row.extend([c.lines, c.files.len()].map(|n| n.to_string()));
        row.push(largest);
        let counts = [g.edges.len(), g.root_importers.len(), g.circles().len()];
        row.extend(counts.map(|n| n.to_string()));
        rows.push(row);
    }
    let width = |col: usize| {
        rows.iter()
            .map(|r| r[col].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..rows[0].len()).map(width).collect();
    let mut out = String::new();
    for row in &rows {
        for (col, (cell, &w)) in row.iter().zip(&widths).enumerate() {
            // Names to the left, numbers to the right.
            out += &match col {
                0 | 3 => format!("{cell:<w$}  "),
                _ => format!("{cell:>w$}  "),
            };
        }
        out = out.trim_end().to_string() + "\n";
    }
    out
}

/// Per crate, the workspace crates it depends on.
fn crate_dependencies(crates: &[Crate]) -> String {
    let mut out = String::from("\ncrate dependencies (workspace crates):\n");
    for c in crates {
        let name = |&(t, dev): &(usize, bool)| {
            format!("{}{}", crates[t].name, if dev { " (dev)" } else { "" })
        };
        let names: Vec<String> = c.links.iter().map(name).collect();
        let list = if names.is_empty() {
            "-".to_string()
        } else {
            names.join(", ")
        };
        out += &format!("  {} → {list}\n", c.name);
    }
    out
}

/// The report's findings, each a line under its title: every circle (a module circle with
/// the edges inside it, one of which to break), every file and crate over its limit.
fn findings(crates: &[Crate]) -> [(String, Vec<String>); 3] {
    let mut found = Vec::new();
    for c in crates {
        let g = &c.graph;
        for circle in g.circles() {
            let names: Vec<String> = circle.iter().map(|&m| g.name(m)).collect();
            let edges: Vec<String> = (g.edges.iter())
                .filter(|((a, b), _)| circle.contains(a) && circle.contains(b))
                .map(|(&(a, b), heads)| {
                    let heads: Vec<String> = heads.iter().map(|h| format!("{h}::")).collect();
                    format!("{} → {} ({})", g.name(a), g.name(b), heads.join(", "))
                })
                .collect();
            let (names, edges) = (names.join(", "), edges.join(", "));
            found.push(format!("modules of {}: {{{names}}} by {edges}", c.name));
        }
    }
    // Crates over their normal dependencies: cargo allows a dev-dependency back.
    let adj: Vec<Vec<usize>> = (crates.iter())
        .map(|c| c.links.iter().filter(|l| !l.1).map(|l| l.0).collect())
        .collect();
    for circle in circles(&adj) {
        let names: Vec<&str> = circle.iter().map(|&i| crates[i].name.as_str()).collect();
        found.push(format!("crates: {{{}}}", names.join(", ")));
    }
    let mut files: Vec<(usize, String)> = (crates.iter().flat_map(|c| &c.files))
        .filter(|f| f.1 > MAX_FILE_LINES)
        .map(|(path, n)| (*n, path.display().to_string()))
        .collect();
    let mut big: Vec<(usize, String)> = (crates.iter())
        .filter(|c| c.lines > MAX_CRATE_LINES)
        .map(|c| (c.lines, c.name.clone()))
        .collect();
    // Largest first.
    files.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    big.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let lines = |list: Vec<(usize, String)>| list.into_iter().map(|(n, x)| format!("{x} ({n})"));
    let files_title = format!("files over {MAX_FILE_LINES} lines");
    let crates_title = format!("crates over {MAX_CRATE_LINES} lines");
    [
        ("circles".to_string(), found),
        (files_title, lines(files).collect()),
        (crates_title, lines(big).collect()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The graph of `(module, source)` pairs, modules written `a::b` (`""`: the root).
    fn graph(sources: &[(&str, &str)]) -> ModuleGraph {
        let module = |p: &str| -> Module {
            p.split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        let sources: Vec<(Module, String)> = (sources.iter())
            .map(|(m, src)| (module(m), src.to_string()))
            .collect();
        ModuleGraph::build(&sources)
    }

    /// A crate of one graph, with `files` of the given lines.
    fn krate(name: &str, graph: ModuleGraph, files: &[(&str, usize)]) -> Crate {
        let dir = PathBuf::from("crates").join(name);
        let files: Vec<(PathBuf, usize)> = (files.iter()).map(|&(f, n)| (dir.join(f), n)).collect();
        let lines = files.iter().map(|f| f.1).sum();
        Crate {
            name: name.to_string(),
            dir,
            links: Vec::new(),
            files,
            lines,
            graph,
        }
    }

    #[test]
    fn mutual_imports_form_a_circle_but_root_imports_do_not() {
        let graph = graph(&[
            ("", "mod a; mod b; mod c; pub use c::C;"),
            ("a", "use crate::b::B; use crate::C;"),
            ("b", "use crate::{a::A, C};"),
            ("c", "use crate::a::A;"),
        ]);
        assert_eq!(graph.circles(), [[1, 2]]);
        assert_eq!((graph.name(1), graph.name(0)), ("a".into(), "crate".into()));
        assert_eq!((graph.edges.len(), graph.root_importers.len()), (4, 2));
        // 0 → 1 → 2 → 0, 2 → 3, 3 → 4 → 3, 5 alone with a loop, 6 → 0.
        let adj = [
            vec![1],
            vec![2],
            vec![0, 3],
            vec![4],
            vec![3],
            vec![5],
            vec![0],
        ];
        assert_eq!(circles(&adj), [vec![0, 1, 2], vec![3, 4]]);
        assert_eq!(tarjan(&adj).len(), 4);
    }

    #[test]
    fn circle_edges_say_how_their_paths_start() {
        // A parent and its child by `super::` alone is still a circle.
        let graph = graph(&[
            ("", "mod planner;"),
            (
                "planner",
                "mod grid; use grid::Grid; use crate::planner::grid::MAX;",
            ),
            ("planner::grid", "use super::Planner;"),
        ]);
        let mut crates = vec![krate("trainer", graph, &[("src/lib.rs", 900)])];
        crates.push(krate("env", ModuleGraph::build(&[]), &[("src/lib.rs", 10)]));
        crates[0].links.push((1, false));
        crates[1].links.push((0, true));
        let [circles, files, big] = findings(&crates);
        let circle = "modules of trainer: {planner, planner::grid} by \
            planner → planner::grid (crate::, grid::), planner::grid → planner (super::)";
        assert_eq!(circles, ("circles".to_string(), vec![circle.to_string()]));
        let file = "crates/trainer/src/lib.rs (900)".to_string();
        assert_eq!(files, ("files over 720 lines".to_string(), vec![file]));
        assert!(big.1.is_empty());
        // A dev-dependency back makes no crate circle; a normal one does.
        crates[1].links[0].1 = false;
        assert_eq!(findings(&crates)[0].1[1], "crates: {trainer, env}");
        assert!(crate_dependencies(&crates).contains("trainer → env\n  env → trainer\n"));
    }

    #[test]
    fn the_table_lines_up() {
        let graph = graph(&[("", "mod a;"), ("a", "use crate::X;")]);
        let table = summary_table(&[krate("logs", graph, &[("src/lib.rs", 3), ("src/a.rs", 12)])]);
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[1].starts_with("logs      15      2  src/a.rs (12)"));
        assert!(rows[1].ends_with("0           1        0"));
    }

    #[test]
    fn files_are_modules_but_other_crate_roots_are_not() {
        let module = |p: &str, lib| module_path(Path::new(p), lib).map(|m| m.join("::"));
        let cases = [("lib.rs", true), ("main.rs", false), ("logs/mod.rs", true)];
        assert_eq!(
            cases.map(|(p, lib)| module(p, lib).unwrap()),
            ["", "", "logs"]
        );
        assert_eq!(
            module("logs/policy.rs", true).as_deref(),
            Some("logs::policy")
        );
        assert_eq!(
            (module("main.rs", true), module("bin/tool.rs", false)),
            (None, None)
        );
    }
}
