use std::process::ExitCode;

// Classifying and collecting large runs allocate many short strings; mimalloc
// keeps that fast on every core.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ci_medic::main()
}
