//! `goal`: make, with any condition as a target.
//!
//! The pipeline, one module a stage: [`parse`] (KDL text to a typed [`goalfile::Goalfile`]) →
//! [`check`] (names, parameters, static cycles) → [`eval`] (depth-first over goal instances,
//! predicates, the [`memory`]) → [`run`] (shell commands) → [`report`] (what the user sees).
//! [`cache`] keeps the checked Goalfile for the next run; [`cli`] only wires the command line
//! to these stages.

pub mod cache;
pub mod check;
pub mod cli;
pub mod colour;
pub mod completion;
pub mod daemon;
pub mod diagnostic;
pub mod eval;
pub mod format;
pub mod goalfile;
pub mod http;
pub mod init;
pub mod interrupt;
pub mod jobs;
pub mod logs;
pub mod manual;
pub mod memory;
pub mod orphans;
pub mod parse;
pub mod plan;
pub mod progress;
pub mod report;
pub mod runner;
pub mod shell;
pub mod socket;
pub mod template;
pub mod variables;
