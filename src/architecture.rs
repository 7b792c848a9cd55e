//! The architecture as a test: which top-level modules each module may use, read from the
//! source itself (`crate::<module>` in code, comments and test modules left out). Dependencies
//! run one way: `cli` on top, then `pipeline` (and `app`), then config, store, output, mapping
//! and the connectors, with the engine, `http`, `model` and `period` at the bottom. A connector
//! uses only `http` and `model` and the engine only `model` and `period`, so a connector never
//! reaches into config or the engine and the engine never does I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module and the modules it may use.
const ALLOWED: &[(&str, &[&str])] = &[
    ("cli", &["*"]),
    ("demo", &["connectors", "engine", "http", "model"]),
    (
        "pipeline",
        &[
            "config",
            "connectors",
            "engine",
            "http",
            "mapping",
            "model",
            "output",
            "period",
            "review",
            "secrets",
            "store",
        ],
    ),
    ("app", &["config", "http", "output", "secrets", "store"]),
    ("config", &["connectors", "engine", "http", "model"]),
    ("secrets", &["config"]),
    ("output", &["engine", "model", "review", "store"]),
    ("store", &["engine", "model", "review"]),
    ("review", &["engine", "model", "period"]),
    ("connectors", &["http", "model"]),
    ("engine", &["model", "period"]),
    ("mapping", &["model"]),
    ("http", &[]),
    ("model", &[]),
    ("period", &[]),
    ("progress", &[]),
];

/// `crate::x` references of every top-level module, from the code outside its tests.
fn uses(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("src is readable") {
            let p = e.expect("a directory entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|s| s.trim_end_matches(".rs").to_string())
            .expect("a file name");
        let is_test_file = rel
            .components()
            .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "tests.rs");
        if matches!(top.as_str(), "main" | "lib" | "architecture") || is_test_file {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("source is readable");
        // Tests come last in a file; they may use whatever they check against.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let deps = graph.entry(top.clone()).or_default();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for part in line.split("crate::").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != top {
                    deps.insert(name);
                }
            }
        }
    }
    graph
}

#[test]
fn dependencies_between_top_level_modules_run_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = uses(&src);
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (module, deps) in &graph {
        let Some(may) = allowed.get(module.as_str()) else {
            wrong.push(format!("`{module}` is not in ALLOWED: say where it sits"));
            continue;
        };
        for d in deps {
            if graph.contains_key(d) && !may.contains(&"*") && !may.contains(&d.as_str()) {
                wrong.push(format!("`{module}` uses `crate::{d}`"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_allowed_dependencies_have_no_cycle() {
    // Depth-first search over ALLOWED: a module reachable from itself is a cycle.
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    fn reaches(
        from: &str,
        to: &str,
        allowed: &BTreeMap<&str, &[&str]>,
        seen: &mut Vec<String>,
    ) -> bool {
        let Some(next) = allowed.get(from) else {
            return false;
        };
        next.iter().filter(|n| **n != "*").any(|n| {
            if *n == to {
                return true;
            }
            if seen.iter().any(|s| s == n) {
                return false;
            }
            seen.push(n.to_string());
            reaches(n, to, allowed, seen)
        })
    }
    for (module, _) in ALLOWED {
        assert!(
            !reaches(module, module, &allowed, &mut Vec::new()),
            "`{module}` can reach itself through ALLOWED"
        );
    }
}
