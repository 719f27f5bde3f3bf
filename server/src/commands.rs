//! `gantry <command>`: what the binary does besides serving.

use std::process::ExitCode;

use gantry_app::audit::{chain, Verdict};

use crate::config::Settings;

/// What the command line asks for.
pub enum Command {
    Serve,
    AuditVerify,
}

pub const USAGE: &str = "usage: gantry            serve the panel\n       gantry audit verify   check the audit log's hash chain";

/// The command named by `args` (without the program name), or the usage text.
pub fn parse(args: &[String]) -> Result<Command, &'static str> {
    match args {
        [] => Ok(Command::Serve),
        [audit, verify] if audit == "audit" && verify == "verify" => Ok(Command::AuditVerify),
        _ => Err(USAGE),
    }
}

/// Walks the audit log: exit 0 and a summary when intact, exit 1 naming the first event
/// that does not check out, exit 2 when the database cannot be read.
pub async fn audit_verify(settings: &Settings) -> ExitCode {
    let db = match crate::db::connect(&settings.database).await {
        Ok(db) => db,
        Err(error) => {
            eprintln!("gantry audit verify: {error}");
            return ExitCode::from(2);
        }
    };
    match gantry_app::audit::verify(&db).await {
        Ok(Verdict::Intact(checked)) => {
            eprintln!(
                "audit log intact: {} events; last hash {} (keep it elsewhere to notice events cut from the end)",
                checked.events,
                chain::hex(&checked.head)
            );
            ExitCode::SUCCESS
        }
        Ok(Verdict::Broken(broken)) => {
            eprintln!("audit log broken at event {} ({}): {}", broken.id, broken.kind, broken.why);
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("gantry audit verify: cannot read the audit log: {error}");
            ExitCode::from(2)
        }
    }
}
