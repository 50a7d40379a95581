//! Layer 1, the CORS rules: origin parsing and matching, the per-header rules, which policy a
//! request falls under, and [`decide::decide`], the pure CORS decision. Nothing here knows of
//! JSON, metrics, rollout or debug headers; configuration builds these pieces and reports what
//! they refuse through [`Findings`].

pub(crate) mod allow_headers;
pub(crate) mod allow_methods;
pub(crate) mod decide;
pub(crate) mod decimal;
pub(crate) mod expose_headers;
pub(crate) mod hash;
pub(crate) mod headers;
pub(crate) mod max_age;
pub(crate) mod origin;
pub(crate) mod origin_matcher;
pub(crate) mod origin_regex;
pub(crate) mod origin_set;
pub(crate) mod policy;
pub(crate) mod public_suffix;
pub(crate) mod regex;
pub(crate) mod route_match;
pub(crate) mod token;
pub(crate) mod vary;

/// Where a rule's builder reports a configured entry it refuses (`refuse`: the configuration
/// does not load) or questions (`question`: it loads, with a warning). `path` is the entry's
/// JSON path and `value` the entry as written; the configuration layer records both with the
/// issue `I`, so the rules never depend on how errors are stored or rendered.
pub(crate) trait Findings<I> {
    fn refuse(&mut self, path: &str, value: &str, issue: I);
    fn question(&mut self, path: &str, value: &str, issue: I);
}

/// The findings of a builder, for the rules' own unit tests.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct Collected<I> {
    /// (path, issue) of every refused entry.
    pub(crate) errors: Vec<(String, I)>,
    /// (path, issue) of every questioned entry.
    pub(crate) warnings: Vec<(String, I)>,
}

#[cfg(test)]
impl<I> Default for Collected<I> {
    fn default() -> Self {
        Collected {
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

#[cfg(test)]
impl<I: PartialEq> Collected<I> {
    /// True when `issue` was refused at `path`.
    pub(crate) fn has(&self, path: &str, issue: &I) -> bool {
        self.errors.iter().any(|(p, i)| p == path && i == issue)
    }
}

#[cfg(test)]
impl<I, J: Into<I>> Findings<J> for Collected<I> {
    fn refuse(&mut self, path: &str, _value: &str, issue: J) {
        self.errors.push((path.to_string(), issue.into()));
    }
    fn question(&mut self, path: &str, _value: &str, issue: J) {
        self.warnings.push((path.to_string(), issue.into()));
    }
}

/// A small deterministic generator (xorshift64) for the rules' randomized tests: a fixed seed
/// makes every failure a reproducible case.
#[cfg(test)]
pub(crate) struct Xorshift(pub(crate) u64);

#[cfg(test)]
impl Xorshift {
    /// A number below `n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// One of `from` (not empty).
    pub(crate) fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}
