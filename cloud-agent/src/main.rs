use std::process::ExitCode;

fn main() -> ExitCode {
    ci_medic_cloud_agent::main()
}
