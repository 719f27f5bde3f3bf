use leptos::prelude::*;
use leptos_router::components::A;

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

#[component]
pub fn Sidebar() -> impl IntoView {
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
                                    // `A` marks the current section with aria-current="page".
                                    <A href=*href exact=true>
                                        {*label}
                                    </A>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <ThemeToggle/>
        </header>
    }
}
