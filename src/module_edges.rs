//! Test-only check of STYLE rule 2: a module imports only from modules to its left in the
//! pipeline. Every `crate::…` path in non-test code is ranked by the longest matching module
//! prefix below; a path to a higher rank than the file's own is an upstream edge and fails.

use std::path::Path;

/// Rank of each module prefix, left (0) to right. Trainers and optimizers that run backtests
/// sit right of `engine`; trained models and advisors left of `strategy`.
const RANKS: &[(&str, u8)] = &[
    ("data", 0),
    ("order", 0),
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
    // the crate-level error and result types collect every layer's error
    ("error", 0),
    ("Error", 0),
    ("Result", 0),
];

fn rank(path: &str) -> Option<u8> {
    RANKS
        .iter()
        .filter(|(p, _)| path == *p || path.starts_with(&format!("{p}::")))
        .max_by_key(|(p, _)| p.len())
        .map(|&(_, r)| r)
}

fn module_path(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|c| c != "mod")
        .collect();
    parts.join("::")
}

fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
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

/// `crate::a::b` paths in a line, as `a::b`.
fn crate_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        let tail = &rest[i + 7..];
        let end = tail
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(tail.len());
        out.push(tail[..end].trim_end_matches(':').to_string());
        rest = &tail[end..];
    }
    out
}

#[test]
fn modules_import_only_from_their_left() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    for f in &files {
        let me = module_path(&src, f);
        // `error` collects every layer's error type by design
        if me.contains("test")
            || me.contains("conformance")
            || me == "module_edges"
            || me == "error"
        {
            continue;
        }
        let Some(my_rank) = rank(&me) else { continue };
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break; // test code may reach anywhere
            }
            if line.trim_start().starts_with("//") {
                continue;
            }
            for target in crate_paths(line) {
                if let Some(r) = rank(&target)
                    && r > my_rank
                {
                    bad.push(format!("{}:{}: {me} → crate::{target}", f.display(), n + 1));
                }
            }
        }
    }
    assert!(bad.is_empty(), "upstream imports:\n{}", bad.join("\n"));
}
