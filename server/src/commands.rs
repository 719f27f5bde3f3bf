//! `gantry <command>`: what the binary does besides serving.

use std::process::ExitCode;

use gantry_app::audit::{chain, Verdict};

use crate::config::Settings;

/// What the command line asks for.
pub enum Command {
    Serve,
    /// With an anchor (an event id and its hash kept elsewhere): also that the log still
    /// holds it, so events cut off the end are noticed.
    AuditVerify {
        anchor: Option<Anchor>,
    },
    /// Checks a configuration file as the server would read it, and says what it holds.
    ConfigCheck {
        file: String,
    },
}

/// An event id and the hash it had, as the server logs and posts them every hour.
pub struct Anchor {
    pub id: i64,
    pub hash: String,
}

impl Anchor {
    /// `ID:HASH` (64 hex digits).
    pub fn parse(text: &str) -> Option<Self> {
        let (id, hash) = text.split_once(':')?;
        let hash = hash.trim().to_ascii_lowercase();
        let hex = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
        Some(Self { id: id.trim().parse().ok().filter(|id| *id > 0)?, hash }).filter(|_| hex)
    }
}

pub const USAGE: &str = "usage: gantry                                 serve the panel\n       gantry audit verify [--anchor ID:HASH]   check the audit log's hash chain (and that it still holds the anchor: the event and hash the server logs every hour)\n       gantry config check FILE               check a configuration file as the server would read it (exit 2 naming the key)";

/// The command named by `args` (without the program name), or the usage text.
pub fn parse(args: &[String]) -> Result<Command, &'static str> {
    match args {
        [] => Ok(Command::Serve),
        [audit, verify] if audit == "audit" && verify == "verify" => {
            Ok(Command::AuditVerify { anchor: None })
        }
        [audit, verify, flag, anchor]
            if audit == "audit" && verify == "verify" && flag == "--anchor" =>
        {
            Anchor::parse(anchor).map(|a| Command::AuditVerify { anchor: Some(a) }).ok_or(USAGE)
        }
        [config, check, file] if config == "config" && check == "check" => {
            Ok(Command::ConfigCheck { file: file.clone() })
        }
        _ => Err(USAGE),
    }
}

/// Settings that only ever come from the environment (they are secrets, refused in the
/// file): a check of the file alone takes them as given when the environment has none.
const FROM_THE_ENVIRONMENT: [(&str, &str); 2] = [
    ("GANTRY_DATABASE_URL", "postgres://config-check@127.0.0.1/config-check"),
    ("GANTRY_OIDC_CLIENT_SECRET", "config-check"),
];

/// `gantry config check FILE`: the file read as at start, with this environment (and the
/// environment-only secrets taken as given when absent). Exit 0 and what it holds, or
/// exit 2 with the one line the server would print.
pub fn config_check(file: &str, environment: &[(String, String)]) -> ExitCode {
    let mut vars: Vec<(&str, &str)> = environment
        .iter()
        .filter(|(k, _)| k != "GANTRY_CONFIG" && k != "DATABASE_URL")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (name, stand_in) in FROM_THE_ENVIRONMENT {
        if !vars.iter().any(|(k, _)| *k == name) {
            vars.push((name, stand_in));
        }
    }
    vars.push(("GANTRY_CONFIG", file));
    match Settings::from_sources(vars) {
        Ok(settings) => {
            let names: Vec<&str> = settings.environments.iter().map(|e| e.name.as_str()).collect();
            eprintln!(
                "gantry config check: {file} is valid: {} environments ({}), sign-in {}, cluster {:?}",
                names.len(),
                names.join(", "),
                match settings.auth.method {
                    crate::config::SignInSettings::OpenId(_) => "OpenID Connect",
                    crate::config::SignInSettings::Demo(_) => "demo",
                },
                settings.cluster.source
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("gantry: {error}");
            ExitCode::from(2)
        }
    }
}

/// Walks the audit log: exit 0 and a summary when intact, exit 1 naming the first event
/// that does not check out, exit 2 when the database cannot be read.
pub async fn audit_verify(settings: &Settings, anchor: Option<&Anchor>) -> ExitCode {
    let db = match crate::db::connect(&settings.database).await {
        Ok(db) => db,
        Err(error) => {
            eprintln!("gantry audit verify: {error}");
            return ExitCode::from(2);
        }
    };
    match gantry_app::audit::verify(&db).await {
        Ok(Verdict::Intact(checked)) if anchor.is_some() => {
            let Some(anchor) = anchor else { return ExitCode::FAILURE };
            match gantry_app::audit::hash_of(&db, anchor.id).await {
                Ok(Some(hash)) if chain::hex(&hash) == anchor.hash => {
                    eprintln!(
                        "audit log intact: {} events; it holds the anchor, event {}; last hash {}",
                        checked.events,
                        anchor.id,
                        chain::hex(&checked.head)
                    );
                    ExitCode::SUCCESS
                }
                Ok(Some(hash)) => {
                    eprintln!(
                        "audit log broken at event {}: its hash is {}, not the anchor's {}",
                        anchor.id,
                        chain::hex(&hash),
                        anchor.hash
                    );
                    ExitCode::FAILURE
                }
                Ok(None) => {
                    eprintln!(
                        "audit log cut short: the anchor, event {}, is gone ({} events remain): events were removed from its end",
                        anchor.id, checked.events
                    );
                    ExitCode::FAILURE
                }
                Err(error) => {
                    eprintln!("gantry audit verify: cannot read the audit log: {error}");
                    ExitCode::from(2)
                }
            }
        }
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
