//! The regular-expression engine of `allow_origin_regexes`: a parser for the syntax of
//! regex-lite (the pure-Rust regex crate's syntax without Unicode classes), a compiler to a
//! Thompson automaton, and a matcher that follows every path of it at once (no backtracking,
//! so time is linear in the origin's length times the automaton's size).
//!
//! # Why our own
//!
//! The filter only ever runs an origin regex over a request's `Origin` once it has parsed as
//! a canonical serialized origin (ASCII: scheme, `://`, lower-case host, port; no line breaks)
//! and, at load, over the two texts a regex must not match (`null`, `*`). Over that input a
//! class is a 128-bit set of ASCII characters. The engine is about 22 KB of the module, which
//! is 35.9 KB smaller than with regex-lite's general engine (Unicode input, captures,
//! searches) and the separate reader the credentials analysis had.
//! regex-lite stays the reference: the tests compare this engine with it pattern by pattern.
//!
//! # The syntax
//!
//! What regex-lite accepts, with the same meaning on ASCII text that holds no line break:
//! literals and escapes (`\.`, `\x2e`, `\x{2e}`, `\u002e`, `\t`), `.`, classes (`[a-z0-9-]`,
//! `[^/]`, `[[:alpha:]]`), `\d` `\w` `\s` and their negations (ASCII, as in regex-lite),
//! groups (`(..)`, `(?:..)`, `(?P<name>..)`, `(?<name>..)`), alternation, the repetitions
//! `?` `*` `+` `{m}` `{m,}` `{m,n}` (lazy or not: for a yes/no answer laziness changes
//! nothing), the assertions `^` `$` `\A` `\z` `\b` `\B` `\<` `\>` `\b{start}` `\b{end}`
//! `\b{start-half}` `\b{end-half}`, and the flags `i` (ASCII case-insensitive) `m` `s` `R`
//! `U` `u`. Refused besides what regex-lite refuses: the `x` flag (it changes what spaces and
//! `#` mean everywhere), capture names outside ASCII letters, digits, `_`, `.`, `[` and `]`,
//! and a pattern whose automaton would exceed [`MAX_STATES`] states. So every pattern this
//! engine accepts is one regex-lite accepts, and they answer alike on every canonical origin.

use std::fmt;

/// Most states a pattern may compile to: `(a{100}){100}` is 10,000 and refused. The matcher
/// visits each state at most once per character of the origin. Groups, empty parts and
/// repetitions count too though they compile to nothing (regex-lite's automaton has states
/// for them), so `(){4000000000}` is refused rather than looped over.
pub(crate) const MAX_STATES: usize = 4096;

/// Deepest nesting of groups and repetitions (regex-lite's limit as the filter configured it).
const NEST_LIMIT: u32 = 50;

/// A pattern matches as `^(?:pattern)$`: the group and the concatenation around it count one
/// level of nesting, as they do in regex-lite.
const WRAP_DEPTH: u32 = 1;

/// Why a pattern does not compile: what is wrong and the byte offset where it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegexError {
    what: &'static str,
    at: usize,
}

impl RegexError {
    /// The same error in a text `by` bytes longer at the front.
    pub(crate) fn shifted(self, by: usize) -> RegexError {
        RegexError {
            at: self.at + by,
            ..self
        }
    }
}

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.what, self.at)
    }
}

/// A compiled pattern that must match the whole text.
#[derive(Debug)]
pub(crate) struct Regex {
    states: Box<[State]>,
}

impl Regex {
    /// Parse and compile `pattern`; a match must span the whole text (as `^(?:pattern)$`).
    /// (The filter parses once and compiles the parse, which its analysis reads too.)
    #[cfg(any(test, feature = "test-support"))]
    pub(crate) fn new(pattern: &str) -> Result<Regex, RegexError> {
        Regex::compile(&parse(pattern)?)
    }

    /// Compile a parsed pattern ([`parse`]).
    pub(crate) fn compile(alternatives: &[Vec<Piece>]) -> Result<Regex, RegexError> {
        nest_alternatives(alternatives, WRAP_DEPTH).map_err(|()| error("groups and repetitions nest too deeply", 0))?;
        let mut compiler = Compiler {
            states: Vec::new(),
            weight: 0,
        };
        compiler.alternatives(alternatives)?;
        compiler.push(State::Match)?;
        Ok(Regex {
            states: compiler.states.into_boxed_slice(),
        })
    }

    /// Does the pattern match all of `text`? Meant for ASCII text: a byte outside ASCII
    /// matches nothing (the filter only asks about canonical serialized origins).
    pub(crate) fn is_match(&self, text: &str) -> bool {
        let text = text.as_bytes();
        let mut run = Run {
            states: &self.states,
            text,
            seen: vec![0; self.states.len()],
            generation: 1,
            stack: Vec::new(),
        };
        let mut current = Vec::new();
        let mut next = Vec::new();
        run.add(&mut current, 0, 0);
        for (at, &byte) in text.iter().enumerate() {
            if current.is_empty() {
                return false;
            }
            run.generation += 1;
            for &id in &current {
                if let Some(State::Set(set)) = self.states.get(id) {
                    if contains(*set, byte) {
                        run.add(&mut next, id + 1, at + 1);
                    }
                }
            }
            std::mem::swap(&mut current, &mut next);
            next.clear();
        }
        current
            .iter()
            .any(|&id| matches!(self.states.get(id), Some(State::Match)))
    }
}

fn error(what: &'static str, at: usize) -> RegexError {
    RegexError { what, at }
}

/// A set of ASCII characters: bit `c` for character `c`.
pub(crate) type Set = u128;

const ASCII: Set = Set::MAX;

fn contains(set: Set, byte: u8) -> bool {
    byte < 128 && set >> byte & 1 == 1
}

/// The characters `from..=to` that are ASCII.
fn range(from: char, to: char) -> Set {
    let (from, to) = (u32::from(from), u32::from(to).min(127));
    if from > to {
        return 0;
    }
    let above = if to == 127 { ASCII } else { (1 << (to + 1)) - 1 };
    above & !((1 << from) - 1)
}

fn of(c: char) -> Set {
    range(c, c)
}

const fn bytes(from: u8, to: u8) -> Set {
    let mut set = 0;
    let mut c = from;
    while c <= to {
        set |= 1 << c;
        c += 1;
    }
    set
}

pub(crate) const DIGIT: Set = bytes(b'0', b'9');
const UPPER: Set = bytes(b'A', b'Z');
const LOWER: Set = bytes(b'a', b'z');
const WORD: Set = DIGIT | UPPER | LOWER | 1 << b'_';
/// `\s` and `[[:space:]]`: tab, line feed, vertical tab, form feed, carriage return, space.
const SPACE: Set = bytes(b'\t', b'\r') | 1 << b' ';

/// The POSIX classes regex-lite knows, all ASCII.
fn posix_class(name: &str) -> Option<Set> {
    Some(match name {
        "alnum" => DIGIT | UPPER | LOWER,
        "alpha" => UPPER | LOWER,
        "ascii" => ASCII,
        "blank" => 1 << b'\t' | 1 << b' ',
        "cntrl" => bytes(0, 0x1F) | 1 << 0x7F,
        "digit" => DIGIT,
        "graph" => bytes(b'!', b'~'),
        "lower" => LOWER,
        "print" => bytes(b' ', b'~'),
        "punct" => bytes(b'!', b'/') | bytes(b':', b'@') | bytes(b'[', b'`') | bytes(b'{', b'~'),
        "space" => SPACE,
        "upper" => UPPER,
        "word" => WORD,
        "xdigit" => DIGIT | bytes(b'A', b'F') | bytes(b'a', b'f'),
        _ => return None,
    })
}

/// ASCII case folding as regex-lite applies it: each maximal run of the set gains the other
/// case of its lower-case letters if it has any, else of its upper-case letters. (A run such
/// as `Z-a` gains `A` and not `z`; regex-lite folds ranges the same way.)
fn fold(set: Set) -> Set {
    let mut folded = set;
    let mut rest = set;
    while rest != 0 {
        let start = rest.trailing_zeros();
        let run_mask = {
            let above = !((1u128 << start) - 1);
            let len = (!(rest >> start)).trailing_zeros();
            if start + len >= 128 {
                above
            } else {
                above & ((1u128 << (start + len)) - 1)
            }
        };
        rest &= !run_mask;
        if run_mask & LOWER != 0 {
            folded |= (run_mask & LOWER) >> 32;
        } else if run_mask & UPPER != 0 {
            folded |= (run_mask & UPPER) << 32;
        }
    }
    folded
}

/// Zero-width assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Look {
    Start,
    End,
    WordBoundary,
    NotWordBoundary,
    WordStart,
    WordEnd,
    WordStartHalf,
    WordEndHalf,
}

impl Look {
    /// Does the assertion hold at offset `at` of `text`? (Word characters are ASCII, as in
    /// regex-lite.) `^` and `$` in multi-line mode mean the same on text without line breaks.
    fn holds(self, text: &[u8], at: usize) -> bool {
        let word = |i: Option<usize>| i.and_then(|i| text.get(i)).is_some_and(|&b| contains(WORD, b));
        let before = word(at.checked_sub(1));
        let after = word(Some(at));
        match self {
            Look::Start => at == 0,
            Look::End => at == text.len(),
            Look::WordBoundary => before != after,
            Look::NotWordBoundary => before == after,
            Look::WordStart => !before && after,
            Look::WordEnd => before && !after,
            Look::WordStartHalf => !before,
            Look::WordEndHalf => !after,
        }
    }
}

/// A parsed pattern, or the inside of a group: its alternatives, each a sequence of pieces.
/// The compiler reads it, and so does the credentials analysis ([`super::origin_regex`]),
/// so the two never read a pattern differently.
pub(crate) type Alternatives = Vec<Vec<Piece>>;

/// Parse `pattern` (as the engine reads it; a match spans the whole text).
pub(crate) fn parse(pattern: &str) -> Result<Alternatives, RegexError> {
    Parser::new(pattern).alternation()
}

/// One atom of a pattern with the quantifiers written after it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    pub(crate) atom: Atom,
    /// Quantifiers in the order written, as (fewest, most): `a{2}*` is `[(2, Some(2)), (0, None)]`.
    pub(crate) repeats: Vec<(u32, Option<u32>)>,
    /// Byte range in the pattern, quantifiers included.
    pub(crate) start: usize,
    pub(crate) end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Literal {
    /// Written as itself (`a`) or as escaped punctuation (`\.`).
    Plain,
    /// Written as a code (`\x2e`, `\n`).
    Coded,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Atom {
    /// One character, and the characters it matches under the flags in force (both cases
    /// under `i`).
    Char {
        c: char,
        written: Literal,
        set: Set,
    },
    /// Any other single character: a class (`[a-z]`, `\d`) or `.`.
    Class(Set),
    /// A group: capturing (`(..)`, `(?P<n>..)`) or not (`(?:..)`), `flags` when it sets some
    /// (`(?i:..)`).
    Group {
        alternatives: Alternatives,
        capture: bool,
        flags: bool,
    },
    /// `(?i)`: flags for the rest of the enclosing group. It matches nothing.
    Flags,
    Look(Look),
}

/// Nesting as regex-lite counts it on its tree (`check_hir_nesting`, from depth 0): a
/// concatenation or alternation of one item is that item, a non-capturing group is its
/// contents, each quantifier and capture is a level. `Err` past [`NEST_LIMIT`]; the recursion
/// stops there. (regex-lite drops `{1}` and `{0}` repetitions from its tree; counting them
/// only makes this stricter.)
fn nest_alternatives(alternatives: &[Vec<Piece>], depth: u32) -> Result<(), ()> {
    let depth = if alternatives.len() > 1 { level(depth)? } else { depth };
    alternatives.iter().try_for_each(|sequence| {
        let items = || sequence.iter().filter(|p| !matches!(p.atom, Atom::Flags));
        match items().count() {
            0 => level(depth).map(drop),
            1 => items().try_for_each(|p| nest_piece(p, depth)),
            _ => {
                let inner = level(depth)?;
                items().try_for_each(|p| nest_piece(p, inner))
            }
        }
    })
}

fn nest_piece(piece: &Piece, mut depth: u32) -> Result<(), ()> {
    for _ in &piece.repeats {
        depth = level(depth)?;
    }
    match &piece.atom {
        Atom::Group {
            alternatives, capture, ..
        } => nest_alternatives(alternatives, if *capture { level(depth)? } else { depth }),
        _ => level(depth).map(drop),
    }
}

/// A node at `depth`: the depth of its children, or `Err` past the limit.
fn level(depth: u32) -> Result<u32, ()> {
    if depth > NEST_LIMIT {
        Err(())
    } else {
        Ok(depth + 1)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    case_insensitive: bool,
    dot_matches_new_line: bool,
    crlf: bool,
}

/// Characters that may follow `\` to mean themselves: regex-lite's meta characters and any
/// other ASCII punctuation except `<` and `>` (which are word assertions).
fn is_escapable(c: char) -> bool {
    c.is_ascii() && !c.is_ascii_alphanumeric() && c != '<' && c != '>'
}

/// What one escape stands for.
enum Escape {
    /// A character, written as escaped punctuation or as a code.
    Char(char, Literal),
    Class(Set),
    Look(Look),
}

struct Parser<'p> {
    src: &'p str,
    at: usize,
    flags: Flags,
    depth: u32,
    names: Vec<&'p str>,
}

impl<'p> Parser<'p> {
    fn new(src: &'p str) -> Self {
        Parser {
            src,
            at: 0,
            flags: Flags::default(),
            depth: WRAP_DEPTH,
            names: Vec::new(),
        }
    }

    fn fail<T>(&self, what: &'static str) -> Result<T, RegexError> {
        Err(error(what, self.at))
    }

    fn peek(&self) -> Option<char> {
        self.src.get(self.at..).and_then(|s| s.chars().next())
    }

    fn peek_second(&self) -> Option<char> {
        self.src.get(self.at..).and_then(|s| s.chars().nth(1))
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, prefix: &str) -> bool {
        let hit = self.src.get(self.at..).is_some_and(|s| s.starts_with(prefix));
        if hit {
            self.at += prefix.len();
        }
        hit
    }

    /// Alternatives up to the end or to the `)` of the group being read (left for the caller).
    fn alternation(&mut self) -> Result<Alternatives, RegexError> {
        let outer = self.depth;
        if outer > NEST_LIMIT {
            return self.fail("groups nest too deeply");
        }
        self.depth += 1;
        let mut alternatives = Vec::new();
        let mut sequence: Vec<Piece> = Vec::new();
        while let Some(c) = self.peek() {
            let start = self.at;
            let atom = match c {
                '(' => {
                    let saved = self.flags;
                    let atom = self.group()?;
                    // A flag directive's flags last to the end of the enclosing group.
                    if !matches!(atom, Atom::Flags) {
                        self.flags = saved;
                    }
                    if !self.eat(")") {
                        return self.fail("a group is not closed with `)`");
                    }
                    atom
                }
                ')' => {
                    if outer == WRAP_DEPTH {
                        return self.fail("`)` closes no group");
                    }
                    break;
                }
                '|' => {
                    self.at += 1;
                    alternatives.push(std::mem::take(&mut sequence));
                    continue;
                }
                '[' => {
                    self.at += 1;
                    Atom::Class(self.class()?)
                }
                '?' | '*' | '+' | '{' => {
                    // A flag directive is not something to repeat: `a(?i)*` repeats `a`.
                    let Some(piece) = sequence.iter_mut().rev().find(|p| !matches!(p.atom, Atom::Flags)) else {
                        return self.fail("a repetition with nothing before it to repeat");
                    };
                    piece.repeats.push(self.repetition()?);
                    piece.end = self.at;
                    continue;
                }
                _ => {
                    self.at += c.len_utf8();
                    match c {
                        '\\' => match self.escape()? {
                            Escape::Char(c, written) => self.char_atom(c, written),
                            Escape::Class(set) => Atom::Class(set),
                            Escape::Look(look) => Atom::Look(look),
                        },
                        '.' => Atom::Class(self.dot()),
                        '^' => Atom::Look(Look::Start),
                        '$' => Atom::Look(Look::End),
                        c => self.char_atom(c, Literal::Plain),
                    }
                }
            };
            sequence.push(Piece {
                atom,
                repeats: Vec::new(),
                start,
                end: self.at,
            });
        }
        self.depth -= 1;
        alternatives.push(sequence);
        Ok(alternatives)
    }

    fn char_atom(&self, c: char, written: Literal) -> Atom {
        let set = if self.flags.case_insensitive {
            fold(of(c))
        } else {
            of(c)
        };
        Atom::Char { c, written, set }
    }

    fn dot(&self) -> Set {
        if self.flags.dot_matches_new_line {
            ASCII
        } else if self.flags.crlf {
            ASCII & !(1 << b'\n') & !(1 << b'\r')
        } else {
            ASCII & !(1 << b'\n')
        }
    }

    /// `?`, `*`, `+`, `{m}`, `{m,}` or `{m,n}`, each optionally followed by `?` (lazy).
    fn repetition(&mut self) -> Result<(u32, Option<u32>), RegexError> {
        let bounds = match self.bump() {
            Some('?') => (0, Some(1)),
            Some('*') => (0, None),
            Some('+') => (1, None),
            _ => {
                let min = self.decimal()?;
                let max = if self.eat(",") {
                    if self.peek() == Some('}') {
                        None
                    } else {
                        Some(self.decimal()?)
                    }
                } else {
                    Some(min)
                };
                if !self.eat("}") {
                    return self.fail("a counted repetition is not closed with `}`");
                }
                if max.is_some_and(|max| min > max) {
                    return self.fail("a counted repetition's minimum is above its maximum");
                }
                (min, max)
            }
        };
        self.eat("?");
        Ok(bounds)
    }

    /// Decimal digits, which may be surrounded by spaces (as regex-lite reads them).
    fn decimal(&mut self) -> Result<u32, RegexError> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        let start = self.at;
        let mut value: Option<u32> = Some(0);
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            self.at += 1;
            value = value.and_then(|v| v.checked_mul(10)).and_then(|v| v.checked_add(d));
        }
        let digits = self.at - start;
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        match value {
            _ if digits == 0 => self.fail("a counted repetition needs a decimal number"),
            Some(v) => Ok(v),
            None => self.fail("a counted repetition's number is too large"),
        }
    }

    /// After `\`.
    fn escape(&mut self) -> Result<Escape, RegexError> {
        let Some(c) = self.bump() else {
            return self.fail("the pattern ends in `\\`");
        };
        Ok(match c {
            '0'..='9' => return self.fail("backreferences are not supported"),
            'p' | 'P' => return self.fail("Unicode classes are not supported"),
            'x' | 'u' | 'U' => Escape::Char(self.hex(c)?, Literal::Coded),
            'd' => Escape::Class(DIGIT),
            's' => Escape::Class(SPACE),
            'w' => Escape::Class(WORD),
            'D' => Escape::Class(!DIGIT),
            'S' => Escape::Class(!SPACE),
            'W' => Escape::Class(!WORD),
            c if is_escapable(c) => Escape::Char(c, Literal::Plain),
            'a' => Escape::Char('\x07', Literal::Coded),
            'f' => Escape::Char('\x0C', Literal::Coded),
            't' => Escape::Char('\t', Literal::Coded),
            'n' => Escape::Char('\n', Literal::Coded),
            'r' => Escape::Char('\r', Literal::Coded),
            'v' => Escape::Char('\x0B', Literal::Coded),
            'A' => Escape::Look(Look::Start),
            'z' => Escape::Look(Look::End),
            'b' => Escape::Look(self.word_boundary()?),
            'B' => Escape::Look(Look::NotWordBoundary),
            '<' => Escape::Look(Look::WordStart),
            '>' => Escape::Look(Look::WordEnd),
            _ => return self.fail("unrecognized escape sequence"),
        })
    }

    /// After `\b`: `{start}`, `{end}`, `{start-half}`, `{end-half}`, or nothing (a `{` before a
    /// digit starts a repetition of `\b`).
    fn word_boundary(&mut self) -> Result<Look, RegexError> {
        if self.peek() != Some('{') {
            return Ok(Look::WordBoundary);
        }
        let name_char = |c: char| c.is_ascii_alphabetic() || c == '-';
        match self.peek_second() {
            None => return self.fail("the pattern ends after `\\b{`"),
            Some(c) if !name_char(c) => return Ok(Look::WordBoundary),
            Some(_) => {}
        }
        self.at += 1;
        let start = self.at;
        while self.peek().is_some_and(name_char) {
            self.at += 1;
        }
        let name = self.src.get(start..self.at).unwrap_or_default();
        if !self.eat("}") {
            return self.fail("a `\\b{...}` assertion is not closed with `}`");
        }
        Ok(match name {
            "start" => Look::WordStart,
            "end" => Look::WordEnd,
            "start-half" => Look::WordStartHalf,
            "end-half" => Look::WordEndHalf,
            _ => return self.fail("unrecognized `\\b{...}` assertion"),
        })
    }

    /// `\xNN`, `\uNNNN`, `\UNNNNNNNN` or `\x{...}` (any of the three letters), after the letter.
    fn hex(&mut self, letter: char) -> Result<char, RegexError> {
        let braced = self.eat("{");
        let fixed = match letter {
            'x' => 2,
            'u' => 4,
            _ => 8,
        };
        // `None` once the number no longer fits in 32 bits.
        let mut value: Option<u32> = Some(0);
        let mut digits = 0;
        loop {
            if braced && self.eat("}") {
                break;
            }
            if !braced && digits == fixed {
                break;
            }
            let Some(d) = self.bump().and_then(|c| c.to_digit(16)) else {
                return self.fail("a hexadecimal escape holds something other than hex digits");
            };
            value = value.and_then(|v| v.checked_mul(16)).and_then(|v| v.checked_add(d));
            digits += 1;
        }
        if digits == 0 {
            return self.fail("an empty hexadecimal escape `\\x{}`");
        }
        match value.and_then(char::from_u32) {
            Some(c) => Ok(c),
            None => self.fail("a hexadecimal escape that names no character"),
        }
    }

    /// A bracketed class, after `[`.
    fn class(&mut self) -> Result<Set, RegexError> {
        const UNCLOSED: &str = "a character class is not closed with `]`";
        let negated = self.eat("^");
        let mut set: Set = 0;
        let mut empty = true;
        while self.eat("-") {
            set |= of('-');
            empty = false;
        }
        if empty && self.eat("]") {
            set |= of(']');
        }
        loop {
            match self.peek() {
                None => return self.fail(UNCLOSED),
                Some('[') => match self.posix_class() {
                    Some(class) => set |= class,
                    None => return self.fail("nested classes are not supported (only `[:name:]`)"),
                },
                Some(']') => {
                    self.at += 1;
                    break;
                }
                Some(c @ ('&' | '-' | '~')) if self.peek_second() == Some(c) => {
                    return self.fail("class set operations (`&&`, `--`, `~~`) are not supported")
                }
                Some(_) => {
                    let first = self.class_item()?;
                    let range_follows = self.peek() == Some('-') && !matches!(self.peek_second(), Some(']' | '-'));
                    if self.peek().is_none() {
                        return self.fail(UNCLOSED);
                    }
                    if !range_follows {
                        set |= first.set(self.flags);
                        continue;
                    }
                    self.at += 1;
                    if self.peek().is_none() {
                        return self.fail(UNCLOSED);
                    }
                    let last = self.class_item()?;
                    match (first.endpoint(self.flags), last.endpoint(self.flags)) {
                        (Some(a), Some(b)) if a <= b => set |= range(a, b),
                        (Some(_), Some(_)) => return self.fail("a class range runs backwards"),
                        _ => return self.fail("a class range's ends must be single characters"),
                    }
                }
            }
        }
        if self.flags.case_insensitive {
            set = fold(set);
        }
        Ok(if negated { !set } else { set })
    }

    fn class_item(&mut self) -> Result<ClassItem, RegexError> {
        match self.bump() {
            Some('\\') => match self.escape()? {
                Escape::Char(c, _) => Ok(ClassItem::Coded(c)),
                Escape::Class(set) => Ok(ClassItem::Class(set)),
                Escape::Look(_) => self.fail("an assertion cannot be part of a class"),
            },
            Some(c) => Ok(ClassItem::Plain(c)),
            None => self.fail("a character class is not closed with `]`"),
        }
    }

    /// `[:name:]` or `[:^name:]` at a `[` inside a class; `None` (nothing consumed) otherwise.
    fn posix_class(&mut self) -> Option<Set> {
        let rest = self.src.get(self.at..)?.strip_prefix("[:")?;
        let (negated, rest) = match rest.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        let (name, _) = rest.split_once(":]")?;
        if name.contains(':') {
            return None;
        }
        let set = posix_class(name)?;
        self.at += 2 + usize::from(negated) + name.len() + 2;
        Some(if negated { !set } else { set })
    }

    /// A group, after `(`, up to its `)` (left for the caller); [`Atom::Flags`] for a flag
    /// directive such as `(?i)`, which sets flags until the end of the enclosing group.
    fn group(&mut self) -> Result<Atom, RegexError> {
        self.at += 1;
        if self.eat("?=") || self.eat("?!") || self.eat("?<=") || self.eat("?<!") {
            return self.fail("look-around is not supported");
        }
        let capture = if self.eat("?P<") || self.eat("?<") {
            self.capture_name()?;
            true
        } else {
            !self.eat("?")
        };
        let mut flags = false;
        if !capture {
            let start = self.at;
            self.flags()?;
            flags = self.at > start;
            if self.peek() == Some(')') {
                if !flags {
                    return self.fail("an empty flag group `(?)`");
                }
                return Ok(Atom::Flags);
            }
            self.at += 1; // the `:` that `flags` stopped at
        }
        Ok(Atom::Group {
            alternatives: self.alternation()?,
            capture,
            flags,
        })
    }

    fn capture_name(&mut self) -> Result<(), RegexError> {
        let start = self.at;
        while let Some(c) = self.peek() {
            if c == '>' {
                break;
            }
            let allowed = c.is_ascii_alphabetic()
                || c == '_'
                || (self.at > start && (c.is_ascii_digit() || matches!(c, '.' | '[' | ']')));
            if !allowed {
                return self.fail("a capture group name may hold ASCII letters, digits, `_`, `.`, `[` and `]`, and starts with a letter or `_`");
            }
            self.at += 1;
        }
        let name = self.src.get(start..self.at).unwrap_or_default();
        if !self.eat(">") {
            return self.fail("a capture group name is not closed with `>`");
        }
        if name.is_empty() {
            return self.fail("an empty capture group name");
        }
        if self.names.contains(&name) {
            return self.fail("two capture groups have the same name");
        }
        self.names.push(name);
        Ok(())
    }

    /// Flags up to the `:` or `)` that ends them (not consumed).
    fn flags(&mut self) -> Result<(), RegexError> {
        let mut negate = false;
        let mut last_was_negation = false;
        let mut seen = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.fail("a flag group is not closed");
            };
            if c == ':' || c == ')' {
                break;
            }
            if c == '-' {
                if negate {
                    return self.fail("a flag group negates twice");
                }
                negate = true;
                last_was_negation = true;
            } else {
                last_was_negation = false;
                let on = !negate;
                match c {
                    'i' => self.flags.case_insensitive = on,
                    's' => self.flags.dot_matches_new_line = on,
                    'R' => self.flags.crlf = on,
                    // Multi-line anchors, swapped greed and Unicode mode change nothing on an
                    // ASCII text without line breaks when only a yes/no answer is asked.
                    'm' | 'U' | 'u' => {}
                    'x' => return self.fail("the `x` flag is not supported in origin regexes"),
                    _ => return self.fail("unrecognized flag"),
                }
                if seen.contains(c) {
                    return self.fail("a flag is given twice");
                }
                seen.push(c);
            }
            self.at += c.len_utf8();
        }
        if last_was_negation {
            return self.fail("a flag group ends in `-`");
        }
        Ok(())
    }
}

/// An item of a class before we know whether it starts a range.
enum ClassItem {
    /// A character written as itself.
    Plain(char),
    /// A character written as an escape (`\-`, `\x41`).
    Coded(char),
    Class(Set),
}

impl ClassItem {
    fn set(&self, flags: Flags) -> Set {
        match *self {
            ClassItem::Plain(c) => of(c),
            ClassItem::Coded(c) if flags.case_insensitive => fold(of(c)),
            ClassItem::Coded(c) => of(c),
            ClassItem::Class(set) => set,
        }
    }

    /// The character when the item can end a range. regex-lite reads an escaped letter under
    /// the `i` flag as a class of both cases, which cannot end a range; so does this.
    fn endpoint(&self, flags: Flags) -> Option<char> {
        match *self {
            ClassItem::Plain(c) => Some(c),
            ClassItem::Coded(c) if flags.case_insensitive && c.is_ascii_alphabetic() => None,
            ClassItem::Coded(c) => Some(c),
            ClassItem::Class(_) => None,
        }
    }
}

/// One state of the automaton. The next state of `Set` and `Look` is the one after it.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Consume one character of the set.
    Set(Set),
    Look(Look),
    /// Go on at both states.
    Split(usize, usize),
    Jump(usize),
    Match,
}

struct Compiler {
    states: Vec<State>,
    /// What compiled to no state but counts towards [`MAX_STATES`].
    weight: usize,
}

impl Compiler {
    fn charge(&mut self, weight: usize) -> Result<(), RegexError> {
        self.weight += weight;
        if self.states.len() + self.weight > MAX_STATES {
            return Err(error("the pattern is too large (more than 4096 automaton states)", 0));
        }
        Ok(())
    }

    fn push(&mut self, state: State) -> Result<usize, RegexError> {
        self.states.push(state);
        self.charge(0)?;
        Ok(self.states.len() - 1)
    }

    fn patch(&mut self, at: usize, state: State) {
        if let Some(slot) = self.states.get_mut(at) {
            *slot = state;
        }
    }

    /// Alternatives one after the other: each but the last behind a split, each ending in a
    /// jump past the rest.
    fn alternatives(&mut self, alternatives: &[Vec<Piece>]) -> Result<(), RegexError> {
        let mut exits = Vec::new();
        let mut rest = alternatives.iter().peekable();
        while let Some(sequence) = rest.next() {
            if rest.peek().is_none() {
                self.sequence(sequence)?;
                break;
            }
            let split = self.push(State::Jump(0))?;
            self.sequence(sequence)?;
            exits.push(self.push(State::Jump(0))?);
            let next = self.states.len();
            self.patch(split, State::Split(split + 1, next));
        }
        let end = self.states.len();
        for exit in exits {
            self.patch(exit, State::Jump(end));
        }
        Ok(())
    }

    fn sequence(&mut self, sequence: &[Piece]) -> Result<(), RegexError> {
        if sequence.is_empty() {
            self.charge(1)?;
        }
        sequence
            .iter()
            .try_for_each(|piece| self.repeated(&piece.atom, &piece.repeats))
    }

    /// `atom` under its quantifiers: the last one written is the outermost.
    fn repeated(&mut self, atom: &Atom, repeats: &[(u32, Option<u32>)]) -> Result<(), RegexError> {
        let Some((&(min, max), inner)) = repeats.split_last() else {
            return self.atom(atom);
        };
        // Every pass charges at least one unit, so these loops end at the limit.
        self.charge(1)?;
        for _ in 0..min {
            self.repeated(atom, inner)?;
        }
        match max {
            None => {
                let split = self.push(State::Jump(0))?;
                self.repeated(atom, inner)?;
                self.push(State::Jump(split))?;
                let end = self.states.len();
                self.patch(split, State::Split(split + 1, end));
            }
            Some(max) => {
                let mut skips = Vec::new();
                for _ in min..max {
                    skips.push(self.push(State::Jump(0))?);
                    self.repeated(atom, inner)?;
                }
                let end = self.states.len();
                for split in skips {
                    self.patch(split, State::Split(split + 1, end));
                }
            }
        }
        Ok(())
    }

    fn atom(&mut self, atom: &Atom) -> Result<(), RegexError> {
        match atom {
            Atom::Char { set, .. } | Atom::Class(set) => {
                self.push(State::Set(*set))?;
            }
            Atom::Look(look) => {
                self.push(State::Look(*look))?;
            }
            Atom::Group {
                alternatives, capture, ..
            } => {
                if *capture {
                    self.charge(2)?;
                }
                self.alternatives(alternatives)?;
            }
            Atom::Flags => {}
        }
        Ok(())
    }
}

/// The matcher's working memory for one text.
struct Run<'r> {
    states: &'r [State],
    text: &'r [u8],
    /// The generation in which each state was last added: a state enters a list once per
    /// position, which bounds the work and ends loops of empty matches (`(a*)*`).
    seen: Vec<u32>,
    generation: u32,
    stack: Vec<usize>,
}

impl Run<'_> {
    /// Add `id` and every state reachable from it without consuming a character, at offset
    /// `at`, to `list` (only the states that consume or accept are kept).
    fn add(&mut self, list: &mut Vec<usize>, id: usize, at: usize) {
        self.stack.push(id);
        while let Some(id) = self.stack.pop() {
            let Some(seen) = self.seen.get_mut(id) else { continue };
            if *seen == self.generation {
                continue;
            }
            *seen = self.generation;
            match self.states.get(id) {
                Some(State::Set(_) | State::Match) => list.push(id),
                Some(State::Look(look)) if look.holds(self.text, at) => self.stack.push(id + 1),
                Some(State::Split(first, second)) => {
                    self.stack.push(*second);
                    self.stack.push(*first);
                }
                Some(State::Jump(to)) => self.stack.push(*to),
                Some(State::Look(_)) | None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Xorshift;

    /// regex-lite's answer for the pattern as the filter uses it (`^(?:...)$`), or `None` when
    /// it refuses the pattern (as written, with the nest limit the filter used with it).
    fn reference(pattern: &str) -> Option<regex_lite::Regex> {
        let build = |p: &str| {
            regex_lite::RegexBuilder::new(p)
                .nest_limit(NEST_LIMIT)
                .size_limit(1 << 20)
                .build()
        };
        build(pattern).ok()?;
        build(&format!("^(?:{pattern})$")).ok()
    }

    /// Texts every comparison runs: canonical origins, the two a regex must never match, and
    /// short texts around word characters, case and punctuation.
    const TEXTS: &[&str] = &[
        "",
        "a",
        "A",
        "b",
        "ab",
        "aB",
        "Ab",
        "aa",
        "aaa",
        "_",
        "-",
        ".",
        ":",
        "/",
        "a-b",
        "a_b",
        "a.b",
        "a b",
        "\t",
        " ",
        "Z",
        "z",
        "`",
        "{",
        "~",
        "[",
        "]",
        "\x7f",
        "\0",
        "1",
        "12",
        "null",
        "*",
        "https://app.example.com",
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://a.b.example.com",
        "https://evilexample.com",
        "https://example.com",
        "https://pr-12.preview.example.com",
        "https://pr-x.preview.example.com",
        "http://localhost:3000",
        "http://[::1]:8080",
        "https://xn--bcher-kva.example",
    ];

    /// Patterns for every construct of the syntax, valid and not.
    const PATTERNS: &[&str] = &[
        r"",
        r"a",
        r"ab|a",
        r"a|",
        r"|a",
        r"(a|b)+",
        r"(?:a|b){2}",
        r"a{0}",
        r"a{1,}",
        r"a{ 1 , 2 }",
        r"a{2,1}",
        r"a{,2}",
        r"a{",
        r"a{1",
        r"a{1,",
        r"a{99999999999}",
        r"{1}",
        r"*",
        r"a**",
        r"a*?",
        r"a+?",
        r"a??",
        r"a{1,2}?",
        r"}",
        r"]",
        r"a)",
        r"(a",
        r"()",
        r"(){4000000000}",
        r"(a*)*",
        r"(a|)+b",
        r".",
        r".+",
        r"(?s).",
        r"(?R).",
        r"\.",
        r"\-",
        r"\/",
        r"\:",
        r"\%",
        r"\ ",
        r"\#",
        r"\&",
        r"\~",
        r"\e",
        r"\1",
        r"\pL",
        r"\PL",
        r"\x41",
        r"\x4",
        r"\x{41}",
        r"\x{}",
        r"\x{110000}",
        r"\x{000000041}",
        r"\u0041",
        r"\U00000041",
        r"\xZZ",
        r"\t",
        r"\n",
        r"\a\f\v\r",
        r"\",
        r"\d+",
        r"\D",
        r"\w+",
        r"\W",
        r"\s",
        r"\S+",
        r"\A\w+\z",
        r"\ba\b",
        r"\Ba",
        r"a\B",
        r"\<a",
        r"a\>",
        r"\b{start}a",
        r"a\b{end}",
        r"\b{start-half}a\b{end-half}",
        r"\b{5}a",
        r"\b{",
        r"\b{foo}a",
        r"\b{start",
        r"^a$",
        r"a^",
        r"$a",
        r"^*a",
        r"[a-c]+",
        r"[^a-c]",
        r"[]a]",
        r"[^]a]",
        r"[]",
        r"[^]",
        r"[",
        r"[a",
        r"[a-",
        r"[-a]",
        r"[a-]",
        r"[--a]",
        r"[a--b]",
        r"[a&&b]",
        r"[a~~b]",
        r"[c-a]",
        r"[!-[]",
        r"[\d-z]",
        r"[a-\d]",
        r"[\w.-]+",
        r"[\W]",
        r"[\D\S]",
        r"[\b]",
        r"[\A]",
        r"[\x41-\x43]",
        r"[\]]",
        r"[\[]",
        r"[[]",
        r"[a[]",
        r"[[:alpha:]]+",
        r"[[:^alpha:]]",
        r"[[:digit:][:lower:]]+",
        r"[[:alnum:][:blank:][:cntrl:][:graph:][:print:][:punct:][:space:][:upper:][:word:][:xdigit:][:ascii:]]",
        r"[[:foo:]]",
        r"[[:alpha]]",
        r"[é]",
        r"[a-é]",
        r"é",
        r"(?i)a",
        r"(?i)[a-c]",
        r"(?i)[^a]",
        r"(?i)[Z-a]",
        r"(?i)[Y-b]",
        r"(?i)[\x41-\x43]",
        r"(?i)[\x61-z]",
        r"(?i)\x41",
        r"(?i)[\x41]",
        r"(?i)\w",
        r"(?i)[[:lower:]]",
        r"(?i)[[:upper:]]",
        r"(?i)[\W]",
        r"(?i:a)b",
        r"a(?i)b",
        r"(a(?i)b)c",
        r"(?i)a|b",
        r"(?-i)a",
        r"(?i-i)a",
        r"(?i)(?-i:a)b",
        r"(?im)a",
        r"(?sU)a.b",
        r"(?u)a",
        r"(?)",
        r"(?-)",
        r"(?i-)",
        r"(?--i)",
        r"(?ii)",
        r"(?q)",
        r"(?i",
        r"(?",
        r"(?:",
        r"(?=a)",
        r"(?!a)",
        r"(?<=a)",
        r"(?<!a)",
        r"(?P<n>a)",
        r"(?<n>a)(?<m>b)",
        r"(?<n>a)(?<n>b)",
        r"(?P<>a)",
        r"(?P<1a>a)",
        r"(?P<a.b[0]>a)",
        r"(?P<n",
        r"(?P<",
        r"(?P<n>a",
        r"((((((((((a))))))))))",
        r"https://app\.example\.com",
        r"https?://app\.example\.com",
        r"https://[a-z0-9-]+\.example\.com",
        r"https://pr-[0-9]+\.preview\.example\.com",
        r"https://([a-z0-9-]+\.)*example\.com(:[0-9]+)?",
        r"https://(www\.)?example\.com",
        r"https://.*example\.com",
        r"http://localhost(:\d{1,5})?",
        r"http://\[::1\](:[0-9]+)?",
        r"https://[^/]+\.example\.com",
        r"https?://.+",
        r"(?i)HTTPS://APP\.EXAMPLE\.COM",
        r"null|\*",
    ];

    fn compare(pattern: &str, texts: &[&str]) {
        let ours = Regex::new(pattern);
        match (ours, reference(pattern)) {
            (Ok(ours), Some(theirs)) => {
                for text in texts {
                    assert_eq!(
                        ours.is_match(text),
                        theirs.is_match(text),
                        "pattern {pattern:?} on {text:?}"
                    );
                }
            }
            (Err(_), None) => {}
            (Ok(_), None) => panic!("{pattern:?}: accepted here, refused by regex-lite"),
            (Err(e), Some(_)) => panic!("{pattern:?}: refused here ({e}), accepted by regex-lite"),
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn every_construct_is_accepted_and_matched_as_regex_lite_does() {
        let mut accepted = 0;
        for pattern in PATTERNS {
            compare(pattern, TEXTS);
            accepted += usize::from(Regex::new(pattern).is_ok());
        }
        // Both kinds are well represented, so neither half of the comparison is vacuous.
        assert!(
            accepted > 100 && PATTERNS.len() - accepted > 50,
            "{accepted} of {}",
            PATTERNS.len()
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn random_patterns_are_accepted_and_matched_as_regex_lite_does() {
        const TOKENS: &[&str] = &[
            "a",
            "b",
            "A",
            "B",
            "z",
            "Z",
            "_",
            "-",
            ".",
            ":",
            "/",
            "1",
            " ",
            r"\.",
            r"\-",
            r"\d",
            r"\w",
            r"\W",
            r"\s",
            r"\D",
            "[a-c]",
            "[^a]",
            "[A-b]",
            "[Z-a]",
            "[_-]",
            "[^-.]",
            "[[:alpha:]]",
            "[[:^digit:]]",
            "(",
            ")",
            "(",
            ")",
            "(?:",
            "(?i)",
            "(?i:",
            "(?-i)",
            "(?s)",
            "(?P<n>",
            "|",
            "|",
            "*",
            "+",
            "?",
            "*?",
            "{2}",
            "{1,3}",
            "{0,}",
            "{0}",
            "^",
            "$",
            r"\b",
            r"\B",
            r"\<",
            r"\>",
            r"\A",
            r"\z",
            r"\b{start}",
            r"\b{end-half}",
            r"\x41",
            r"\x{62}",
            "[",
            "]",
            "{",
            "}",
            r"\",
            "é",
            "(?m)",
            "(?U)",
            "(?R)",
            "(?is)",
            r"[\x41-\x43]",
            "[^\\W_]",
            "{1",
            ",",
            "(?<",
            ">",
        ];
        const ALPHABET: &[&str] = &["a", "b", "A", "B", "z", "Z", "_", "-", ".", ":", "/", "1", " "];
        let mut random = Xorshift(0x9E37_79B9_7F4A_7C15);
        let mut accepted = 0;
        let rounds = 20_000;
        for _ in 0..rounds {
            let length = 1 + random.below(8);
            let pattern: String = (0..length).map(|_| random.pick(TOKENS)).collect();
            let mut texts: Vec<String> = TEXTS.iter().map(|t| t.to_string()).collect();
            for _ in 0..30 {
                let n = random.below(6);
                texts.push((0..n).map(|_| random.pick(ALPHABET)).collect());
            }
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            compare(&pattern, &texts);
            accepted += usize::from(Regex::new(&pattern).is_ok());
        }
        assert!(
            accepted > rounds / 5 && accepted < rounds * 4 / 5,
            "{accepted} of {rounds} accepted"
        );
    }

    /// The first alternative's atoms, for the reading tests.
    fn atoms(pattern: &str) -> Vec<Atom> {
        let mut alternatives = parse(pattern).unwrap();
        alternatives.remove(0).into_iter().map(|piece| piece.atom).collect()
    }

    fn plain(c: char) -> Atom {
        Atom::Char {
            c,
            written: Literal::Plain,
            set: of(c),
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_reading_keeps_how_each_character_was_written_and_each_class_as_its_ascii_set() {
        let class = |set: Set| vec![Atom::Class(set)];
        assert_eq!(atoms(r"[]a]"), class(of(']') | of('a')));
        assert_eq!(atoms(r"[^]a]"), class(!(of(']') | of('a'))));
        assert_eq!(atoms(r"[-0-9]"), class(DIGIT | of('-')));
        assert_eq!(atoms(r"[0-9-]"), class(DIGIT | of('-')));
        assert_eq!(atoms(r"[\d]"), class(DIGIT));
        assert_eq!(atoms(r"[[:digit:]x]"), class(DIGIT | of('x')));
        assert_eq!(atoms(r"[.]"), class(of('.')));
        assert_eq!(atoms(r"[\]]"), class(of(']')));
        assert_eq!(atoms(r"[ä-ö]"), class(0));
        let coded = |c: char| Atom::Char {
            c,
            written: Literal::Coded,
            set: of(c),
        };
        assert_eq!(atoms(r"\x2e"), vec![coded('.')]);
        assert_eq!(atoms(r"\x{2e}a"), vec![coded('.'), plain('a')]);
        assert_eq!(atoms(r"\u002ea\n"), vec![coded('.'), plain('a'), coded('\n')]);
        assert_eq!(atoms(r"\.\-\/\:"), vec![plain('.'), plain('-'), plain('/'), plain(':')]);
        assert_eq!(
            atoms(r"\b{start}a\A"),
            vec![Atom::Look(Look::WordStart), plain('a'), Atom::Look(Look::Start)]
        );
        assert_eq!(atoms(r"a]}"), vec![plain('a'), plain(']'), plain('}')]);
        assert_eq!(
            atoms(r"(?i)a"),
            vec![
                Atom::Flags,
                Atom::Char {
                    c: 'a',
                    written: Literal::Plain,
                    set: of('a') | of('A')
                }
            ]
        );
        // `|` splits only at its own level: not inside groups or classes.
        assert_eq!(parse(r"a(b|c)[|]|d").unwrap().len(), 2);
        match &atoms(r"(?:a|b)(c)(?s:d)")[..] {
            [Atom::Group {
                alternatives: first,
                capture: false,
                flags: false,
            }, Atom::Group {
                capture: true,
                flags: false,
                ..
            }, Atom::Group {
                capture: false,
                flags: true,
                ..
            }] => assert_eq!(first.len(), 2),
            other => panic!("{other:?}"),
        }
        // Quantifiers, lazy ones too, attach to the atom before them, in the order written.
        let text = r"a{2,}?b??(c)+d{2}*";
        let pieces = parse(text).unwrap().remove(0);
        let repeats: Vec<_> = pieces.iter().map(|p| p.repeats.clone()).collect();
        assert_eq!(
            repeats,
            vec![
                vec![(2, None)],
                vec![(0, Some(1))],
                vec![(1, None)],
                vec![(2, Some(2)), (0, None)]
            ]
        );
        let texts: Vec<_> = pieces.iter().map(|p| &text[p.start..p.end]).collect();
        assert_eq!(texts, ["a{2,}?", "b??", "(c)+", "d{2}*"]);
        // A `)` that closes nothing is not read as the end of the pattern.
        assert!(parse(r"a)|(b").is_err());
        // Characters outside ASCII are read whole, and pieces keep their exact text.
        let wide = "ü(é|ß)+[ä-ö]\\u00e9";
        let pieces = parse(wide).unwrap().remove(0);
        let texts: Vec<_> = pieces.iter().map(|p| &wide[p.start..p.end]).collect();
        assert_eq!(texts, ["ü", "(é|ß)+", "[ä-ö]", "\\u00e9"]);
        assert_eq!(pieces[0].atom, plain('ü'));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_x_flag_is_refused_though_regex_lite_reads_it() {
        for pattern in [r"(?x)a b", r"(?x:a)", r"(?-x)a", r"a(?ix)"] {
            assert!(reference(pattern).is_some(), "{pattern}");
            let error = Regex::new(pattern).map(|_| ()).unwrap_err().to_string();
            assert!(error.starts_with("the `x` flag is not supported"), "{pattern}: {error}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn errors_say_what_is_wrong_and_at_which_byte() {
        let error = |p: &str| Regex::new(p).map(|_| ()).unwrap_err().to_string();
        assert_eq!(error("ab(c"), "a group is not closed with `)` (at byte 4)");
        assert_eq!(error("a)"), "`)` closes no group (at byte 1)");
        assert_eq!(error("[a"), "a character class is not closed with `]` (at byte 2)");
        assert_eq!(error("*a"), "a repetition with nothing before it to repeat (at byte 0)");
        assert_eq!(error(r"a\q"), "unrecognized escape sequence (at byte 3)");
        assert_eq!(
            error("a{3,1}"),
            "a counted repetition's minimum is above its maximum (at byte 6)"
        );
        assert_eq!(
            error("(?<n>a)(?<n>b)"),
            "two capture groups have the same name (at byte 12)"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_pattern_past_the_state_limit_is_refused_and_one_at_it_compiles() {
        // 4094 states for the characters, one unit for the repetition, the final `Match`.
        assert!(Regex::new("a{4094}").is_ok());
        let error = Regex::new("a{4095}").map(|_| ()).unwrap_err().to_string();
        assert!(error.starts_with("the pattern is too large"), "{error}");
        assert!(Regex::new("(a{100}){100}").is_err());
        // Repeating what compiles to nothing still counts, so a huge count ends at the limit.
        for pattern in ["(){4000000000}", "(?:){4000000000,}", "(a{0}){4000000000}"] {
            let error = Regex::new(pattern).map(|_| ()).unwrap_err().to_string();
            assert!(error.starts_with("the pattern is too large"), "{pattern}: {error}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn nesting_is_limited_as_regex_lite_limits_it() {
        for depth in [10, 24, 25, 26, 49, 50, 51, 52, 60] {
            let pattern = format!("{}a{}", "(".repeat(depth), ")".repeat(depth));
            assert_eq!(Regex::new(&pattern).is_ok(), reference(&pattern).is_some(), "{depth}");
            let pattern = format!("a{}", "*".repeat(depth));
            assert_eq!(Regex::new(&pattern).is_ok(), reference(&pattern).is_some(), "{depth} *");
            let pattern = format!("{}a{}", "(?:".repeat(depth), ")".repeat(depth));
            assert_eq!(
                Regex::new(&pattern).is_ok(),
                reference(&pattern).is_some(),
                "{depth} (?:"
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn nested_empty_loops_end_and_match_linearly() {
        let r = Regex::new("(a*)*(b?)*+(|a)*c").unwrap();
        let long = "a".repeat(2000);
        assert!(!r.is_match(&long));
        assert!(r.is_match(&format!("{long}c")));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_byte_outside_ascii_matches_nothing() {
        let r = Regex::new(".").unwrap();
        assert!(r.is_match("a") && !r.is_match("é"));
        let r = Regex::new("[^a]").unwrap();
        assert!(r.is_match("b") && !r.is_match("é"));
    }
}
