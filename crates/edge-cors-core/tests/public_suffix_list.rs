//! The whole vendored Public Suffix List against the compiled lookup: scripts/psl.py writes,
//! from the .dat, every rule's name and the names derived from it (a label under each rule,
//! wildcard children, exceptions and what lies under them, every parent, and the list's own
//! test_psl.txt cases), each decided by its reference algorithm; is_public_suffix and
//! has_public_suffix_below must agree on every one. Also: the committed automaton is exactly what the vendored list compiles to, and
//! the configuration reference (docs/configuration.md) states the vendored list's date. Native only: these run Python.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use edge_cors_core::testing::{has_public_suffix_below, is_public_suffix};

/// The repository root (this crate is crates/edge-cors-core).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `python3 scripts/psl.py ARGS`; fails the test with its output unless it succeeds.
fn psl(args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(root().join("scripts/psl.py"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("python3 scripts/psl.py could not run: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "scripts/psl.py {args:?} failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_committed_automaton_is_what_the_vendored_list_compiles_to() {
    let said = psl(&["check"]);
    assert!(said.contains("is up to date"), "{said}");
}

#[test]
fn every_rule_of_the_list_and_the_names_around_it_are_decided_as_the_reference_algorithm_decides() {
    let path: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("psl-expectations.tsv");
    psl(&["expectations", path.to_str().unwrap()]);
    let text = std::fs::read_to_string(&path).unwrap();
    let flag = |s: &str| match s {
        "1" => true,
        "0" => false,
        _ => panic!("bad flag {s:?}"),
    };
    let (mut suffixes, mut parents, mut total, mut wrong) = (0, 0, 0, Vec::new());
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [domain, suffix, below] = fields[..] else {
            panic!("bad line {line:?}")
        };
        let (suffix, below) = (flag(suffix), flag(below));
        total += 1;
        suffixes += usize::from(suffix);
        parents += usize::from(below);
        if is_public_suffix(domain) != suffix {
            wrong.push(format!("is_public_suffix({domain}) must be {suffix}"));
        }
        if has_public_suffix_below(domain) != below {
            wrong.push(format!("has_public_suffix_below({domain}) must be {below}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} answers of {total} names disagree with the reference, e.g.:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(20)].join("\n")
    );
    // Every answer is well represented: over 10,000 rules, each with names under it.
    assert!(
        suffixes > 10_000 && total - suffixes > 15_000 && parents > 1_000 && total - parents > 15_000,
        "{total} names, {suffixes} suffixes, {parents} with a suffix below"
    );
}

#[test]
fn the_configuration_reference_states_the_date_of_the_vendored_list() {
    let source = std::fs::read_to_string(root().join("third_party/publicsuffix/SOURCE")).unwrap();
    let date = source
        .lines()
        .find_map(|l| l.strip_prefix("date: "))
        .unwrap_or_else(|| panic!("no date in SOURCE:\n{source}"));
    let reference = std::fs::read_to_string(root().join("docs/configuration.md")).unwrap();
    let wanted = format!("Public Suffix List of {date}");
    assert!(reference.contains(&wanted), "docs/configuration.md must say {wanted:?}");
}
