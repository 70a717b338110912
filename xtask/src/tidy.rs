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
        for required in ["auth-core", "auth-cognito", "auth-storage", "auth-mock-server", "xtask"] {
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
}
