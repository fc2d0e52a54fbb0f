use std::process::ExitCode;

fn main() -> ExitCode {
    ci_medic::main()
}
