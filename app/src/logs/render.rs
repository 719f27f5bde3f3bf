//! Log lines as the page shows them (HTML rows, every value escaped) and as the
//! download holds them (text, one line each).

use std::fmt::Write as _;

use super::ask::Ask;
use super::line::LogLine;
use crate::escape::html;

/// Rows for the page; `pods`: the pod column (a workload's merged lines).
pub fn rows(lines: &[LogLine], ask: &Ask, pods: bool) -> String {
    let mut out = String::new();
    for line in lines {
        row(&mut out, line, ask, pods);
    }
    out
}

fn row(out: &mut String, line: &LogLine, ask: &Ask, pods: bool) {
    let level = line.level().map_or("none", |l| l.as_str());
    let kind = if line.fields.is_some() { "structured" } else { "plain" };
    let _ =
        write!(out, r#"<div class="log-row {kind} lvl-{level}" data-pod="{}">"#, html(&line.pod));
    match line.at {
        Some(at) => {
            let _ = write!(
                out,
                r#"<time class="log-time" datetime="{}" title="{}">{}</time>"#,
                at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                at.format("%Y-%m-%d %H:%M:%S%.6f UTC"),
                at.format("%H:%M:%S%.3f")
            );
        }
        None => out.push_str(r#"<time class="log-time"></time>"#),
    }
    if pods {
        let _ = write!(out, r#"<span class="log-pod">{}</span>"#, html(&line.pod));
    }
    match &line.fields {
        Some(f) => {
            let word = f.level_word.as_deref().unwrap_or("");
            let _ = write!(out, r#"<span class="log-level">{}</span>"#, html(word));
            let _ = write!(
                out,
                r#"<span class="log-logger">{}</span>"#,
                html(f.logger.as_deref().unwrap_or(""))
            );
            let _ = write!(out, r#"<span class="log-msg">{}"#, html(&f.message));
            for (k, v) in &f.extra {
                let _ =
                    write!(out, r#" <span class="log-kv"><b>{}</b>={}</span>"#, html(k), html(v));
            }
            out.push_str("</span>");
            match &f.trace_id {
                Some(t) => {
                    let short: String = t.chars().take(8).collect();
                    let _ = write!(
                        out,
                        r#"<a class="log-trace" href="{}" title="Only the lines of request {}">{}</a>"#,
                        html(&ask.page_with(Some(t))),
                        html(t),
                        html(&short)
                    );
                }
                None => out.push_str(r#"<span class="log-trace"></span>"#),
            }
        }
        None => {
            let _ = write!(out, r#"<span class="log-msg">{}</span>"#, html(&line.text));
        }
    }
    if line.cut {
        out.push_str(r#"<span class="log-cut" title="The line was longer than 16 KiB; the rest is not shown">…</span>"#);
    }
    out.push_str("</div>");
}

/// A note between the lines (a pod started, a container stopped).
pub fn note(text: &str) -> String {
    format!(r#"<div class="log-note" role="note">{}</div>"#, html(text))
}

/// The download's lines: Kubernetes' time, the pod (for a workload), the line as written.
pub fn text(lines: &[LogLine], pods: bool) -> String {
    let mut out = String::new();
    for line in lines {
        if let Some(at) = line.at {
            let _ = write!(out, "{} ", at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
        }
        if pods {
            let _ = write!(out, "{} ", line.pod);
        }
        out.push_str(&line.text);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::ask::Target;

    #[test]
    fn every_value_of_a_line_lands_escaped() {
        let ask =
            Ask::parse("dev", Some(&Target::Pod("backend-1".into())), &[], chrono::Utc::now())
                .expect("fine");
        let hostile = br#"2026-12-01T22:06:03Z {"level":"<b>ERROR","logger":"x\"><script>","message":"<img src=x onerror=alert(1)>","trace_id":"abc\"onmouseover=x","k<i>":"v</span>"}"#;
        let line = LogLine::read("backend-1".into(), hostile, false);
        let html = rows(&[line], &ask, true);
        assert!(
            !html.contains("<script>")
                && !html.contains("<img")
                && !html.contains("<b>ERROR")
                && !html.contains("<i>"),
            "{html}"
        );
        assert!(!html.contains("\"onmouseover"), "{html}");
        let plain = LogLine::read(
            "p".into(),
            b"2026-12-01T22:06:03Z </div><script>alert(1)</script>",
            false,
        );
        assert!(rows(&[plain], &ask, false).contains("&lt;/div&gt;&lt;script&gt;"));
        assert!(!note("<script>").contains("<script>"));
    }
}
