//! Links the `goal` binary as a position-dependent executable on Linux.
//!
//! A position-independent executable is relocated by the dynamic loader on every start: for
//! `goal` (through clap, miette, regex, rustls and sled) that is ~20,000 relocations writing
//! ~370 KiB of `.data.rel.ro`: ~85 page faults, a tenth of a no-op run's (docs/performance.md,
//! "The chain no-op: smaller frames, no PIE, no signal thread"). Linked at a fixed address,
//! those pointers are final in the file and only the pages read are mapped. The code is still
//! compiled position-independent (only the link changes), and the shared libraries, the heap
//! and the stack are still placed at random; the executable's own image is not.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
