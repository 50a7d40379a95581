//! Line numbers of the nodes of a YAML (or JSON) file, by path, so that a finding at a JSON
//! path such as `policies[0].allow_origins[2]` can name the line it comes from.
//!
//! serde_yaml_ng, which reads the values, keeps no positions; yaml-rust2's event parser gives
//! each event its line, and this module indexes every node of every document by its path. A
//! file yaml-rust2 cannot read simply has no line numbers (serde_yaml_ng's own error, with its
//! position, is what the checker reports then).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One step of a path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// Where a node is: the line of its key (for a mapping value) or of the node itself; for a
/// string scalar also its own line, its style and its text, so that positions inside a JSON
/// string (an Envoy `StringValue`) can be mapped to lines of the file.
#[derive(Debug, Clone)]
struct Pos {
    line: usize,
    scalar: Option<(usize, TScalarStyle, String)>,
}

/// Every node of every document of a file, by path.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    docs: Vec<HashMap<Vec<Seg>, Pos>>,
}

/// A JSON path as the core prints it (`$`, `policies[0].match.hosts[1]`) as segments.
pub(crate) fn parse_json_path(path: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    if path == "$" {
        return segs;
    }
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => part.split_at(i),
            None => (part, ""),
        };
        if !key.is_empty() {
            segs.push(Seg::Key(key.to_string()));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            let (digits, after) = stripped.split_at(end);
            match digits.parse() {
                Ok(i) => segs.push(Seg::Index(i)),
                Err(_) => segs.push(Seg::Key(format!("[{digits}]"))),
            }
            rest = after.get(1..).unwrap_or("");
        }
    }
    segs
}

impl Lines {
    /// Index `text`; empty when yaml-rust2 cannot read it.
    pub(crate) fn of(text: &str) -> Lines {
        let mut index = Indexer::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut index, true).is_err() {
            return Lines::default();
        }
        Lines { docs: index.docs }
    }

    /// The line of the node at `node` (document `doc`, counted from 0), or of its deepest
    /// ancestor that exists (an absent `pluginConfig` is reported at `spec`).
    pub(crate) fn node_line(&self, doc: usize, node: &[Seg]) -> Option<usize> {
        self.line_below(doc, node, &[])
    }

    /// The line of `inner` below the node `node` of document `doc`: the deepest part of the
    /// path that exists (a missing field is reported where its object is).
    pub(crate) fn line_below(&self, doc: usize, node: &[Seg], inner: &[Seg]) -> Option<usize> {
        let map = self.docs.get(doc)?;
        let mut path: Vec<Seg> = node.to_vec();
        path.extend_from_slice(inner);
        loop {
            if let Some(pos) = map.get(&path) {
                return Some(pos.line);
            }
            path.pop()?;
        }
    }

    /// The line of `inner` inside the JSON text held by the string scalar at `node`: a
    /// literal block (`value: |`) keeps the lines of its text, so they map one to one; any
    /// other style gives the line of the scalar.
    pub(crate) fn line_in_string(&self, doc: usize, node: &[Seg], inner: &[Seg]) -> Option<usize> {
        let pos = self.docs.get(doc)?.get(node)?;
        let (line, style, text) = pos.scalar.as_ref()?;
        if *style != TScalarStyle::Literal {
            return Some(*line);
        }
        let nested = Lines::of(text);
        // yaml-rust2 marks a literal block where its text starts (the line after its `|`).
        let inside = nested.line_below(0, &[], inner).unwrap_or(1);
        Some(line + inside.saturating_sub(1))
    }
}

/// The parser's events, turned into paths: a stack of open mappings and sequences.
#[derive(Default)]
struct Indexer {
    docs: Vec<HashMap<Vec<Seg>, Pos>>,
    stack: Vec<Frame>,
}

enum Frame {
    /// A mapping: its path, and the key whose value comes next (with the key's line), or
    /// None when a key comes next.
    Map {
        path: Vec<Seg>,
        key: Option<(Seg, usize)>,
    },
    Seq {
        path: Vec<Seg>,
        next: usize,
    },
    /// A complex key (a mapping or sequence used as a key): skipped, with its depth.
    Skip {
        depth: usize,
    },
}

enum Start {
    Scalar(String, TScalarStyle),
    Container(bool),
    Alias,
}

impl Indexer {
    fn doc(&mut self) -> Option<&mut HashMap<Vec<Seg>, Pos>> {
        self.docs.last_mut()
    }

    /// A node starts: find its path, record it, open a frame for a container.
    fn start(&mut self, start: Start, mark: Marker) {
        let line = mark.line();
        if let Some(Frame::Skip { depth }) = self.stack.last_mut() {
            if matches!(start, Start::Container(_)) {
                *depth += 1;
            }
            return;
        }
        let (path, key_line) = match self.stack.last_mut() {
            None => (Vec::new(), line),
            Some(Frame::Map { path, key }) => match key.take() {
                Some((seg, key_line)) => {
                    let mut p = path.clone();
                    p.push(seg);
                    (p, key_line)
                }
                None => {
                    // This node is a key.
                    match start {
                        Start::Scalar(text, _) => *key = Some((Seg::Key(text), line)),
                        Start::Alias => *key = Some((Seg::Key(String::new()), line)),
                        Start::Container(_) => self.stack.push(Frame::Skip { depth: 1 }),
                    }
                    return;
                }
            },
            Some(Frame::Seq { path, next }) => {
                let mut p = path.clone();
                p.push(Seg::Index(*next));
                *next += 1;
                (p, line)
            }
            Some(Frame::Skip { .. }) => return,
        };
        let scalar = match &start {
            Start::Scalar(text, style) => Some((line, *style, text.clone())),
            _ => None,
        };
        if let Some(doc) = self.doc() {
            doc.insert(path.clone(), Pos { line: key_line, scalar });
        }
        match start {
            Start::Container(true) => self.stack.push(Frame::Map { path, key: None }),
            Start::Container(false) => self.stack.push(Frame::Seq { path, next: 0 }),
            _ => {}
        }
    }

    fn end(&mut self) {
        if let Some(Frame::Skip { depth }) = self.stack.last_mut() {
            *depth -= 1;
            if *depth == 0 {
                self.stack.pop();
                // The skipped node was a key; its value follows, under no usable name.
                if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                    *key = Some((Seg::Key(String::new()), 0));
                }
            }
            return;
        }
        self.stack.pop();
    }
}

impl MarkedEventReceiver for Indexer {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::DocumentStart => {
                self.docs.push(HashMap::new());
                self.stack.clear();
            }
            Event::Scalar(text, style, _, _) => self.start(Start::Scalar(text, style), mark),
            Event::Alias(_) => self.start(Start::Alias, mark),
            Event::MappingStart(..) => self.start(Start::Container(true), mark),
            Event::SequenceStart(..) => self.start(Start::Container(false), mark),
            Event::MappingEnd | Event::SequenceEnd => self.end(),
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Seg {
        Seg::Key(k.to_string())
    }

    #[test]
    fn a_json_path_becomes_keys_and_indexes() {
        assert_eq!(parse_json_path("$"), vec![]);
        assert_eq!(
            parse_json_path("policies[0].match.hosts[12]"),
            vec![
                key("policies"),
                Seg::Index(0),
                key("match"),
                key("hosts"),
                Seg::Index(12)
            ]
        );
    }

    #[test]
    fn every_node_of_every_document_has_its_line() {
        let text = "a: 1\n---\nkind: X\nspec:\n  list:\n  - one\n  - {x: 2}\n";
        let lines = Lines::of(text);
        assert_eq!(lines.node_line(0, &[key("a")]), Some(1));
        assert_eq!(lines.node_line(1, &[key("spec")]), Some(4));
        assert_eq!(lines.node_line(1, &[key("spec"), key("list"), Seg::Index(1)]), Some(7));
        assert_eq!(
            lines.line_below(1, &[key("spec")], &[key("list"), Seg::Index(1), key("x")]),
            Some(7)
        );
        // A path that does not exist is reported at its deepest existing part.
        assert_eq!(
            lines.line_below(1, &[key("spec")], &[key("list"), key("nope")]),
            Some(5)
        );
    }

    #[test]
    fn a_literal_block_of_json_maps_its_lines_one_to_one() {
        let text = "value: |\n  {\n    \"policies\": [\n      {\"name\": \"x\"}\n    ]\n  }\nother: '{\"a\": 1}'\n";
        let lines = Lines::of(text);
        let inner = [key("policies"), Seg::Index(0), key("name")];
        assert_eq!(lines.line_in_string(0, &[key("value")], &inner), Some(4));
        assert_eq!(lines.line_in_string(0, &[key("other")], &[key("a")]), Some(7));
    }

    #[test]
    fn a_file_yaml_rust2_cannot_read_has_no_lines() {
        assert_eq!(Lines::of("a: [1, 2\n").node_line(0, &[key("a")]), None);
    }
}
