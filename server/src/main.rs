//! `gantry`: reads its configuration, then serves until told to stop (or, with
//! `gantry audit verify`, checks the audit log; with `gantry config check FILE`, a
//! configuration file).

use std::process::ExitCode;

// Rendering a page is many small short-lived allocations; glibc's allocator spent a
// quarter of the CPU time of an overview render (measured with perf), mimalloc far less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match gantry::commands::parse(&args) {
        Ok(command) => command,
        Err(usage) => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    if let gantry::commands::Command::ConfigCheck { file } = &command {
        let environment: Vec<(String, String)> = std::env::vars().collect();
        return gantry::commands::config_check(file, &environment);
    }
    let settings = match gantry::config::Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            // Logging is not set up yet (its own settings may be the bad ones): one line
            // on stderr, exit status 2 as for any usage error.
            eprintln!("gantry: {error}");
            return ExitCode::from(2);
        }
    };
    if let gantry::commands::Command::AuditVerify { anchor } = command {
        return gantry::commands::audit_verify(&settings, anchor.as_ref()).await;
    }
    gantry::telemetry::init(&settings.log);
    match gantry::startup::run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "gantry stopped with an error");
            ExitCode::FAILURE
        }
    }
}
