//! Every error a Goalfile can have before anything runs: its code, message and the line:column
//! it points at. A few are compared as the exact text the user sees.

use goal::diagnostic::{render, Problem};

/// A problem as `code | message | file:line:column`, with its help.
#[derive(Debug)]
struct Found {
    code: &'static str,
    message: String,
    at: String,
    help: String,
}

fn found(problem: &Problem) -> Found {
    let at = problem
        .location
        .as_ref()
        .map(|location| location.place())
        .unwrap_or_default();
    Found {
        code: problem.code,
        message: problem.message.clone(),
        at,
        help: problem.help.clone().unwrap_or_default(),
    }
}

/// Parses and checks `text`, returning every problem (parse problems stop before checking).
fn problems(text: &str) -> Vec<Found> {
    let result = goal::parse::parse_text("Goalfile", text).and_then(|goalfile| {
        goal::check::check(&goalfile)?;
        Ok(goalfile)
    });
    match result {
        Ok(_) => Vec::new(),
        Err(error) => error.problems.iter().map(found).collect(),
    }
}

/// Asserts `text` has exactly one problem, with this code, message and position (line:column
/// in the root `Goalfile`); returns it for further checks of its help.
#[track_caller]
fn one(text: &str, code: &str, message: &str, at: &str) -> Found {
    let mut all = problems(text);
    assert_eq!(all.len(), 1, "expected one problem, found {all:#?}");
    let problem = all.remove(0);
    assert_eq!(
        (problem.code, problem.message.as_str(), problem.at.as_str()),
        (code, message, format!("Goalfile:{at}").as_str()),
        "{problem:#?}"
    );
    problem
}

#[track_caller]
fn help_is(problem: &Found, text: &str) {
    assert_eq!(problem.help, text, "{problem:#?}");
}

fn snapshot(text: &str) -> String {
    std::env::set_var("NO_COLOR", "1");
    std::env::set_var("GOAL_DIAGNOSTIC_WIDTH", "80");
    let error = goal::parse::parse_text("Goalfile", text)
        .and_then(|goalfile| goal::check::check(&goalfile))
        .expect_err("an error");
    render(&error.problems)
}

// ---- KDL syntax and its traps

#[test]
fn bare_true_gets_the_v2_spelling() {
    let problem = one(
        "goal g {\n  run true\n}\n",
        "goal::kdl-syntax",
        "Expected identifier string",
        "2:7",
    );
    help_is(
        &problem,
        "KDL v2 writes `#true`; for the string, quote it: \"true\"",
    );
}

#[test]
fn backslash_in_a_regex_suggests_a_raw_string() {
    let all = problems("goal g {\n  target { output \"v\" matches=\"^\\d+$\" }\n}\n");
    let problem = all.first().expect("a problem");
    assert_eq!(problem.code, "goal::kdl-syntax");
    assert_eq!(problem.at, "Goalfile:2:31");
    help_is(problem, "`\\` starts an escape in a KDL string; write regexes and other backslash-heavy text as a raw string: #\"^\\d+$\"#");
}

#[test]
fn triple_quote_must_end_its_line() {
    let all = problems("goal g {\n  run \"\"\"echo\n  \"\"\"\n}\n");
    let problem = all.first().expect("a problem");
    assert_eq!(problem.code, "goal::kdl-syntax");
    assert_eq!(problem.at, "Goalfile:2:7");
    help_is(
        problem,
        "`\"\"\"` starts a multi-line string and must end its line; for one line write \"…\"",
    );
}

#[test]
fn slash_in_a_bare_value_suggests_quotes() {
    let all = problems("goal g {\n  for f glob=src/*.c { run \"cc {f}\" }\n}\n");
    let problem = all.first().expect("a problem");
    assert_eq!(
        (problem.code, problem.at.as_str()),
        ("goal::kdl-syntax", "Goalfile:2:14")
    );
    help_is(
        problem,
        "`/` cannot appear in a bare value: quote it: \"src/*.c\"",
    );
}

#[test]
fn an_unclosed_block_is_reported_once() {
    let problem = one(
        "goal g {\n  run \"x\"\n",
        "goal::kdl-syntax",
        "No closing '}' for child block",
        "1:8",
    );
    help_is(&problem, "close the block with `}`");
}

#[test]
fn a_bad_number_is_pointed_at_itself() {
    let text = "goal g {\n  run \"x\"\n}\ngoal h {\n  run 1.\n}\n";
    let all = problems(text);
    let problem = all.first().expect("a problem");
    assert_eq!(
        (problem.code, problem.at.as_str()),
        ("goal::kdl-syntax", "Goalfile:5:7")
    );
}

#[test]
fn deep_nesting_is_refused_before_kdl_sees_it() {
    let text = "goal g {\n target {\n".to_string() + &"all {\n".repeat(40) + &"}".repeat(42);
    one(
        &text,
        "goal::too-deep",
        "blocks are nested more than 32 deep",
        "33:5",
    );
}

#[test]
fn a_bare_url_is_cut_by_the_comment() {
    let problem = one(
        "goal g {\n  target {\n    url-exists https://x.org/a\n  }\n}\n",
        "goal::unquoted-url",
        "the bare value `https:` is cut short: `//` starts a comment in KDL",
        "3:16",
    );
    help_is(&problem, "quote the whole value: \"https://…\"");
}

#[test]
fn a_bare_url_that_hides_a_brace_is_named() {
    let all = problems("goal g {\n  target { url-exists https://x.org/a }\n}\n");
    let codes: Vec<&str> = all.iter().map(|p| p.code).collect();
    assert_eq!(codes, ["goal::unquoted-url", "goal::kdl-syntax"]);
    let url = &all[0];
    assert_eq!(url.at, "Goalfile:2:23");
    assert_eq!(
        url.message,
        "the bare value `https://x.org/a` is cut short: `//` starts a comment in KDL"
    );
    help_is(url, "quote it: \"https://x.org/a\"");
}

#[test]
fn an_unquoted_command_with_braces_is_a_block() {
    let problem = one(
        "goal g x {\n  run echo {x}\n}\n",
        "goal::unexpected-block",
        "`run` takes no block",
        "2:12",
    );
    help_is(&problem, "`{` starts a child block in KDL; if it belongs to the value, quote the whole value, e.g. `run \"echo {x}\"`");
}

#[test]
fn a_predicate_definition_needs_a_block() {
    one(
        "predicate p x\n",
        "goal::missing-block",
        "`predicate` needs a block `{ … }`",
        "1:1",
    );
}

// ---- node names, properties, arguments, types

#[test]
fn unknown_top_level_node() {
    let problem = one(
        "gaol all {}\n",
        "goal::unknown-node",
        "unknown top-level node `gaol`",
        "1:1",
    );
    help_is(&problem, "did you mean `goal`?");
}

#[test]
fn a_statement_at_the_top_level_says_where_it_goes() {
    let problem = one(
        "run \"x\"\n",
        "goal::unknown-node",
        "unknown top-level node `run`",
        "1:1",
    );
    help_is(&problem, "`run` is a statement: put it in a goal body");
}

#[test]
fn unknown_statement() {
    let problem = one(
        "goal g {\n  rnu \"x\"\n}\n",
        "goal::unknown-node",
        "unknown statement `rnu`",
        "2:3",
    );
    help_is(&problem, "did you mean `run`?");
}

#[test]
fn a_predicate_outside_target() {
    let problem = one(
        "goal g {\n  file-exists \"x\"\n}\n",
        "goal::unknown-node",
        "unknown statement `file-exists`",
        "2:3",
    );
    help_is(
        &problem,
        "`file-exists` is a predicate: put it in `target { … }`",
    );
}

#[test]
fn a_statement_inside_target() {
    let problem = one(
        "goal g {\n  target { run \"x\" }\n}\n",
        "goal::unknown-node",
        "unknown predicate `run`",
        "2:12",
    );
    help_is(&problem, "`run` is a statement: put it in a goal body");
}

#[test]
fn unknown_property() {
    let problem = one(
        "goal g dco=\"x\"\n",
        "goal::unknown-property",
        "unknown property `dco` on `goal`",
        "1:8",
    );
    help_is(&problem, "did you mean `doc`?");
}

#[test]
fn duplicate_property() {
    one(
        "goal g {\n  require h x=\"1\" x=\"2\"\n}\ngoal h x\n",
        "goal::duplicate-property",
        "`x` is given twice",
        "2:19",
    );
}

#[test]
fn too_many_arguments() {
    one(
        "goal g {\n  run \"a\" \"b\"\n}\n",
        "goal::arguments",
        "`run` takes 1 argument(s), found 2",
        "2:11",
    );
}

#[test]
fn too_few_arguments() {
    one(
        "goal g {\n  run\n}\n",
        "goal::arguments",
        "`run` needs 1 argument(s), found 0",
        "2:3",
    );
}

#[test]
fn let_needs_one_value() {
    one(
        "let x\n",
        "goal::arguments",
        "`let` needs a name and exactly one value",
        "1:1",
    );
}

#[test]
fn file_newer_needs_sources() {
    one(
        "goal g {\n  target { file-newer \"t\" }\n}\n",
        "goal::arguments",
        "`file-newer` needs sources to compare with: `than=`, `than-words=`, `than-glob=` or `depfile=`",
        "2:12",
    );
}

#[test]
fn file_newer_needs_a_target() {
    one(
        "goal g {\n  target { file-newer depfile=\"a.d\" }\n}\n",
        "goal::arguments",
        "`file-newer` needs at least one target: an argument or `words=`",
        "2:12",
    );
}

#[test]
fn url_contains_needs_text() {
    one(
        "goal g {\n  target { url-contains \"https://x.org\" }\n}\n",
        "goal::arguments",
        "`url-contains` needs `text=`",
        "2:12",
    );
}

#[test]
fn predicate_arguments_are_bound_by_name() {
    one(
        "predicate p x { sh \"true\" }\ngoal g {\n  target { p \"1\" }\n}\n",
        "goal::arguments",
        "arguments of `p` are bound by name",
        "3:14",
    );
}

#[test]
fn not_takes_one_predicate() {
    one(
        "goal g {\n  target { not { sh \"a\"; sh \"b\" } }\n}\n",
        "goal::arguments",
        "`not` takes exactly one predicate",
        "2:12",
    );
}

#[test]
fn an_empty_target() {
    one(
        "goal g {\n  target {}\n}\n",
        "goal::arguments",
        "`target` needs at least 1 predicate(s) in its block",
        "2:3",
    );
}

#[test]
fn a_number_where_a_string_is_needed() {
    let problem = one(
        "goal g {\n  run 42\n}\n",
        "goal::type",
        "expected a string, found a number",
        "2:7",
    );
    help_is(&problem, "quote it: \"42\"");
}

#[test]
fn type_annotations_are_refused() {
    one(
        "goal g {\n  run (sh)\"x\"\n}\n",
        "goal::type-annotation",
        "type annotations are not used in a Goalfile",
        "2:8",
    );
}

#[test]
fn template_errors_point_into_the_string() {
    let problem = one(
        "goal g x {\n  run \"echo {x|stme}\"\n}\n",
        "goal::template",
        "unknown filter `stme`",
        "2:16",
    );
    help_is(&problem, "did you mean `stem`?");
    one(
        "goal g x {\n  run \"echo {x\"\n}\n",
        "goal::template",
        "unclosed `{` in a template",
        "2:13",
    );
}

#[test]
fn bad_duration() {
    let problem = one(
        "goal g {\n  target { memo \"k\" for=\"soon\" { sh \"x\" } }\n}\n",
        "goal::duration",
        "`soon` is not a duration: expected number at 0",
        "2:25",
    );
    help_is(
        &problem,
        "write a duration such as \"30 minutes\", \"1h 30m\" or \"10s\"",
    );
}

#[test]
fn zero_interval() {
    one(
        "every \"0s\" { run \"x\" }\n",
        "goal::duration",
        "an `every` interval must be longer than zero",
        "1:7",
    );
}

#[test]
fn bad_cron() {
    let all = problems("every cron=\"*/30 * *\" { run \"x\" }\n");
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(
        (all[0].code, all[0].at.as_str()),
        ("goal::cron", "Goalfile:1:12")
    );
    assert!(
        all[0].message.starts_with("invalid cron expression"),
        "{all:#?}"
    );
}

#[test]
fn schedule_is_one_of_interval_and_cron() {
    one(
        "every \"1h\" cron=\"* * * * *\" { run \"x\" }\n",
        "goal::schedule",
        "`every` needs exactly one schedule: an interval or `cron=`",
        "1:1",
    );
}

#[test]
fn for_needs_one_source() {
    one(
        "goal g {\n  for f { run \"x\" }\n}\n",
        "goal::one-of",
        "`for` needs exactly one source: a list of values, `glob=`, `output=` or `words=`",
        "2:3",
    );
}

#[test]
fn output_needs_one_test() {
    one(
        "goal g {\n  target { output \"x\" }\n}\n",
        "goal::one-of",
        "`output` needs exactly one of `equals=` and `matches=`",
        "2:12",
    );
}

// ---- names and parameters

#[test]
fn invalid_goal_name() {
    one(
        "goal \"a b\"\n",
        "goal::name",
        "`a b` is not a valid goal name",
        "1:6",
    );
}

#[test]
fn a_bad_goal_name_does_not_hide_its_parameters() {
    one(
        "goal \"a b\" pkg {\n  param pkg doc=\"x\"\n}\n",
        "goal::name",
        "`a b` is not a valid goal name",
        "1:6",
    );
}

#[test]
fn a_dash_in_a_value_name_suggests_underscore() {
    let problem = one(
        "goal g my-param\n",
        "goal::name",
        "`my-param` is not a valid value name",
        "1:8",
    );
    help_is(
        &problem,
        "values become environment variables, which cannot contain `-`: write `my_param`",
    );
}

#[test]
fn param_must_name_a_header_parameter() {
    let problem = one(
        "goal g pkg {\n  param pgk pattern=\"x\"\n}\n",
        "goal::param",
        "`pgk` is not a parameter of this header",
        "2:9",
    );
    help_is(&problem, "did you mean `pkg`?");
}

#[test]
fn param_after_a_predicate() {
    one(
        "predicate p x {\n  sh \"{x}\"\n  param x doc=\"a\"\n}\n",
        "goal::unknown-node",
        "unknown predicate `param`",
        "3:3",
    );
}

#[test]
fn param_described_twice() {
    one(
        "goal g pkg {\n  param pkg doc=\"a\"\n  param pkg doc=\"b\"\n}\n",
        "goal::param",
        "parameter `pkg` is described twice",
        "3:9",
    );
}

#[test]
fn param_after_a_statement() {
    one(
        "goal g pkg {\n  run \"x\"\n  param pkg doc=\"a\"\n}\n",
        "goal::param",
        "`param` must come before the statements of a body",
        "3:3",
    );
}

#[test]
fn param_inside_for() {
    one(
        "goal g {\n  for f \"a\" {\n    param f doc=\"a\"\n  }\n}\n",
        "goal::param",
        "`param` is not allowed in a `for` body",
        "3:5",
    );
}

#[test]
fn header_parameter_twice() {
    one(
        "goal g x x\n",
        "goal::param",
        "parameter `x` is declared twice",
        "1:10",
    );
}

#[test]
fn a_user_predicate_named_like_a_built_in() {
    one(
        "predicate sh cmd { file-exists \"x\" }\n",
        "goal::builtin-predicate",
        "`sh` is a built-in predicate",
        "1:11",
    );
}

#[test]
fn a_user_predicate_named_like_a_statement() {
    one(
        "predicate run cmd { file-exists \"x\" }\n",
        "goal::builtin-predicate",
        "`run` is a word of the language",
        "1:11",
    );
}

// ---- includes

#[test]
fn missing_include_points_at_the_include() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("Goalfile");
    std::fs::write(&root, "goal g\ninclude \"nope.kdl\"\n").unwrap();
    let error = goal::parse::load(&root).expect_err("missing include");
    let problem = found(&error.problems[0]);
    assert_eq!(problem.code, "goal::include");
    assert!(
        problem.message.starts_with("cannot read included file"),
        "{problem:#?}"
    );
    assert!(problem.at.ends_with("Goalfile:2:9"), "{problem:#?}");
}

#[test]
fn include_cycle_names_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Goalfile"), "include \"a.kdl\"\n").unwrap();
    std::fs::write(dir.path().join("a.kdl"), "goal a\ninclude \"Goalfile\"\n").unwrap();
    let root = dir.path().join("Goalfile");
    let error = goal::parse::load(&root).expect_err("include cycle");
    let problem = found(&error.problems[0]);
    assert_eq!(problem.code, "goal::include-cycle");
    let d = dir.path().display();
    assert_eq!(
        problem.message,
        format!("include cycle: {d}/Goalfile → {d}/a.kdl → {d}/Goalfile")
    );
    assert!(problem.at.ends_with("a.kdl:2:9"), "{problem:#?}");
}

#[test]
fn errors_in_included_files_name_that_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Goalfile"), "include \"a.kdl\"\n").unwrap();
    std::fs::write(dir.path().join("a.kdl"), "goal a {\n  rn \"x\"\n}\n").unwrap();
    let error = goal::parse::load(&dir.path().join("Goalfile")).expect_err("error");
    let problem = found(&error.problems[0]);
    assert!(problem.at.ends_with("a.kdl:2:3"), "{problem:#?}");
}

#[test]
fn unreadable_root() {
    let error = goal::parse::load(std::path::Path::new("/nonexistent/Goalfile")).unwrap_err();
    assert_eq!(error.problems[0].code, "goal::read");
}

// ---- static checks

#[test]
fn unknown_goal_with_did_you_mean() {
    let problem = one(
        "goal rebuilt pkg\ngoal all {\n  require rebuit pkg=\"a\"\n}\n",
        "goal::unknown-goal",
        "unknown goal `rebuit`",
        "3:11",
    );
    assert_eq!(problem.help, "did you mean `rebuilt`?");
}

#[test]
fn unknown_predicate_with_did_you_mean() {
    // Positional arguments and a name close to a built-in: a typo of the built-in.
    let problem = one(
        "goal g {\n  target { file-exist \"x\" }\n}\n",
        "goal::unknown-predicate",
        "unknown predicate `file-exist`",
        "2:12",
    );
    assert_eq!(problem.help, "did you mean `file-exists`?");
    // Far from any built-in: a user predicate called with positional arguments.
    one(
        "goal g {\n  target { koji-built \"x\" }\n}\n",
        "goal::arguments",
        "arguments of `koji-built` are bound by name",
        "2:23",
    );
    let problem = one(
        "predicate koji-built pkg { sh \"x\" }\ngoal g {\n  target { koji-bilt pkg=\"x\" }\n}\n",
        "goal::unknown-predicate",
        "unknown predicate `koji-bilt`",
        "3:12",
    );
    assert_eq!(problem.help, "did you mean `koji-built`?");
}

#[test]
fn duplicate_goal_points_at_both() {
    let problem = one(
        "goal a\ngoal b\ngoal a\n",
        "goal::duplicate-goal",
        "goal `a` is defined twice",
        "3:6",
    );
    assert_eq!(problem.help, "the first is at Goalfile:1:6");
}

#[test]
fn duplicate_predicate() {
    one(
        "predicate p { sh \"a\" }\npredicate p { sh \"b\" }\n",
        "goal::duplicate-predicate",
        "predicate `p` is defined twice",
        "2:11",
    );
}

#[test]
fn duplicate_global() {
    one(
        "let a \"1\"\nlet a \"2\"\n",
        "goal::duplicate-global",
        "global `a` is defined twice",
        "2:5",
    );
}

#[test]
fn unknown_parameter_in_require() {
    let problem = one(
        "goal b pkg\ngoal a {\n  require b pgk=\"x\" pkg=\"y\"\n}\n",
        "goal::unknown-param",
        "goal `b` has no parameter `pgk`",
        "3:13",
    );
    assert_eq!(problem.help, "did you mean `pkg`?");
}

#[test]
fn unknown_parameter_in_a_predicate_call() {
    one(
        "predicate p x { sh \"{x}\" }\ngoal g {\n  target { p x=\"1\" y=\"2\" }\n}\n",
        "goal::unknown-param",
        "predicate `p` has no parameter `y`",
        "3:20",
    );
}

#[test]
fn missing_parameter() {
    let problem = one(
        "goal b pkg\ngoal a {\n  require b\n}\n",
        "goal::missing-param",
        "parameter `pkg` of goal `b` is not bound",
        "3:3",
    );
    assert_eq!(problem.help, "add `pkg=\"…\"`");
}

#[test]
fn a_parameter_with_a_default_may_be_left_out() {
    assert!(
        problems("goal b pkg {\n  param pkg default=\"x\"\n}\ngoal a {\n  require b\n}\n")
            .is_empty()
    );
}

#[test]
fn invalid_parameter_pattern() {
    one(
        "goal b pkg {\n  param pkg pattern=\"a(b\"\n}\n",
        "goal::regex",
        "invalid regular expression: unclosed group",
        "2:21",
    );
}

#[test]
fn invalid_output_regex() {
    one(
        "goal g {\n  target { output \"x\" matches=\"(\" }\n}\n",
        "goal::regex",
        "invalid regular expression: unclosed group",
        "2:31",
    );
}

#[test]
fn a_literal_argument_must_match_the_pattern() {
    let problem = one(
        "goal b n {\n  param n pattern=#\"\\d+\"#\n}\ngoal a {\n  require b n=\"12x\"\n}\n",
        "goal::pattern-mismatch",
        "`12x` does not match the pattern of `n`",
        "5:16",
    );
    assert_eq!(problem.help, "the pattern is at Goalfile:2:19");
    assert!(problems(
        "goal b n {\n  param n pattern=#\"\\d+\"#\n}\ngoal a x {\n  require b n=\"{x}\"\n  require b n=\"12\"\n}\n"
    )
    .is_empty());
}

#[test]
fn a_literal_default_must_match_the_pattern() {
    one(
        "goal b n {\n  param n pattern=#\"\\d+\"# default=\"x\"\n}\n",
        "goal::pattern-mismatch",
        "`x` does not match the pattern of `n`",
        "2:36",
    );
}

#[test]
fn unknown_reference_with_did_you_mean() {
    let problem = one(
        "goal g pkg {\n  run \"echo {pgk}\"\n}\n",
        "goal::unknown-name",
        "`pgk` is not defined here",
        "2:13",
    );
    assert_eq!(problem.help, "did you mean `pkg`?");
}

#[test]
fn a_global_sees_only_earlier_globals() {
    one(
        "let a \"{b}\"\nlet b \"1\"\n",
        "goal::unknown-name",
        "`b` is not defined here",
        "1:8",
    );
}

#[test]
fn goals_see_every_global() {
    assert!(problems("goal g {\n  run \"echo {late}\"\n}\nlet late \"1\"\n").is_empty());
}

#[test]
fn a_let_is_visible_after_it_only() {
    one(
        "goal g {\n  run \"{x}\"\n  let x \"1\"\n}\n",
        "goal::unknown-name",
        "`x` is not defined here",
        "2:8",
    );
}

#[test]
fn a_for_variable_is_visible_inside_only() {
    one(
        "goal g {\n  for f \"a\" { run \"{f}\" }\n  run \"{f}\"\n}\n",
        "goal::unknown-name",
        "`f` is not defined here",
        "3:8",
    );
}

#[test]
fn a_default_sees_earlier_parameters_only() {
    one(
        "goal g a b {\n  param a default=\"{b}\"\n}\n",
        "goal::unknown-name",
        "`b` is not defined here",
        "2:20",
    );
}

#[test]
fn a_local_may_shadow_a_global() {
    assert!(problems("let x \"1\"\ngoal g {\n  let x \"2\"\n  run \"{x}\"\n}\n").is_empty());
}

#[test]
fn a_local_may_not_redefine_a_parameter() {
    let problem = one(
        "goal g x {\n  let x \"2\"\n}\n",
        "goal::redefined",
        "`x` is already a parameter here",
        "2:7",
    );
    help_is(
        &problem,
        "it is defined at Goalfile:1:8; choose another name",
    );
}

#[test]
fn a_local_may_not_redefine_a_local() {
    one(
        "goal g {\n  let x \"1\"\n  for x \"a\" { run \"{x}\" }\n}\n",
        "goal::redefined",
        "`x` is already a local value here",
        "3:7",
    );
}

#[test]
fn two_targets() {
    let problem = one(
        "goal g {\n  target { sh \"a\" }\n  target { sh \"b\" }\n}\n",
        "goal::target",
        "a goal has at most one `target`",
        "3:3",
    );
    help_is(
        &problem,
        "the first is at Goalfile:2:3; put all predicates in one `target { … }`",
    );
}

#[test]
fn target_inside_for() {
    one(
        "goal g {\n  for f \"a\" {\n    target { sh \"a\" }\n  }\n}\n",
        "goal::target",
        "a `target` cannot stand inside `for`",
        "3:5",
    );
}

#[test]
fn target_inside_every() {
    one(
        "every \"1h\" {\n  target { sh \"a\" }\n}\n",
        "goal::target",
        "an `every` body has no `target`",
        "2:3",
    );
}

#[test]
fn every_bodies_are_checked_like_goal_bodies() {
    one(
        "every \"1h\" {\n  require nope\n}\n",
        "goal::unknown-goal",
        "unknown goal `nope`",
        "2:11",
    );
}

// ---- cycles

#[test]
fn a_goal_requiring_itself() {
    one(
        "goal a {\n  require a\n}\n",
        "goal::requirement-cycle",
        "requirement cycle: a → a",
        "2:3",
    );
}

#[test]
fn a_goal_requiring_itself_with_the_same_parameter() {
    one(
        "goal a x {\n  require a x=\"{x}\"\n}\n",
        "goal::requirement-cycle",
        "requirement cycle: a → a",
        "2:3",
    );
}

#[test]
fn a_goal_requiring_itself_with_a_literal() {
    one(
        "goal b y {\n  require b y=\"1\"\n}\n",
        "goal::requirement-cycle",
        "requirement cycle: b → b",
        "2:3",
    );
}

#[test]
fn a_cycle_through_two_goals_names_the_chain() {
    let problem = one(
        "goal all {\n  require a\n}\ngoal a {\n  require b\n}\ngoal b {\n  for f \"x\" { require a }\n}\n",
        "goal::requirement-cycle",
        "requirement cycle: a → b → a",
        "5:3",
    );
    assert_eq!(
        problem.help,
        "`a` requires `b` at Goalfile:5:3; `b` requires `a` at Goalfile:8:15; \
         this repeats forever whatever the parameters"
    );
}

#[test]
fn a_cycle_through_a_literal_default() {
    one(
        "goal a x y {\n  param y default=\"d\"\n  require b x=\"{x}\"\n}\ngoal b x {\n  require a x=\"{x}\"\n}\n",
        "goal::requirement-cycle",
        "requirement cycle: a → b → a",
        "3:3",
    );
}

#[test]
fn recursion_over_changing_values_is_not_a_static_cycle() {
    assert!(problems(
        "goal rebuilt pkg {\n  for dep output=\"deps {pkg}\" { require rebuilt pkg=\"{dep}\" }\n}\n"
    )
    .is_empty());
    assert!(problems("goal a x {\n  require a x=\"{x}.o\"\n}\n").is_empty());
}

#[test]
fn a_predicate_using_itself() {
    one(
        "predicate p x {\n  any { sh \"a\"; p x=\"{x}\" }\n}\n",
        "goal::predicate-cycle",
        "predicate cycle: p → p",
        "2:17",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let all = problems("goal a {\n  require nope\n  run \"{x}\"\n}\ngoal a\n");
    let codes: Vec<&str> = all.iter().map(|p| p.code).collect();
    assert_eq!(
        codes,
        [
            "goal::duplicate-goal",
            "goal::unknown-goal",
            "goal::unknown-name"
        ]
    );
    let all = problems("goal a {\n  rn \"x\"\n  run 1\n}\ngaol b\n");
    assert_eq!(all.len(), 3, "{all:#?}");
}

// ---- exact text

#[test]
fn snapshot_unknown_goal() {
    assert_eq!(
        snapshot("goal rebuilt pkg\ngoal all {\n  require rebuit pkg=\"a\"\n}\n"),
        "goal::unknown-goal

  × unknown goal `rebuit`
   ╭─[Goalfile:3:11]
 2 │ goal all {
 3 │   require rebuit pkg=\"a\"
   ·           ───┬──
   ·              ╰── no such goal
 4 │ }
   ╰────
  help: did you mean `rebuilt`?
"
    );
}

#[test]
fn snapshot_unquoted_command() {
    assert_eq!(
        snapshot("goal g x {\n  run echo {x}\n}\n"),
        "goal::unexpected-block

  × `run` takes no block
   ╭─[Goalfile:2:12]
 1 │ goal g x {
 2 │   run echo {x}
   ·            ─┬─
   ·             ╰── a block starts here
 3 │ }
   ╰────
  help: `{` starts a child block in KDL; if it belongs to the value, quote the
        whole value, e.g. `run \"echo {x}\"`
"
    );
}

#[test]
fn snapshot_cycle() {
    assert_eq!(
        snapshot("goal a x {\n  require a x=\"{x}\"\n}\n"),
        "goal::requirement-cycle

  × requirement cycle: a → a
   ╭─[Goalfile:2:3]
 1 │ goal a x {
 2 │   require a x=\"{x}\"
   ·   ────────┬────────
   ·           ╰── requires `a`
 3 │ }
   ╰────
  help: `a` requires `a` at Goalfile:2:3; this repeats forever whatever the
        parameters
"
    );
}

#[test]
fn an_invalid_literal_glob_is_found_by_the_check() {
    one(
        "goal all {\n    for f glob=\"src/[*.c\" { run \"echo {f}\" }\n}\n",
        "goal::invalid-glob",
        "invalid glob pattern `src/[*.c`: invalid range pattern",
        "2:17",
    );
    one(
        "goal all { target { file-newer \"app\" than-glob=\"[\" } }\n",
        "goal::invalid-glob",
        "invalid glob pattern `[`: invalid range pattern",
        "1:49",
    );
}

#[test]
fn retry_settings_are_checked() {
    one(
        "goal g {\n  run \"x\" retries=\"many\"\n}\n",
        "goal::number",
        "`many` is not a whole number such as \"3\"",
        "2:19",
    );
    one(
        "goal g {\n  run \"x\" retries=\"2\" backoff=\"0.5\"\n}\n",
        "goal::number",
        "`0.5` is not a number of 1 or more such as \"2\" or \"1.5\"",
        "2:31",
    );
    one(
        "goal g {\n  run \"x\" delay=\"5s\"\n}\n",
        "goal::arguments",
        "`delay` and `backoff` only mean something with `retries`",
        "2:11",
    );
}

#[test]
fn hooks_close_a_goal_once_each() {
    one(
        "goal g {\n  on-failure { run \"x\" }\n  run \"y\"\n}\n",
        "goal::hook",
        "`run` after a hook",
        "3:3",
    );
    one(
        "goal g {\n  on-failure { run \"x\" }\n  on-failure { run \"y\" }\n}\n",
        "goal::hook",
        "a second `on-failure`",
        "3:3",
    );
    one(
        "goal g {\n  run \"x\"\n  on-success { target { file-exists \"x\" } }\n}\n",
        "goal::target",
        "a hook has no `target`",
        "3:16",
    );
    one(
        "on-failure { run \"echo {pkg}\" }\n",
        "goal::unknown-name",
        "`pkg` is not defined here",
        "1:24",
    );
}

// ---- jobs and persistent variables

#[test]
fn max_running_is_at_least_one() {
    let problem = one(
        "every \"1h\" max-running=\"0\" { run \"x\" }\n",
        "goal::max-running",
        "`max-running` must be at least 1",
        "1:24",
    );
    help_is(
        &problem,
        "write `max-running=\"1\"` (the default) to never run two firings at once",
    );
    one(
        "when \"w\" max-running=\"many\" {\n  condition { sh \"true\" }\n}\n",
        "goal::number",
        "`many` is not a whole number such as \"3\"",
        "1:22",
    );
}

#[test]
fn missed_is_run_or_skip() {
    let problem = one(
        "every \"1h\" missed=\"skp\" { run \"x\" }\n",
        "goal::missed",
        "`skp` is not one of `run` and `skip`",
        "1:19",
    );
    help_is(&problem, "did you mean `skip`?");
}

#[test]
fn a_when_needs_its_condition_first() {
    one(
        "when \"w\" {\n  run \"x\"\n}\n",
        "goal::condition",
        "a `when` needs a `condition { … }`",
        "1:1",
    );
    one(
        "when \"w\" {\n  run \"x\"\n  condition { sh \"true\" }\n}\n",
        "goal::condition",
        "`condition` must be the first child of `when`",
        "3:3",
    );
    one(
        "when \"w\" {\n  condition { sh \"true\" }\n  condition { sh \"false\" }\n}\n",
        "goal::condition",
        "a `when` has one `condition`",
        "3:3",
    );
    one(
        "when \"w\" {\n  condition { }\n}\n",
        "goal::arguments",
        "`condition` needs at least 1 predicate(s) in its block",
        "2:3",
    );
    // No block at all is reported once, as a missing block.
    one(
        "when \"w\"\n",
        "goal::missing-block",
        "`when` needs a block `{ … }`",
        "1:1",
    );
}

#[test]
fn a_when_body_is_checked_like_an_every_body() {
    one(
        "when \"w\" {\n  condition { sh \"true\" }\n  target { sh \"a\" }\n}\n",
        "goal::target",
        "a `when` body has no `target`",
        "3:3",
    );
    one(
        "when \"w\" {\n  condition { sh \"true\" }\n  param x\n}\n",
        "goal::param",
        "`param` is not allowed in a `when` body",
        "3:3",
    );
    one(
        "when \"w\" {\n  condition { sh \"echo {nope}\" }\n}\n",
        "goal::unknown-name",
        "`nope` is not defined here",
        "2:24",
    );
    one(
        "when \"no good\" {\n  condition { sh \"true\" }\n}\n",
        "goal::name",
        "`no good` is not a valid job name",
        "1:6",
    );
}

#[test]
fn job_names_are_unique_across_every_and_when() {
    let problem = one(
        "every \"1h\" name=\"j\" { run \"x\" }\nwhen \"j\" {\n  condition { sh \"true\" }\n}\n",
        "goal::duplicate-job",
        "job `j` is defined twice",
        "2:6",
    );
    assert!(
        problem.help.starts_with("the first is at Goalfile:1:17"),
        "{problem:#?}"
    );
    let problem = one(
        "every \"1h\" { run \"x\" }\nevery \"2h\" name=\"every-1\" { run \"x\" }\n",
        "goal::duplicate-job",
        "job `every-1` is defined twice",
        "2:17",
    );
    help_is(&problem, "the first is at Goalfile:1:1; `every` and `when` jobs share one set of names; an `every` without `name=` is called `every-N` (the N-th `every`): give it a `name=`");
    // Goals live apart from jobs.
    assert!(problems("goal j\nevery \"1h\" name=\"j\" { require j }\n").is_empty());
}

#[test]
fn a_var_is_a_global() {
    one(
        "let v \"1\"\nvar v\n",
        "goal::duplicate-global",
        "global `v` is defined twice",
        "2:5",
    );
    one(
        "var v default=\"{later}\"\nlet later \"x\"\n",
        "goal::unknown-name",
        "`later` is not defined here",
        "1:16",
    );
    one(
        "var v-1\n",
        "goal::name",
        "`v-1` is not a valid value name",
        "1:5",
    );
    one(
        "var v pattern=#\"(\"#\n",
        "goal::regex",
        "invalid regular expression: unclosed group",
        "1:15",
    );
    let problem = one(
        "var v pattern=#\"\\d+\"# default=\"x\"\n",
        "goal::pattern-mismatch",
        "`x` does not match the pattern of `v`",
        "1:32",
    );
    assert_eq!(problem.help, "the pattern is at Goalfile:1:15");
    one(
        "goal g {\n  var v\n}\n",
        "goal::unknown-node",
        "unknown statement `var`",
        "2:3",
    );
    assert!(
        problems("let a \"1\"\nvar v default=\"{a}.0\"\ngoal g { run \"echo {v}\" }\n").is_empty()
    );
}

#[test]
fn set_names_declared_variables() {
    let problem = one(
        "var version\ngoal g {\n  set verison=\"1\"\n}\n",
        "goal::unknown-variable",
        "there is no variable `verison`",
        "3:7",
    );
    help_is(&problem, "did you mean `version`?");
    let problem = one(
        "let plain \"x\"\ngoal g {\n  set plain=\"1\"\n}\n",
        "goal::unknown-variable",
        "there is no variable `plain`",
        "3:7",
    );
    help_is(
        &problem,
        "`plain` is a `let`; only a `var` keeps a value that can be set and watched",
    );
    one(
        "var v pattern=#\"\\d+\"#\nevery \"1h\" {\n  set v=\"x\"\n}\n",
        "goal::pattern-mismatch",
        "`x` does not match the pattern of `v`",
        "3:10",
    );
    one(
        "var v\ngoal g {\n  set v=\"1\" v=\"2\"\n}\n",
        "goal::duplicate-property",
        "`v` is given twice",
        "3:13",
    );
    one(
        "var v\ngoal g {\n  set\n}\n",
        "goal::arguments",
        "`set` needs at least one variable to set",
        "3:3",
    );
    one(
        "var v\ngoal g {\n  set v \"1\"\n}\n",
        "goal::arguments",
        "`set` takes 0 argument(s), found 2",
        "3:7",
    );
    one(
        "var v\ngoal g x {\n  set v=\"{y}\"\n}\n",
        "goal::unknown-name",
        "`y` is not defined here",
        "3:10",
    );
    assert!(problems(
        "var v pattern=#\"\\d+\"#\ngoal g x {\n  for n \"1\" \"2\" { set v=\"{n}\" }\n  on-success { set v=\"3\" }\n}\n"
    )
    .is_empty());
}

#[test]
fn comparisons_take_two_values() {
    one(
        "goal g {\n  target { less \"1\" }\n}\n",
        "goal::arguments",
        "`less` needs 2 argument(s), found 1",
        "2:12",
    );
    one(
        "goal g {\n  target { equal \"{a}\" \"1\" }\n}\n",
        "goal::unknown-name",
        "`a` is not defined here",
        "2:19",
    );
    let problem = one(
        "goal g {\n  target { at-mots \"1\" \"2\" }\n}\n",
        "goal::unknown-predicate",
        "unknown predicate `at-mots`",
        "2:12",
    );
    help_is(&problem, "did you mean `at-most`?");
    one(
        "predicate less a {\n  sh \"true\"\n}\n",
        "goal::builtin-predicate",
        "`less` is a built-in predicate",
        "1:11",
    );
}

#[test]
fn changes_only_in_a_when_condition() {
    let condition =
        "var v\nwhen \"w\" {\n  condition { any { changed v; not { decreased v } } }\n}\n";
    assert!(problems(condition).is_empty());
    let problem = one(
        "var v\ngoal g {\n  target { increased v }\n}\n",
        "goal::change",
        "`increased` is only allowed in the `condition` of a `when`",
        "3:12",
    );
    help_is(&problem, "`increased` compares a variable with its value when the `when` job last ran; elsewhere compare values with `equal`, `less` and the like");
    one(
        "var v\npredicate p {\n  changed v\n}\n",
        "goal::change",
        "`changed` is only allowed in the `condition` of a `when`",
        "3:3",
    );
    one(
        "var v\nwhen \"w\" {\n  condition { changed w }\n}\n",
        "goal::unknown-variable",
        "there is no variable `w`",
        "3:23",
    );
    one(
        "var v\nwhen \"w\" {\n  condition { changed v \"x\" }\n}\n",
        "goal::arguments",
        "`changed` takes 1 argument(s), found 2",
        "3:25",
    );
}
