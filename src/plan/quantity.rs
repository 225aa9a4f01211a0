//! Numbers in tags: sizes such as `4G` compared with `compare`, and the cost formulas of
//! transitions.
//!
//! Values are kept as exact integers in thousandths, so that `4G == 4096M` holds and a cost
//! summed along one plan equals the same cost summed along another: floating point would make
//! the optimality and the tie-break depend on the order of additions.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Thousandths per unit: values may be written with up to three decimals.
const MILLI: i128 = 1000;
const GIB: i128 = 1 << 30;

/// A number with an optional binary suffix, in thousandths of a unit (bytes for sizes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Quantity(i128);

/// Why a text is not a quantity or a cost; shown as a hint.
pub const QUANTITY_FORMS: &str =
    "write a number with an optional K, M, G or T suffix (powers of 1024), such as \"4G\" or \
     \"1.5G\"; terms may be added and subtracted: \"{size} - 256M\"";

impl Quantity {
    /// Parses `4G`, `1.5T`, `100`, and sums of them such as `4G + 100M - 1K`.
    pub fn parse(text: &str) -> Option<Quantity> {
        let mut total: i128 = 0;
        let mut sign = 1;
        let mut rest = text.trim();
        loop {
            let end = rest.find(['+', '-']).unwrap_or(rest.len());
            total = total.checked_add(sign * single(rest[..end].trim())?)?;
            if end == rest.len() {
                return Some(Quantity(total));
            }
            sign = if rest.as_bytes()[end] == b'+' { 1 } else { -1 };
            rest = &rest[end + 1..];
        }
    }

    /// The value in thousandths of GiB, as a cost formula counts a size.
    fn milli_gib(self) -> i128 {
        self.0 / GIB
    }
}

/// One unsigned term: digits, up to three decimals, an optional suffix.
fn single(text: &str) -> Option<i128> {
    let (number, scale) = match text.char_indices().last()? {
        (i, 'K') => (&text[..i], 1 << 10),
        (i, 'M') => (&text[..i], 1 << 20),
        (i, 'G') => (&text[..i], 1 << 30),
        (i, 'T') => (&text[..i], 1_i128 << 40),
        _ => (text, 1),
    };
    milli(number)?.checked_mul(scale)
}

/// `12.5` as 12500: digits with at most three decimals.
fn milli(number: &str) -> Option<i128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (number.contains('.') && !digits(fraction)) || fraction.len() > 3 {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let fraction: i128 = format!("{fraction:0<3}").parse().ok()?;
    whole.checked_mul(MILLI)?.checked_add(fraction)
}

/// The cost of a step, in thousandths: exact, so sums do not depend on their order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cost(pub u64);

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, other: Cost) -> Cost {
        Cost(self.0.saturating_add(other.0))
    }
}

impl std::ops::Sub for Cost {
    type Output = Cost;
    fn sub(self, other: Cost) -> Cost {
        Cost(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for Cost {
    /// `12`, `2.5`: no trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 1000;
        let fraction = self.0 % 1000;
        if fraction == 0 {
            write!(f, "{whole}")
        } else {
            let digits = format!("{fraction:03}");
            write!(f, "{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

/// A transition's cost: a sum of terms, each a number, a tag, or a number times a tag, where a
/// tag counts as its value in GiB (`size=4G` counts 4) in the state the step starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostFormula {
    terms: Vec<Term>,
    /// As written, for messages.
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Term {
    /// Thousandths.
    factor: u64,
    tag: Option<String>,
}

/// The forms a cost may take; shown as a hint.
pub const COST_FORMS: &str = "write a number (\"5\"), or a sum of numbers, tags and numbers \
     times tags (\"1 + 2 * size\"); a tag counts as its value in GiB";

impl CostFormula {
    pub fn parse(text: &str) -> Option<CostFormula> {
        let terms = text
            .split('+')
            .map(|term| {
                let term = term.trim();
                let (factor, tag) = match term.split_once('*') {
                    Some((factor, tag)) => (milli(factor.trim())?, Some(tag.trim())),
                    None if term.starts_with(|c: char| c.is_ascii_digit()) => (milli(term)?, None),
                    None => (MILLI, Some(term)),
                };
                if tag.is_some_and(|tag| !super::is_tag_name(tag)) {
                    return None;
                }
                Some(Term {
                    factor: u64::try_from(factor).ok()?,
                    tag: tag.map(str::to_string),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(CostFormula {
            terms,
            text: text.trim().to_string(),
        })
    }

    /// The tags the formula reads.
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().filter_map(|term| term.tag.as_deref())
    }

    /// The cost in `state`; a tag that is absent, not a number, or negative counts as 0, so a
    /// cost is never negative (the search needs that to be optimal).
    pub fn cost(&self, state: &super::State) -> Cost {
        let total: i128 = self
            .terms
            .iter()
            .map(|term| {
                let gib = match &term.tag {
                    None => MILLI,
                    Some(tag) => state
                        .get(tag)
                        .and_then(Quantity::parse)
                        .map_or(0, |value| value.milli_gib().max(0)),
                };
                i128::from(term.factor) * gib / MILLI
            })
            .sum();
        Cost(u64::try_from(total).unwrap_or(u64::MAX))
    }
}

impl fmt::Display for CostFormula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Option<Quantity> {
        Quantity::parse(text)
    }

    #[test]
    fn sizes_compare_by_value() {
        assert_eq!(q("4G"), q("4096M"));
        assert_eq!(q("1.5K"), q("1536"));
        assert_eq!(q("4G + 100M"), q("4196M"));
        assert_eq!(q("4G-256M"), q("3840M"));
        assert!(q("1T") > q("1023G"));
        assert!(q("0 - 1") < q("0"));
    }

    #[test]
    fn malformed_quantities_are_refused() {
        for bad in [
            "", "G", "4g", "4.", ".5", "1.2345", "4 G", "4G +", "x", "4GB", "1e3",
        ] {
            assert_eq!(q(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn costs_count_tags_in_gib_in_the_state_they_start_from() {
        let formula = CostFormula::parse("1 + 2 * size + 0.5 * other").unwrap();
        let state = crate::plan::State::from_pairs([("size", "4G"), ("other", "512M")]);
        assert_eq!(formula.cost(&state), Cost(9_250));
        assert_eq!(formula.tags().collect::<Vec<_>>(), ["size", "other"]);
        let plain = CostFormula::parse("size").unwrap();
        assert_eq!(plain.cost(&crate::plan::State::default()), Cost(0));
        let negative = crate::plan::State::from_pairs([("size", "0 - 4G")]);
        assert_eq!(plain.cost(&negative), Cost(0));
        let flag = crate::plan::State::from_pairs([("size", "")]);
        assert_eq!(plain.cost(&flag), Cost(0));
    }

    #[test]
    fn malformed_costs_are_refused() {
        for bad in [
            "", "-1", "1 +", "2 * ", "* size", "2 * 3", "{size}", "1 - 2", "x y",
        ] {
            assert_eq!(CostFormula::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn costs_print_without_trailing_zeros() {
        assert_eq!(Cost(12_000).to_string(), "12");
        assert_eq!(Cost(2_500).to_string(), "2.5");
        assert_eq!(Cost(1).to_string(), "0.001");
    }
}
