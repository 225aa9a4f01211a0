//! How `goal` fits the shell around it: completions for bash, zsh and fish, the manual page,
//! `--color` and `--version`.

use crate::common;

use std::process::{Command, Stdio};

use common::{Project, Run};

const GOALFILE: &str = r#"
goal rebuilt pkg profile doc="Rebuild one package" {
    param pkg doc="the package's name"
    param profile default="release"
    run "echo {pkg} {profile}"
}
goal published pkg {
    run "echo {pkg}"
}
"#;

/// The project, with the completion script `goal completions SHELL` wrote in `completion.SHELL`.
fn project_with_script(shell: &str) -> Project {
    let project = Project::new()
        .goalfile(GOALFILE)
        .file("sub/Goalfile", "goal deployed { run \"true\" }\n");
    let run = project.goal(&["completions", shell]);
    run.success().stderr_is("");
    project.write(&format!("completion.{shell}"), &run.stdout);
    project
}

/// `program ARGS` in the project, in the environment `goal` gets in every test.
fn shell(project: &Project, program: &str, args: &[&str]) -> Run {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(project.path())
        .stdin(Stdio::null());
    common::stable_environment(&mut command);
    Run::from(command.output().expect("running a shell"))
}

/// Whether `program` is installed; if not, says which test is skipped and why.
fn installed(program: &str, test: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        eprintln!("skipped {test}: `{program}` is not installed (.ci/run installs it)");
    }
    found
}

/// Calls bash's completion function on each command line (its last word is the one
/// completed) and prints what it offers, a line each.
const BASH_CALLS: &str = r#"
source ./completion.bash
complete -p goal
offered() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _clap_complete_goal goal "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    echo "[$*] ${COMPREPLY[*]}"
}
"#;

#[test]
fn bash_completes_subcommands_flags_goals_and_their_parameters() {
    let project = project_with_script("bash");
    let calls = format!(
        "{BASH_CALLS}{}",
        r#"
offered goal ''
offered goal co
offered goal pub
offered goal rebuilt p
offered goal rebuilt pkg=zlib p
offered goal published pkg=zlib rebuilt ''
offered goal --c
offered goal --color ''
offered goal completions ''
offered goal -C sub d
offered goal log ''
offered goal log rebuilt p
offered goal log rebuilt pkg=zlib ''
offered goal graph pub
offered goal compdb pub
offered goal graph rebuilt pkg=zlib p
"#
    );
    shell(&project, "bash", &["-c", &calls]).expect(
        0,
        "
        complete -o bashdefault -o nosort -o nospace -F _clap_complete_goal goal
        [goal ] memory log status daemon tick set get vars jobs job graph compdb completions man init fmt help published rebuilt --file --directory --memory --dry-run --explain --keep-going --always --force --jobs --list --check --wait --quiet --verbose --json --color --help --version
        [goal co] compdb completions
        [goal pub] published
        [goal rebuilt p] published pkg= profile=
        [goal rebuilt pkg=zlib p] published profile=
        [goal published pkg=zlib rebuilt ] published rebuilt pkg= profile= --file --directory --memory --dry-run --explain --keep-going --always --force --jobs --list --check --wait --quiet --verbose --json --color --help --version
        [goal --c] --check --color
        [goal --color ] auto always never
        [goal completions ] bash zsh fish --file --directory --memory --dry-run --explain --keep-going --jobs --wait --quiet --verbose --json --color --help
        [goal -C sub d] daemon deployed
        [goal log ] published rebuilt --follow --file --directory --memory --dry-run --explain --keep-going --jobs --wait --quiet --verbose --json --color --help
        [goal log rebuilt p] pkg= profile=
        [goal log rebuilt pkg=zlib ] profile= --follow --file --directory --memory --dry-run --explain --keep-going --jobs --wait --quiet --verbose --json --color --help
        [goal graph pub] published
        [goal compdb pub] published
        [goal graph rebuilt pkg=zlib p] published profile=
        ",
        "",
    );
}

#[test]
fn completion_never_writes_a_goalfile_problem_into_the_shell() {
    let project = project_with_script("bash");
    project.write("Goalfile", "goal broken {\n    run\n}\n");
    let calls = format!("{BASH_CALLS}offered goal b\noffered goal --ch\n");
    shell(&project, "bash", &["-c", &calls]).expect(
        0,
        "
        complete -o bashdefault -o nosort -o nospace -F _clap_complete_goal goal
        [goal b]
        [goal --ch] --check
        ",
        "",
    );
}

#[test]
fn a_run_is_a_run_when_the_environment_has_clap_s_usual_completion_variable() {
    let project = Project::new().goalfile(GOALFILE);
    let mut command = project.command(&["published", "pkg=zlib"]);
    command.env("COMPLETE", "bash");
    let run = Run::from(
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap(),
    );
    run.expect(
        0,
        "zlib\n",
        "
        goal: start published pkg=zlib
        goal: done  published pkg=zlib (0.01s)
        goal: summary: 1 ran, 0 already reached (0.01s)
        ",
    );
}

#[test]
fn zsh_reads_the_completion_script() {
    if !installed("zsh", "zsh_reads_the_completion_script") {
        return;
    }
    let project = project_with_script("zsh");
    shell(&project, "zsh", &["-n", "completion.zsh"]).expect(0, "", "");
    // What the script's function asks `goal` at `goal rebuilt p<TAB>`, and the answer it reads:
    // each candidate with its description after a colon.
    let mut command = project.command(&["--", "goal", "rebuilt", "p"]);
    command
        .env("GOAL_COMPLETE", "zsh")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .env("_CLAP_IFS", "\n");
    let run = Run::from(
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap(),
    );
    run.expect(0, "published\npkg=:the package's name\nprofile=", "");
}

#[test]
fn fish_reads_the_completion_script_and_completes_parameters() {
    if !installed(
        "fish",
        "fish_reads_the_completion_script_and_completes_parameters",
    ) {
        return;
    }
    let project = project_with_script("fish");
    shell(&project, "fish", &["-n", "completion.fish"]).expect(0, "", "");
    let calls = "source completion.fish; complete -C 'goal rebuilt p'";
    shell(&project, "fish", &["--no-config", "-c", calls]).expect(
        0,
        "
        published
        pkg=\tthe package's name
        profile=
        ",
        "",
    );
}

#[test]
fn completions_for_an_unknown_shell_are_refused() {
    let project = Project::new();
    project.goal(&["completions", "tcsh"]).expect(
        2,
        "",
        "
        error: invalid value 'tcsh' for '<SHELL>'
          [possible values: bash, zsh, fish]

          tip: a similar value exists: 'zsh'

        For more information, try '--help'.
        ",
    );
}

/// The options `goal --help` lists, each as `--name`.
fn long_options(text: &str) -> Vec<String> {
    let option = regex::Regex::new(r"--[a-z][a-z-]*").unwrap();
    let mut options: Vec<String> = option
        .find_iter(text)
        .map(|found| found.as_str().to_string())
        .collect();
    options.sort();
    options.dedup();
    options
}

#[test]
fn the_manual_page_renders_and_lists_every_option_and_subcommand_of_help() {
    if !installed(
        "groff",
        "the_manual_page_renders_and_lists_every_option_and_subcommand_of_help",
    ) {
        return;
    }
    let project = Project::new();
    let page = project.goal(&["man"]);
    page.success().stderr_is("");
    project.write("goal.1", &page.stdout);
    // Wide enough that no option is hyphenated at the end of a line; plain text, no overstrike.
    let rendered = shell(
        &project,
        "groff",
        &["-man", "-Tutf8", "-P-cbou", "-rLL=300n", "goal.1"],
    );
    rendered.success().stderr_is("");
    let help = project.goal(&["--help"]);
    help.success();
    let listed = long_options(&help.stdout);
    assert!(listed.contains(&"--color".to_string()), "{listed:?}");
    assert_eq!(
        long_options(&rendered.stdout),
        listed,
        "{}",
        rendered.stdout
    );
    let subcommands = help
        .stdout
        .split("Commands:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("--help lists the subcommands");
    for line in subcommands.lines() {
        let name = line.split_whitespace().next().unwrap();
        assert!(
            rendered.stdout.contains(&format!("\n       goal {name}\n")),
            "the manual page lacks `{name}`\n{}",
            rendered.stdout
        );
    }
}

/// Standard error of `goal ARGS` in an environment with these variables set, durations made
/// alike; nothing else changed, every escape code kept.
fn stderr_bytes(project: &Project, args: &[&str], environment: &[(&str, &str)]) -> String {
    let mut command = project.command(args);
    command.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    command.envs(environment.iter().copied());
    let output = command.stderr(Stdio::piped()).output().unwrap();
    let duration = regex::Regex::new(r"\(\d+\.\d\ds\)").unwrap();
    duration
        .replace_all(&String::from_utf8_lossy(&output.stderr), "(<duration>)")
        .into_owned()
}

const COLOURED_SUMMARY: &str = "goal: \x1b[36mstart\x1b[0m published pkg=zlib\n\
     goal: \x1b[32mdone \x1b[0m published pkg=zlib (<duration>)\n\
     goal: \x1b[33msummary:\x1b[0m 1 ran, 0 already reached (<duration>)\n";

const PLAIN_SUMMARY: &str = "goal: start published pkg=zlib\n\
     goal: done  published pkg=zlib (<duration>)\n\
     goal: summary: 1 ran, 0 already reached (<duration>)\n";

#[test]
fn color_chooses_the_escape_codes_of_status_lines_and_summaries() {
    let project = Project::new().goalfile(GOALFILE);
    let run = |args: &[&str], environment: &[(&str, &str)]| {
        let args = [args, &["published", "pkg=zlib"]].concat();
        stderr_bytes(&project, &args, environment)
    };
    // Not a terminal: no colour unless asked for.
    assert_eq!(run(&[], &[]), PLAIN_SUMMARY);
    assert_eq!(run(&["--color", "always"], &[]), COLOURED_SUMMARY);
    assert_eq!(
        run(&["--color=never"], &[("CLICOLOR_FORCE", "1")]),
        PLAIN_SUMMARY
    );
    assert_eq!(
        run(&["--color=always"], &[("NO_COLOR", "1")]),
        COLOURED_SUMMARY
    );
    assert_eq!(run(&[], &[("CLICOLOR_FORCE", "1")]), COLOURED_SUMMARY);
    assert_eq!(run(&[], &[("CLICOLOR_FORCE", "0")]), PLAIN_SUMMARY);
    assert_eq!(
        run(
            &["--color=auto"],
            &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
        ),
        PLAIN_SUMMARY
    );
    // An empty NO_COLOR is as if it were not set.
    assert_eq!(
        run(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")]),
        COLOURED_SUMMARY
    );
}

#[test]
fn color_chooses_the_escape_codes_of_diagnostics() {
    let project = Project::new().goalfile(GOALFILE);
    let plain = "goal::unknown-goal\n\n  \
        × there is no goal `publish` in the Goalfile\n  \
        help: did you mean `published`?\n";
    let coloured = "\x1b[31mgoal::unknown-goal\x1b[0m\n\n  \
        \x1b[31m×\x1b[0m there is no goal `publish` in the Goalfile\n\x1b[36m  \
        help: \x1b[0mdid you mean `published`?\n";
    assert_eq!(stderr_bytes(&project, &["publish"], &[]), plain);
    assert_eq!(
        stderr_bytes(&project, &["--color", "always", "publish"], &[]),
        coloured
    );
    assert_eq!(
        stderr_bytes(&project, &["publish"], &[("CLICOLOR_FORCE", "1")]),
        coloured
    );
    assert_eq!(
        stderr_bytes(
            &project,
            &["--color", "never", "publish"],
            &[("CLICOLOR_FORCE", "1")]
        ),
        plain
    );
}

/// What `goal ARGS` writes to standard output and standard error, colour codes and all, with
/// neither NO_COLOR nor CLICOLOR_FORCE set unless `environment` sets them.
fn output_bytes(args: &[&str], environment: &[(&str, &str)]) -> (String, String) {
    let project = Project::new();
    let mut command = project.command(args);
    command.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    command.envs(environment.iter().copied());
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let output = command.output().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (text(&output.stdout), text(&output.stderr))
}

#[test]
fn color_chooses_the_escape_codes_of_clap_help_and_usage_errors() {
    let help = |args: &[&str], environment: &[(&str, &str)]| {
        let (stdout, _) = output_bytes(args, environment);
        stdout.lines().nth(2).unwrap_or_default().to_string()
    };
    let coloured_usage = "\x1b[1m\x1b[4mUsage:\x1b[0m \x1b[1mgoal\x1b[0m [OPTIONS] [GOAL [NAME=VALUE]...]... [COMMAND]";
    let plain_usage = "Usage: goal [OPTIONS] [GOAL [NAME=VALUE]...]... [COMMAND]";
    assert_eq!(help(&["--help"], &[]), plain_usage);
    assert_eq!(help(&["--color=always", "--help"], &[]), coloured_usage);
    assert_eq!(help(&["--help", "--color", "always"], &[]), coloured_usage);
    assert_eq!(
        help(&["--help"], &[("CLICOLOR_FORCE", "1")]),
        coloured_usage
    );
    assert_eq!(
        help(&["--help"], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]),
        plain_usage
    );
    assert_eq!(
        help(&["--color", "never", "--help"], &[("CLICOLOR_FORCE", "1")]),
        plain_usage
    );
    let error = |args: &[&str], environment: &[(&str, &str)]| {
        let (_, stderr) = output_bytes(args, environment);
        stderr.lines().next().unwrap_or_default().to_string()
    };
    assert_eq!(
        error(&["--bogus"], &[]),
        "error: unexpected argument '--bogus' found"
    );
    assert_eq!(
        error(&["--bogus"], &[("CLICOLOR_FORCE", "1")]),
        "\x1b[1m\x1b[31merror:\x1b[0m unexpected argument '\x1b[33m--bogus\x1b[0m' found"
    );
    assert_eq!(
        error(&["--color=always", "--bogus"], &[("NO_COLOR", "1")]),
        "\x1b[1m\x1b[31merror:\x1b[0m unexpected argument '\x1b[33m--bogus\x1b[0m' found"
    );
}

#[test]
fn color_takes_only_auto_always_or_never() {
    Project::new().goal(&["--color", "sometimes"]).expect(
        2,
        "",
        "
        error: invalid value 'sometimes' for '--color <WHEN>'
          [possible values: auto, always, never]

        For more information, try '--help'.
        ",
    );
}

#[test]
fn version_names_the_commit_of_a_build_from_git() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(common::repo_root())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string());
    let version = env!("CARGO_PKG_VERSION");
    let expected = match commit {
        Some(commit) => format!("goal {version} (commit {commit})\n"),
        None => format!("goal {version}\n"),
    };
    Project::new().goal(&["--version"]).expect(0, &expected, "");
}

/// The escape codes that colour text (SGR), as opposed to those that move the cursor.
fn colour_codes(text: &str) -> Vec<String> {
    let sgr = regex::Regex::new(r"\x1b\[[0-9;]*m").unwrap();
    let mut codes: Vec<String> = sgr
        .find_iter(text)
        .map(|code| code.as_str().to_string())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn color_chooses_the_colours_of_the_progress_line_on_a_terminal() {
    if !installed(
        "script",
        "color_chooses_the_colours_of_the_progress_line_on_a_terminal",
    ) {
        return;
    }
    let project = Project::new().goalfile("goal slow { run \"sleep 0.3\" }\n");
    // `script` gives `goal` a terminal, and copies what it draws there to its own output.
    let on_terminal = |color: &str, environment: &[(&str, &str)]| {
        let line = format!("{} --color {color} -B slow", env!("CARGO_BIN_EXE_goal"));
        let mut command = Command::new("script");
        command
            .args(["-qec", &line, "/dev/null"])
            .current_dir(project.path())
            .stdin(Stdio::null());
        common::stable_environment(&mut command);
        command
            .env_remove("NO_COLOR")
            .envs(environment.iter().copied());
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let coloured = vec!["\x1b[0m", "\x1b[32m", "\x1b[33m", "\x1b[36m"];
    // What the progress line draws depends on timing: only its colours are known.
    let auto = on_terminal("auto", &[]);
    assert_eq!(colour_codes(&auto), coloured, "{auto:?}");
    assert!(auto.contains("\x1b[36m⠁\x1b[0m [0s] starting"), "{auto:?}");
    let never = on_terminal("never", &[]);
    assert_eq!(colour_codes(&never), Vec::<String>::new(), "{never:?}");
    assert!(never.contains("⠁ [0s] starting"), "{never:?}");
    let no_color = on_terminal("auto", &[("NO_COLOR", "1")]);
    assert_eq!(
        colour_codes(&no_color),
        Vec::<String>::new(),
        "{no_color:?}"
    );
}
