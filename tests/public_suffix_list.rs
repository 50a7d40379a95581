//! The whole vendored Public Suffix List against the compiled lookup: scripts/psl.py writes,
//! from the .dat, every rule's name and the names derived from it (a label under each rule,
//! wildcard children, exceptions and what lies under them, every parent, and the list's own
//! test_psl.txt cases), each decided by its reference algorithm; is_public_suffix must agree on
//! every one. Also: the committed automaton is exactly what the vendored list compiles to, and
//! the README states the vendored list's date. Native only: these run Python.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::process::Command;

use edge_cors::core::public_suffix::is_public_suffix;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
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
    let (mut suffixes, mut others, mut wrong) = (0, 0, Vec::new());
    for line in text.lines() {
        let (domain, expected) = line.split_once('\t').unwrap_or_else(|| panic!("bad line {line:?}"));
        let expected = match expected {
            "1" => true,
            "0" => false,
            _ => panic!("bad line {line:?}"),
        };
        if expected {
            suffixes += 1;
        } else {
            others += 1;
        }
        if is_public_suffix(domain) != expected {
            wrong.push(format!("{domain}: expected {expected}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} disagree with the reference, e.g.:\n{}",
        wrong.len(),
        suffixes + others,
        wrong[..wrong.len().min(20)].join("\n")
    );
    // Both answers are well represented: over 10,000 rules, each with names under it.
    assert!(
        suffixes > 10_000 && others > 15_000,
        "{suffixes} suffixes, {others} others"
    );
}

#[test]
fn the_readme_states_the_date_of_the_vendored_list() {
    let source = std::fs::read_to_string(root().join("third_party/publicsuffix/SOURCE")).unwrap();
    let date = source
        .lines()
        .find_map(|l| l.strip_prefix("date: "))
        .unwrap_or_else(|| panic!("no date in SOURCE:\n{source}"));
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let wanted = format!("Public Suffix List of {date}");
    assert!(readme.contains(&wanted), "README.md must say {wanted:?}");
}
