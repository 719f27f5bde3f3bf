//! Light and dark themes. With no choice stored the page follows the system setting
//! (CSS `prefers-color-scheme`); a choice is stored in the browser and applied through
//! the `data-theme` attribute on `<html>`.

use leptos::prelude::*;

/// Runs in `<head>` before the body paints; reads the key `browser` writes.
pub const EARLY_SCRIPT: &str = "try{var t=localStorage.getItem('gantry-theme');\
if(t==='light'||t==='dark'){document.documentElement.dataset.theme=t}}catch(e){}";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    fn next(self) -> Self {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Theme::System => "Theme: system",
            Theme::Light => "Theme: light",
            Theme::Dark => "Theme: dark",
        }
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn from_stored(value: Option<&str>) -> Self {
        match value {
            Some("light") => Theme::Light,
            Some("dark") => Theme::Dark,
            _ => Theme::System,
        }
    }
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    // The server cannot know the stored choice, so it renders "system"; the browser
    // corrects it right after hydration.
    let theme = RwSignal::new(Theme::System);
    #[cfg(feature = "hydrate")]
    Effect::new(move |previous: Option<()>| {
        let current = theme.get();
        if previous.is_none() {
            let stored = Theme::from_stored(browser::stored().as_deref());
            if stored != current {
                theme.set(stored);
            }
        } else {
            browser::apply(current);
        }
    });

    view! {
        <button
            type="button"
            class="theme-toggle"
            id="theme-toggle"
            title="Switch between the system theme, light and dark"
            on:click=move |_| theme.update(|t| *t = t.next())
        >
            {move || theme.get().label()}
        </button>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::Theme;

    const STORAGE_KEY: &str = "gantry-theme";

    pub fn stored() -> Option<String> {
        let storage = web_sys::window()?.local_storage().ok()??;
        storage.get_item(STORAGE_KEY).ok()?
    }

    pub fn apply(theme: Theme) {
        let Some(window) = web_sys::window() else { return };
        let Some(root) = window.document().and_then(|d| d.document_element()) else {
            return;
        };
        let storage = window.local_storage().ok().flatten();
        // Storage can be refused (private browsing); the theme still applies for this page.
        let result = match theme {
            Theme::System => {
                if let Some(s) = &storage {
                    let _ = s.remove_item(STORAGE_KEY);
                }
                root.remove_attribute("data-theme")
            }
            Theme::Light | Theme::Dark => {
                let value = if theme == Theme::Light { "light" } else { "dark" };
                if let Some(s) = &storage {
                    let _ = s.set_item(STORAGE_KEY, value);
                }
                root.set_attribute("data-theme", value)
            }
        };
        if result.is_err() {
            leptos::logging::warn!("could not apply the theme to the page");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Theme;

    #[test]
    fn the_toggle_cycles_through_system_light_and_dark() {
        assert_eq!(Theme::System.next(), Theme::Light);
        assert_eq!(Theme::Light.next(), Theme::Dark);
        assert_eq!(Theme::Dark.next(), Theme::System);
    }

    #[test]
    fn an_unknown_stored_value_falls_back_to_the_system_theme() {
        assert_eq!(Theme::from_stored(Some("dark")), Theme::Dark);
        assert_eq!(Theme::from_stored(Some("light")), Theme::Light);
        assert_eq!(Theme::from_stored(Some("purple")), Theme::System);
        assert_eq!(Theme::from_stored(None), Theme::System);
    }
}
