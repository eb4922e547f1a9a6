//! The HTML document, the navigation bar and the router.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    hooks::use_location,
    ParamSegment, SsrMode, StaticSegment,
};

use crate::live::{provide_live, ConnectionIndicator};
use crate::pages::applets::{editor::AppletEditorPage, AppletsPage};
use crate::pages::console::ConsolePage;
use crate::pages::datasets::DatasetsPage;
use crate::pages::history::{DispatchPage, HistoryPage};
use crate::pages::kiosk::KioskPage;
use crate::pages::monitor::MonitorPage;
use crate::pages::queue::QueuePage;
use crate::theme::{provide_theme, ThemeSwitch};

/// The whole HTML document, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <script inner_html=crate::theme::EARLY_SCRIPT></script>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Pages of the dashboard, in navigation order: (path, label).
const NAV: &[(&str, &str)] = &[
    ("/", "Monitor"),
    ("/queue", "Queue"),
    ("/history", "History"),
    ("/applets", "Applets"),
    ("/datasets", "Datasets"),
    ("/console", "Console"),
];

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_live();
    provide_theme();
    view! {
        <Stylesheet id="hutch" href="/pkg/hutch.css"/>
        <Title text="hutch"/>
        <Router>
            <TopBar/>
            <main id="main">
                <Routes fallback=|| view! { <NotFound/> }>
                    // Async: the server waits for the status, so the HTML is complete without
                    // JavaScript (kiosks, slow links) instead of streaming it in behind a script.
                    <Route path=StaticSegment("") view=MonitorPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("queue") view=QueuePage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("history") view=HistoryPage ssr=SsrMode::Async/>
                    <Route
                        path=(StaticSegment("history"), ParamSegment("uid"))
                        view=DispatchPage
                        ssr=SsrMode::Async
                    />
                    <Route path=StaticSegment("applets") view=AppletsPage/>
                    <Route
                        path=(StaticSegment("applets"), ParamSegment("uid"))
                        view=AppletEditorPage
                    />
                    <Route path=StaticSegment("kiosk") view=KioskPage/>
                    <Route path=StaticSegment("datasets") view=DatasetsPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("console") view=ConsolePage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// The navigation bar; a kiosk shows none (it is not for browsing).
#[component]
fn TopBar() -> impl IntoView {
    let location = use_location();
    let kiosk = move || location.pathname.get().starts_with("/kiosk");
    view! {
        <Show when=move || !kiosk()>
            <header class="topbar">
                <a class="brand" href="/">"hutch"</a>
                <nav aria-label="Main">
                    <ul>
                        {NAV
                            .iter()
                            .map(|(href, label)| {
                                view! {
                                    <li>
                                        <A href=*href exact=true>
                                            {*label}
                                        </A>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </nav>
                <ConnectionIndicator/>
                <ThemeSwitch/>
                <form class="signout" method="post" action="/api/auth/logout">
                    <button type="submit">"Sign out"</button>
                </form>
            </header>
        </Show>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    // The server's fallback handler turns this page into an HTTP 404.
    view! {
        <section class="panel">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address. Use the navigation above."</p>
        </section>
    }
}
