//! Persistent variables: declared with `var`, kept in the Memory, read by templates as globals,
//! changed by `goal set` and the `set` statement, and watched by `when` jobs.

use std::cmp::Ordering;

/// Every key `goal` keeps for itself in the Memory starts with this; users' keys should not.
pub const RESERVED_PREFIX: &str = "goal/";

/// Where the value of the variable `name` is kept in the Memory.
pub fn key(name: &str) -> String {
    format!("{RESERVED_PREFIX}var/{name}")
}

/// Orders two values as versions: runs of ASCII digits compare as numbers and everything else
/// as text, so `1.10 > 1.9`, `10 > 9` and `v2-rc1 < v2-rc2`. The empty value comes first.
pub fn version_order(left: &str, right: &str) -> Ordering {
    let mut left = Chunks(left);
    let mut right = Chunks(right);
    loop {
        let ordering = match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(Chunk::Number(a)), Some(Chunk::Number(b))) => {
                let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
                a.len().cmp(&b.len()).then_with(|| a.cmp(b))
            }
            // Digits before text, whatever the text's characters, so the order is total.
            (Some(Chunk::Number(_)), Some(Chunk::Text(_))) => Ordering::Less,
            (Some(Chunk::Text(_)), Some(Chunk::Number(_))) => Ordering::Greater,
            (Some(Chunk::Text(a)), Some(Chunk::Text(b))) => a.cmp(b),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
}

enum Chunk<'a> {
    Number(&'a str),
    Text(&'a str),
}

/// A value split into alternating runs of digits and of anything else.
struct Chunks<'a>(&'a str);

impl<'a> Iterator for Chunks<'a> {
    type Item = Chunk<'a>;

    fn next(&mut self) -> Option<Chunk<'a>> {
        let first = self.0.bytes().next()?;
        let digits = first.is_ascii_digit();
        let end = self
            .0
            .bytes()
            .position(|byte| byte.is_ascii_digit() != digits)
            .unwrap_or(self.0.len());
        let (chunk, rest) = self.0.split_at(end);
        self.0 = rest;
        Some(if digits {
            Chunk::Number(chunk)
        } else {
            Chunk::Text(chunk)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_their_numbers() {
        let ascending = [
            "", "0.9", "1", "1.0", "1.0.1", "1.2", "1.9", "1.10", "2", "2.0-rc1", "2.0-rc2", "10",
        ];
        for pair in ascending.windows(2) {
            assert_eq!(version_order(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(
                version_order(pair[1], pair[0]),
                Ordering::Greater,
                "{pair:?}"
            );
        }
        assert_eq!(version_order("007", "7"), Ordering::Equal);
        assert_eq!(version_order("1.2", "1.2"), Ordering::Equal);
    }
}
