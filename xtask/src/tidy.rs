//! Repository rules checked by plain `cargo test`.

use std::path::Path;

/// Files that `docs/src/SUMMARY.md` links to but that do not exist.
pub(crate) fn missing_summary_links(root: &Path) -> Vec<String> {
    let src = root.join("docs/src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).unwrap_or_default();
    summary
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|target| !target.starts_with("http"))
        .filter(|target| !src.join(target).is_file())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
    }

    /// Every crate of the workspace, xtask included: the directories beside the root
    /// manifest that hold a `Cargo.toml` of their own.
    fn crate_dirs() -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root())
            .expect("workspace root")
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.join("Cargo.toml").is_file())
            .collect();
        dirs.sort();
        dirs
    }

    /// The design card's layout: the crates sit at the top level, beside `docs` and
    /// `xtask`, and the root manifest lists each of them.
    #[test]
    fn the_crates_sit_at_the_top_level() {
        assert!(!root().join("crates").exists(), "crates live at the top level, not in crates/");
        let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
        let names: Vec<String> = crate_dirs()
            .iter()
            .map(|dir| dir.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        for required in [
            "auth-core",
            "auth-connectivity",
            "auth-cognito",
            "auth-storage",
            "auth-mock-server",
            "xtask",
        ] {
            assert!(names.iter().any(|name| name == required), "{required} is missing: {names:?}");
        }
        for name in &names {
            assert!(manifest.contains(&format!("\"{name}\"")), "{name} is not a workspace member");
        }
    }

    #[test]
    fn user_guide_links_resolve() {
        assert_eq!(missing_summary_links(&root()), Vec::<String>::new());
    }

    #[test]
    fn every_crate_uses_the_workspace_lints() {
        for dir in crate_dirs() {
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
            assert!(
                manifest.contains("[lints]\nworkspace = true"),
                "{} must opt into [workspace.lints]",
                dir.display()
            );
        }
    }

    /// One integration-test binary per crate keeps link time down on two cores.
    #[test]
    fn at_most_one_integration_test_binary_per_crate() {
        for dir in crate_dirs() {
            let Ok(entries) = std::fs::read_dir(dir.join("tests")) else { continue };
            let top_level_rs: Vec<_> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
                .collect();
            assert!(
                top_level_rs.is_empty(),
                "{}: put integration tests in tests/it/ (one binary), not {top_level_rs:?}",
                dir.display()
            );
        }
    }

    /// Every `.rs` file under `dir` (recursively), `target/` and hidden directories excepted.
    fn rust_files(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(current) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&current) else { continue };
            for path in entries.filter_map(|entry| entry.ok().map(|e| e.path())) {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                if path.is_dir() && name != "target" && !name.starts_with('.') {
                    pending.push(path);
                } else if name.ends_with(".rs") {
                    found.push(path);
                }
            }
        }
        found.sort();
        found
    }

    /// Public enums and structs of every library crate are `#[non_exhaustive]` unless an
    /// `allow` says why not, so adding a variant or a field is never a breaking change.
    #[test]
    fn every_library_crate_warns_on_exhaustive_public_types() {
        for dir in crate_dirs() {
            let Ok(lib) = std::fs::read_to_string(dir.join("src/lib.rs")) else { continue };
            assert!(
                lib.contains("#![warn(clippy::exhaustive_enums, clippy::exhaustive_structs)]"),
                "{}/src/lib.rs must warn on exhaustive public enums and structs",
                dir.display()
            );
        }
    }

    /// One convention for proptest's regression files: proptest's default place
    /// (`proptest-regressions/` beside the test sources), so no test overrides the
    /// persistence and every saved failing case is found where the next reader looks.
    #[test]
    fn proptest_regressions_follow_one_convention() {
        for dir in crate_dirs() {
            for file in rust_files(&dir) {
                let text = std::fs::read_to_string(&file).expect("readable source");
                assert!(
                    !text.contains(&["failure_persistence", ":"].concat()),
                    "{}: keep proptest's default failure persistence",
                    file.display()
                );
            }
        }
    }

    /// `cargo xtask help` lists exactly the tasks `main` dispatches, so the help cannot
    /// promise a task that does not exist or hide one that does.
    #[test]
    fn the_usage_lists_exactly_the_tasks() {
        let source = include_str!("main.rs");
        let dispatched: Vec<&str> = source
            .split("Some(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|task| !matches!(*task, "help" | "--help" | "-h"))
            .collect();
        let listed: Vec<&str> = crate::USAGE
            .lines()
            .skip_while(|line| *line != "tasks:")
            .skip(1)
            .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
            .filter_map(|line| line.split_whitespace().next())
            .collect();
        assert_eq!(listed, dispatched);
    }

    /// Third-party versions are chosen once, in the root manifest.
    #[test]
    fn crates_take_third_party_versions_from_the_workspace() {
        for dir in crate_dirs() {
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
            let mut section = String::new();
            for line in manifest.lines() {
                let line = line.trim();
                if line.starts_with('[') {
                    section = line.to_owned();
                    continue;
                }
                if !section.contains("dependencies]") || line.is_empty() || line.starts_with('#') {
                    continue;
                }
                assert!(
                    line.contains("workspace = true") || line.ends_with(".workspace = true"),
                    "{}: `{line}` in {section} must use `{{ workspace = true }}`",
                    dir.display()
                );
            }
        }
    }

    /// The dependency names a manifest declares in its sections whose header `section`
    /// accepts (`[dependencies]`, `[dev-dependencies]`, `[target.'cfg(..)'.dependencies]`).
    fn dependencies(dir: &Path, section: impl Fn(&str) -> bool) -> Vec<String> {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        let mut current = String::new();
        let mut names = Vec::new();
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                current = line.to_owned();
            } else if current.contains("dependencies]") && section(&current) {
                if let Some((name, _)) = line.split_once('=') {
                    let name = name.trim().split('.').next().unwrap_or_default();
                    if !name.is_empty() && !name.starts_with('#') {
                        names.push(name.to_owned());
                    }
                }
            }
        }
        names
    }

    /// auth-core is the part every app links: no HTTP stack in it, so an app that brings
    /// its own transport pays for none.
    #[test]
    fn auth_core_has_no_http_dependency() {
        let names = dependencies(&root().join("auth-core"), |s| !s.contains("dev-"));
        for http in ["reqwest", "hyper", "axum", "http", "ureq", "isahc", "tower"] {
            assert!(!names.iter().any(|n| n == http), "auth-core depends on {http}: {names:?}");
        }
    }

    /// auth-core defines `Connectivity` and `TransportObserver`; the default implementation
    /// (probes, OS events) is auth-connectivity, which an app gets through auth-cognito.
    /// auth-core must not pull it (and its network stack) in.
    #[test]
    fn auth_core_does_not_depend_on_the_default_connectivity() {
        let names = dependencies(&root().join("auth-core"), |s| !s.contains("dev-"));
        assert!(!names.iter().any(|n| n == "auth-connectivity"), "auth-core: {names:?}");
    }

    /// The mock is a second, independent reading of Cognito's protocol: if it shared the
    /// client's code, a misreading would pass both sides' tests.
    #[test]
    fn the_mock_never_depends_on_the_client() {
        let names = dependencies(&root().join("auth-mock-server"), |_| true);
        assert!(!names.iter().any(|n| n == "auth-cognito"), "auth-mock-server: {names:?}");
    }

    /// `wire/` is the mock's bottom layer: the protocol only, importing nothing else of the
    /// crate, so state, handlers and routing can change without touching it.
    #[test]
    fn the_mock_wire_layer_imports_nothing_above_it() {
        let wire = root().join("auth-mock-server/src/wire");
        let mut checked = 0;
        for entry in std::fs::read_dir(&wire).expect("auth-mock-server/src/wire") {
            let path = entry.expect("entry").path();
            let source = std::fs::read_to_string(&path).expect("source");
            // The table macro names its own layer as `$crate::wire::`, which is allowed.
            for line in source.lines().filter(|l| !l.trim_start().starts_with("//")) {
                let line = line.replace("$crate::wire::", "");
                assert!(!line.contains("crate::"), "{}: `{}`", path.display(), line.trim());
            }
            checked += 1;
        }
        assert!(checked >= 2, "wire/ should hold mod.rs and its parts");
    }
}
