//! The backup Jobs' scripts (`deploy/backup/`) against the real PostgreSQL the tests run:
//! a dump and its report, a failed or empty dump leaving no file, retention, corrupt and
//! truncated files refused before anything is touched, a copy restored with the same
//! rows, and a restore that fails half-way leaving the database as it was.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sqlx::PgPool;

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/backup").join(name)
}

/// The libpq URL of the test's own database.
fn url_of(db: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL (./run test sets it)");
    let name = db.connect_options().get_database().expect("a database name").to_owned();
    let (server, _) = base.rsplit_once('/').expect("a URL with a database");
    format!("{server}/{name}")
}

struct Run {
    status: i32,
    /// The one line of JSON on stdout.
    report: Value,
    /// What went to the termination message.
    message: Value,
}

fn run(name: &str, dir: &Path, vars: &[(&str, &str)]) -> Run {
    let log = dir.join(format!("termination-{name}.log"));
    let _ = std::fs::remove_file(&log);
    let output = Command::new(script(name))
        .env("BACKUP_DIR", dir)
        .env("TERMINATION_LOG", &log)
        .envs(vars.iter().copied())
        .output()
        .expect("the script runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let report = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "{name}: not one line of JSON ({e}): {stdout} / {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let message = std::fs::read_to_string(&log).expect("a termination message");
    let message = serde_json::from_str(message.trim()).expect("the message is JSON");
    Run { status: output.status.code().unwrap_or(-1), report, message }
}

fn folder(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gantry-backups-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("termination-"))
        .collect();
    names.sort();
    names
}

async fn seed(db: &PgPool, rows: i64) {
    sqlx::query("create table footprint (id bigint primary key, kg double precision not null)")
        .execute(db)
        .await
        .unwrap();
    sqlx::query("insert into footprint select i, i * 0.5 from generate_series(1, $1) as i")
        .bind(rows)
        .execute(db)
        .await
        .unwrap();
}

async fn rows(url: &str) -> i64 {
    let pool = PgPool::connect(url).await.unwrap();
    let n = sqlx::query_scalar("select count(*) from footprint").fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_backup_is_checked_checksummed_put_in_place_and_reported(db: PgPool) {
    seed(&db, 5_000).await;
    let dir = folder("dump");
    let url = url_of(&db);
    let done =
        run("backup.sh", &dir, &[("DATABASE_URL", &url), ("JOB_NAME", "db-backup-manual-7")]);
    assert_eq!(done.status, 0, "{}", done.report);
    let report = &done.report;
    assert_eq!(done.message, *report, "the termination message is the report");
    let file = report["file"].as_str().unwrap();
    assert!(file.starts_with("co2-") && file.ends_with("-db-backup-manual-7.dump"), "{file}");
    assert_eq!(files(&dir), [file.to_owned(), format!("{file}.sha256")], "no partial file left");
    let bytes = std::fs::metadata(dir.join(file)).unwrap().len();
    assert_eq!(report["bytes"].as_u64(), Some(bytes));
    let sha = Command::new("sha256sum").arg(dir.join(file)).output().unwrap();
    let sha = String::from_utf8_lossy(&sha.stdout).split(' ').next().unwrap().to_owned();
    assert_eq!(report["sha256"].as_str(), Some(sha.as_str()));
    assert!(report["entries"].as_u64().unwrap() > 10, "{report}");
    assert!(report["pg_dump_version"].as_str().unwrap().starts_with("pg_dump (PostgreSQL) "));
    assert!(!report["server_version"].as_str().unwrap().is_empty(), "{report}");
    assert_eq!(report["retained"], serde_json::json!([file]));
    assert_eq!(report["location"].as_str(), Some(dir.to_str().unwrap()));

    // verify.sh agrees; a byte changed, it does not.
    let verified = run("verify.sh", &dir, &[("BACKUP_FILE", file)]);
    assert_eq!(
        (verified.status, verified.report["entries"].clone()),
        (0, report["entries"].clone())
    );
    let mut content = std::fs::read(dir.join(file)).unwrap();
    let middle = content.len() / 2;
    content[middle] ^= 0xff;
    std::fs::write(dir.join(file), &content).unwrap();
    let refused = run("verify.sh", &dir, &[("BACKUP_FILE", file)]);
    assert_eq!(refused.status, 3);
    assert!(refused.report["error"].as_str().unwrap().starts_with("checksum mismatch"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_failed_or_empty_dump_leaves_no_file_and_says_why(db: PgPool) {
    let dir = folder("failed");
    let url = url_of(&db);
    let (server, _) = url.rsplit_once('/').unwrap();
    let gone = format!("{server}/gantry_no_such_database");
    let failed = run("backup.sh", &dir, &[("DATABASE_URL", &gone)]);
    assert_eq!(failed.status, 2);
    let error = failed.report["error"].as_str().unwrap();
    assert!(error.starts_with("pg_dump: ") && error.contains("does not exist"), "{error}");
    assert_eq!(failed.message, failed.report);
    assert_eq!(files(&dir), Vec::<String>::new());
    // The migrations' tables only: a dump well below a floor of a megabyte.
    let empty = run("backup.sh", &dir, &[("DATABASE_URL", &url), ("BACKUP_MIN_BYTES", "1048576")]);
    assert_eq!(empty.status, 3);
    let error = empty.report["error"].as_str().unwrap();
    assert!(
        error.starts_with("empty dump refused: ") && error.ends_with("below the floor of 1048576")
    );
    assert_eq!(files(&dir), Vec::<String>::new());
    let bad = run("backup.sh", &dir, &[("DATABASE_URL", &url), ("JOB_NAME", "x;rm -rf /")]);
    assert_eq!(bad.status, 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn retention_keeps_the_newest_dumps(db: PgPool) {
    let dir = folder("retention");
    let url = url_of(&db);
    let mut made = Vec::new();
    // Names are the prefix, the second and the Job: runs within one second sort by Job.
    for job in ["a", "b", "c"] {
        let done = run(
            "backup.sh",
            &dir,
            &[
                ("DATABASE_URL", &url),
                ("JOB_NAME", job),
                ("BACKUP_RETAIN", "2"),
                ("BACKUP_MIN_BYTES", "1"),
            ],
        );
        assert_eq!(done.status, 0, "{}", done.report);
        made.push(done.report["file"].as_str().unwrap().to_owned());
    }
    let last = run(
        "backup.sh",
        &dir,
        &[
            ("DATABASE_URL", &url),
            ("JOB_NAME", "d"),
            ("BACKUP_RETAIN", "2"),
            ("BACKUP_MIN_BYTES", "1"),
        ],
    );
    made.push(last.report["file"].as_str().unwrap().to_owned());
    let newest = [made[3].clone(), made[2].clone()];
    assert_eq!(last.report["retained"], serde_json::json!(newest));
    assert_eq!(last.report["retained_count"], 2);
    let mut kept: Vec<String> =
        newest.iter().flat_map(|f| [f.clone(), format!("{f}.sha256")]).collect();
    kept.sort();
    assert_eq!(files(&dir), kept);
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn restores_refuse_bad_files_copy_faithfully_and_change_nothing_when_they_fail(db: PgPool) {
    seed(&db, 2_000).await;
    let dir = folder("restore");
    let url = url_of(&db);
    let done = run("backup.sh", &dir, &[("DATABASE_URL", &url), ("BACKUP_MIN_BYTES", "1")]);
    let file = done.report["file"].as_str().unwrap().to_owned();

    // A copy beside the live database: the same rows, the live one untouched.
    let copy = format!("gantry_copy_{}", std::process::id());
    sqlx::query(&format!("drop database if exists \"{copy}\"")).execute(&db).await.unwrap();
    let copied = run(
        "restore.sh",
        &dir,
        &[("DATABASE_URL", &url), ("BACKUP_FILE", &file), ("RESTORE_COPY", &copy)],
    );
    assert_eq!(copied.status, 0, "{}", copied.report);
    assert_eq!(copied.report["database"].as_str(), Some(copy.as_str()));
    let (server, _) = url.rsplit_once('/').unwrap();
    assert_eq!(rows(&format!("{server}/{copy}")).await, 2_000);
    sqlx::query(&format!("drop database \"{copy}\" with (force)")).execute(&db).await.unwrap();

    // Truncated: its checksum no longer matches, and nothing is touched.
    let content = std::fs::read(dir.join(&file)).unwrap();
    std::fs::write(dir.join("cut.dump"), &content[..content.len() / 2]).unwrap();
    let sha = std::fs::read_to_string(dir.join(format!("{file}.sha256"))).unwrap();
    std::fs::write(dir.join("cut.dump.sha256"), sha.replace(&file, "cut.dump")).unwrap();
    let refused = run("restore.sh", &dir, &[("DATABASE_URL", &url), ("BACKUP_FILE", "cut.dump")]);
    assert_eq!(refused.status, 3);
    assert!(refused.report["error"].as_str().unwrap().starts_with("checksum mismatch"));
    // Not a dump at all, with a checksum that matches: refused as not an archive.
    std::fs::write(dir.join("junk.dump"), b"not a dump").unwrap();
    let junk_sha = Command::new("sha256sum").arg(dir.join("junk.dump")).output().unwrap();
    std::fs::write(dir.join("junk.dump.sha256"), &junk_sha.stdout).unwrap();
    let refused = run("restore.sh", &dir, &[("DATABASE_URL", &url), ("BACKUP_FILE", "junk.dump")]);
    assert_eq!(refused.status, 3);
    assert!(refused.report["error"]
        .as_str()
        .unwrap()
        .contains("does not read back as a pg_dump archive"));
    let refused =
        run("restore.sh", &dir, &[("DATABASE_URL", &url), ("BACKUP_FILE", "../etc/passwd")]);
    assert_eq!(refused.status, 1);
    // A file whose .sha256 matches it, but not the checksum its backup reported: refused.
    let other = "0".repeat(64);
    let refused = run(
        "restore.sh",
        &dir,
        &[("DATABASE_URL", &url), ("BACKUP_FILE", &file), ("EXPECTED_SHA256", &other)],
    );
    assert_eq!(refused.status, 3);
    assert!(refused.report["error"]
        .as_str()
        .unwrap()
        .contains("is not the backup that was reported"));

    // Half-way: a view the dump does not know depends on the table it must replace, so
    // dropping it fails — and the one transaction leaves every row where it was.
    sqlx::query("delete from footprint where id > 1500").execute(&db).await.unwrap();
    sqlx::query("create view heavy as select * from footprint where kg > 100")
        .execute(&db)
        .await
        .unwrap();
    let failed = run("restore.sh", &dir, &[("DATABASE_URL", &url), ("BACKUP_FILE", &file)]);
    assert_eq!(failed.status, 4, "{}", failed.report);
    let error = failed.report["error"].as_str().unwrap();
    assert!(
        error.starts_with("pg_restore: ") && error.ends_with("(nothing was changed)"),
        "{error}"
    );
    assert_eq!(rows(&url).await, 1_500, "the failed restore changed the rows");
    let views: i64 = sqlx::query_scalar("select count(*) from pg_views where viewname = 'heavy'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(views, 1);

    // Without the obstacle: the rows of the dump again.
    sqlx::query("drop view heavy").execute(&db).await.unwrap();
    let restored = run("restore.sh", &dir, &[("DATABASE_URL", &url), ("BACKUP_FILE", &file)]);
    assert_eq!(restored.status, 0, "{}", restored.report);
    assert_eq!(rows(&url).await, 2_000);
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn verification_restores_the_newest_dump_into_a_scratch_database_and_counts_its_rows(
    db: PgPool,
) {
    seed(&db, 2_500).await;
    let dir = folder("verify");
    let url = url_of(&db);
    let first = run("backup.sh", &dir, &[("DATABASE_URL", &url), ("JOB_NAME", "db-backup-1")]);
    assert_eq!(first.status, 0, "{}", first.report);
    sqlx::query("insert into footprint select i, 1 from generate_series(2501, 3000) as i")
        .execute(&db)
        .await
        .unwrap();
    // Names begin with their UTC second: the first is renamed a year older, so the second
    // is the newer one however fast the two ran.
    let old = first.report["file"].as_str().unwrap().to_owned();
    let older = "co2-20250101T000000Z-db-backup-1.dump".to_owned();
    std::fs::rename(dir.join(&old), dir.join(&older)).unwrap();
    std::fs::rename(dir.join(format!("{old}.sha256")), dir.join(format!("{older}.sha256")))
        .unwrap();
    let second = run("backup.sh", &dir, &[("DATABASE_URL", &url), ("JOB_NAME", "db-backup-2")]);
    assert_eq!(second.status, 0, "{}", second.report);
    let scratch = format!("gantry_verify_test_{}", std::process::id());
    let verified = run("verify.sh", &dir, &[("DATABASE_URL", &url), ("VERIFY_DATABASE", &scratch)]);
    assert_eq!(verified.status, 0, "{}", verified.report);
    let report = &verified.report;
    assert_eq!(verified.message, *report, "the termination message is the report");
    assert_eq!(report["verified"], second.report["file"], "the newest dump is verified");
    assert_eq!(report["restored"], true);
    assert_eq!(report["largest"]["public.footprint"], 3000, "{report}");
    assert!(report["tables"].as_i64().unwrap() >= 1);
    assert!(report["rows"].as_i64().unwrap() >= 3000);
    assert!(report["restore_ms"].as_i64().is_some(), "{report}");
    let left: Option<String> =
        sqlx::query_scalar("select datname::text from pg_database where datname = $1")
            .bind(&scratch)
            .fetch_optional(&db)
            .await
            .unwrap();
    assert_eq!(left, None, "the scratch database is dropped");

    // A dump that does not restore fails the verification, and leaves no scratch copy.
    let file = second.report["file"].as_str().unwrap();
    let content = std::fs::read(dir.join(file)).unwrap();
    std::fs::write(dir.join(file), &content[..content.len() / 2]).unwrap();
    let sha = Command::new("sha256sum").arg(dir.join(file)).output().unwrap();
    let sha = String::from_utf8_lossy(&sha.stdout).split(' ').next().unwrap().to_owned();
    // Its checksum rewritten to match: only a restore can tell it is broken.
    std::fs::write(dir.join(format!("{file}.sha256")), format!("{sha}  {file}\n")).unwrap();
    let broken = run("verify.sh", &dir, &[("DATABASE_URL", &url), ("VERIFY_DATABASE", &scratch)]);
    assert!(broken.status == 3 || broken.status == 4, "{}", broken.report);
    assert!(broken.report["error"].as_str().is_some(), "{}", broken.report);
    let left: Option<String> =
        sqlx::query_scalar("select datname::text from pg_database where datname = $1")
            .bind(&scratch)
            .fetch_optional(&db)
            .await
            .unwrap();
    assert_eq!(left, None, "no scratch database left behind");
    let _ = std::fs::remove_dir_all(&dir);
}
