//! Every construct parses to the structure it means.

use super::parse_text;
use crate::goalfile::*;
use crate::template::{Filter, Part, Template};

fn parse(text: &str) -> Goalfile {
    match parse_text("Goalfile", text) {
        Ok(goalfile) => goalfile,
        Err(error) => panic!("{}", crate::diagnostic::render(&error.problems)),
    }
}

/// A template written back with its references, for compact comparisons.
fn show(template: &Template) -> String {
    template
        .parts
        .iter()
        .map(|part| match part {
            Part::Literal(text) => text.to_string(),
            Part::Ref(reference) => {
                let filters: String = reference
                    .filters
                    .iter()
                    .map(|filter| format!("|{filter:?}"))
                    .collect();
                format!("{{{}{filters}}}", reference.name)
            }
        })
        .collect()
}

fn text_at(goalfile: &Goalfile, span: Span) -> &str {
    let text = goalfile.files[span.file as usize].text.get();
    &text[span.offset as usize..(span.offset + span.len) as usize]
}

fn only_goal(goalfile: &Goalfile) -> &Goal {
    assert_eq!(goalfile.goals.len(), 1);
    &goalfile.goals[0]
}

fn target_of(text: &str) -> PredicateKind {
    let goalfile = parse(&format!("goal g {{\n target {{ {text} }}\n}}"));
    only_goal(&goalfile)
        .target()
        .expect("a target")
        .predicate
        .kind
        .clone()
}

#[test]
fn globals_keep_their_order_and_kind() {
    let goalfile = parse("let a \"x\"\nlet b output=\"echo {a}\"\n");
    let names: Vec<_> = goalfile
        .globals
        .iter()
        .map(|g| g.name.text.as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert!(matches!(&goalfile.globals[0].value, LetValue::Template(t) if show(t) == "x"));
    assert!(matches!(&goalfile.globals[1].value, LetValue::Output(t) if show(t) == "echo {a}"));
}

#[test]
fn goal_header_params_and_param_nodes() {
    let goalfile = parse(
        r##"goal compiled c_file flags doc="Compile" {
    param c_file pattern=#"[a-z]+\.c"# doc="the source"
    param flags default="-O2"
    run "cc {flags|raw} -c {c_file}"
}"##,
    );
    let goal = only_goal(&goalfile);
    assert_eq!(goal.name.text, "compiled");
    assert_eq!(text_at(&goalfile, goal.name.span), "compiled");
    assert_eq!(goal.doc.as_deref(), Some("Compile"));
    let c_file = &goal.params[0];
    assert_eq!(c_file.name.text, "c_file");
    assert_eq!(c_file.pattern.as_ref().unwrap().source, r"[a-z]+\.c");
    assert_eq!(
        text_at(&goalfile, c_file.pattern.as_ref().unwrap().span),
        r##"#"[a-z]+\.c"#"##
    );
    assert_eq!(c_file.doc.as_deref(), Some("the source"));
    assert_eq!(show(goal.params[1].default.as_ref().unwrap()), "-O2");
    assert!(goal.params[1].pattern.is_none());
    let [Statement::Run(run)] = goal.body.as_slice() else {
        panic!("{:?}", goal.body)
    };
    assert_eq!(show(&run.script), "cc {flags|Raw} -c {c_file}");
}

#[test]
fn a_goal_may_have_no_block() {
    let goalfile = parse("goal nothing\n");
    assert!(only_goal(&goalfile).body.is_empty());
}

#[test]
fn references_point_at_themselves() {
    let goalfile = parse("goal g x {\n  run \"echo {x|base}\"\n}\n");
    let Statement::Run(run) = &only_goal(&goalfile).body[0] else {
        panic!()
    };
    let reference = run.script.refs().next().unwrap();
    assert_eq!(text_at(&goalfile, reference.span), "{x|base}");
    assert_eq!(*reference.filters, [Filter::Base]);
}

#[test]
fn references_in_raw_strings_point_at_themselves() {
    let goalfile = parse("goal g x {\n  run #\"echo \"{x}\"\"#\n}\n");
    let Statement::Run(run) = &only_goal(&goalfile).body[0] else {
        panic!()
    };
    assert_eq!(
        text_at(&goalfile, run.script.refs().next().unwrap().span),
        "{x}"
    );
}

#[test]
fn references_in_escaped_strings_point_at_the_string() {
    let goalfile = parse("goal g x {\n  run \"echo\\t{x}\"\n}\n");
    let Statement::Run(run) = &only_goal(&goalfile).body[0] else {
        panic!()
    };
    let span = run.script.refs().next().unwrap().span;
    assert_eq!(text_at(&goalfile, span), "\"echo\\t{x}\"");
}

#[test]
fn statements_in_order() {
    let goalfile = parse(
        r#"goal g pkg {
    let out "{pkg}.out"
    let rev output="git rev-parse HEAD"
    target { file-exists "{out}" }
    require other x="{pkg}" y="2"
    for f "a" "b" { run "echo {f}" }
    for f glob="src/*.c" { run "echo {f}" }
    for f output="ls" { run "echo {f}" }
    for f words="{pkg} b" { run "echo {f}" }
    run """
        echo one
        echo two
        """
    memory-set "k-{pkg}" "v"
    memory-delete "k"
    set v="{pkg}" w="2"
}
goal other x y"#,
    );
    let body = &goalfile.goals[0].body;
    let kinds: Vec<&str> = body
        .iter()
        .map(|statement| match statement {
            Statement::Let(_) => "let",
            Statement::Target(_) => "target",
            Statement::Require(_) => "require",
            Statement::For(_) => "for",
            Statement::Run(_) => "run",
            Statement::MemorySet { .. } => "memory-set",
            Statement::MemoryDelete { .. } => "memory-delete",
            Statement::Plan(_) => "plan",
            Statement::Set { .. } => "set",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "let",
            "let",
            "target",
            "require",
            "for",
            "for",
            "for",
            "for",
            "run",
            "memory-set",
            "memory-delete",
            "set"
        ]
    );
    let Statement::Require(require) = &body[3] else {
        panic!()
    };
    assert_eq!(require.goal.text, "other");
    let args: Vec<(String, String)> = require
        .args
        .iter()
        .map(|arg| (arg.name.text.to_string(), show(&arg.value)))
        .collect();
    assert_eq!(
        args,
        [("x".into(), "{pkg}".into()), ("y".into(), "2".into())]
    );
    let sources: Vec<String> = body[4..8]
        .iter()
        .map(|statement| match statement {
            Statement::For(for_) => {
                assert_eq!(for_.var.text, "f");
                assert_eq!(for_.body.len(), 1);
                match &for_.source {
                    ForSource::List(values) => {
                        format!(
                            "list {}",
                            values.iter().map(show).collect::<Vec<_>>().join(",")
                        )
                    }
                    ForSource::Glob(t) => format!("glob {}", show(t)),
                    ForSource::Output(t) => format!("output {}", show(t)),
                    ForSource::Words(t) => format!("words {}", show(t)),
                }
            }
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        sources,
        ["list a,b", "glob src/*.c", "output ls", "words {pkg} b"]
    );
    let Statement::Run(run) = &body[8] else {
        panic!()
    };
    assert_eq!(show(&run.script), "echo one\necho two");
    let Statement::MemorySet { key, value, .. } = &body[9] else {
        panic!()
    };
    assert_eq!((show(key), show(value)), ("k-{pkg}".into(), "v".into()));
    let Statement::Set { assignments, .. } = &body[11] else {
        panic!()
    };
    let set: Vec<(&str, String)> = assignments
        .iter()
        .map(|arg| (arg.name.text.as_str(), show(&arg.value)))
        .collect();
    assert_eq!(set, [("v", "{pkg}".into()), ("w", "2".into())]);
}

#[test]
fn file_predicates() {
    let PredicateKind::FileExists(paths) = target_of(r#"file-exists "a" "b""#) else {
        panic!()
    };
    assert_eq!(paths.iter().map(show).collect::<Vec<_>>(), ["a", "b"]);
    let PredicateKind::FileNewer { targets, sources } = target_of(
        r#"file-newer "t1" "t2" words="{objs}" than="s" than-glob="*.h" depfile="a.d" {
        than-glob "*.c"
        than "s2" "s3"
        than-words "{more}"
        depfile "b.d"
    }"#,
    ) else {
        panic!()
    };
    let described = |paths: &[Paths]| -> Vec<String> {
        paths
            .iter()
            .map(|paths| {
                let kind = match paths {
                    Paths::One(_) => "one",
                    Paths::Words(_) => "words",
                    Paths::Glob(_) => "glob",
                    Paths::Depfile(_) => "depfile",
                };
                format!("{kind} {}", show(paths.template()))
            })
            .collect()
    };
    assert_eq!(described(&targets), ["one t1", "one t2", "words {objs}"]);
    // Kinds in a fixed order, each in the order written.
    assert_eq!(
        described(&sources),
        [
            "one s",
            "one s2",
            "one s3",
            "words {more}",
            "glob *.h",
            "glob *.c",
            "depfile a.d",
            "depfile b.d"
        ]
    );
}

#[test]
fn url_and_memory_predicates() {
    let PredicateKind::UrlExists { url, timeout } =
        target_of(r#"url-exists "https://x.org/{a}" timeout="10s""#.replace("{a}", "a").as_str())
    else {
        panic!()
    };
    assert_eq!(show(&url), "https://x.org/a");
    assert_eq!(timeout, Some(std::time::Duration::from_secs(10)));
    let PredicateKind::UrlContains { text, timeout, .. } =
        target_of(r#"url-contains "https://x.org" text="ok""#)
    else {
        panic!()
    };
    assert_eq!((show(&text), timeout), ("ok".into(), None));
    assert!(matches!(
        target_of(r#"memory-exists "k""#),
        PredicateKind::MemoryExists(k) if show(&k) == "k"
    ));
    assert!(matches!(
        target_of(r#"memory-equals "k" "v""#),
        PredicateKind::MemoryEquals { key, value } if show(&key) == "k" && show(&value) == "v"
    ));
}

#[test]
fn command_predicates() {
    assert!(matches!(target_of(r#"sh "true""#), PredicateKind::Sh(c) if show(&c) == "true"));
    assert!(matches!(
        target_of(r#"output "v" equals="1""#),
        PredicateKind::Output { test: OutputTest::Equals(e), .. } if show(&e) == "1"
    ));
    assert!(matches!(
        target_of(r##"output "v" matches=#"^\d+$"#"##),
        PredicateKind::Output { test: OutputTest::Matches(p), .. } if p.source == r"^\d+$"
    ));
}

#[test]
fn combinators_memo_and_calls() {
    let PredicateKind::All(both) = target_of(r#"sh "a"; sh "b""#) else {
        panic!("several predicates in a target are `all`")
    };
    assert_eq!(both.len(), 2);
    let PredicateKind::Any(inner) = target_of(r#"any { sh "a"; not { sh "b" } }"#) else {
        panic!()
    };
    assert!(
        matches!(&inner[1].kind, PredicateKind::Not(p) if matches!(p.kind, PredicateKind::Sh(_)))
    );
    let PredicateKind::Memo {
        key,
        valid_for,
        predicate,
    } = target_of(
        r#"memo "built-{x}" for="1 hour" { built pkg="{x}" }"#
            .replace("{x}", "1")
            .as_str(),
    )
    else {
        panic!()
    };
    assert_eq!(show(&key), "built-1");
    assert_eq!(valid_for, Some(std::time::Duration::from_secs(3600)));
    let PredicateKind::Call { name, args } = predicate.kind else {
        panic!()
    };
    assert_eq!(name.text, "built");
    assert_eq!(args[0].name.text, "pkg");
}

#[test]
fn predicate_definitions() {
    let goalfile = parse(
        r#"predicate koji-built pkg doc="done" {
    param pkg default="x"
    output "koji-state {pkg}" matches="^Complete$"
    sh "true"
}"#,
    );
    let def = &goalfile.predicates[0];
    assert_eq!(def.name.text, "koji-built");
    assert_eq!(def.doc.as_deref(), Some("done"));
    assert_eq!(def.params[0].name.text, "pkg");
    assert!(def.params[0].default.is_some());
    assert_eq!(def.body.len(), 2);
}

#[test]
fn every_blocks() {
    let goalfile = parse(
        r#"every "30 minutes" name="tester" {
    let commit output="git rev-parse HEAD"
    require tested commit="{commit}"
}
every cron="*/30 * * * *" { run "true" }
goal tested commit"#,
    );
    let [interval, cron] = goalfile.every.as_slice() else {
        panic!()
    };
    assert!(matches!(
        &interval.schedule,
        Schedule::Interval { text, every } if text == "30 minutes" && every.as_secs() == 1800
    ));
    assert_eq!(interval.name.as_ref().unwrap().text, "tester");
    assert_eq!(interval.body.len(), 2);
    assert!(
        matches!(&cron.schedule, Schedule::Cron { expression } if expression == "*/30 * * * *")
    );
    assert!(cron.name.is_none());
    assert_eq!(interval.limits, JobLimits { max_running: 1 });
    assert_eq!(interval.missed, Missed::Run);
    assert_eq!(cron.job_name(1), "every-2");
}

#[test]
fn every_limits_and_missed_firings() {
    let goalfile = parse(r#"every "1h" max-running="3" missed="skip" { run "true" }"#);
    let every = &goalfile.every[0];
    assert_eq!(every.limits.max_running, 3);
    assert_eq!(every.missed, Missed::Skip);
    let goalfile = parse(r#"every "1h" missed="run" { run "true" }"#);
    assert_eq!(goalfile.every[0].missed, Missed::Run);
}

#[test]
fn variables_are_globals_in_file_order() {
    let goalfile = parse(
        r##"let a "1"
var version default="{a}.0" pattern=#"\d+\.\d+"# doc="The release"
var bare
let b "2""##,
    );
    let globals: Vec<(&str, bool)> = goalfile
        .globals
        .iter()
        .map(|g| {
            (
                g.name.text.as_str(),
                matches!(g.value, LetValue::Variable(_)),
            )
        })
        .collect();
    assert_eq!(
        globals,
        [
            ("a", false),
            ("version", true),
            ("bare", true),
            ("b", false)
        ]
    );
    assert!(matches!(goalfile.globals[2].value, LetValue::Variable(1)));
    let [version, bare] = goalfile.variables.as_slice() else {
        panic!()
    };
    assert_eq!(version.name.text, "version");
    assert_eq!(show(version.default.as_ref().unwrap()), "{a}.0");
    assert_eq!(version.pattern.as_ref().unwrap().source, r"\d+\.\d+");
    assert_eq!(version.doc.as_deref(), Some("The release"));
    assert!(text_at(&goalfile, version.span).starts_with("var version default="));
    assert!(bare.default.is_none() && bare.pattern.is_none() && bare.doc.is_none());
}

#[test]
fn when_blocks() {
    let goalfile = parse(
        r#"var v
when "bumped" max-running="2" {
    condition {
        changed v
        less "{v}" "2.0"
    }
    run "echo {v}"
    set v="2.0"
}
when "only" { condition { increased v } }"#,
    );
    let [bumped, only] = goalfile.when.as_slice() else {
        panic!()
    };
    assert_eq!(bumped.name.text, "bumped");
    assert_eq!(bumped.limits.max_running, 2);
    assert_eq!(bumped.body.len(), 2);
    let PredicateKind::All(predicates) = &bumped.condition.predicate.kind else {
        panic!("{:?}", bumped.condition.predicate.kind)
    };
    assert_eq!(predicates.len(), 2);
    assert!(matches!(
        &predicates[0].kind,
        PredicateKind::Change { variable, change: Change::Changed } if variable.text == "v"
    ));
    // One predicate stays itself, as in a `target`.
    assert!(matches!(
        only.condition.predicate.kind,
        PredicateKind::Change {
            change: Change::Increased,
            ..
        }
    ));
    assert_eq!(only.limits, JobLimits::default());
    assert!(only.body.is_empty());
}

#[test]
fn comparisons_and_changes() {
    use crate::plan::Comparison;
    for (keyword, expected) in [
        ("equal", Comparison::Equal),
        ("not-equal", Comparison::NotEqual),
        ("less", Comparison::Less),
        ("greater", Comparison::Greater),
        ("at-most", Comparison::LessOrEqual),
        ("at-least", Comparison::GreaterOrEqual),
    ] {
        let PredicateKind::Compare {
            left,
            comparison,
            right,
        } = target_of(&format!(r#"{keyword} "{{a}}" "1.0""#))
        else {
            panic!("{keyword}")
        };
        assert_eq!(comparison, expected);
        assert_eq!((show(&left), show(&right)), ("{a}".into(), "1.0".into()));
        assert_eq!(comparison_keyword(comparison), keyword);
    }
    for (keyword, expected) in [
        ("changed", Change::Changed),
        ("increased", Change::Increased),
        ("decreased", Change::Decreased),
    ] {
        let PredicateKind::Change { variable, change } = target_of(&format!("{keyword} v")) else {
            panic!("{keyword}")
        };
        assert_eq!((variable.text.as_str(), change), ("v", expected));
    }
}

#[test]
fn includes_are_spliced_in_order_and_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "Goalfile",
        "let a \"1\"\ninclude \"lib/b.kdl\"\ninclude \"c.kdl\"\nlet d \"4\"\n",
    );
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    write("lib/b.kdl", "let b \"2\"\ninclude \"../c.kdl\"\n");
    write("c.kdl", "let c \"3\"\ngoal from-c\n");
    let goalfile = super::load(&dir.path().join("Goalfile")).unwrap();
    let names: Vec<_> = goalfile
        .globals
        .iter()
        .map(|g| g.name.text.as_str())
        .collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    assert_eq!(goalfile.files.len(), 3);
    assert_eq!(goalfile.goals[0].name.span.file, 2);
    assert!(goalfile.files[1].path.ends_with("lib/b.kdl"));
}
