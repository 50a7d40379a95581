#!/usr/bin/env python3
"""The Public Suffix List (PSL) compiled into the automaton crates/edge-cors-core/src/rules/public_suffix.rs reads.

The vendored list (third_party/publicsuffix/public_suffix_list.dat, MPL-2.0, both the ICANN
and the PRIVATE sections) becomes crates/edge-cors-core/src/rules/public_suffix_list.bin: a minimized deterministic
acyclic automaton over every rule's labels in reverse order, the form that measured smallest
for this list (`sizes` below compares it with two others; the encoding is described below).

    scripts/psl.py build         regenerate the .bin from the vendored .dat
    scripts/psl.py check         regenerate in memory and fail unless it equals the committed
                                 .bin, and unless the .dat matches the checksum in SOURCE
    scripts/psl.py info [DAT]    print the list's version, commit and rule counts
    scripts/psl.py sizes         the automaton's size beside two other exact encodings
    scripts/psl.py expectations OUT
                                 write `domain<TAB>0|1<TAB>0|1` (is a public suffix, has
                                 one below it) for every rule of the list and the
                                 domains derived from it, decided by the reference algorithm
                                 in this file (tests/public_suffix_list.rs compares the Rust
                                 lookup with it); also checks the reference algorithm against
                                 the list's own test file (test_psl.txt)

Only the standard library is used, and only deterministic operations: the same .dat always
gives the same bytes.

Rules (https://github.com/publicsuffix/list/wiki/Format): `a.b` (normal), `*.a.b` (wildcard:
every label directly under a.b is a suffix), `!c.a.b` (exception to a wildcard). Unicode
labels are stored in their IDNA ASCII form (`xn--` + Punycode, RFC 3492, encoded below).

Encoding of the .bin (read by crates/edge-cors-core/src/rules/public_suffix.rs, which documents the same):
- The automaton reads a domain's labels right to left, each label's bytes left to right, with
  `.` between two labels. Symbols: 0 `.`, 1-26 `a`-`z`, 27-36 `0`-`9`, 37 `-`; 38-44 end a
  rule key, the symbol minus 37 being the rule flags (1 normal, 2 wildcard, 4 exception).
- It starts with the hub table: HUBS (128) big-endian 2-byte offsets from the start of the
  .bin, one per hub, the states most edges lead to (hub 0 the most, such as the end of a
  normal rule). The root state follows, at byte 256.
- A state is its outgoing edges, one after another.
- An edge is one byte, bit 7 set on the last edge of a state, bits 0-6 a code: 0-37 a symbol
  whose target state starts at the next byte on a state's last edge and is hub 0 on any other
  edge (where the next byte is another edge); 38-44 a final symbol; 45-82 the symbol code - 45
  followed by one byte: below 128 the distance from the byte after it to the target state,
  from 128 on the hub number + 128; 83-120 the symbol code - 83 followed by two bytes
  (big-endian): the distance from the byte after them to the target state. Measured on the
  2026-10 list: 43.7 KB; 48.2 KB without hubs, 53.0 KB with base-128 distances (one byte
  below 128, two below 16,384, else three) and no hubs. A list whose automaton needs a
  distance of 65,536 or more, or puts a hub there, is refused (widen FAR_BYTES or HUB_BYTES
  here and in the Rust reader).
"""
import hashlib
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAT = ROOT / "third_party/publicsuffix/public_suffix_list.dat"
TESTS = ROOT / "third_party/publicsuffix/test_psl.txt"
SOURCE = ROOT / "third_party/publicsuffix/SOURCE"
BIN = ROOT / "crates/edge-cors-core/src/rules/public_suffix_list.bin"

NORMAL, WILDCARD, EXCEPTION = 1, 2, 4
ALPHABET = ".abcdefghijklmnopqrstuvwxyz0123456789-"
SYMBOL = {c: i for i, c in enumerate(ALPHABET)}
FINAL_BASE = len(ALPHABET) - 1  # 37: final symbols are 38..44 (FINAL_BASE + flags)
LAST = 0x80
# Edge codes (bits 0-6 of an edge byte): symbol codes for each way to reach the target.
NEAR, FAR = FINAL_BASE + 8, FINAL_BASE + 8 + FINAL_BASE + 1  # 45: one operand byte, 83: two
FAR_BYTES = 2
# A NEAR operand below HUB_OPERAND is a distance, from it on a hub number (operand - HUB_OPERAND):
# an index into the table of HUBS offsets of HUB_BYTES before the root. Fewer distances fit one
# byte, but the hubs' far edges shrink. Measured on the 2026-10 list, by number of hubs:
# 0 -> 48,231 bytes, 64 -> 44,052, 96 -> 43,796, 128 -> 43,677, 160 -> 43,698, 192 -> 43,869.
HUB_OPERAND = 0x80
HUBS = 0x100 - HUB_OPERAND
HUB_BYTES = 2
ROOT_AT = HUBS * HUB_BYTES


class ListError(Exception):
    pass


# --- Punycode (RFC 3492 section 6.3, encoding only) -------------------------------------------

P_BASE, P_TMIN, P_TMAX, P_SKEW, P_DAMP, P_INITIAL_BIAS, P_INITIAL_N = 36, 1, 26, 38, 700, 72, 128


def _adapt(delta: int, numpoints: int, first_time: bool) -> int:
    delta = delta // P_DAMP if first_time else delta // 2
    delta += delta // numpoints
    k = 0
    while delta > ((P_BASE - P_TMIN) * P_TMAX) // 2:
        delta //= P_BASE - P_TMIN
        k += P_BASE
    return k + (P_BASE - P_TMIN + 1) * delta // (delta + P_SKEW)


def _digit(d: int) -> str:
    return chr(ord("a") + d) if d < 26 else chr(ord("0") + d - 26)


def punycode(label: str) -> str:
    """The Punycode of a Unicode label (without the `xn--` prefix)."""
    code_points = [ord(c) for c in label]
    out = [c for c in label if ord(c) < 0x80]
    basic = handled = len(out)
    if basic:
        out.append("-")
    n, delta, bias = P_INITIAL_N, 0, P_INITIAL_BIAS
    while handled < len(code_points):
        m = min(c for c in code_points if c >= n)
        delta += (m - n) * (handled + 1)
        n = m
        for c in code_points:
            if c < n:
                delta += 1
            elif c == n:
                q, k = delta, P_BASE
                while True:
                    t = P_TMIN if k <= bias else P_TMAX if k >= bias + P_TMAX else k - bias
                    if q < t:
                        break
                    out.append(_digit(t + (q - t) % (P_BASE - t)))
                    q = (q - t) // (P_BASE - t)
                    k += P_BASE
                out.append(_digit(q))
                bias = _adapt(delta, handled + 1, handled == basic)
                delta = 0
                handled += 1
        delta += 1
        n += 1
    return "".join(out)


def to_ascii_label(label: str) -> str:
    """A list label in the form a browser puts in an origin: ASCII as is, Unicode as `xn--`."""
    if label.isascii():
        return label
    if unicodedata.normalize("NFC", label) != label or label.lower() != label:
        raise ListError(f"label {label!r} is not in lower-case NFC form")
    return "xn--" + punycode(label)


# --- Parsing ----------------------------------------------------------------------------------


class PublicSuffixList:
    def __init__(self, text: str):
        self.version = self.commit = None
        self.rules = []  # (section, kind, labels as ASCII, right to left), in file order
        section = None
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            m = re.match(r"// (VERSION|COMMIT): (\S+)$", line)
            if m:
                setattr(self, m.group(1).lower(), m.group(2))
            if line.startswith("// ===BEGIN ") and line.endswith(" DOMAINS==="):
                section = line[len("// ===BEGIN ") : -len(" DOMAINS===")].lower()
            elif line.startswith("// ===END "):
                section = None
            if not line or line.startswith("//"):
                continue
            if section not in ("icann", "private"):
                raise ListError(f"line {number}: rule outside the ICANN and PRIVATE sections")
            # The format ends a rule at the first white space.
            self.rules.append((section, *self._rule(line.split()[0], number)))
        if not self.rules:
            raise ListError("no rules")

    @staticmethod
    def _rule(rule: str, number: int):
        kind = NORMAL
        if rule.startswith("!"):
            kind, rule = EXCEPTION, rule[1:]
        elif rule.startswith("*."):
            kind, rule = WILDCARD, rule[2:]
        labels = rule.split(".")
        if any(not label or "*" in label or "!" in label for label in labels):
            # The list has never used a wildcard anywhere but leftmost; the automaton's flags
            # cannot say anything else, so such a list is refused rather than misread.
            raise ListError(f"line {number}: unsupported rule {rule!r}")
        try:
            ascii_labels = [to_ascii_label(label) for label in labels]
        except ListError as e:
            raise ListError(f"line {number}: {e}") from None
        for label in ascii_labels:
            if any(c not in SYMBOL or c == "." for c in label) or len(label) > 63:
                raise ListError(f"line {number}: label {label!r} outside [a-z0-9-]{{1,63}}")
        if kind == EXCEPTION and len(labels) < 2:
            raise ListError(f"line {number}: exception rule with one label")
        return kind, tuple(reversed(ascii_labels))

    def keys(self) -> dict:
        """Rule flags by key (labels right to left, without `*.` or `!`)."""
        flags = defaultdict(int)
        for _, kind, key in self.rules:
            flags[key] |= kind
        for key, f in flags.items():
            if f & EXCEPTION and f != EXCEPTION:
                raise ListError(f"{'.'.join(reversed(key))} is both an exception and a rule")
            if f & EXCEPTION and not flags.get(key[:-1], 0) & WILDCARD:
                raise ListError(f"exception {'.'.join(reversed(key))} without a wildcard over it")
        return dict(flags)

    def counts(self) -> dict:
        out = {"total": len(self.rules)}
        for section in ("icann", "private"):
            out[section] = sum(1 for s, _, _ in self.rules if s == section)
        out["wildcard"] = sum(1 for _, k, _ in self.rules if k == WILDCARD)
        out["exception"] = sum(1 for _, k, _ in self.rules if k == EXCEPTION)
        return out


def load(path: Path) -> PublicSuffixList:
    return PublicSuffixList(path.read_text(encoding="utf-8"))


# --- The automaton ----------------------------------------------------------------------------


def _words(keys: dict):
    for key, f in keys.items():
        yield [SYMBOL[c] for c in ".".join(key)] + [FINAL_BASE + f]


def compile_automaton(keys: dict) -> bytes:
    # 1. A trie over the words (state 0 is the root).
    trie = [{}]
    for word in sorted(_words(keys)):
        state = 0
        for symbol in word:
            nxt = trie[state].get(symbol)
            if nxt is None:
                nxt = trie[state][symbol] = len(trie)
                trie.append({})
            state = nxt
    # 2. Merge the states that accept the same continuations (children before parents: every
    #    trie child has a larger number than its parent).
    canonical, representative = {}, [0] * len(trie)
    for state in range(len(trie) - 1, -1, -1):
        signature = tuple(sorted((s, representative[c]) for s, c in trie[state].items()))
        representative[state] = canonical.setdefault(signature, state)
    # 3. The graph to lay out: the merged states, numbered from the root in edge order. Every
    #    state is shared, even one final edge (the end of a rule): copying such states into
    #    each state that leads to them measured 1,237 bytes larger (44,914 against 43,677).
    graph, node_of = [], {}

    def expand(state: int) -> int:
        rep = representative[state]
        if rep not in node_of:
            node_of[rep] = len(graph)
            graph.append(None)
            graph[node_of[rep]] = [(s, None if s > FINAL_BASE else expand(c)) for s, c in sorted(trie[rep].items())]
        return node_of[rep]

    root = expand(0)
    # 4. The hubs: the states most edges lead to (ties: the first numbered), reached from
    #    anywhere with one operand byte through the hub table, and hub 0 (the most) with none
    #    from any edge but a state's last. A list with fewer states to point at fills the table
    #    with the root, which no edge leads to.
    incoming = defaultdict(int)
    for edges in graph:
        for _, target in edges:
            if target is not None:
                incoming[target] += 1
    hubs = sorted(incoming, key=lambda node: (-incoming[node], node))[:HUBS]
    hubs += [root] * (HUBS - len(hubs))
    hub_number = {node: number for number, node in enumerate(hubs)}
    # 5. Order: depth first, children with the largest subtree first, so the child visited last
    #    (the smallest) ends up right after its parent and the distances to the others stay
    #    short; the output is the reverse of that post-order, so every distance points forward.
    weight = {}

    def weigh(node: int) -> int:  # edges below a state, shared ones counted at each use
        if node not in weight:
            weight[node] = sum(1 + (weigh(t) if t is not None else 0) for _, t in graph[node])
        return weight[node]

    weigh(root)
    post, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            post.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        children = sorted({t for _, t in graph[node] if t is not None}, key=lambda t: (-weight[t], t))
        # The stack pops in reverse: push so that the largest child is visited first.
        for child in reversed(children):
            if child not in seen:
                stack.append((child, False))
    # 6. Write back to front, so each target's distance from the end is known when needed.
    out = bytearray()
    from_end = {}
    previous = None
    for node in post:
        edges = list(graph[node])
        inline = [e for e in edges if e[1] is not None and e[1] == previous][:1]
        # Edges to hub 0 first: on any edge but the last, the symbol code alone leads there.
        edges = sorted((e for e in edges if e not in inline), key=lambda e: e[1] != hubs[0]) + inline
        for i in range(len(edges) - 1, -1, -1):
            symbol, target = edges[i]
            last = LAST if i == len(edges) - 1 else 0
            if target is None or (inline and last) or (target == hubs[0] and not last):
                out[0:0] = bytes([symbol | last])
                continue
            distance = len(out) - from_end[target]
            if distance < HUB_OPERAND:
                out[0:0] = bytes([NEAR + symbol | last, distance])
            elif target in hub_number:
                out[0:0] = bytes([NEAR + symbol | last, HUB_OPERAND + hub_number[target]])
            elif distance < 1 << 8 * FAR_BYTES:
                out[0:0] = bytes([FAR + symbol | last]) + distance.to_bytes(FAR_BYTES, "big")
            else:
                raise ListError(f"a distance of {distance} bytes does not fit {FAR_BYTES} bytes: widen FAR_BYTES")
        from_end[node] = len(out)
        previous = node
    if from_end[root] != len(out):
        raise ListError("the root state is not first")
    # 7. The hub table before the root: each hub's offset from the start of the .bin.
    table = bytearray()
    for node in hubs:
        offset = ROOT_AT + len(out) - from_end[node]
        if offset >= 1 << 8 * HUB_BYTES:
            raise ListError(f"hub state at byte {offset} does not fit {HUB_BYTES} bytes: widen HUB_BYTES")
        table += offset.to_bytes(HUB_BYTES, "big")
    return bytes(table + out)


def lookup_flags(automaton: bytes, key: tuple) -> int:
    """Decode the .bin as the Rust code does: the flags of `key`, 0 if it is not a rule key."""

    def hub(number: int) -> int:  # the state of hub `number`, from the hub table
        at = number * HUB_BYTES
        return int.from_bytes(automaton[at : at + HUB_BYTES], "big")

    def follow(state: int, wanted: int):
        pos = state
        while True:
            byte = automaton[pos]
            pos += 1
            code, target = byte & ~LAST, None
            if code <= FINAL_BASE:
                symbol, target = code, pos if byte & LAST else hub(0)
            elif code < NEAR:
                symbol = code
            elif code < FAR:
                symbol, operand = code - NEAR, automaton[pos]
                pos += 1
                if operand < HUB_OPERAND:
                    target = pos + operand
                else:
                    target = hub(operand - HUB_OPERAND)
            else:
                symbol = code - FAR
                target = pos + FAR_BYTES + int.from_bytes(automaton[pos : pos + FAR_BYTES], "big")
                pos += FAR_BYTES
            if symbol == wanted or (wanted is None and symbol > FINAL_BASE):
                return symbol, target
            if byte & LAST:
                return None, None

    state = ROOT_AT
    for c in ".".join(key):
        _, state = follow(state, SYMBOL[c])
        if state is None:
            return 0
    symbol, _ = follow(state, None)
    return symbol - FINAL_BASE if symbol is not None else 0


# --- The reference algorithm (independent of the automaton) -----------------------------------


def reference_public_suffix_length(keys: dict, labels: list) -> int:
    """Labels (left to right, ASCII lower case) -> how many of them the public suffix has,
    following the wiki's algorithm step by step."""
    matching = []  # (is exception, labels of the rule)
    reversed_labels = list(reversed(labels))
    for n in range(1, len(labels) + 1):
        f = keys.get(tuple(reversed_labels[:n]), 0)
        if f & NORMAL:
            matching.append((False, n))
        if f & EXCEPTION:
            matching.append((True, n))
        if f & WILDCARD and n + 1 <= len(labels):
            matching.append((False, n + 1))
    if not matching:
        return 1  # the implicit `*` rule
    exceptions = [n for exc, n in matching if exc]
    if exceptions:
        return exceptions[0] - 1
    return max(n for _, n in matching)


def reference_is_public_suffix(keys: dict, domain: str) -> bool:
    labels = domain.split(".")
    return reference_public_suffix_length(keys, labels) == len(labels)


def reference_has_public_suffix_below(keys: dict, parents: set, domain: str) -> bool:
    """Some name strictly under `domain` is a public suffix: a wildcard rule over its
    children, or a rule under it (`parents`: every key's proper prefixes)."""
    key = tuple(reversed(domain.split(".")))
    return bool(keys.get(key, 0) & WILDCARD) or key in parents


def derived_domains(psl: PublicSuffixList):
    """Every rule's own name, a label under it, its parents, and for wildcards and
    exceptions the names around them."""
    out = set()
    for _, kind, key in psl.rules:
        name = ".".join(reversed(key))
        for n in range(1, len(key)):
            out.add(".".join(reversed(key[:n])))
        out.add(name)
        out.add("zz0." + name)
        out.add("a-b.zz0." + name)
        if kind == WILDCARD:
            out.add("www.zz0." + name)
        if kind == EXCEPTION:
            out.add("zz0.www." + name)
    return out


def official_cases(keys: dict, path: Path):
    """test_psl.txt: checkPublicSuffix(domain, registrable domain or null). Yields the
    normalized domains whose answer the reference algorithm gives, after checking it."""
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"checkPublicSuffix\((null|'([^']*)'), (null|'([^']*)')\);$", line.strip())
        if not m or m.group(2) is None:
            continue
        domain, expected = m.group(2), m.group(4)
        if domain.startswith(".") or not domain:
            continue  # not a host name (the Rust lookup refuses those by rule, unit-tested)
        labels = [to_ascii_label(label.lower()) for label in domain.split(".")]
        length = reference_public_suffix_length(keys, labels)
        registrable = None if length >= len(labels) else ".".join(labels[-length - 1 :])
        want = None if expected is None else ".".join(to_ascii_label(l.lower()) for l in expected.split("."))
        if registrable != want:
            raise ListError(f"reference algorithm disagrees with test_psl.txt on {domain!r}: {registrable} != {want}")
        yield ".".join(labels)


# --- Commands ---------------------------------------------------------------------------------


def info_lines(psl: PublicSuffixList, automaton: bytes) -> list:
    c = psl.counts()
    return [
        f"version: {psl.version or 'unknown'}",
        f"commit: {psl.commit or 'unknown'}",
        f"rules: {c['total']} ({c['icann']} ICANN, {c['private']} private; {c['wildcard']} wildcard, {c['exception']} exception)",
        f"automaton: {len(automaton)} bytes",
    ]


def other_encodings(keys: dict) -> dict:
    """Sizes of two other exact encodings, for the record of why the automaton was chosen."""
    names = sorted(".".join(k) for k in keys)
    front_coded, previous = 0, ""
    for name in names:  # shared prefix length, the rest, flags; plus a 2-byte index per 16
        shared = 0
        while shared < min(len(name), len(previous)) and name[shared] == previous[shared]:
            shared += 1
        front_coded += 1 + len(name) - shared + 1
        previous = name
    front_coded += len(names) // 16 * 2
    labels = {label for key in keys for label in key}
    nodes = {key[:n] for key in keys for n in range(1, len(key) + 1)}
    # Label table (length-prefixed), then per node a 2-byte label index and 2-byte child link.
    label_trie = sum(len(label) + 1 for label in labels) + 4 * len(nodes)
    return {"sorted names, front-coded": front_coded, "label trie + shared label table": label_trie}


def check_source(dat: Path) -> None:
    digest = hashlib.sha256(dat.read_bytes()).hexdigest()
    recorded = re.search(r"^sha256: ([0-9a-f]{64})$", SOURCE.read_text(encoding="utf-8"), re.M)
    if not recorded or recorded.group(1) != digest:
        raise ListError(f"{dat.name} does not match the sha256 in {SOURCE.relative_to(ROOT)}: refresh it with scripts/refresh-psl.sh")


def main(argv: list) -> int:
    command = argv[1] if len(argv) > 1 else ""
    try:
        if command == "build":
            psl = load(DAT)
            automaton = compile_automaton(psl.keys())
            BIN.write_bytes(automaton)
            print("\n".join(info_lines(psl, automaton)))
        elif command == "check":
            check_source(DAT)
            psl = load(DAT)
            keys = psl.keys()
            automaton = compile_automaton(keys)
            if BIN.read_bytes() != automaton:
                raise ListError(f"{BIN.relative_to(ROOT)} is not what {DAT.name} compiles to: run scripts/psl.py build")
            # The decoder here reads the .bin back: every key with its flags, nothing else.
            wrong = [k for k, f in keys.items() if lookup_flags(automaton, k) != f]
            if wrong:
                raise ListError(f"{len(wrong)} keys read back wrong, e.g. {'.'.join(reversed(wrong[0]))}")
            print(f"{BIN.relative_to(ROOT)} is up to date ({len(automaton)} bytes, {len(keys)} keys read back)")
        elif command == "info":
            psl = load(Path(argv[2]) if len(argv) > 2 else DAT)
            print("\n".join(info_lines(psl, compile_automaton(psl.keys()))))
        elif command == "sizes":
            keys = load(DAT).keys()
            print(f"automaton (this .bin): {len(compile_automaton(keys))} bytes")
            for name, size in other_encodings(keys).items():
                print(f"{name}: {size} bytes")
        elif command == "expectations" and len(argv) == 3:
            psl = load(DAT)
            keys = psl.keys()
            domains = derived_domains(psl) | set(official_cases(keys, TESTS))
            parents = {k[:n] for k in keys for n in range(1, len(k))}
            lines = [
                f"{d}\t{int(reference_is_public_suffix(keys, d))}"
                f"\t{int(reference_has_public_suffix_below(keys, parents, d))}\n"
                for d in sorted(domains)
            ]
            Path(argv[2]).write_text("".join(lines), encoding="ascii")
            suffixes = sum(1 for d in domains if reference_is_public_suffix(keys, d))
            print(f"{len(lines)} expectations ({suffixes} public suffixes)")
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except ListError as e:
        print(f"psl: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
