//! The live feed of runs: documents committed by the writer go out on `run:<uid>` topics, events
//! as `event_page`s, and runs opening and closing go out on the `runs` topic.
//!
//! One task owns this, so it is the single authority on what has been published for each run.
//! A run topic's seq is the number of the run's documents published so far (an event page of 40
//! events advances it by 40). A subscriber asks [`Feed::bound`] for that number after
//! registering: everything below it is replayed from the database, everything from it on arrives
//! live — exactly once, because the feed answers between two publications and, once it has
//! answered for a run, keeps that run's count itself (a run that does not exist yet is *held* at
//! 0, so its first document is published to everyone who asked, whatever the database says by
//! the time a later subscriber asks).
//!
//! Paging adapts to the rate: the events of one writer transaction are published together as
//! soon as the feed has nothing more waiting, so a lone event goes out at once; only while
//! transactions queue up (events arrive faster than they are sent) do pages grow, up to
//! [`MAX_PAGE`] events or [`PAGE_INTERVAL`] of waiting.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use hutch_app::model::docs::{DocName, Header, Stop};
use hutch_app::model::stream::{RunClosed, RunOpened, RunsDelta, Topic};
use serde::Deserialize;
use serde_json::json;
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::hub::Hub;
use crate::runs::pages::{self, Pager, MAX_PAGE};
use crate::runs::store::Stored;

/// Under sustained load, events wait at most this long to be sent as a page.
pub const PAGE_INTERVAL: Duration = Duration::from_millis(20);
/// Runs held for subscribers before they exist, at most (held runs that nobody follows any more
/// are dropped first).
pub const MAX_HELD: usize = 4096;

/// Asks the feed for a run's published document count.
struct BoundRequest {
    run: String,
    reply: oneshot::Sender<Result<u64, String>>,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Feed {
    requests: mpsc::Sender<BoundRequest>,
}

impl Feed {
    /// How many of `run`'s documents have been published; later ones arrive live.
    pub async fn bound(&self, run: &str) -> Result<u64, String> {
        let (reply, rx) = oneshot::channel();
        self.requests
            .send(BoundRequest {
                run: run.to_string(),
                reply,
            })
            .await
            .map_err(|_| "the live feed has stopped; restart hutch".to_string())?;
        rx.await
            .map_err(|_| "the live feed has stopped; restart hutch".to_string())?
    }
}

/// Starts the feed; the returned sender is the writer's (see [`crate::runs::store::start`]).
pub fn start(hub: Hub, pool: SqlitePool) -> (Feed, mpsc::Sender<Vec<Stored>>) {
    let (stored_tx, stored) = mpsc::channel(256);
    let (requests, requests_rx) = mpsc::channel(64);
    let task = Task {
        hub,
        pool,
        runs: HashMap::new(),
        open: BTreeMap::new(),
        deadline: None,
    };
    tokio::spawn(task.run(stored, requests_rx));
    (Feed { requests }, stored_tx)
}

struct Live {
    published: u64,
    pager: Pager,
    /// Asked for before the run had any document.
    held: bool,
}

impl Live {
    fn at(published: u64) -> Live {
        Live {
            published,
            pager: Pager::default(),
            held: false,
        }
    }
}

struct Task {
    hub: Hub,
    pool: SqlitePool,
    runs: HashMap<String, Live>,
    /// Open runs, for the `runs` topic's snapshot.
    open: BTreeMap<String, RunOpened>,
    /// When the waiting events must be sent.
    deadline: Option<Instant>,
}

impl Task {
    async fn run(
        mut self,
        mut stored: mpsc::Receiver<Vec<Stored>>,
        mut requests: mpsc::Receiver<BoundRequest>,
    ) {
        self.hub
            .publish_with_snapshot(Topic::Runs, json!(RunsDelta::Reset), json!({"open": []}));
        loop {
            let deadline = self.deadline;
            tokio::select! {
                batch = stored.recv() => match batch {
                    Some(docs) => {
                        docs.into_iter().for_each(|d| self.on_stored(d));
                        if stored.is_empty() {
                            // Nothing more waiting: send now rather than wait for more.
                            self.flush_all();
                        }
                    }
                    None => break,
                },
                Some(req) = requests.recv() => {
                    let bound = self.bound(&req.run).await;
                    let _ = req.reply.send(bound);
                }
                () = sleep_until(deadline), if deadline.is_some() => self.flush_all(),
            }
        }
        self.flush_all();
    }

    async fn bound(&mut self, run: &str) -> Result<u64, String> {
        if let Some(live) = self.runs.get(run) {
            return Ok(live.published);
        }
        let row: Option<(i64, bool)> =
            sqlx::query_as("SELECT doc_count, time_stop IS NULL FROM runs WHERE uid = ?")
                .bind(run)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| format!("cannot read run '{run}' from the database: {e}"))?;
        let Some((count, open)) = row else {
            // Not started yet: held, so that it is published from its first document.
            return self.hold(run).map(|()| 0);
        };
        let count = count as u64;
        if open {
            // Documents committed but not yet seen here are below `count`; skip them when they come.
            self.runs.insert(run.to_string(), Live::at(count));
        }
        Ok(count)
    }

    /// Keeps `run` at 0 published until its first document comes.
    fn hold(&mut self, run: &str) -> Result<(), String> {
        let held = self.runs.values().filter(|l| l.held).count();
        if held >= MAX_HELD {
            let hub = &self.hub;
            self.runs
                .retain(|uid, l| !l.held || hub.has_subscribers(&Topic::Run(uid.clone())));
            if self.runs.values().filter(|l| l.held).count() >= MAX_HELD {
                return Err(format!(
                    "{MAX_HELD} runs that do not exist yet are already being waited for; subscribe to '{run}' once it has started"
                ));
            }
        }
        let mut live = Live::at(0);
        live.held = true;
        self.runs.insert(run.to_string(), live);
        Ok(())
    }

    fn on_stored(&mut self, d: Stored) {
        let live = self
            .runs
            .entry(d.run.clone())
            .or_insert_with(|| Live::at(d.seq));
        live.held = false;
        let events = d.header.events() as u64;
        if events > 0
            && live.pager.is_empty()
            && d.seq >= live.published
            && !self.hub.has_subscribers(&Topic::Run(d.run.clone()))
        {
            // Nobody follows this run: count the events as published without paging them. A
            // subscriber arriving later asks for the bound first and replays them from the
            // database, so nothing is skipped for anyone.
            live.published = d.seq + events;
            return;
        }
        match d.header.name() {
            DocName::Event => {
                if let Some(e) = pages::event(&d.doc).filter(|_| d.seq >= live.published) {
                    live.pager.push(d.seq, e);
                }
            }
            DocName::EventPage => {
                for (i, e) in pages::unpage(&d.doc).into_iter().enumerate() {
                    let seq = d.seq + i as u64;
                    if seq >= live.published {
                        live.pager.push(seq, e);
                    }
                }
            }
            _ => {
                if d.seq < live.published {
                    return;
                }
                self.flush(&d.run);
                self.publish_doc(d);
                return;
            }
        }
        if live.pager.len() >= MAX_PAGE {
            self.flush(&d.run);
        } else if self.deadline.is_none() {
            self.deadline = Some(Instant::now() + PAGE_INTERVAL);
        }
    }

    fn publish_doc(&mut self, d: Stored) {
        let topic = Topic::Run(d.run.clone());
        self.hub
            .publish_run(&topic, d.seq + 1, d.header.name(), &d.doc);
        if let Some(live) = self.runs.get_mut(&d.run) {
            live.published = d.seq + 1;
        }
        match d.header {
            Header::Start {
                time,
                plan_name,
                scan_id,
                ..
            } => {
                let run = RunOpened {
                    uid: d.run.clone(),
                    plan_name,
                    scan_id,
                    time_start: Some(time),
                };
                self.open.insert(d.run.clone(), run.clone());
                self.publish_runs(RunsDelta::Opened { run });
            }
            Header::Stop {
                time, exit_status, ..
            } => {
                // What the header does not carry (the reason, the counts) is read from the
                // stop document, typed; a stop that does not read as one still closes the run.
                let stop = Stop::deserialize(&d.doc).ok();
                let run = RunClosed {
                    uid: d.run.clone(),
                    exit_status: Some(exit_status.as_str().to_string()),
                    time_stop: Some(time),
                    num_events: stop.as_ref().map(|s| s.num_events.clone()),
                    reason: stop.and_then(|s| s.reason),
                };
                self.open.remove(&d.run);
                self.runs.remove(&d.run);
                self.hub.forget_if_idle(&topic);
                self.publish_runs(RunsDelta::Closed { run });
            }
            _ => {}
        }
    }

    fn publish_runs(&self, delta: RunsDelta) {
        let open: Vec<&RunOpened> = self.open.values().collect();
        self.hub
            .publish_with_snapshot(Topic::Runs, json!(delta), json!({ "open": open }));
    }

    fn flush(&mut self, run: &str) {
        let Some(live) = self.runs.get_mut(run) else {
            return;
        };
        let topic = Topic::Run(run.to_string());
        for page in live.pager.take() {
            self.hub
                .publish_page(&topic, page.end, page.first, page.page);
            live.published = page.end;
        }
    }

    fn flush_all(&mut self) {
        self.deadline = None;
        let waiting: Vec<String> = self
            .runs
            .iter()
            .filter(|(_, l)| !l.pager.is_empty())
            .map(|(r, _)| r.clone())
            .collect();
        for run in waiting {
            self.flush(&run);
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
