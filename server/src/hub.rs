//! The stream hub: topics with a per-topic `seq`, fanned out to every subscribed client.
//!
//! Publishing never waits for a client. Each client has one bounded queue fed with `try_send`;
//! when it is full the frame is dropped for that client only and the client is marked lagged
//! for that topic, so its writer sends a `gap` and a fresh snapshot once it catches up. A slow
//! tab therefore costs the publisher and the other tabs nothing.
//!
//! Every frame is serialised once, whatever the number of subscribers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use hutch_app::model::docs::{DocName, EventPage};
use hutch_app::model::stream::{ServerMessage, Topic};
use tokio::sync::mpsc;

/// Frames a client may have queued before it counts as lagging.
pub const CLIENT_QUEUE: usize = 256;

/// A frame ready to send: the topic, its seq and the serialised JSON.
#[derive(Clone, Debug)]
pub struct Frame {
    pub topic: Topic,
    pub seq: u64,
    pub text: Arc<str>,
    /// For a run topic's `event_page`: the page itself, so a lagging client's queued pages can
    /// be merged and decimating clients can fold it without parsing `text`.
    pub page: Option<Arc<PageFrame>>,
}

/// The page of an `event_page` frame; its events have run seqs `first..seq`.
#[derive(Debug)]
pub struct PageFrame {
    pub first: u64,
    pub page: EventPage,
}

type ClientId = u64;

#[derive(Default)]
struct TopicState {
    seq: u64,
    /// The latest state of the topic, sent to new subscribers and after a gap.
    snapshot: Option<Arc<serde_json::Value>>,
    subscribers: HashMap<ClientId, Subscriber>,
}

struct Subscriber {
    tx: mpsc::Sender<Frame>,
    lagged: Arc<AtomicBool>,
}

#[derive(Default)]
struct Inner {
    topics: HashMap<Topic, TopicState>,
    next_client: ClientId,
    clients: usize,
}

impl Inner {
    /// Run topics are many and short-lived; their state goes once nobody listens. (The feed
    /// publishes with explicit seqs, so nothing is lost by forgetting the count.)
    fn drop_idle_run(&mut self, topic: &Topic) {
        if matches!(topic, Topic::Run(_))
            && self
                .topics
                .get(topic)
                .is_some_and(|t| t.subscribers.is_empty())
        {
            self.topics.remove(topic);
        }
    }
}

/// Cheap to clone; all clones share one hub.
#[derive(Clone, Default)]
pub struct Hub {
    inner: Arc<Mutex<Inner>>,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the maps half-updated in a way that
        // matters more than stopping all streaming would, so recover the guard.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes a new state of `topic` (also kept as its snapshot) and returns its seq.
    pub fn publish(&self, topic: Topic, data: serde_json::Value) -> u64 {
        self.send(topic, data, true)
    }

    /// Publishes a change of `topic` whose snapshot lives elsewhere (the queue manager's).
    pub fn publish_delta(&self, topic: Topic, data: serde_json::Value) -> u64 {
        self.send(topic, data, false)
    }

    /// Publishes a change and, separately, the topic's new snapshot.
    pub fn publish_with_snapshot(
        &self,
        topic: Topic,
        data: serde_json::Value,
        snapshot: serde_json::Value,
    ) -> u64 {
        let text = |seq| {
            encode(&ServerMessage::Update {
                topic: topic.clone(),
                seq,
                data,
            })
        };
        self.deliver(&topic, None, Some(snapshot), text, None)
    }

    /// Publishes a run topic's document at an explicit seq (the run's document count after it).
    pub fn publish_run(&self, topic: &Topic, seq: u64, name: DocName, doc: &serde_json::Value) {
        let text = |seq| encode_update(topic, seq, name.as_str(), doc);
        self.deliver(topic, Some(seq), None, text, None);
    }

    /// Publishes a page of a run's events, whose run seqs are `first..seq`.
    pub fn publish_page(&self, topic: &Topic, seq: u64, first: u64, page: EventPage) {
        let page = Arc::new(PageFrame { first, page });
        let text = |seq| encode_update(topic, seq, DocName::EventPage.as_str(), &page.page);
        self.deliver(topic, Some(seq), None, text, Some(page.clone()));
    }

    /// Whether anyone listens to `topic` right now.
    pub fn has_subscribers(&self, topic: &Topic) -> bool {
        self.lock()
            .topics
            .get(topic)
            .is_some_and(|t| !t.subscribers.is_empty())
    }

    /// Drops a run topic's state once nobody listens (the run is closed or idle).
    pub fn forget_if_idle(&self, topic: &Topic) {
        let mut inner = self.lock();
        if inner
            .topics
            .get(topic)
            .is_some_and(|t| t.subscribers.is_empty())
        {
            inner.topics.remove(topic);
        }
    }

    fn send(&self, topic: Topic, data: serde_json::Value, keep_as_snapshot: bool) -> u64 {
        let snapshot = keep_as_snapshot.then(|| data.clone());
        let text = |seq| {
            encode(&ServerMessage::Update {
                topic: topic.clone(),
                seq,
                data,
            })
        };
        self.deliver(&topic, None, snapshot, text, None)
    }

    fn deliver(
        &self,
        topic: &Topic,
        seq: Option<u64>,
        snapshot: Option<serde_json::Value>,
        text: impl FnOnce(u64) -> Arc<str>,
        page: Option<Arc<PageFrame>>,
    ) -> u64 {
        let mut inner = self.lock();
        let state = inner.topics.entry(topic.clone()).or_default();
        state.seq = seq.unwrap_or(state.seq + 1);
        let seq = state.seq;
        if let Some(snapshot) = snapshot {
            state.snapshot = Some(Arc::new(snapshot));
        }
        let frame = Frame {
            topic: topic.clone(),
            seq,
            text: text(seq),
            page,
        };
        state
            .subscribers
            .retain(|_, sub| match sub.tx.try_send(frame.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    sub.lagged.store(true, Ordering::Release);
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        seq
    }

    /// Registers a new client; dropping the returned handle unregisters it everywhere.
    pub fn connect(&self) -> Client {
        let (tx, rx) = mpsc::channel(CLIENT_QUEUE);
        let mut inner = self.lock();
        inner.next_client += 1;
        inner.clients += 1;
        Client {
            id: inner.next_client,
            hub: self.clone(),
            tx,
            rx,
            subscriptions: HashMap::new(),
        }
    }

    /// Clients connected right now.
    pub fn client_count(&self) -> usize {
        self.lock().clients
    }

    /// The current seq of a topic (0 before anything was published).
    pub fn seq(&self, topic: &Topic) -> u64 {
        self.lock().topics.get(topic).map_or(0, |t| t.seq)
    }
}

fn encode(msg: &ServerMessage) -> Arc<str> {
    // Serialising our own enum of JSON values cannot fail.
    serde_json::to_string(msg).unwrap_or_default().into()
}

/// An `update` frame of a run topic, `data: {name, doc}`, serialised without copying `doc`.
pub fn encode_update<D: serde::Serialize>(
    topic: &Topic,
    seq: u64,
    name: &str,
    doc: &D,
) -> Arc<str> {
    #[derive(serde::Serialize)]
    struct Data<'a, D> {
        name: &'a str,
        doc: &'a D,
    }
    #[derive(serde::Serialize)]
    struct Update<'a, D> {
        r#type: &'static str,
        topic: &'a Topic,
        seq: u64,
        data: Data<'a, D>,
    }
    let msg = Update {
        r#type: "update",
        topic,
        seq,
        data: Data { name, doc },
    };
    serde_json::to_string(&msg).unwrap_or_default().into()
}

/// One connected client: its queue and its subscriptions.
pub struct Client {
    id: ClientId,
    hub: Hub,
    tx: mpsc::Sender<Frame>,
    pub rx: mpsc::Receiver<Frame>,
    subscriptions: HashMap<Topic, Arc<AtomicBool>>,
}

/// What a subscriber starts from.
pub struct Start {
    pub seq: u64,
    pub snapshot: Option<Arc<serde_json::Value>>,
}

impl Client {
    /// Subscribes (or resubscribes) to `topic`. Registration and the snapshot are taken under one
    /// lock, so every update queued afterwards has a larger seq than the snapshot.
    pub fn subscribe(&mut self, topic: &Topic) -> Start {
        let lagged = Arc::new(AtomicBool::new(false));
        let mut inner = self.hub.lock();
        let state = inner.topics.entry(topic.clone()).or_default();
        state.subscribers.insert(
            self.id,
            Subscriber {
                tx: self.tx.clone(),
                lagged: lagged.clone(),
            },
        );
        let start = Start {
            seq: state.seq,
            snapshot: state.snapshot.clone(),
        };
        drop(inner);
        self.subscriptions.insert(topic.clone(), lagged);
        start
    }

    pub fn unsubscribe(&mut self, topic: &Topic) -> u64 {
        self.subscriptions.remove(topic);
        let mut inner = self.hub.lock();
        let seq = match inner.topics.get_mut(topic) {
            Some(state) => {
                state.subscribers.remove(&self.id);
                state.seq
            }
            None => 0,
        };
        inner.drop_idle_run(topic);
        seq
    }

    pub fn topics(&self) -> impl Iterator<Item = &Topic> {
        self.subscriptions.keys()
    }

    pub fn is_subscribed(&self, topic: &Topic) -> bool {
        self.subscriptions.contains_key(topic)
    }

    /// Topics whose frames were dropped since the last call (clears the marks).
    pub fn take_lagged(&self) -> Vec<Topic> {
        self.subscriptions
            .iter()
            .filter(|(_, flag)| flag.swap(false, Ordering::AcqRel))
            .map(|(topic, _)| topic.clone())
            .collect()
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let mut inner = self.hub.lock();
        for topic in self.subscriptions.keys() {
            if let Some(state) = inner.topics.get_mut(topic) {
                state.subscribers.remove(&self.id);
            }
            inner.drop_idle_run(topic);
        }
        inner.clients -= 1;
    }
}

#[cfg(test)]
mod tests;
