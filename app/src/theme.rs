//! The theme switch: the dashboard's choice (system, light, dark) is kept in this browser's
//! storage and set as `<html data-theme>`, which `style/hutch.css` reads; with no choice the
//! CSS follows `prefers-color-scheme`. Plots read [`dark`] when they draw and redraw when the
//! choice changes.

use leptos::prelude::*;

use crate::model::theme::ThemeChoice;

/// Where this browser keeps the choice (the early script reads the same key).
#[cfg(feature = "hydrate")]
const STORAGE_KEY: &str = "hutch.theme";

/// Sets `data-theme` from the stored choice before the page is drawn (no light flash for
/// someone who chose dark); runs before the wasm bundle loads.
pub const EARLY_SCRIPT: &str = "try{var t=localStorage.getItem('hutch.theme');\
if(t==='light'||t==='dark')document.documentElement.dataset.theme=t;}catch(e){}";

#[derive(Clone, Copy)]
pub struct Theme(pub RwSignal<ThemeChoice>);

pub fn provide_theme() -> Theme {
    let theme = Theme(RwSignal::new(ThemeChoice::Auto));
    provide_context(theme);
    // In the browser: the stored choice (the early script has already applied it).
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let stored = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        if let Some(s) = stored {
            theme.0.set(ThemeChoice::parse(&s));
        }
    });
    theme
}

pub fn use_theme() -> Theme {
    use_context::<Theme>().unwrap_or_else(provide_theme)
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Keeps `choice` in this browser and applies it to the page.
#[cfg(feature = "hydrate")]
fn choose(choice: ThemeChoice) {
    if let Some(s) = storage() {
        let _ = s.set_item(STORAGE_KEY, choice.as_str());
    }
    let root = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element());
    if let Some(root) = root {
        let _ = match choice {
            ThemeChoice::Auto => root.remove_attribute("data-theme"),
            other => root.set_attribute("data-theme", other.as_str()),
        };
    }
}

/// Whether pages are drawn dark now (the choice, or the system's preference).
#[cfg(feature = "hydrate")]
pub fn dark(choice: ThemeChoice) -> bool {
    let system = web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches());
    choice.is_dark(system)
}

/// The button in the navigation bar: cycles system → light → dark.
#[component]
pub fn ThemeSwitch() -> impl IntoView {
    let theme = use_theme();
    let click = move |_| {
        let next = theme.0.get_untracked().next();
        #[cfg(feature = "hydrate")]
        choose(next);
        theme.0.set(next);
    };
    view! {
        <button type="button" class="theme-switch" data-testid="theme-switch"
            title="Colours: follow the system, light or dark (kept in this browser)"
            on:click=click>
            {move || theme.0.get().label()}
        </button>
    }
}
