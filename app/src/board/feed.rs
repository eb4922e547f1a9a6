//! The board's own `/api/stream` connection: applets, datasets, runs opening, and the documents
//! of the runs the shown applets draw (full resolution: the browser decimates per pixel).
//! Reconnects resume each run where it left off (`since`), so a restart or a dropped network
//! costs neither data nor a page reload.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use leptos::prelude::*;
use serde_json::Value;

use super::{Board, RunInfo};
use crate::live::socket::{self, Handler, LinkState, Sender};
use crate::model::applets::{Applet, AppletDelta};
use crate::model::datasets::{Dataset, DatasetDelta};
use crate::model::stream::{ClientMessage, RunFrame, RunOpened, RunsDelta, ServerMessage, Topic};
use crate::plot::run_data::RunData;

struct Feed {
    board: Board,
    /// Run uid → the last document seq applied (resume point).
    seqs: RefCell<HashMap<String, u64>>,
    subscribed: RefCell<BTreeSet<String>>,
    tick_pending: Rc<Cell<bool>>,
}

impl Feed {
    fn subscribe_runs(&self, uids: &BTreeSet<String>) -> Option<ClientMessage> {
        if uids.is_empty() {
            return None;
        }
        let seqs = self.seqs.borrow();
        let since: BTreeMap<String, u64> = uids
            .iter()
            .filter_map(|u| seqs.get(u).map(|s| (format!("run:{u}"), *s)))
            .collect();
        Some(ClientMessage::Subscribe {
            topics: uids.iter().map(|u| Topic::Run(u.clone())).collect(),
            since,
            options: Default::default(),
        })
    }

    /// Bumps `tick` once, on the next animation frame, however many documents arrive before it.
    fn changed(&self) {
        if self.tick_pending.replace(true) {
            return;
        }
        let (pending, tick) = (self.tick_pending.clone(), self.board.tick);
        request_animation_frame(move || {
            pending.set(false);
            tick.update(|t| *t += 1);
        });
    }
}

impl Handler for Feed {
    fn on_open(&self) -> Vec<ClientMessage> {
        let mut out = vec![ClientMessage::Subscribe {
            topics: vec![Topic::Applets, Topic::Datasets, Topic::Runs],
            since: Default::default(),
            options: Default::default(),
        }];
        out.extend(self.subscribe_runs(&self.subscribed.borrow()));
        out
    }

    fn on_frame(&self, msg: ServerMessage) -> Vec<ClientMessage> {
        let b = self.board;
        match msg {
            ServerMessage::Snapshot { topic, data, .. } => match topic {
                Topic::Applets => {
                    let list: Vec<Applet> =
                        serde_json::from_value(data["applets"].clone()).unwrap_or_default();
                    b.applets.set(Some(list));
                }
                Topic::Datasets => {
                    let list: Vec<Dataset> =
                        serde_json::from_value(data["datasets"].clone()).unwrap_or_default();
                    b.datasets
                        .set(list.into_iter().map(|d| (d.key, d.value)).collect());
                }
                Topic::Runs => {
                    let open: Vec<RunOpened> =
                        serde_json::from_value(data["open"].clone()).unwrap_or_default();
                    b.recent.update(|recent| {
                        merge_recent(recent, open.into_iter().map(RunInfo::from).collect())
                    });
                }
                _ => {}
            },
            ServerMessage::Update {
                topic, seq, data, ..
            } => match topic {
                Topic::Applets => apply_applet(b, data),
                Topic::Datasets => {
                    if let Ok(d) = serde_json::from_value::<DatasetDelta>(data) {
                        b.datasets.update(|m| apply_dataset(m, d));
                    }
                }
                Topic::Runs => {
                    if let Ok(RunsDelta::Opened { run }) = serde_json::from_value(data) {
                        add_recent(b, RunInfo::from(run));
                    }
                }
                Topic::Run(uid) => {
                    if !self.subscribed.borrow().contains(&uid) {
                        return Vec::new();
                    }
                    let Ok(frame) = serde_json::from_value::<RunFrame>(data) else {
                        return Vec::new();
                    };
                    b.runs.update_value(|runs| {
                        runs.entry(uid.clone())
                            .or_insert_with(|| RunData::new(&uid))
                            .apply(&frame.name, frame.doc)
                    });
                    self.seqs.borrow_mut().insert(uid, seq);
                    self.changed();
                }
                _ => {}
            },
            _ => {}
        }
        Vec::new()
    }
}

fn add_recent(b: Board, info: RunInfo) {
    b.recent.update(|recent| merge_recent(recent, vec![info]));
}

/// Adds runs to the newest-first list (known uids are replaced), keeping at most 200.
pub(super) fn merge_recent(recent: &mut Vec<RunInfo>, runs: Vec<RunInfo>) {
    for r in runs {
        recent.retain(|o| o.uid != r.uid);
        recent.push(r);
    }
    recent.sort_by(|a, b| b.time_start.total_cmp(&a.time_start));
    recent.truncate(200);
}

fn apply_applet(b: Board, data: Value) {
    let delta = match serde_json::from_value::<AppletDelta>(data) {
        Ok(d) => d,
        Err(e) => {
            leptos::logging::warn!("hutch: unreadable applet change: {e}");
            return;
        }
    };
    b.applets.update(|list| {
        if let Some(list) = list {
            delta.apply(list);
        }
    });
}

fn apply_dataset(m: &mut BTreeMap<String, Value>, d: DatasetDelta) {
    match d {
        DatasetDelta::Set { dataset } => {
            m.insert(dataset.key, dataset.value);
        }
        DatasetDelta::Append { key, values, .. } => {
            if let Some(Value::Array(a)) = m.get_mut(&key) {
                a.extend(values);
            }
        }
        DatasetDelta::SetElement {
            key, index, value, ..
        } => {
            let mut at = m.get_mut(&key);
            for i in index {
                at = at.and_then(|v| v.get_mut(i));
            }
            if let Some(slot) = at {
                *slot = value;
            }
        }
        DatasetDelta::Delete { key } => {
            m.remove(&key);
        }
        // Sent once at server start; the snapshot that follows a reconnect has the set.
        DatasetDelta::Reset => {}
    }
}

/// Connects the board and keeps its run subscriptions equal to what the shown applets need.
pub(super) fn start(board: Board) {
    let feed = Rc::new(Feed {
        board,
        seqs: RefCell::default(),
        subscribed: RefCell::default(),
        tick_pending: Rc::new(Cell::new(false)),
    });
    let link = LinkState {
        conn: board.conn,
        attempt: board.attempt,
    };
    let sender: Sender = socket::open(link, feed.clone());

    // The recent runs, and the runs of plans the applets follow.
    leptos::task::spawn_local(async move {
        if let Ok(v) = crate::api::get("/api/runs?limit=50").await {
            let runs: Vec<RunInfo> = serde_json::from_value(v["runs"].clone()).unwrap_or_default();
            board.recent.update(|r| merge_recent(r, runs));
        }
    });
    let asked_plans: Rc<RefCell<BTreeSet<String>>> = Rc::default();
    Effect::new(move |_| {
        let plans: BTreeSet<String> = board.applets.with(|a| {
            a.iter()
                .flatten()
                .filter_map(|a| a.parsed().ok()?.followed_plan().map(str::to_string))
                .collect()
        });
        for plan in plans {
            if !asked_plans.borrow_mut().insert(plan.clone()) {
                continue;
            }
            leptos::task::spawn_local(async move {
                let path = format!("/api/runs?limit=21&plan={}", crate::api::enc(&plan));
                if let Ok(v) = crate::api::get(path).await {
                    let runs: Vec<RunInfo> =
                        serde_json::from_value(v["runs"].clone()).unwrap_or_default();
                    board.recent.update(|r| merge_recent(r, runs));
                }
            });
        }
    });

    // Subscribe to the runs the shown applets need; forget the others.
    Effect::new(move |_| {
        let mut shown = board.shown();
        shown.extend(board.preview.get());
        let wanted = super::wanted(&board.runs_of(&shown));
        let old = feed.subscribed.replace(wanted.clone());
        let added: BTreeSet<String> = wanted.difference(&old).cloned().collect();
        let removed: Vec<Topic> = old
            .difference(&wanted)
            .map(|u| Topic::Run(u.clone()))
            .collect();
        if !removed.is_empty() {
            board
                .runs
                .update_value(|runs| runs.retain(|u, _| wanted.contains(u)));
            feed.seqs.borrow_mut().retain(|u, _| wanted.contains(u));
            sender.send(&ClientMessage::Unsubscribe { topics: removed });
        }
        if let Some(msg) = feed.subscribe_runs(&added) {
            sender.send(&msg);
        }
    });
}
