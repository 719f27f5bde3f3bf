use leptos::prelude::*;
use leptos_router::hooks::use_location;

use super::theme::ThemeToggle;

/// The sections of the panel, in the order an operator reaches for them.
const SECTIONS: [(&str, &str); 6] = [
    ("/", "Environments"),
    ("/history", "History"),
    ("/monitoring", "Metrics"),
    ("/backups", "Backups"),
    ("/approvals", "Approvals"),
    ("/audit", "Audit"),
];

/// Whether `path` belongs to the section at `href`: the environments section also holds
/// each environment's and workload's page.
fn in_section(href: &str, path: &str) -> bool {
    match href {
        "/" => path == "/" || path.starts_with("/environments/"),
        "/approvals" => path == href || path.starts_with("/requests/"),
        _ => path == href || path.starts_with(&format!("{href}/")),
    }
}

#[component]
pub fn Sidebar() -> impl IntoView {
    let location = use_location();
    view! {
        <header class="sidebar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"▤"</span>
                <span class="brand-name">"Gantry"</span>
            </a>
            <nav class="nav" aria-label="Sections">
                <ul>
                    {SECTIONS
                        .iter()
                        .map(|(href, label)| {
                            view! {
                                <li>
                                    <a
                                        href=*href
                                        aria-current=move || {
                                            location
                                                .pathname
                                                .with(|path| in_section(href, path))
                                                .then_some("page")
                                        }
                                    >
                                        {*label}
                                    </a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <crate::server_page::AccountBox/>
            <ThemeToggle/>
        </header>
    }
}

#[cfg(test)]
mod tests {
    use super::in_section;

    #[test]
    fn environment_pages_belong_to_the_environments_section() {
        assert!(in_section("/", "/"));
        assert!(in_section("/", "/environments/prod"));
        assert!(in_section("/", "/environments/prod/workloads/backend"));
        assert!(!in_section("/", "/history"));
        assert!(in_section("/history", "/history"));
        assert!(!in_section("/history", "/historyx"));
        assert!(!in_section("/audit", "/"));
    }
}
