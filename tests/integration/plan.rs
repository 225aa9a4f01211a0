//! The `plan` statement end to end, mostly on examples/disk-image: every input against every
//! wanted image, with the chosen plan checked against an exhaustive search over a model of the
//! example's transitions, and the stand-in tools' log checked against the plan.

use crate::common;

use std::fs;
use std::path::Path;

use common::{repo_root, Project, Run};

/// A copy of examples/disk-image.
fn disk_image() -> Project {
    let project = Project::new();
    let source = repo_root().join("examples/disk-image");
    copy_dir(&source, project.path());
    project
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The image as the example's tags describe it; sizes in MiB.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Image {
    xz: bool,
    template: bool,
    format: &'static str,
    mib: u64,
}

/// The example's transitions, written again from its Goalfile: (name, cost in thousandths,
/// the image after). A size counts in GiB, truncated to thousandths as the planner counts it.
fn steps(image: &Image, format: &'static str, mib: u64) -> Vec<(&'static str, u64, Image)> {
    let times_size = |factor: u64| factor * (image.mib * 1000 / 1024) / 1000;
    let mut steps = Vec::new();
    if image.xz {
        let next = Image {
            xz: false,
            template: false,
            ..image.clone()
        };
        steps.push(("decompress", 1000 + times_size(2000), next));
        return steps;
    }
    steps.push((
        "convert",
        1000 + times_size(1000),
        Image {
            format,
            template: false,
            ..image.clone()
        },
    ));
    if image.mib + 256 <= mib {
        let next = Image {
            format,
            mib,
            template: false,
            ..image.clone()
        };
        steps.push(("grow", 3000 + times_size(2000), next));
    }
    if !image.template && image.mib < mib {
        steps.push((
            "resize",
            500,
            Image {
                mib,
                ..image.clone()
            },
        ));
    }
    if image.template {
        let next = Image {
            template: false,
            ..image.clone()
        };
        steps.push(("copy", times_size(500), next));
    }
    steps
}

fn wanted(image: &Image, format: &str, mib: u64) -> bool {
    !image.xz && !image.template && image.format == format && image.mib == mib
}

/// The least cost of any sequence of up to `depth` steps, trying them all.
fn cheapest(image: &Image, format: &'static str, mib: u64, depth: usize) -> Option<u64> {
    if wanted(image, format, mib) {
        return Some(0);
    }
    if depth == 0 {
        return None;
    }
    steps(image, format, mib)
        .into_iter()
        .filter_map(|(_, cost, next)| Some(cost + cheapest(&next, format, mib, depth - 1)?))
        .min()
}

/// `2.5` as 2500.
fn thousandths(cost: &str) -> u64 {
    let (whole, fraction) = cost.split_once('.').unwrap_or((cost, ""));
    whole.parse::<u64>().unwrap() * 1000 + format!("{fraction:0<3}").parse::<u64>().unwrap()
}

/// The plan a dry run printed: the steps with their costs, and the total.
fn printed_plan(run: &Run) -> (Vec<(String, u64)>, u64) {
    let mut lines = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("plan for "));
    let header = lines
        .next()
        .unwrap_or_else(|| panic!("no plan in {}", run.stdout));
    let total = thousandths(header.rsplit(' ').next().unwrap());
    let steps = lines
        .take_while(|line| line.starts_with("  "))
        .map(|line| {
            let (_, rest) = line.trim().split_once(". ").unwrap();
            let (name, cost) = rest.split_once("  (cost ").unwrap();
            (
                name.trim().to_string(),
                thousandths(cost.trim_end_matches(')')),
            )
        })
        .collect();
    (steps, total)
}

/// What the stand-in tools must have logged for these steps, with the template as SRC, the
/// output as OUT and intermediate files as TMP.
fn expected_log(steps: &[String], format: &str, size: &str) -> Vec<String> {
    let last = steps.len().saturating_sub(1);
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let input = if i == 0 { "SRC" } else { "TMP" };
            let output = if i == last { "OUT" } else { "TMP" };
            match step.as_str() {
                "decompress" => format!("xzcat {input}"),
                "convert" => format!("qemu-img convert -O {format} {input} {output}"),
                "grow" => {
                    format!("virt-resize --output-format {format} --resize {size} {input} {output}")
                }
                "resize" => format!("qemu-img resize {input} {size}"),
                "copy" => format!("cp {input} {output}"),
                other => panic!("unknown step {other}"),
            }
        })
        .collect()
}

fn logged(project: &Project, src: &str, out: &str) -> Vec<String> {
    if !project.exists("tools.log") {
        return Vec::new();
    }
    project
        .read("tools.log")
        .lines()
        .map(|line| {
            line.split(' ')
                .map(|word| match word {
                    w if w == src => "SRC",
                    w if w == out => "OUT",
                    w if w.starts_with(".goal-plan-") => "TMP",
                    w => w,
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn every_input_becomes_every_wanted_image_by_the_cheapest_plan() {
    let sizes = [("4G", 4096), ("4196M", 4196), ("5G", 5120), ("8G", 8192)];
    let mut longer_and_cheaper = 0;
    for xz in [false, true] {
        for input_format in ["raw", "qcow2"] {
            for wanted_format in [None, Some("raw"), Some("qcow2")] {
                for (size, mib) in sizes {
                    let format = wanted_format.unwrap_or(input_format);
                    let case = format!(
                        "input {input_format} 4G{}, wanted {format} {size}",
                        if xz { " xz" } else { "" }
                    );
                    let project = disk_image();
                    let status =
                        // Through sh: exec-ing a file just copied can meet "text file busy"
                        // while another test thread forks.
                        std::process::Command::new("sh")
                            .arg(project.path().join("tools/make-image"))
                            .current_dir(project.path())
                            .args(["template.img", input_format, "4G"])
                            .args(xz.then_some("xz"))
                            .status()
                            .unwrap();
                    assert!(status.success());
                    let args = [
                        "image",
                        "src=template.img",
                        "out=disk.img",
                        &format!("format={format}"),
                        &format!("size={size}"),
                    ];
                    let mut dry = vec!["--dry-run"];
                    dry.extend(args);
                    let planned = project.goal(&dry);
                    planned.status(1);
                    let (steps, total) = printed_plan(&planned);
                    let start = Image {
                        xz,
                        template: true,
                        format: input_format,
                        mib: 4096,
                    };
                    let best = cheapest(&start, format, mib, 6)
                        .unwrap_or_else(|| panic!("{case}: the model finds no plan"));
                    assert_eq!(total, best, "{case}: {steps:?} is not the cheapest");
                    let mut image = start.clone();
                    for (name, cost) in &steps {
                        let (_, model_cost, next) = steps_from(&image, format, mib, name)
                            .unwrap_or_else(|| panic!("{case}: {name} is impossible here"));
                        assert_eq!(*cost, model_cost, "{case}: the cost of {name}");
                        image = next;
                    }
                    assert!(
                        wanted(&image, format, mib),
                        "{case}: {steps:?} ends in {image:?}"
                    );
                    let shortest = (1..=6).find(|&d| cheapest(&start, format, mib, d).is_some());
                    if shortest.is_some_and(|shortest| steps.len() > shortest) {
                        longer_and_cheaper += 1;
                    }

                    project.goal(&args).success();
                    let names: Vec<String> = steps.iter().map(|(name, _)| name.clone()).collect();
                    assert_eq!(
                        logged(&project, "template.img", "disk.img"),
                        expected_log(&names, format, size),
                        "{case}"
                    );
                    let disk = project.read("disk.img");
                    assert!(
                        disk.contains(&format!("format={format}\n")),
                        "{case}: {disk}"
                    );
                    assert!(disk.contains(&format!("size={mib}M\n")), "{case}: {disk}");
                    let leftovers: Vec<_> = fs::read_dir(project.path())
                        .unwrap()
                        .filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .filter(|name| name.starts_with(".goal-plan-"))
                        .collect();
                    assert!(leftovers.is_empty(), "{case}: {leftovers:?} left behind");
                }
            }
        }
    }
    assert!(
        longer_and_cheaper > 0,
        "no case had a longer plan cheaper than the shortest"
    );
}

fn steps_from(
    image: &Image,
    format: &'static str,
    mib: u64,
    name: &str,
) -> Option<(&'static str, u64, Image)> {
    steps(image, format, mib)
        .into_iter()
        .find(|(step, _, _)| *step == name)
}

fn make_image(project: &Project, args: &[&str]) {
    let status = std::process::Command::new(project.path().join("tools/make-image"))
        .current_dir(project.path())
        .args(args)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_longer_plan_wins_when_it_is_cheaper_and_explain_says_why_the_shorter_lost() {
    let project = disk_image();
    make_image(&project, &["template.img", "raw", "4G"]);
    let args = [
        "--explain",
        "image",
        "src=template.img",
        "out=disk.img",
        "format=raw",
        "size=5G",
    ];
    project.goal(&args).expect(
        0,
        "",
        "
        goal: explain image src=template.img out=disk.img format=raw size=5G: fires: `tools/is-image 'disk.img' 'raw' '5G'` exited with status 1
        goal: plan  image src=template.img out=disk.img format=raw size=5G: copy (2) → resize (0.5), total cost 2.5
        goal: explain image src=template.img out=disk.img format=raw size=5G: plan chosen after exploring 3 states: copy (2) → resize (0.5), total 2.5
        goal: explain image src=template.img out=disk.img format=raw size=5G: runner-up grow (11), total 11: it costs 8.5 more
        goal: explain image src=template.img out=disk.img format=raw size=5G: runner-up copy (2) → grow (11), total 13: it costs 10.5 more
        goal: start image src=template.img out=disk.img format=raw size=5G
        goal: done  image src=template.img out=disk.img format=raw size=5G (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(
        logged(&project, "template.img", "disk.img"),
        ["cp SRC TMP", "qemu-img resize TMP 5G"]
    );
    // The promise holds now: a second run plans nothing and runs nothing.
    project.goal(&args[1..]).expect(
        0,
        "",
        "
            goal: reached image src=template.img out=disk.img format=raw size=5G
            goal: summary: 0 ran, 1 already reached (<duration>)
            ",
    );
    assert_eq!(logged(&project, "template.img", "disk.img").len(), 2);
}

#[test]
fn a_dry_run_prints_the_plan_and_runs_nothing() {
    let project = disk_image();
    make_image(&project, &["template.img", "qcow2", "4G", "xz"]);
    let run = project.goal(&[
        "-n",
        "image",
        "src=template.img",
        "out=disk.img",
        "format=raw",
        "size=4G",
    ]);
    run.expect(1, "
        plan for image src=template.img out=disk.img format=raw size=4G: 2 step(s), total cost 14
          1. decompress  (cost 9)
          2. convert     (cost 5)
        would fire: image src=template.img out=disk.img format=raw size=4G  (`tools/is-image 'disk.img' 'raw' '4G'` exited with status 1)
        ", "goal: summary: 1 would fire, 0 may fire, 0 already reached (<duration>)\n");
    assert!(!project.exists("tools.log"));
    assert!(!project.exists("disk.img"));
}

/// Tags `a` → `b` → `c` with a way back from each, and a direct way to `c` that costs more;
/// `d` only comes from `d`.
const CYCLIC: &str = r#"
transition forward-ab cost="1" {
    when { has "a"; }
    effects { remove "a"; add "b"; }
    run "echo 'a -> b' >> steps.log; cp {input} {output}"
}
transition forward-bc cost="1" {
    when { has "b"; }
    effects { remove "b"; add "c"; }
    run "echo 'b -> c' >> steps.log; cp {input} {output}"
}
transition back-ba cost="0" {
    when { has "b"; }
    effects { remove "b"; add "a"; }
    run "echo 'b -> a' >> steps.log; cp {input} {output}"
}
transition back-cb cost="0" {
    when { has "c"; }
    effects { remove "c"; add "b"; }
    run "echo 'c -> b' >> steps.log; cp {input} {output}"
}
transition only-from-d cost="1" {
    when { has "d"; }
    effects { add "d"; }
    run "cp {input} {output}"
}
transition jump cost="5" {
    when { has "a"; }
    effects { remove "a"; add "c"; }
    run "echo 'a -> c' >> steps.log; cp {input} {output}"
}
goal reach-a {
    plan from="in.txt" to="out.txt" {
        start { add "a"; }
        want { has "a"; }
    }
}
goal reach-c {
    plan from="in.txt" to="out.txt" {
        start { add "a"; }
        want { has "c"; }
    }
}
goal reach-d {
    plan from="in.txt" to="out.txt" {
        start { add "a"; }
        want { has "d"; }
    }
}
"#;

#[test]
fn a_cyclic_transition_graph_terminates_with_a_plan_or_the_error() {
    let project = Project::new().goalfile(CYCLIC).file("in.txt", "data\n");
    project.goal(&["reach-c"]).expect(
        0,
        "",
        "
        goal: plan  reach-c: forward-ab (1) → forward-bc (1), total cost 2
        goal: start reach-c
        goal: done  reach-c (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.read("steps.log"), "a -> b\nb -> c\n");
    assert_eq!(project.read("out.txt"), "data\n");

    let run = project.goal(&["reach-d"]);
    run.expect(
        1,
        "",
        r#"
        goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
        goal: failed: reach-d
        goal::no-plan

          × `reach-d`: no plan reaches the wanted tags
            ╭─[Goalfile:45:5]
         44 │     goal reach-d {
         45 │ ╭─▶     plan from="in.txt" to="out.txt" {
         46 │ │           start { add "a"; }
         47 │ │           want { has "d"; }
         48 │ ├─▶     }
            · ╰──── this plan
         49 │     }
            ╰────
          help: unmet: has "d"; the closest of the 3 states explored has: a
        "#,
    );
}

#[test]
fn unreachable_wanted_tags_are_named_in_the_error() {
    let project = disk_image();
    make_image(&project, &["template.img", "raw", "4G", "xz"]);
    // Shrinking is impossible: no transition makes an image smaller.
    let run = project.goal(&[
        "image",
        "src=template.img",
        "out=disk.img",
        "format=qcow2",
        "size=2G",
    ]);
    run.expect(
        1,
        "",
        r#"
        goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
        goal: failed: image src=template.img out=disk.img format=qcow2 size=2G
        goal::no-plan

          × `image src=template.img out=disk.img format=qcow2 size=2G`: no plan reaches the wanted tags
            ╭─[Goalfile:53:5]
         52 │         target { sh "tools/is-image {out} {format} {size}" }
         53 │ ╭─▶     plan from="{src}" to="{out}" {
         54 │ │           start output="tools/probe {src}" { add "template" }
         55 │ │           want {
         56 │ │               lacks "xz"
         57 │ │               lacks "template"
         58 │ │               is "format" "{format}"
         59 │ │               compare "size" "==" "{size}"
         60 │ │           }
         61 │ ├─▶     }
            · ╰──── this plan
         62 │     }
            ╰────
          help: unmet: compare "size" "==" "2G"; the closest of the 3 states explored has: format=qcow2,
                size=4096M
        "#,
    );
    assert!(!project.exists("tools.log"));
}

#[test]
fn the_search_stops_at_its_limit() {
    let goalfile = CYCLIC.replace(r#"plan from="in.txt""#, r#"plan limit="2" from="in.txt""#);
    let project = Project::new().goalfile(&goalfile).file("in.txt", "");
    project
        .goal(&["reach-c"]).expect(1, "", r#"
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: reach-c
            goal::plan-limit

              × `reach-c`: the plan search explored 2 states, its limit, without reaching the wanted tags
                ╭─[Goalfile:39:5]
             38 │     goal reach-c {
             39 │ ╭─▶     plan limit="2" from="in.txt" to="out.txt" {
             40 │ │           start { add "a"; }
             41 │ │           want { has "c"; }
             42 │ ├─▶     }
                · ╰──── this plan
             43 │     }
                ╰────
              help: unmet: has "c"; the closest of the 2 states explored has: a; raise the limit with
                    `limit="…"` on the plan
            "#);
}

#[test]
fn a_start_that_already_has_the_wanted_tags_runs_no_step() {
    let project = Project::new().goalfile(CYCLIC).file("in.txt", "");
    project.goal(&["reach-a"]).expect(
        0,
        "",
        "
            goal: plan  reach-a: no step, total cost 0
            goal: summary: 0 ran, 0 already reached (<duration>)
            ",
    );
    assert!(!project.exists("steps.log"));
}

/// Two steps: `prepare` writes an intermediate file, `step` runs the command it is given.
const TWO_STEPS: &str = r#"
transition prepare cost="0" {
    when { lacks "ready"; }
    effects { add "ready"; }
    run "printf prepared > {output}"
}
transition step command limit cost="1" {
    when { has "ready"; compare "n" "<" "{limit}"; }
    effects { set "n" "{limit}"; }
    run "{command|raw}"
}
goal stepped command limit start {
    param start default="true"
    plan from="in" to="out/file" {
        start output="{start|raw}" { set "n" "1"; }
        want { compare "n" ">=" "{limit}"; }
    }
}
"#;

#[test]
fn a_failing_step_fails_the_goal_and_leaves_no_intermediate_files() {
    let project = Project::new().goalfile(TWO_STEPS);
    fs::create_dir(project.path().join("out")).unwrap();
    project
        .goal(&["stepped", "command=exit 3", "limit=2"]).expect(1, "", r#"
            goal: plan  stepped command='exit 3' limit=2 start=true: prepare (0) → step (1), total cost 1
            goal: start stepped command='exit 3' limit=2 start=true
            goal: FAILED stepped command='exit 3' limit=2 start=true (<duration>)
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: stepped command='exit 3' limit=2 start=true
            goal::recipe-failed

              × `stepped command='exit 3' limit=2 start=true` failed: step 2 of its plan, `step`, exited with
              │ status 3
                ╭─[Goalfile:10:5]
              9 │     effects { set "n" "{limit}"; }
             10 │     run "{command|raw}"
                ·     ─────────┬─────────
                ·              ╰── this recipe
             11 │ }
                ╰────
            "#);
    assert_eq!(fs::read_dir(project.path().join("out")).unwrap().count(), 0);
}

/// One step that writes part of the plan's output, then fails unless `whole` exists.
const PARTIAL_OUTPUT: &str = r#"
transition write cost="1" {
    when { lacks "written"; }
    effects { add "written"; }
    run "printf partial > {output}; test -e whole"
}
goal converted {
    target { file-newer "out/file" than="in" }
    plan from="in" to="out/file" { want { has "written"; } }
}
"#;

#[test]
fn a_failing_last_step_leaves_no_partial_output_and_the_error_names_it() {
    let project = Project::new().goalfile(PARTIAL_OUTPUT).file("in", "x");
    fs::create_dir(project.path().join("out")).unwrap();
    project.goal(&["converted"]).expect(
        1,
        "",
        r#"goal: plan  converted: write (1), total cost 1
goal: start converted
goal: FAILED converted (0.01s)
goal: summary: 0 ran, 0 already reached, 1 failed (0.01s)
goal: failed: converted
goal::recipe-failed

  × `converted` failed: step 1 of its plan, `write`, exited with status 1
   ╭─[Goalfile:5:5]
 4 │     effects { add "written"; }
 5 │     run "printf partial > {output}; test -e whole"
   ·     ───────────────────────┬──────────────────────
   ·                            ╰── this recipe
 6 │ }
   ╰────
"#,
    );
    assert!(!project.exists("out/file"));
    // The next run takes nothing for done: it runs the step again.
    project.write("whole", "");
    project.goal(&["converted"]).expect(
        0,
        "",
        "goal: plan  converted: write (1), total cost 1
goal: start converted
goal: done  converted (0.01s)
goal: summary: 1 ran, 0 already reached (0.01s)
",
    );
    assert_eq!(project.read("out/file"), "partial");
}

#[test]
fn a_failing_last_step_leaves_an_output_it_did_not_touch() {
    let project = Project::new()
        .goalfile(TWO_STEPS)
        .file("out/file", "from an earlier run");
    project
        .goal(&["stepped", "command=exit 3", "limit=2"])
        .expect(
            1,
            "",
            r#"goal: plan  stepped command='exit 3' limit=2 start=true: prepare (0) → step (1), total cost 1
goal: start stepped command='exit 3' limit=2 start=true
goal: FAILED stepped command='exit 3' limit=2 start=true (0.03s)
goal: summary: 0 ran, 0 already reached, 1 failed (0.03s)
goal: failed: stepped command='exit 3' limit=2 start=true
goal::recipe-failed

  × `stepped command='exit 3' limit=2 start=true` failed: step 2 of its plan, `step`, exited with
  │ status 3
    ╭─[Goalfile:10:5]
  9 │     effects { set "n" "{limit}"; }
 10 │     run "{command|raw}"
    ·     ─────────┬─────────
    ·              ╰── this recipe
 11 │ }
    ╰────
"#,
        );
    assert_eq!(project.read("out/file"), "from an earlier run");
}

#[test]
fn step_recipes_see_their_files_and_parameters_in_the_environment() {
    let project = Project::new().goalfile(TWO_STEPS).file("in", "x");
    fs::create_dir(project.path().join("out")).unwrap();
    project
        .goal(&[
            "stepped",
            "command=echo \"$input $output $limit\" > seen",
            "limit=2",
        ]).expect(0, "", r#"
            goal: plan  stepped command='echo "$input $output $limit" > seen' limit=2 start=true: prepare (0) → step (1), total cost 1
            goal: start stepped command='echo "$input $output $limit" > seen' limit=2 start=true
            goal: done  stepped command='echo "$input $output $limit" > seen' limit=2 start=true (<duration>)
            goal: summary: 1 ran, 0 already reached (<duration>)
            "#);
    let seen = project.read("seen");
    let (input, rest) = seen.split_once(' ').unwrap();
    assert!(input.starts_with("out/.goal-plan-"), "{seen}");
    assert!(input.ends_with("/1-prepare"), "{seen}");
    assert_eq!(rest, "out/file 2\n");
}

#[test]
fn a_missing_output_directory_is_reported() {
    let project = Project::new().goalfile(TWO_STEPS);
    // The message names the directory the plan tried to make, whose name is random.
    project
        .goal(&["stepped", "command=true", "limit=2"])
        .status(1)
        .stderr_has("goal::plan-files")
        .stderr_has("intermediate files beside out/file");
}

#[test]
fn a_comparison_with_a_value_that_is_no_quantity_is_reported() {
    let project = Project::new().goalfile(TWO_STEPS);
    project
        .goal(&["stepped", "command=true", "limit=lots"]).expect(1, "", r#"
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: stepped command=true limit=lots start=true
            goal::quantity

              × `lots` is not a number or a size
                ╭─[Goalfile:16:16]
             15 │         start output="{start|raw}" { set "n" "1"; }
             16 │         want { compare "n" ">=" "{limit}"; }
                ·                ─────────────┬────────────
                ·                             ╰── in this comparison
             17 │     }
                ╰────
              help: write a number with an optional K, M, G or T suffix (powers of 1024), such as "4G" or
                    "1.5G"; terms may be added and subtracted: "{size} - 256M"
            "#);
}

#[test]
fn a_start_command_must_print_tags() {
    let project = Project::new().goalfile(TWO_STEPS);
    project
        .goal(&[
            "stepped",
            "command=true",
            "limit=2",
            "start=echo 'not a tag'",
        ])
        .expect(
            1,
            "",
            r#"
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: stepped command=true limit=2 start='echo '\''not a tag'\'''
            goal::start-tags

              × the start command printed `not a tag`, which is not a tag
                ╭─[Goalfile:15:23]
             14 │     plan from="in" to="out/file" {
             15 │         start output="{start|raw}" { set "n" "1"; }
                ·                       ─────┬─────
                ·                            ╰── this command
             16 │         want { compare "n" ">=" "{limit}"; }
                ╰────
              help: print one tag a line: NAME or NAME=VALUE, where NAME is like `format`
            "#,
        );
}

#[test]
fn a_start_command_adds_tags_after_the_start_block() {
    let project = Project::new().goalfile(TWO_STEPS);
    project
        .goal(&[
            "-n",
            "stepped",
            "command=true",
            "limit=2",
            "start=printf 'n=5\\nother'",
        ]).expect(0, r#"plan for stepped command=true limit=2 start='printf '\''n=5\nother'\''': 0 step(s), total cost 0
"#, r#"
            goal: reached stepped command=true limit=2 start='printf '\''n=5\nother'\'''
            goal: summary: 0 would fire, 0 may fire, 1 already reached (<duration>)
            "#);
}

#[test]
fn a_failing_start_command_fails_the_goal() {
    let project = Project::new().goalfile(TWO_STEPS);
    project
        .goal(&["stepped", "command=true", "limit=2", "start=exit 4"])
        .expect(
            1,
            "",
            r#"
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: stepped command=true limit=2 start='exit 4'
            goal::command-failed

              × the command of this `start` exited with status 4: exit 4
                ╭─[Goalfile:14:5]
             13 │         param start default="true"
             14 │ ╭─▶     plan from="in" to="out/file" {
             15 │ │           start output="{start|raw}" { set "n" "1"; }
             16 │ │           want { compare "n" ">=" "{limit}"; }
             17 │ ├─▶     }
                · ╰──── this command failed
             18 │     }
                ╰────
            "#,
        );
}

/// A Goalfile with one transition and one plan, with `transition` and `plan` replaced.
#[track_caller]
fn mistake(transition: &str, plan: &str) -> Run {
    let goalfile = format!(
        "transition copy cost=\"1\" {{\n{transition}\n}}\n\ngoal copied src out {{\n    \
         plan from=\"{{src}}\" to=\"{{out}}\" {{\n{plan}\n    }}\n}}\n"
    );
    Project::new().goalfile(&goalfile).goal(&["--check"])
}

const COPY: &str = r#"    effects { add "copied"; }
    run "cp {input} {output}""#;
const WANT: &str = r#"        want { has "copied"; }"#;

#[test]
fn mistakes_in_transitions_and_plans_are_pointed_at_with_help() {
    mistake(COPY, &format!("{WANT}\n{WANT}")).expect(
        2,
        "",
        r#"
        goal::plan

          × a plan has at most one `want`
            ╭─[Goalfile:9:9]
          8 │         want { has "copied"; }
          9 │         want { has "copied"; }
            ·         ──┬─
            ·           ╰── given again
         10 │     }
            ╰────
          help: merge the two `want` nodes
        "#,
    );
    mistake(
        COPY,
        "        start { add \"copied\"; }\n        start { }\n        want { has \"copied\"; }",
    )
    .expect(
        2,
        "",
        r#"
        goal::plan

          × a plan has at most one `start`
            ╭─[Goalfile:9:9]
          8 │         start { add "copied"; }
          9 │         start { }
            ·         ──┬──
            ·           ╰── given again
         10 │         want { has "copied"; }
            ╰────
          help: merge the two `start` nodes
        "#,
    );
    mistake(&format!("{COPY}\n    run \"true\""), WANT).expect(
        2,
        "",
        r#"
        goal::transition

          × a transition has at most one `run`
           ╭─[Goalfile:4:5]
         3 │     run "cp {input} {output}"
         4 │     run "true"
           ·     ─┬─
           ·      ╰── given again
         5 │ }
           ╰────
          help: merge the two `run` nodes
        "#,
    );
    mistake(&format!("    when {{ hass \"copied\"; }}\n{COPY}"), WANT).expect(
        2,
        "",
        r#"
        goal::unknown-node

          × unknown tag test `hass`
           ╭─[Goalfile:2:12]
         1 │ transition copy cost="1" {
         2 │     when { hass "copied"; }
           ·            ──┬─
           ·              ╰── not a tag test
         3 │     effects { add "copied"; }
           ╰────
          help: did you mean `has`?
        "#,
    );
    mistake(COPY, r#"        want { has "copid"; }"#).expect(
        2,
        "",
        r#"
        goal::unknown-tag

          × no start and no transition gives the tag `copid`
           ╭─[Goalfile:8:20]
         7 │     plan from="{src}" to="{out}" {
         8 │         want { has "copid"; }
           ·                    ───┬───
           ·                       ╰── never given
         9 │     }
           ╰────
          help: did you mean `copied`?
        "#,
    );
    mistake(COPY, r#"        want { is "copied"; }"#).expect(
        2,
        "",
        r#"
        goal::arguments

          × `is` needs 2 argument(s), found 1
           ╭─[Goalfile:8:16]
         7 │     plan from="{src}" to="{out}" {
         8 │         want { is "copied"; }
           ·                ─────┬─────
           ·                     ╰── here
         9 │     }
           ╰────
          help: write `is "tag" "value"`
        "#,
    );
    mistake(&format!("{COPY}\n    fly \"away\""), WANT).expect(
        2,
        "",
        r#"
        goal::unknown-node

          × unknown transition part `fly`
           ╭─[Goalfile:4:5]
         3 │     run "cp {input} {output}"
         4 │     fly "away"
           ·     ─┬─
           ·      ╰── not a transition part
         5 │ }
           ╰────
          help: expected one of: when, effects, run
        "#,
    );
    mistake(COPY, &format!("{WANT}\n        wish {{ }}")).expect(
        2,
        "",
        r#"
        goal::unknown-node

          × unknown plan part `wish`
            ╭─[Goalfile:9:9]
          8 │         want { has "copied"; }
          9 │         wish { }
            ·         ──┬─
            ·           ╰── not a plan part
         10 │     }
            ╰────
          help: expected one of: start, want
        "#,
    );
}

#[test]
fn a_plan_must_define_what_the_transitions_take() {
    let project = Project::new().goalfile(
        r#"
transition convert format cost="1" {
    effects { set "format" "{format}"; }
    run "qemu-img convert -O {format} {input} {output}"
}
goal image src out {
    plan from="{src}" to="{out}" {
        want { is "format" "qcow2"; }
    }
}
"#,
    );
    project
        .goal(&["--check"]).expect(2, "", r#"
            goal::unknown-name

              × transition `convert` takes `format`, which is not defined where this plan stands
                ╭─[Goalfile:7:5]
              6 │     goal image src out {
              7 │ ╭─▶     plan from="{src}" to="{out}" {
              8 │ │           want { is "format" "qcow2"; }
              9 │ ├─▶     }
                · ╰──── `format` undefined
             10 │     }
                ╰────
              help: a plan binds transition parameters by name: define `format` before it, as a parameter or
                    with `let`
            "#);
}

#[test]
fn with_keep_going_a_plan_after_a_failed_requirement_does_not_run() {
    let goalfile = format!(
        "{CYCLIC}\ngoal broken {{ run \"exit 1\" }}\ngoal after-broken {{\n    require broken\n    \
         plan from=\"in.txt\" to=\"out.txt\" {{\n        start {{ add \"a\"; }}\n        \
         want {{ has \"c\"; }}\n    }}\n}}\n"
    );
    let project = Project::new().goalfile(&goalfile).file("in.txt", "");
    project.goal(&["-k", "after-broken"]).expect(
        1,
        "",
        r#"
            goal: start broken
            goal: FAILED broken (<duration>)
            goal: blocked after-broken (requires broken, which failed)
            goal: summary: 0 ran, 0 already reached, 1 failed, 1 blocked (<duration>)
            goal: failed: broken
            goal: blocked: after-broken
            goal::recipe-failed

              × `broken` failed: its recipe exited with status 1
                ╭─[Goalfile:51:15]
             50 │
             51 │ goal broken { run "exit 1" }
                ·               ──────┬──────
                ·                     ╰── this recipe
             52 │ goal after-broken {
                ╰────
              help: required by after-broken
            "#,
    );
    assert!(!project.exists("steps.log"));
    assert!(!project.exists("out.txt"));
}

#[test]
fn list_shows_the_transitions_with_their_costs_and_docs() {
    let project = disk_image();
    project.goal(&["--list"]).expect(0, "
        Goals:
            image src out format size  # Make `out` from the template `src`, in `format`, of `size`
                src: the template image, maybe xz-compressed
                format: matches raw|qcow2
                size: the wanted size, such as 8G or 4196M; matches [0-9]+[MG]
        Transitions:
            convert (cost 1 + size)         # qemu-img convert: any format to any format
            copy (cost 0.5 * size)          # cp: a copy that later steps may change in place
            decompress (cost 1 + 2 * size)  # xzcat: only an uncompressed image can be worked on
            grow (cost 3 + 2 * size)        # virt-resize: converts too, grows by 256M or more
            resize (cost 0.5)               # qemu-img resize: cheap, but in place, so never on the template
        ", "");
}
