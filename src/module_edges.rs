//! Test-only check of STYLE rule 2 and of the module graph (issue 9 item 5).
//!
//! Every file under `src/` that is not test code is a node, named by its module path. Its
//! edges are the `crate::…` and `super::…` paths in its code (comments and `#[cfg(test)]`
//! items removed), each resolved to the longest module that has a file. Test code is
//! exactly: `#[cfg(test)]` items, and the files of `#[cfg(test)] mod x;` declarations.
//! Three checks:
//! - every top-level module has a rank in [`RANKS`];
//! - an edge from a module to one of higher rank is an upstream import and fails;
//! - the strongly connected components (Tarjan) of the file graph and of the graph between
//!   top-level modules are import cycles and fail, except those in [`KNOWN_CYCLES`] (which
//!   must still exist, so the list only shrinks).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Rank of each module prefix, left (0) to right. Trainers and optimizers that run backtests
/// sit right of `engine`; trained models and advisors left of `strategy`.
const RANKS: &[(&str, u8)] = &[
    ("core", 0),
    ("data", 0),
    ("net", 0),
    ("persist", 0),
    ("indicators", 1),
    ("features", 2),
    ("signal", 3),
    ("regime", 3),
    ("ai", 3),
    ("strategy", 4),
    ("risk", 5),
    ("broker", 6),
    ("engine", 7),
    ("venues", 7),
    ("ai::evolver::ga", 8),
    ("ai::evolver::fitness", 8),
    ("ai::evolver::eval", 8),
    ("optimize", 8),
    ("store", 9),
    ("metrics", 9),
    ("report", 10),
    ("server", 10),
    ("runner", 10),
    ("notify", 10),
    ("app", 11),
    ("cli", 12),
    // an adapter over app, like cli (which starts it)
    ("serve", 12),
    ("main", 13),
    // the crate-level error and result types collect every layer's error
    ("error", 0),
];

/// Cycles another change removes (file cycles as sorted `a/b` paths joined by `, `). Empty:
/// the last one, `data/{binance,cache,symbols,yahoo}`, went with the move of the venue
/// clients to `venues/` (issue 9 item 5).
const KNOWN_CYCLES: &[&str] = &[];

type Module = Vec<String>;

fn rank(path: &str) -> Option<u8> {
    RANKS
        .iter()
        .filter(|(p, _)| path == *p || path.starts_with(&format!("{p}::")))
        .max_by_key(|(p, _)| p.len())
        .map(|&(_, r)| r)
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file: `broker/sim.rs` → `[broker, sim]`, `lib.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Module = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] {
        parts.clear();
    }
    parts
}

fn is_dir_module(file: &Path) -> bool {
    file.file_name()
        .is_some_and(|n| n == "mod.rs" || n == "lib.rs" || n == "main.rs")
}

/// Skip whitespace and attributes from byte `i`.
fn skip_attrs(b: &[u8], mut i: usize) -> usize {
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b.get(i) == Some(&b'#') && b.get(i + 1) == Some(&b'[') {
            let mut depth = 0;
            while i < b.len() {
                match b[i] {
                    b'[' => depth += 1,
                    b']' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        } else {
            return i;
        }
    }
}

/// The end (exclusive) of the item starting at `i`: its `;` at brace depth 0, or the `}`
/// closing its first block.
fn item_end(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b';' if depth == 0 => return i + 1,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// The code of a file without comments and `#[cfg(test)]` items, and the names (or
/// `#[path]`s) of its `#[cfg(test)] mod x;` children.
fn strip(text: &str) -> (String, Vec<String>) {
    let no_comments: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let b = no_comments.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut test_children = Vec::new();
    let mut i = 0;
    let pat = "#[cfg(test)]";
    while let Some(off) = no_comments[i..].find(pat) {
        let at = i + off;
        out.push_str(&no_comments[i..at]);
        let item = skip_attrs(b, at);
        let end = item_end(b, item);
        let decl = &no_comments[at..end];
        if let Some(p) = decl.find("#[path = \"") {
            let rest = &decl[p + 10..];
            if let Some(q) = rest.find('"') {
                test_children.push(rest[..q].trim_end_matches(".rs").to_string());
            }
        } else if let Some(name) = decl
            .trim_end_matches(';')
            .trim_end()
            .strip_prefix(&no_comments[at..item])
            .map(|s| {
                // a visibility may stand before `mod` (`pub(crate) mod testutil;`)
                let s = s.trim();
                ["pub(crate) ", "pub(super) ", "pub "]
                    .iter()
                    .find_map(|v| s.strip_prefix(v))
                    .unwrap_or(s)
            })
            .and_then(|s| s.strip_prefix("mod "))
            .filter(|n| !n.contains('{'))
        {
            test_children.push(name.trim().to_string());
        }
        i = end;
    }
    out.push_str(&no_comments[i..]);
    (out, test_children)
}

/// The paths after each `crate::` or `super::…::` in `code`, as (super count or `None` for
/// crate, segments), a `{a, b::c}` group giving one path per member.
fn paths(code: &str) -> Vec<(Option<usize>, Vec<String>)> {
    let b = code.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = |kw: &str| b[i..].starts_with(kw.as_bytes()) && (i == 0 || !ident(b[i - 1]));
        let (head, mut j) = if starts("crate::") {
            (None, i + 7)
        } else if starts("super::") {
            let mut n = 1;
            let mut j = i + 7;
            while b[j..].starts_with(b"super::") {
                n += 1;
                j += 7;
            }
            (Some(n), j)
        } else {
            i += 1;
            continue;
        };
        let mut segs = Vec::new();
        loop {
            let s = j;
            while j < b.len() && ident(b[j]) {
                j += 1;
            }
            if j > s {
                segs.push(code[s..j].to_string());
            }
            if b[j..].starts_with(b"::") && j > s {
                j += 2;
                continue;
            }
            break;
        }
        if b.get(j) == Some(&b'{') {
            let close = item_end(b, j);
            for member in code[j + 1..close.saturating_sub(1)].split(',') {
                let m = member.split(" as ").next().unwrap_or("").trim();
                let extra: Vec<String> = m
                    .split("::")
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && !s.contains('{') && *s != "self")
                    .map(String::from)
                    .collect();
                out.push((head, [segs.clone(), extra].concat()));
            }
            j = close;
        }
        out.push((head, segs));
        i = j.max(i + 1);
    }
    out
}

struct Graph {
    files: BTreeMap<Module, PathBuf>,
    edges: BTreeMap<Module, BTreeSet<Module>>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    rs_files(&src, &mut all);
    all.sort();
    let mut code = BTreeMap::new();
    let mut test_files = BTreeSet::new();
    for f in &all {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let (stripped, children) = strip(&text);
        let dir = if is_dir_module(f) {
            f.parent().map(Path::to_path_buf)
        } else {
            f.with_extension("").to_str().map(PathBuf::from)
        };
        let parent_dir = f.parent().map(Path::to_path_buf);
        for c in children {
            // `#[path]` is relative to the declaring file's directory
            if let Some(d) = &parent_dir {
                test_files.insert(d.join(format!("{c}.rs")));
            }
            if let Some(d) = &dir {
                test_files.insert(d.join(format!("{c}.rs")));
                test_files.insert(d.join(&c).join("mod.rs"));
            }
        }
        code.insert(f.clone(), stripped);
    }
    let mut files = BTreeMap::new();
    for f in &all {
        let m = module_of(&src, f);
        if !test_files.contains(f) && m != ["main"] && m != ["module_edges"] {
            files.insert(m, f.clone());
        }
    }
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (m, f) in &files {
        let mut out = BTreeSet::new();
        for (head, segs) in paths(code.get(f).map_or("", String::as_str)) {
            let start: &[String] = match head {
                None => &[],
                Some(n) => &m[..m.len().saturating_sub(n)],
            };
            let full: Module = [start.to_vec(), segs].concat();
            let target = (0..=full.len())
                .rev()
                .map(|k| full[..k].to_vec())
                .find(|p| files.contains_key(p));
            if let Some(t) = target
                && &t != m
                && !t.is_empty()
            {
                out.insert(t);
            }
        }
        edges.insert(m.clone(), out);
    }
    Graph { files, edges }
}

/// Strongly connected components of more than one node (Tarjan, iterative enough for a
/// crate: recursion depth is bounded by the number of files).
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct T<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on: BTreeSet<&'a Module>,
        next: usize,
        out: Vec<Vec<Module>>,
    }
    impl<'a> T<'a> {
        fn visit(&mut self, v: &'a Module) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on.insert(v);
            if let Some(ws) = self.edges.get(v) {
                for w in ws {
                    let Some((w, _)) = self.edges.get_key_value(w) else {
                        continue;
                    };
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let lw = self.low[w];
                        let lv = self.low[v];
                        self.low.insert(v, lv.min(lw));
                    } else if self.on.contains(w) {
                        let iw = self.index[w];
                        let lv = self.low[v];
                        self.low.insert(v, lv.min(iw));
                    }
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    comp.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.out.push(comp);
                }
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.out
}

fn name(c: &[Module]) -> String {
    c.iter().map(|m| m.join("/")).collect::<Vec<_>>().join(", ")
}

#[test]
fn every_top_level_module_has_a_rank() {
    let g = graph();
    let missing: BTreeSet<&String> = g
        .files
        .keys()
        .filter_map(|m| m.first())
        .filter(|top| rank(top).is_none())
        .collect();
    assert!(missing.is_empty(), "modules without a rank: {missing:?}");
}

#[test]
fn modules_import_only_from_their_left() {
    let g = graph();
    let mut bad = Vec::new();
    for (m, ts) in &g.edges {
        let me = m.join("::");
        // `error` collects every layer's error type by design
        if me.is_empty() || me == "error" {
            continue;
        }
        let Some(my_rank) = rank(&me) else { continue };
        for t in ts {
            let target = t.join("::");
            if let Some(r) = rank(&target)
                && r > my_rank
            {
                bad.push(format!("{me} → {target}"));
            }
        }
    }
    assert!(bad.is_empty(), "upstream imports:\n{}", bad.join("\n"));
}

#[test]
fn no_import_cycles_between_files_or_top_level_modules() {
    let g = graph();
    let file_cycles: Vec<String> = cycles(&g.edges).iter().map(|c| name(c)).collect();
    let mut top: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (m, ts) in &g.edges {
        let Some(a) = m.first() else { continue };
        let set = top.entry(vec![a.clone()]).or_default();
        for t in ts {
            if let Some(b) = t.first()
                && b != a
            {
                set.insert(vec![b.clone()]);
            }
        }
    }
    let module_cycles: Vec<String> = cycles(&top).iter().map(|c| name(c)).collect();
    let unexpected: Vec<&String> = file_cycles
        .iter()
        .chain(&module_cycles)
        .filter(|c| !KNOWN_CYCLES.contains(&c.as_str()))
        .collect();
    assert!(unexpected.is_empty(), "import cycles: {unexpected:#?}");
    for k in KNOWN_CYCLES {
        assert!(
            file_cycles.iter().any(|c| c == k),
            "known cycle {k} is gone: remove it from KNOWN_CYCLES"
        );
    }
}

#[test]
fn the_graph_sees_super_edges_and_skips_only_test_code() {
    let g = graph();
    let m = |s: &str| -> Module { s.split('/').map(String::from).collect() };
    // `use super::…` edges count
    assert!(g.edges[&m("broker/sim")].contains(&m("broker")));
    // `app::backtest` is not test code just because its name has "test" in it
    assert!(g.files.contains_key(&m("app/backtest")));
    // `#[cfg(test)] mod sim_tests;` and `#[path]` test files are skipped
    assert!(!g.files.contains_key(&m("broker/sim_tests")));
    assert!(!g.files.contains_key(&m("engine/fast/sweep_tests")));
    assert!(!g.files.contains_key(&m("testutil")));
}
