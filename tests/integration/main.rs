//! The integration tests: one binary, so the suite compiles and links once. Each module is one
//! feature, and every test runs the real `goal` on real files in a temporary directory (see
//! `common`).

mod common;

mod c_builds;
mod cache;
mod daemon;
mod ecosystem_cli;
mod ecosystem_output;
mod evaluate;
mod examples;
mod fleet;
mod format;
mod http_predicates;
mod init;
mod interrupt;
mod jobs;
mod listings;
mod logs;
mod memory;
mod parallel;
mod parse_errors;
mod parse_no_panic;
mod plan;
mod restart;
mod run_errors;
mod shared_memory;
mod shell_quoting;
mod spec_examples;
mod terminal;
mod transcripts;
mod url_targets;
