//! The dashboard's applet board: the applets (live from the `applets` topic), the datasets, the
//! recent runs, and the data of the runs the shown applets draw — fed by a second `/api/stream`
//! connection of its own (hydrate only), so the plots never share a queue with the status.
//!
//! Which runs are fetched follows from the shown applets ([`resolve`]); runs no applet needs any
//! more are unsubscribed and dropped, so a tab's memory is bounded by the applets it shows.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use leptos::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::live::Conn;
use crate::model::applets::spec::{Data, Source};
use crate::model::applets::Applet;
#[cfg(feature = "hydrate")]
use crate::model::dashboard::storage_key;
use crate::model::dashboard::DashboardState;
use crate::plot::run_data::RunData;

#[cfg(feature = "hydrate")]
mod feed;

/// A run as `/api/runs` and the `runs` topic describe it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RunInfo {
    pub uid: String,
    #[serde(default)]
    pub plan_name: String,
    #[serde(default)]
    pub scan_id: Option<i64>,
    #[serde(default)]
    pub time_start: f64,
}

impl RunInfo {
    pub fn label(&self) -> String {
        match self.scan_id {
            Some(id) => format!("scan {id} · {}", self.plan_name),
            None => format!(
                "{} · {}",
                &self.uid[..self.uid.len().min(8)],
                self.plan_name
            ),
        }
    }
}

impl From<crate::model::stream::RunOpened> for RunInfo {
    fn from(r: crate::model::stream::RunOpened) -> Self {
        RunInfo {
            uid: r.uid,
            plan_name: r.plan_name.unwrap_or_default(),
            scan_id: r.scan_id,
            time_start: r.time_start.unwrap_or_default(),
        }
    }
}

/// The runs an applet draws: the one it follows and those beside it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppletRuns {
    pub live: Option<String>,
    pub beside: Vec<String>,
    /// The run the applet drew last, when another: kept in case the live run lacks its field.
    pub kept: Option<String>,
}

/// Resolves an applet's source against the recent runs (newest first): the run it follows, the
/// `overlay` runs before it (of the same plan for `latest_of_plan`), and a bookmarked run.
pub fn resolve(
    data: Option<&Data>,
    recent: &[RunInfo],
    overlay: usize,
    bookmark: Option<&str>,
) -> AppletRuns {
    let (live, earlier): (Option<String>, Vec<String>) = match data.map(|d| &d.source) {
        Some(Source::Run(uid)) => (Some(uid.clone()), Vec::new()),
        Some(Source::Latest) => {
            let mut uids = recent.iter().map(|r| r.uid.clone());
            (uids.next(), uids.take(overlay).collect())
        }
        Some(Source::LatestOfPlan(plan)) => {
            let mut uids = recent
                .iter()
                .filter(|r| &r.plan_name == plan)
                .map(|r| r.uid.clone());
            (uids.next(), uids.take(overlay).collect())
        }
        Some(Source::Datasets(_)) | None => (None, Vec::new()),
    };
    let mut beside = earlier;
    if let Some(b) = bookmark {
        if live.as_deref() != Some(b) && !beside.iter().any(|u| u == b) {
            beside.push(b.to_string());
        }
    }
    AppletRuns {
        live,
        beside,
        kept: None,
    }
}

/// The board's signals; `Copy`, shared through context by the applets page and the kiosk.
#[derive(Clone, Copy)]
pub struct Board {
    pub conn: RwSignal<Conn>,
    pub attempt: RwSignal<u32>,
    /// `None` until the first snapshot of the `applets` topic.
    pub applets: RwSignal<Option<Vec<Applet>>>,
    /// Dataset key → value.
    pub datasets: RwSignal<BTreeMap<String, Value>>,
    /// Recent runs, newest first.
    pub recent: RwSignal<Vec<RunInfo>>,
    /// The data of the runs in `wanted`. Not a signal (a million points are not cloned):
    /// `tick` says when it changed, at most once per animation frame.
    pub runs: StoredValue<HashMap<String, RunData>>,
    pub tick: RwSignal<u64>,
    /// This dashboard's name and its own choices (kept in `localStorage`).
    pub name: StoredValue<String>,
    pub dash: RwSignal<DashboardState>,
    /// An applet being edited: its runs are fetched too, for the preview.
    pub preview: RwSignal<Option<Applet>>,
    /// The run each applet (by uid) last drew, so that one whose next run lacks its field
    /// keeps showing it. Changed only when an applet draws another run than before (once a
    /// run), which lets [`Board::runs_of`] drop the kept run once the live one is drawn.
    pub drawn: RwSignal<HashMap<String, String>>,
}

impl Board {
    /// The applets this dashboard shows, in its order.
    pub fn shown(&self) -> Vec<Applet> {
        let dash = self.dash.get();
        self.applets.with(|a| {
            a.as_deref()
                .map(|a| dash.shown(a).into_iter().cloned().collect())
                .unwrap_or_default()
        })
    }

    /// Which runs each applet draws, by applet uid.
    pub fn runs_of(&self, applets: &[Applet]) -> HashMap<String, AppletRuns> {
        let dash = self.dash.get();
        self.recent.with(|recent| {
            applets
                .iter()
                .map(|a| {
                    let spec = a.parsed().ok();
                    let overlay = dash
                        .overlay
                        .get(&a.uid)
                        .map(|n| *n as usize)
                        .unwrap_or_else(|| spec.as_ref().map_or(0, |s| s.overlay()));
                    let bookmark = dash.compare.get(&a.uid).map(String::as_str);
                    let data = spec.as_ref().and_then(|s| s.data());
                    let mut runs = resolve(data, recent, overlay, bookmark);
                    if data.is_some_and(|d| {
                        matches!(d.source, Source::Latest | Source::LatestOfPlan(_))
                    }) {
                        runs.kept = self
                            .drawn
                            .with(|d| d.get(&a.uid).cloned())
                            .filter(|k| runs.live.as_ref() != Some(k));
                    }
                    (a.uid.clone(), runs)
                })
                .collect()
        })
    }

    /// Changes this dashboard's choices and stores them.
    pub fn change(&self, f: impl FnOnce(&mut DashboardState)) {
        self.dash.update(f);
        #[cfg(feature = "hydrate")]
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let key = storage_key(&self.name.get_value());
            if let Ok(text) = serde_json::to_string(&self.dash.get_untracked()) {
                let _ = storage.set_item(&key, &text);
            }
        }
    }
}

/// Creates the board for dashboard `name` and, in the browser, connects it. `wanted` is filled
/// by the page from the applets it shows.
pub fn provide_board(name: String) -> Board {
    let board = Board {
        conn: RwSignal::new(Conn::Connecting),
        attempt: RwSignal::new(0),
        applets: RwSignal::new(None),
        datasets: RwSignal::new(BTreeMap::new()),
        recent: RwSignal::new(Vec::new()),
        runs: StoredValue::new(HashMap::new()),
        tick: RwSignal::new(0),
        name: StoredValue::new(name),
        dash: RwSignal::new(DashboardState::default()),
        preview: RwSignal::new(None),
        drawn: RwSignal::new(HashMap::new()),
    };
    provide_context(board);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let key = storage_key(&board.name.get_value());
        let stored = web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(&key).ok().flatten());
        board.dash.set(DashboardState::parse(stored.as_deref()));
        feed::start(board);
    });
    board
}

pub fn use_board() -> Board {
    expect_context::<Board>()
}

/// Every run uid the given applets need.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub fn wanted(runs: &HashMap<String, AppletRuns>) -> BTreeSet<String> {
    runs.values()
        .flat_map(|r| r.live.iter().chain(&r.beside).chain(&r.kept))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(uid: &str, plan: &str) -> RunInfo {
        RunInfo {
            uid: uid.into(),
            plan_name: plan.into(),
            scan_id: None,
            time_start: 0.0,
        }
    }

    fn data(source: Source) -> Data {
        Data {
            source,
            stream: "primary".into(),
        }
    }

    #[test]
    fn sources_resolve_to_the_live_run_earlier_runs_and_a_bookmark() {
        let recent = [
            run("c", "scan"),
            run("b", "count"),
            run("a", "scan"),
            run("z", "scan"),
        ];
        let latest = resolve(Some(&data(Source::Latest)), &recent, 2, None);
        assert_eq!(latest.live.as_deref(), Some("c"));
        assert_eq!(latest.beside, ["b", "a"]);
        let of_plan = resolve(
            Some(&data(Source::LatestOfPlan("scan".into()))),
            &recent,
            1,
            Some("b"),
        );
        assert_eq!(of_plan.live.as_deref(), Some("c"));
        assert_eq!(
            of_plan.beside,
            ["a", "b"],
            "earlier run of the plan, then the bookmark"
        );
        let fixed = resolve(Some(&data(Source::Run("a".into()))), &recent, 3, Some("a"));
        assert_eq!(
            fixed,
            AppletRuns {
                live: Some("a".into()),
                beside: vec![],
                kept: None,
            }
        );
        assert_eq!(
            resolve(
                Some(&data(Source::LatestOfPlan("mv".into()))),
                &recent,
                1,
                None
            )
            .live,
            None
        );
        let mut all = HashMap::new();
        all.insert("x".to_string(), latest);
        all.insert("y".to_string(), of_plan);
        assert_eq!(wanted(&all).len(), 3);
    }
}
