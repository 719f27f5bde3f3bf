//! The status in words, for both audiences: the technical state operators read and a plain
//! sentence for stakeholders who do not read Kubernetes. Shared by the server (first
//! render) and the browser (live updates), so both always say the same thing.

use super::model::{Health, PodProblem, ProblemKind, Rollout, WorkloadStatus};

/// One workload's health, by the same rules as the environment roll-up.
pub fn workload_health(w: &WorkloadStatus) -> Health {
    if w.desired > 0 && w.available == 0 {
        return Health::Down;
    }
    let rolling = matches!(w.rollout, Rollout::Progressing { .. });
    if matches!(w.rollout, Rollout::Stalled { .. })
        || !w.problems.is_empty()
        || (!rolling && w.available < w.desired)
    {
        return Health::Degraded;
    }
    Health::Healthy
}

/// How bad a health is, for "problems first" ordering (worst first).
pub fn severity(h: Health) -> u8 {
    match h {
        Health::Down => 0,
        Health::Degraded => 1,
        Health::Unknown => 2,
        Health::Healthy => 3,
    }
}

/// Orders workloads problems first (down, then degraded), then by name.
pub fn problems_first(workloads: &mut [WorkloadStatus]) {
    workloads.sort_by(|a, b| {
        (severity(workload_health(a)), &a.name).cmp(&(severity(workload_health(b)), &b.name))
    });
}

/// A pod problem as a sentence naming the workload and the pod.
pub fn problem_words(workload: &str, p: &PodProblem) -> String {
    match p.kind {
        ProblemKind::CrashLoop => {
            let times = if p.restarts == 1 { "time" } else { "times" };
            format!("{workload} is crash-looping (pod {} restarted {} {times})", p.pod, p.restarts)
        }
        ProblemKind::ImagePull => format!("{workload} cannot pull its image (pod {})", p.pod),
        ProblemKind::Unschedulable => {
            format!("{workload} has a pod that cannot be scheduled ({})", p.pod)
        }
        ProblemKind::NotReady => format!("{workload} has a pod that is not ready ({})", p.pod),
    }
}

/// The technical state in a few words, as an operator reads it.
pub fn rollout_words(r: &Rollout) -> String {
    match r {
        Rollout::Complete => "rollout complete".into(),
        Rollout::Progressing { percent } => format!("rolling out, {percent}%"),
        Rollout::Stalled { reason } => format!("rollout stalled: {reason}"),
        Rollout::Paused => "rollout paused".into(),
    }
}

/// What a stakeholder needs to know about a workload, in plain language.
pub fn workload_plain(w: &WorkloadStatus) -> String {
    if w.desired == 0 {
        return "Switched off (scaled to zero)".into();
    }
    if w.available == 0 {
        return "Not running: no copy is available".into();
    }
    if let Some(p) = w.problems.first() {
        return match p.kind {
            ProblemKind::CrashLoop => "Keeps crashing and restarting".into(),
            ProblemKind::ImagePull => "Cannot download its new version".into(),
            ProblemKind::Unschedulable => "Waiting for room in the cluster".into(),
            ProblemKind::NotReady => "Partly ready".into(),
        };
    }
    match &w.rollout {
        Rollout::Stalled { .. } => "An update is stuck; the previous version keeps running".into(),
        Rollout::Progressing { percent } => format!("Updating ({percent}% done)"),
        Rollout::Paused => "Updates paused by an operator".into(),
        Rollout::Complete if w.available < w.desired => {
            format!("Running with fewer copies than planned ({} of {})", w.available, w.desired)
        }
        Rollout::Complete => "Running normally".into(),
    }
}

/// An environment's health in plain language.
pub fn health_plain(h: Health) -> &'static str {
    match h {
        Health::Healthy => "Working normally",
        Health::Degraded => "Working, with problems",
        Health::Down => "Not working",
        Health::Unknown => "State not known yet",
    }
}

/// A duration like kubectl prints ages: 42s, 7m, 5h, 3d.
pub fn age(from_ms: i64, now_ms: i64) -> String {
    let seconds = (now_ms - from_ms).max(0) / 1000;
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 120 * 60 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// An RFC 3339 UTC time as people read it: "2026-11-26 07:58:22 UTC".
pub fn when(rfc3339: &str) -> String {
    match rfc3339.strip_suffix('Z') {
        Some(utc) => format!("{} UTC", utc.replacen('T', " ", 1)),
        None => rfc3339.to_owned(),
    }
}

/// The pinned state in one sentence.
#[cfg(feature = "ssr")]
pub fn pinned(p: &crate::status::model::Pinned) -> String {
    let mut text = format!("Pinned: Argo CD auto-sync paused by {} since {}", p.by, when(&p.since));
    if !p.reason.is_empty() {
        text.push_str(&format!(" because “{}”", p.reason));
    }
    text
}

/// The reason as a sentence: capital first letter.
pub fn sentence(reason: &str) -> String {
    let mut chars = reason.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::model::{Autoscaler, WorkloadKind};

    fn w(desired: i32, available: i32, rollout: Rollout) -> WorkloadStatus {
        WorkloadStatus {
            name: "backend".into(),
            kind: WorkloadKind::Deployment,
            desired,
            ready: available,
            updated: available,
            available,
            rollout,
            images: vec![],
            restarts: 0,
            problems: vec![],
            autoscaler: None::<Autoscaler>,
        }
    }

    fn crash() -> PodProblem {
        PodProblem {
            pod: "backend-1".into(),
            kind: ProblemKind::CrashLoop,
            restarts: 4,
            message: String::new(),
        }
    }

    #[test]
    fn workload_health_follows_the_roll_up_rules() {
        assert_eq!(workload_health(&w(2, 2, Rollout::Complete)), Health::Healthy);
        assert_eq!(workload_health(&w(0, 0, Rollout::Complete)), Health::Healthy);
        assert_eq!(workload_health(&w(2, 0, Rollout::Complete)), Health::Down);
        assert_eq!(workload_health(&w(3, 2, Rollout::Complete)), Health::Degraded);
        assert_eq!(
            workload_health(&w(3, 2, Rollout::Progressing { percent: 33 })),
            Health::Healthy
        );
        let stalled = Rollout::Stalled { reason: "deadline".into() };
        assert_eq!(workload_health(&w(2, 2, stalled)), Health::Degraded);
        let mut crashing = w(2, 1, Rollout::Progressing { percent: 50 });
        crashing.problems.push(crash());
        assert_eq!(workload_health(&crashing), Health::Degraded);
    }

    #[test]
    fn problems_come_first_then_names() {
        let mut a = w(2, 2, Rollout::Complete);
        a.name = "a-healthy".into();
        let mut b = w(2, 0, Rollout::Complete);
        b.name = "b-down".into();
        let mut c = w(2, 1, Rollout::Complete);
        c.name = "c-degraded".into();
        let mut d = w(2, 2, Rollout::Complete);
        d.name = "d-healthy".into();
        let mut all = vec![d, c, a, b];
        problems_first(&mut all);
        let names: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["b-down", "c-degraded", "a-healthy", "d-healthy"]);
    }

    #[test]
    fn plain_words_for_every_state() {
        assert_eq!(workload_plain(&w(0, 0, Rollout::Complete)), "Switched off (scaled to zero)");
        assert_eq!(
            workload_plain(&w(2, 0, Rollout::Complete)),
            "Not running: no copy is available"
        );
        assert_eq!(workload_plain(&w(2, 2, Rollout::Complete)), "Running normally");
        assert_eq!(
            workload_plain(&w(3, 2, Rollout::Complete)),
            "Running with fewer copies than planned (2 of 3)"
        );
        assert_eq!(
            workload_plain(&w(2, 1, Rollout::Progressing { percent: 50 })),
            "Updating (50% done)"
        );
        assert_eq!(workload_plain(&w(2, 2, Rollout::Paused)), "Updates paused by an operator");
        assert_eq!(
            workload_plain(&w(2, 2, Rollout::Stalled { reason: "x".into() })),
            "An update is stuck; the previous version keeps running"
        );
        let mut crashing = w(2, 1, Rollout::Complete);
        crashing.problems.push(crash());
        assert_eq!(workload_plain(&crashing), "Keeps crashing and restarting");
        for (kind, words) in [
            (ProblemKind::ImagePull, "Cannot download its new version"),
            (ProblemKind::Unschedulable, "Waiting for room in the cluster"),
            (ProblemKind::NotReady, "Partly ready"),
        ] {
            crashing.problems[0].kind = kind;
            assert_eq!(workload_plain(&crashing), words);
        }
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(age(0, 42_000), "42s");
        assert_eq!(age(0, 7 * 60_000), "7m");
        assert_eq!(age(0, 5 * 3_600_000), "5h");
        assert_eq!(age(0, 3 * 86_400_000), "3d");
        assert_eq!(age(10_000, 0), "0s");
    }

    #[test]
    fn times_read_as_utc() {
        assert_eq!(when("2026-11-26T07:58:22Z"), "2026-11-26 07:58:22 UTC");
        assert_eq!(when("2026-11-26T08:58:22+01:00"), "2026-11-26T08:58:22+01:00");
    }

    #[test]
    fn a_single_restart_is_singular() {
        let mut p = crash();
        assert!(problem_words("backend", &p).ends_with("restarted 4 times)"));
        p.restarts = 1;
        assert!(problem_words("backend", &p).ends_with("restarted 1 time)"));
    }

    #[test]
    fn sentences_start_with_a_capital() {
        assert_eq!(sentence("healthy; rolling out backend"), "Healthy; rolling out backend");
        assert_eq!(sentence(""), "");
    }
}

/// The overview card's metrics line and its words for stakeholders: "fast and
/// error-free", "slow, and 1 in 20 requests fails".
#[cfg(feature = "ssr")]
pub fn figures(f: &super::model::Figures) -> crate::overview::model::CardFigures {
    use crate::monitoring::chart::format;
    use crate::monitoring::queries::Unit;
    let card = |line: String, words: String| crate::overview::model::CardFigures {
        line,
        words,
        firing: f.firing,
    };
    #[allow(clippy::cast_precision_loss)]
    let scaled = |v: i64, by: f64| v as f64 / by;
    if let Some(why) = &f.unreadable {
        return card("metrics unavailable".into(), why.clone());
    }
    let Some(requests) = f.requests_milli else {
        return card("no request metrics".into(), "no traffic figures from the backend".into());
    };
    if requests == 0 {
        return card(
            "no requests in the last 5 minutes".into(),
            "no traffic in the last 5 minutes".into(),
        );
    }
    let mut line = format(Unit::PerSecond, scaled(requests, 1000.0));
    let ratio = f.errors_ppm.map(|e| scaled(e, 1_000_000.0));
    let p95 = f.p95_ms.map(|ms| scaled(ms, 1000.0));
    if let Some(r) = ratio {
        line.push_str(&format!(" · {} errors", format(Unit::Ratio, r)));
    }
    if let Some(s) = p95 {
        line.push_str(&format!(" · p95 {}", format(Unit::Seconds, s)));
    }
    let speed = match p95 {
        None => None,
        Some(s) if s < 0.5 => Some("fast".to_owned()),
        Some(s) if s < 1.0 => Some("responsive".to_owned()),
        Some(s) => Some(format!("slow (p95 {})", format(Unit::Seconds, s))),
    };
    let errors = match ratio {
        None => None,
        Some(r) if r <= 0.0 => Some("error-free".to_owned()),
        Some(r) if r < 0.001 => Some("almost error-free".to_owned()),
        Some(r) if r >= 0.5 => Some("most requests fail".to_owned()),
        Some(r) => Some(format!("1 in {} requests fails", (1.0 / r).round())),
    };
    let words = match (speed, errors) {
        (Some(s), Some(e)) if e.ends_with("error-free") => format!("{s} and {e}"),
        (Some(s), Some(e)) => format!("{s}, and {e}"),
        (Some(s), None) => s,
        (None, Some(e)) => e,
        (None, None) => "serving requests".to_owned(),
    };
    card(line, words)
}

#[cfg(all(test, feature = "ssr"))]
mod figure_tests {
    use super::figures;
    use crate::status::model::Figures;

    fn of(requests: i64, errors_ppm: i64, p95_ms: i64) -> (String, String) {
        let f = Figures {
            requests_milli: Some(requests),
            errors_ppm: Some(errors_ppm),
            p95_ms: Some(p95_ms),
            ..Figures::default()
        };
        let card = figures(&f);
        (card.line, card.words)
    }

    #[test]
    fn the_last_five_minutes_in_figures_and_in_words() {
        assert_eq!(
            of(11_000, 0, 120),
            ("11/s · 0 % errors · p95 120 ms".into(), "fast and error-free".into())
        );
        assert_eq!(of(11_000, 50_000, 700).1, "responsive, and 1 in 20 requests fails");
        assert_eq!(of(11_000, 90_909, 2_000).1, "slow (p95 2 s), and 1 in 11 requests fails");
        assert_eq!(of(2_500, 400, 300).1, "fast and almost error-free");
        assert_eq!(of(2_500, 800_000, 300).1, "fast, and most requests fail");
        let quiet = figures(&Figures { requests_milli: Some(0), ..Figures::default() });
        assert_eq!(quiet.words, "no traffic in the last 5 minutes");
        let down = figures(&Figures {
            unreadable: Some("Prometheus at p:9090 cannot be reached".into()),
            ..Figures::default()
        });
        assert_eq!(
            (down.line.as_str(), down.words.as_str()),
            ("metrics unavailable", "Prometheus at p:9090 cannot be reached")
        );
    }
}
