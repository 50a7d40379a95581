"""Every link, anchor and repository path the documentation writes resolves, and the README stays
short. The documents are README.md and docs/*.md; a path is checked against the working tree."""
from __future__ import annotations

import glob
import re
from pathlib import Path

import pytest

from markdown_doc import ROOT, anchors, code_spans, console_commands, documents, links, split

README_MAX_LINES = 250

# Inline code and commands that start with one of these name a file of the repository.
REPO_DIRS = ("src/", "crates/", "scripts/", "tests/", "envoy/", "docs/", "third_party/", "benches/", ".ci/")
# A placeholder, not a file: `cmd/<name>.rs`, `.../TARGET/`, `FILE...`.
PLACEHOLDER = re.compile(r"<|\.\.\.|(^|/)[A-Z][A-Z_]+(/|\.|$)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def expand_braces(path: str) -> list[str]:
    """`a/{b,c}.md` -> `a/b.md`, `a/c.md` (one level, as the documents write it)."""
    m = re.search(r"\{([^{}]*)\}", path)
    if not m:
        return [path]
    return [p for alt in m.group(1).split(",") for p in expand_braces(path[:m.start()] + alt + path[m.end():])]


def path_exists(path: str) -> bool:
    return all(glob.glob(str(ROOT / p)) if "*" in p else (ROOT / p).exists() for p in expand_braces(path))


def link_problems(doc: Path, text: str) -> list[str]:
    """Every relative link of `doc` (whose content is `text`) whose file does not exist or whose
    anchor is not a heading."""
    problems = []
    for line, target in links(text):
        if EXTERNAL.match(target):
            continue
        path, _, anchor = target.partition("#")
        where = f"{doc.relative_to(ROOT)}:{line}: {target}"
        if not path:
            if anchor not in anchors(text):
                problems.append(f"{where}: no heading with this anchor")
            continue
        resolved = (doc.parent / path).resolve()
        if ROOT not in resolved.parents and resolved != ROOT:
            problems.append(f"{where}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{where}: no such file")
        elif anchor:
            if resolved.suffix != ".md":
                problems.append(f"{where}: an anchor into a file that is not Markdown")
            elif anchor not in anchors(resolved.read_text()):
                problems.append(f"{where}: no heading with this anchor in {resolved.relative_to(ROOT)}")
    return problems


def written_paths(text: str) -> list[tuple[int, str]]:
    """(line, path) of every repository path in a document's inline code, and of every command
    of its `sh` and `console` blocks that is a repository script."""
    found = []
    for line, span in code_spans(text):
        for word in span.split():
            found.append((line, word))
    for block in split(text)[1]:
        if block.lang == "sh":
            commands = [(block.line + i, line) for i, line in enumerate(block.text.split("\n"))]
        elif block.lang == "console":
            commands = [(block.line, command) for command, _ in console_commands(block)]
        else:
            continue
        for line, command in commands:
            words = re.sub(r"^\s*(\w+=\S*\s+)*", "", command).split()
            if words:
                found.append((line, words[0]))
    paths = []
    for line, word in found:
        word = word.strip("\"'(),;:")
        if word.startswith(REPO_DIRS) and not PLACEHOLDER.search(word):
            paths.append((line, word))
    return paths


def path_problems(doc: Path, text: str) -> list[str]:
    return [f"{doc.relative_to(ROOT)}:{line}: {path}: no such file or directory"
            for line, path in written_paths(text) if not path_exists(path)]


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_of_the_document_resolves(doc):
    problems = link_problems(doc, doc.read_text())
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_path_the_document_writes_exists(doc):
    problems = path_problems(doc, doc.read_text())
    assert problems == [], "\n".join(problems)


def test_the_readme_has_at_most_250_lines():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move the detail to docs/"


def test_the_readme_links_every_page_of_docs():
    readme_targets = {target.partition("#")[0] for _, target in links((ROOT / "README.md").read_text())}
    pages = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}
    assert pages and pages <= readme_targets, f"not linked from the README: {sorted(pages - readme_targets)}"


def test_the_checks_find_what_the_documents_hold():
    """The checks above are not vacuous: the parser sees the links, anchors and paths the
    documents have."""
    readme = (ROOT / "README.md").read_text()
    assert "quick-start-your-own-policy-in-five-minutes" in anchors(readme)
    assert any(target == "docs/configuration.md" for _, target in links(readme))
    configuration = ROOT / "docs" / "configuration.md"
    assert "checking-a-configuration-edge-cors-check" in anchors(configuration.read_text())
    assert any(path == "scripts/refresh-psl.sh" for _, path in written_paths(configuration.read_text()))
    assert sum(len(links(d.read_text())) for d in documents()) > 50


def test_a_broken_link_anchor_or_path_is_reported():
    """The checks can fail: a document with a missing file, a missing anchor, a missing path in
    code and a missing script in a command gets one problem for each, and nothing else."""
    doc = ROOT / "docs" / "__probe__.md"
    text = "\n".join([
        "# Probe",
        "[ok](configuration.md#fields-of-a-cors-policy) [ok](#probe) [ok](https://example.com/x)",
        "[missing file](no-such-page.md) [missing anchor](configuration.md#no-such-heading) [missing](#here)",
        "`scripts/test.sh` `scripts/no-such-script.sh` `crates/edge-cors-check/src/cmd/<name>.rs`",
        "```sh",
        "scripts/no-such-command.sh --flag   # scripts/in-a-comment-is-not-a-command.sh",
        "```",
        "```",
        "[not a link in a block](nowhere.md) `scripts/nowhere.sh`",
        "```",
        "",
    ])
    problems = link_problems(doc, text) + path_problems(doc, text)
    assert len(problems) == 5, problems
    for expected in ("no-such-page.md: no such file", "#no-such-heading: no heading", "#here: no heading",
                     "scripts/no-such-script.sh: no such", "scripts/no-such-command.sh: no such"):
        assert any(expected in p for p in problems), (expected, problems)
