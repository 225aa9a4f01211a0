//! Goal instances: a goal plus its bound parameters, the unit `goal` reaches at most once.

use std::fmt::Write as _;

use crate::goalfile::Goal;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Instance {
    /// Index into `Goalfile::goals`.
    pub goal: usize,
    /// Parameter values in the goal's declaration order.
    pub values: Box<[String]>,
}

/// `rebuilt pkg=ocaml-foo`: the instance as a user would type it on the command line, values
/// quoted where a shell would need it so the line can be copied and run.
pub fn describe(goal: &Goal, values: &[String]) -> String {
    let mut text = goal.name.text.to_string();
    for (param, value) in goal.params.iter().zip(values) {
        let _ = write!(text, " {}=", param.name.text);
        if !value.is_empty() && value.chars().all(is_shell_safe) {
            text.push_str(value);
        } else {
            crate::template::push_shell_quoted(&mut text, value);
        }
    }
    text
}

fn is_shell_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-./:@%+,=".contains(c)
}
