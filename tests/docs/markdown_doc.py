"""Just enough Markdown for the documentation tests: fenced blocks, headings and their GitHub
anchors, links, inline code. The documents are README.md and docs/*.md."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FENCE = re.compile(r"^(\s*)(`{3,})([\w-]*)\s*$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
# [text](target) and ![alt](target); the text may span lines, the target may not.
LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass
class Block:
    """A fenced code block: its language, first content line (1-based) and text."""
    lang: str
    line: int
    text: str


def split(text: str) -> tuple[str, list[Block]]:
    """The document's prose (fenced blocks replaced by empty lines, so line numbers stay) and
    its fenced blocks."""
    prose, blocks = [], []
    fence = None
    for number, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if fence is None and m:
            fence = (m.group(2), m.group(3), number + 1, [])
            prose.append("")
        elif fence is not None and m and m.group(2) == fence[0] and not m.group(3):
            blocks.append(Block(fence[1], fence[2], "\n".join(fence[3])))
            fence = None
            prose.append("")
        elif fence is not None:
            fence[3].append(line)
            prose.append("")
        else:
            prose.append(line)
    assert fence is None, f"a fenced block opened on line {fence[2] - 1} is never closed"
    return "\n".join(prose), blocks


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the text without markup, lower case, without punctuation
    other than `-` and `_`, spaces as `-`."""
    text = LINK.sub(lambda m: m.group(1), heading).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading anchor of a document (a repeated heading gets -1, -2, ... as on GitHub)."""
    prose, _ = split(text)
    seen: dict[str, int] = {}
    found = set()
    for line in prose.split("\n"):
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(text: str) -> list[tuple[int, str]]:
    """(line, target) of every link and image outside code."""
    prose, _ = split(text)
    prose = CODE_SPAN.sub(lambda m: "x" * len(m.group(0).split("\n")[0]) + "\n" * m.group(0).count("\n"), prose)
    return [(prose.count("\n", 0, m.start()) + 1, m.group(2)) for m in LINK.finditer(prose)]


def code_spans(text: str) -> list[tuple[int, str]]:
    """(line, content) of every inline code span outside fenced blocks."""
    prose, _ = split(text)
    return [(prose.count("\n", 0, m.start()) + 1, m.group(2).strip()) for m in CODE_SPAN.finditer(prose)]


def section(text: str, heading: str) -> str:
    """The text under the first heading exactly `heading` (any level), up to the next heading of
    the same or a higher level."""
    lines = text.split("\n")
    prose_lines = split(text)[0].split("\n")
    for i, line in enumerate(prose_lines):
        m = HEADING.match(line)
        if m and m.group(2) == heading:
            level = len(m.group(1))
            for j in range(i + 1, len(lines)):
                n = HEADING.match(prose_lines[j])
                if n and len(n.group(1)) <= level:
                    return "\n".join(lines[i + 1:j])
            return "\n".join(lines[i + 1:])
    raise AssertionError(f"no heading {heading!r}")


def console_commands(block: Block) -> list[tuple[str, list[str]]]:
    """The commands of a `console` block (`$ ` lines, `\\` continuations joined), each with the
    output lines shown after it."""
    commands: list[tuple[str, list[str]]] = []
    lines = block.text.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].startswith("$ "):
            command = lines[i][2:]
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1] + " " + lines[i].strip()
            commands.append((command, []))
        elif commands:
            commands[-1][1].append(lines[i])
        i += 1
    return commands
