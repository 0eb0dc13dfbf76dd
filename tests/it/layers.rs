//! The core's shape, checked: `flipfix-core` has no module cycles (a cycle
//! means two modules that can only change together), read from the `crate::`
//! paths in its code. Doc comments and unit tests are left out: they may
//! point anywhere. `.ci/run` checks the other half, that the core's
//! dependency tree has no Discord or HTTP-server crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → (module it uses → one place it does, as `file:line`).
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn core_src() -> PathBuf {
    crate::support::repo_root().join("crates/flipfix-core/src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its unit tests (a
/// `#[cfg(test)]` module closes a file here, and `tests.rs` files are tests).
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return Vec::new();
    }
    let text = std::fs::read_to_string(path).expect("read source");
    text.lines()
        .enumerate()
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .map(|(number, line)| {
            let code = line.split("//").next().unwrap_or_default();
            (number + 1, code.to_string())
        })
        .collect()
}

fn uses(code: &str) -> Vec<String> {
    code.match_indices("crate::")
        .map(|(at, m)| {
            code[at + m.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

fn graph(src: &Path) -> Graph {
    let modules: BTreeSet<String> = std::fs::read_dir(src)
        .expect("read src")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_stem()?.to_str()?.to_string();
            (name != "lib").then_some(name)
        })
        .collect();
    let mut graph = Graph::new();
    for module in &modules {
        let (dir, file) = (src.join(module), src.join(format!("{module}.rs")));
        let mut files = Vec::new();
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        }
        if file.is_file() {
            files.push(file);
        }
        let edges = graph.entry(module.clone()).or_default();
        for path in files {
            for (line, code) in code_lines(&path) {
                for used in uses(&code) {
                    if used != *module && modules.contains(&used) {
                        let at = path.strip_prefix(src).unwrap_or(&path).display();
                        edges.entry(used).or_insert_with(|| format!("{at}:{line}"));
                    }
                }
            }
        }
    }
    graph
}

/// Every cycle, as the strongly connected components of more than one
/// module (Tarjan's algorithm, which stays linear however tangled).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, node: &'g str) {
            let next = self.index.len();
            self.index.insert(node, next);
            self.low.insert(node, next);
            self.stack.push(node);
            self.on_stack.insert(node);
            for target in self.graph.get(node).into_iter().flat_map(|e| e.keys()) {
                let target = target.as_str();
                if !self.index.contains_key(target) {
                    self.visit(target);
                    let low = self.low[node].min(self.low[target]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(target) {
                    let low = self.low[node].min(self.index[target]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.push(top.to_string());
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found
}

fn describe(graph: &Graph, cycle: &[String]) -> String {
    let mut lines = vec![format!("cycle among {}:", cycle.join(", "))];
    for from in cycle {
        for (to, at) in &graph[from] {
            if cycle.contains(to) {
                lines.push(format!("  {from} → {to} ({at})"));
            }
        }
    }
    lines.join("\n")
}

#[test]
fn the_core_has_no_module_cycles() {
    let graph = graph(&core_src());
    assert!(graph.len() > 10, "found only {} modules", graph.len());
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "move the shared type down or the use up:\n{}",
        found
            .iter()
            .map(|c| describe(&graph, c))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_cycle_check_finds_a_cycle_and_ignores_comments_and_tests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    std::fs::create_dir(src.join("records")).expect("mkdir");
    std::fs::write(src.join("lib.rs"), "pub mod records;\n").expect("write");
    std::fs::write(
        src.join("records/mod.rs"),
        "use crate::notify::enqueue;\n/// See `crate::media`.\n",
    )
    .expect("write");
    std::fs::write(
        src.join("notify.rs"),
        "use crate::records::Record;\n#[cfg(test)]\nmod tests { use crate::media::X; }\n",
    )
    .expect("write");
    std::fs::write(src.join("media.rs"), "// crate::records in a comment\n").expect("write");
    std::fs::write(src.join("text.rs"), "").expect("write");
    let graph = graph(src);
    assert_eq!(
        cycles(&graph),
        vec![vec!["notify".to_string(), "records".to_string()]]
    );
    assert!(graph["media"].is_empty(), "{graph:?}");
    assert!(!graph["records"].contains_key("media"), "{graph:?}");
    assert!(!graph["notify"].contains_key("media"), "{graph:?}");
}
