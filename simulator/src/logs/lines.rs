//! What each of the CO2 calculator's containers writes, in its own format: the backend's
//! JSON lines (timestamp, level, logger, message, trace_id and fields), the Celery
//! worker's task lines, nginx's access lines, Redis' and PostgreSQL's server lines, and
//! the backup scripts' progress. A crash ends with the traceback that caused it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

/// Which program a container runs, from its pod's `app` label or its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    Backend,
    Worker,
    Frontend,
    Redis,
    Postgres,
    /// A Job's script (backup, verification, restore).
    Script,
    Other,
}

impl Program {
    pub fn of(app: &str, container: &str, job: bool) -> Self {
        if job {
            return Program::Script;
        }
        let name = if app.is_empty() { container } else { app };
        match name {
            "backend" => Program::Backend,
            "celery-worker" | "worker" => Program::Worker,
            "frontend" => Program::Frontend,
            "redis" => Program::Redis,
            "postgres" | "db" => Program::Postgres,
            _ => Program::Other,
        }
    }

    /// Lines per simulated second while running (on average).
    pub fn rate(self) -> f64 {
        match self {
            Program::Backend => 0.8,
            Program::Frontend => 0.5,
            Program::Worker => 0.15,
            Program::Redis | Program::Postgres => 0.03,
            Program::Script | Program::Other => 0.0,
        }
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A backend line as its JSON formatter writes it (extra fields after the fixed ones).
pub fn backend(
    at: DateTime<Utc>,
    level: &str,
    logger: &str,
    message: &str,
    trace_id: Option<&str>,
    fields: &serde_json::Value,
) -> String {
    let mut line = json!({
        "timestamp": stamp(at),
        "level": level,
        "logger": logger,
        "message": message,
        "trace_id": trace_id,
    });
    if let (Some(line), Some(extra)) = (line.as_object_mut(), fields.as_object()) {
        for (k, v) in extra {
            line.insert(k.clone(), v.clone());
        }
    }
    line.to_string()
}

/// A W3C trace id (32 hex digits), as the frontend's proxy starts one per request.
pub fn trace_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

const PATHS: [(&str, &str); 6] = [
    ("GET", "/api/v1/footprint"),
    ("GET", "/api/v1/units"),
    ("POST", "/api/v1/footprint/compute"),
    ("GET", "/api/v1/emission-factors"),
    ("GET", "/api/v1/me"),
    ("GET", "/health"),
];

/// One request through the stack: nginx's access line, the backend's lines, and the
/// worker's task when the request queues one. Shares one trace id.
pub struct Request {
    pub trace_id: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub millis: f64,
}

impl Request {
    pub fn random() -> Self {
        let (method, path) = PATHS[rand::random_range(0..PATHS.len())];
        let status = match rand::random_range(0..100) {
            0 => 500,
            1..=3 => 404,
            _ => 200,
        };
        Request {
            trace_id: trace_id(),
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            millis: f64::from(rand::random_range(4_u32..180)) + 0.5,
        }
    }

    pub fn frontend(&self, at: DateTime<Utc>, client: &str) -> String {
        format!(
            "{client} - - [{}] \"{} {} HTTP/1.1\" {} {} \"https://co2.epfl.ch/\" \"Mozilla/5.0 (X11; Linux x86_64)\" rt={:.3} trace_id={}",
            at.format("%d/%b/%Y:%H:%M:%S %z"),
            self.method,
            self.path,
            self.status,
            rand::random_range(180_u32..4_000),
            self.millis / 1000.0,
            self.trace_id
        )
    }

    pub fn backend(&self, at: DateTime<Utc>) -> Vec<String> {
        let trace = Some(self.trace_id.as_str());
        let mut lines = Vec::new();
        if self.path.contains("compute") {
            lines.push(backend(
                at,
                "DEBUG",
                "app.services.footprint",
                "queued a footprint computation",
                trace,
                &json!({"unit_id": rand::random_range(100..999), "task": "co2.tasks.compute_footprint"}),
            ));
        }
        if self.status == 500 {
            lines.push(backend(
                at,
                "ERROR",
                "app.api.errors",
                "unhandled error: psycopg.errors.QueryCanceled: canceling statement due to statement timeout",
                trace,
                &json!({"path": self.path}),
            ));
        } else if self.millis > 150.0 {
            lines.push(backend(
                at,
                "WARNING",
                "app.db",
                "slow query",
                trace,
                &json!({"duration_ms": self.millis, "statement": "select ... from emission_factor"}),
            ));
        }
        lines.push(backend(
            at,
            "INFO",
            "uvicorn.access",
            &format!("{} {} {}", self.method, self.path, self.status),
            trace,
            &json!({"method": self.method, "path": self.path, "status": self.status, "duration_ms": self.millis}),
        ));
        lines
    }

    /// The worker's lines, when the request queued a task.
    pub fn worker(&self, at: DateTime<Utc>) -> Vec<String> {
        if !self.path.contains("compute") {
            return Vec::new();
        }
        let task = &self.trace_id[..16];
        vec![
            celery(
                at,
                "INFO",
                "MainProcess",
                &format!(
                    "Task co2.tasks.compute_footprint[{task}] received (trace_id={})",
                    self.trace_id
                ),
            ),
            celery(
                at,
                "INFO",
                "ForkPoolWorker-1",
                &format!("Task co2.tasks.compute_footprint[{task}] succeeded in 0.41s: None"),
            ),
        ]
    }
}

fn celery(at: DateTime<Utc>, level: &str, process: &str, message: &str) -> String {
    format!("[{}: {level}/{process}] {message}", at.format("%Y-%m-%d %H:%M:%S,%3f"))
}

fn redis(at: DateTime<Utc>, symbol: char, message: &str) -> String {
    format!("1:M {} {symbol} {message}", at.format("%d %b %Y %H:%M:%S%.3f"))
}

fn postgres(at: DateTime<Utc>, level: &str, message: &str) -> String {
    format!("{} UTC [1] {level}:  {message}", at.format("%Y-%m-%d %H:%M:%S%.3f"))
}

/// What a program writes as it starts.
pub fn startup(program: Program, at: DateTime<Utc>, version: &str) -> Vec<String> {
    match program {
        Program::Backend => vec![
            backend(
                at,
                "INFO",
                "app.main",
                &format!("starting the CO2 calculator backend {version}"),
                None,
                &json!({}),
            ),
            backend(
                at,
                "INFO",
                "app.db",
                "connected to the database",
                None,
                &json!({"host": "postgres", "database": "co2calc"}),
            ),
            backend(at, "INFO", "uvicorn.error", "Application startup complete.", None, &json!({})),
        ],
        Program::Worker => vec![
            celery(at, "INFO", "MainProcess", "Connected to redis://redis:6379/0"),
            celery(at, "INFO", "MainProcess", "celery@worker ready."),
        ],
        Program::Frontend => vec![
            format!(
                "{} [notice] 1#1: using the \"epoll\" event method",
                at.format("%Y/%m/%d %H:%M:%S")
            ),
            format!("{} [notice] 1#1: start worker processes", at.format("%Y/%m/%d %H:%M:%S")),
        ],
        Program::Redis => vec![redis(at, '*', "Ready to accept connections tcp")],
        Program::Postgres => {
            vec![postgres(at, "LOG", "database system is ready to accept connections")]
        }
        Program::Script | Program::Other => Vec::new(),
    }
}

/// One random thing a running program says (a request, a task, a save).
pub fn chatter(program: Program, at: DateTime<Utc>, pod_ip: &str) -> Vec<String> {
    match program {
        Program::Backend => Request::random().backend(at),
        Program::Frontend => vec![Request::random().frontend(at, pod_ip)],
        Program::Worker => {
            let task = &trace_id()[..16];
            vec![celery(
                at,
                "INFO",
                "ForkPoolWorker-2",
                &format!("Task co2.tasks.refresh_factors[{task}] succeeded in 0.08s: None"),
            )]
        }
        Program::Redis => vec![redis(at, '*', "1 changes in 3600 seconds. Saving...")],
        Program::Postgres => vec![postgres(at, "LOG", "checkpoint starting: time")],
        Program::Script | Program::Other => Vec::new(),
    }
}

/// The last lines of a run that crashed (exit code 1).
pub fn crash(program: Program, at: DateTime<Utc>) -> Vec<String> {
    match program {
        Program::Backend => vec![
            backend(at, "ERROR", "app.db", "could not connect to the database: connection to server at \"postgres\" (10.96.0.12), port 5432 failed: FATAL:  password authentication failed for user \"co2calc\"", None, &json!({"host": "postgres"})),
            "Traceback (most recent call last):".to_owned(),
            "  File \"/app/app/main.py\", line 42, in <module>".to_owned(),
            "    engine.connect()".to_owned(),
            "sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection failed: FATAL:  password authentication failed for user \"co2calc\"".to_owned(),
        ],
        Program::Worker => vec![
            celery(at, "CRITICAL", "MainProcess", "Unrecoverable error: ConnectionError('Error 111 connecting to redis:6379. Connection refused.')"),
        ],
        Program::Frontend => vec![format!(
            "{} [emerg] 1#1: host not found in upstream \"backend:8000\" in /etc/nginx/conf.d/default.conf:12",
            at.format("%Y/%m/%d %H:%M:%S")
        )],
        _ => vec!["fatal: exiting with status 1".to_owned()],
    }
}

/// A Job's script as it starts (`job` is the Job's name).
pub fn script_start(job: &str, at: DateTime<Utc>) -> Vec<String> {
    let time = at.format("%Y-%m-%dT%H:%M:%SZ");
    vec![
        format!("{time} {job}: starting"),
        format!("{time} {job}: pg_dump --format=custom co2calc"),
    ]
}

/// A Job's script as it ends.
pub fn script_end(job: &str, at: DateTime<Utc>, succeeded: bool) -> String {
    let time = at.format("%Y-%m-%dT%H:%M:%SZ");
    if succeeded {
        format!("{time} {job}: done")
    } else {
        format!("{time} {job}: failed; see the termination message")
    }
}
