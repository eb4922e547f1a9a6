//! A page whose feature has not landed yet: says so plainly instead of showing an empty panel.

use leptos::prelude::*;

#[component]
pub fn Planned(title: &'static str, issue: &'static str) -> impl IntoView {
    view! {
        <section class="panel">
            <h1>{title}</h1>
            <p class="muted">
                "This page arrives with " {issue} ". Until then the "
                <a href="/">"Monitor"</a> " shows the live server status."
            </p>
        </section>
    }
}
