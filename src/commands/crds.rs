use std::process::ExitCode;

pub fn run() -> anyhow::Result<ExitCode> {
    print!("{}", sluice_crds::kgateway::kgateway_crds_yaml());
    Ok(ExitCode::SUCCESS)
}
