//! Plan: the cheapest sequence of transitions from a state of tags to one where the wanted
//! tests hold.
//!
//! This is the pure half of the `plan` statement: no files, no commands, no Goalfile. The
//! evaluator renders the Goalfile's transitions for one `plan` (their templates filled in) into
//! the types here, asks [`search`] for a plan, and runs its steps. Keeping the search free of
//! I/O is what lets it be checked against an exhaustive search on random instances.

mod quantity;
mod search;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use quantity::{Cost, CostFormula, Quantity, COST_FORMS, QUANTITY_FORMS};
pub use search::{search, Failure, Found, Lost, Plan, RunnerUp, DEFAULT_LIMIT};

/// Tags are named like goals: `xz`, `format`, `disk-size`.
pub fn is_tag_name(name: &str) -> bool {
    crate::parse::is_callable_name(name)
}

/// A set of tags, some with values: `xz`, `format=raw`. Ordered, so equal states are equal
/// values and hash alike whatever order their tags were added in.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct State(BTreeMap<String, String>);

impl State {
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> State {
        State(
            pairs
                .into_iter()
                .map(|(tag, value)| (tag.to_string(), value.to_string()))
                .collect(),
        )
    }

    /// The tag's value; a tag without one has the empty value.
    pub fn get(&self, tag: &str) -> Option<&str> {
        self.0.get(tag).map(String::as_str)
    }

    pub fn apply(&mut self, effect: &Effect) {
        match effect {
            Effect::Add(tag) => {
                self.0.entry(tag.clone()).or_default();
            }
            Effect::Remove(tag) => {
                self.0.remove(tag);
            }
            Effect::Set(tag, value) => {
                self.0.insert(tag.clone(), value.clone());
            }
        }
    }
}

impl fmt::Display for State {
    /// `format=raw, size=4G, xz`; `(no tags)` for the empty state.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(no tags)");
        }
        for (i, (tag, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(tag)?;
            if !value.is_empty() {
                write!(f, "={value}")?;
            }
        }
        Ok(())
    }
}

/// The operator of `compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
    NotEqual,
}

impl Comparison {
    pub const ALL: [(&'static str, Comparison); 6] = [
        ("<", Comparison::Less),
        ("<=", Comparison::LessOrEqual),
        (">", Comparison::Greater),
        (">=", Comparison::GreaterOrEqual),
        ("==", Comparison::Equal),
        ("!=", Comparison::NotEqual),
    ];

    pub fn parse(text: &str) -> Option<Comparison> {
        Comparison::ALL
            .iter()
            .find(|(written, _)| *written == text)
            .map(|(_, comparison)| *comparison)
    }

    pub fn symbol(self) -> &'static str {
        Comparison::ALL
            .iter()
            .find(|(_, comparison)| *comparison == self)
            .map_or("?", |(written, _)| written)
    }

    fn holds(self, left: Quantity, right: Quantity) -> bool {
        match self {
            Comparison::Less => left < right,
            Comparison::LessOrEqual => left <= right,
            Comparison::Greater => left > right,
            Comparison::GreaterOrEqual => left >= right,
            Comparison::Equal => left == right,
            Comparison::NotEqual => left != right,
        }
    }
}

/// A condition on a state: a transition's `when`, a plan's `want`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    Has(String),
    Lacks(String),
    /// The tag has exactly this value.
    Is(String, String),
    /// The tag's value, read as a quantity, compares so with `value`. A tag that is absent or
    /// not a quantity fails every comparison.
    Compare {
        tag: String,
        comparison: Comparison,
        value: Quantity,
        /// `value` as written, for messages.
        written: String,
    },
}

impl Test {
    pub fn holds(&self, state: &State) -> bool {
        match self {
            Test::Has(tag) => state.get(tag).is_some(),
            Test::Lacks(tag) => state.get(tag).is_none(),
            Test::Is(tag, value) => state.get(tag) == Some(value.as_str()),
            Test::Compare {
                tag,
                comparison,
                value,
                ..
            } => state
                .get(tag)
                .and_then(Quantity::parse)
                .is_some_and(|left| comparison.holds(left, *value)),
        }
    }
}

impl fmt::Display for Test {
    /// As it would be written in a Goalfile, with its values filled in.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Test::Has(tag) => write!(f, "has {tag:?}"),
            Test::Lacks(tag) => write!(f, "lacks {tag:?}"),
            Test::Is(tag, value) => write!(f, "is {tag:?} {value:?}"),
            Test::Compare {
                tag,
                comparison,
                written,
                ..
            } => write!(f, "compare {tag:?} {:?} {written:?}", comparison.symbol()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The tag is present; one that has a value keeps it.
    Add(String),
    Remove(String),
    Set(String, String),
}

/// A step the planner may take, with its templates filled in.
#[derive(Debug, Clone)]
pub struct Transition {
    pub name: String,
    pub when: Vec<Test>,
    pub effects: Vec<Effect>,
    pub cost: CostFormula,
}

impl Transition {
    pub fn applies(&self, state: &State) -> bool {
        self.when.iter().all(|test| test.holds(state))
    }

    pub fn apply(&self, state: &State) -> State {
        let mut next = state.clone();
        for effect in &self.effects {
            next.apply(effect);
        }
        next
    }
}
