//! One task per `/api/stream` connection: it owns the socket and `select!`s over the client's
//! frames, the client's requests, the heartbeat and server shutdown. Every send has a timeout, so
//! a dead peer is dropped instead of holding resources. Run topics (replay, page merging,
//! decimation) are in [`runs`].

mod runs;

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use hutch_app::model::stream::{
    ClientMessage, ServerMessage, Topic, TopicOptions, PROTOCOL_VERSION,
};

use crate::hub::Client;
use serde_json::json;

use crate::auth::Identity;
use crate::auth::Principal;
use crate::queue::command::{QueueCommand, QueueReply, Read, SnapshotOf};
use crate::status::ClientCount;
use crate::AppState;

/// A peer that cannot take a frame within this long is considered gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Client frames are small commands; anything larger is refused by the socket layer.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// Topics one connection may follow at once (each holds a queue and replay state here).
pub const MAX_TOPICS: usize = 256;

pub async fn stream_handler(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    who: Option<Extension<Identity>>,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let recheck = crate::auth::Recheck::new(&state.auth, &headers, uri.query());
    let ws = ws.max_message_size(MAX_CLIENT_MESSAGE);
    let Some(Extension(who)) = who else {
        // Upgrade anyway so the browser learns why: an error frame, then close code 4001.
        return ws.on_upgrade(refuse);
    };
    ws.on_upgrade(move |socket| serve(socket, state, who, recheck))
}

async fn refuse(mut socket: WebSocket) {
    let msg = ServerMessage::Error {
        msg: "not signed in: sign in at /login, open the link hutch prints at start (http://HOST:PORT/?api_key=KEY), or send 'Authorization: ApiKey KEY'".into(),
    };
    if let Ok(text) = serde_json::to_string(&msg) {
        let _ = socket.send(Message::Text(text.into())).await;
    }
    let frame = CloseFrame {
        code: 4001,
        reason: "Invalid API key".into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

struct Closed;

struct Conn {
    socket: WebSocket,
    client: Client,
    /// Declared after `client`: fields drop in order, so the count is taken once the client is gone.
    _count: ClientCount,
    /// The seq last sent per topic; older frames still queued after a resync are skipped.
    sent: HashMap<Topic, u64>,
    state: AppState,
    /// A frame taken from the queue while merging pages, to be forwarded next.
    held: Option<crate::hub::Frame>,
    /// Run topics subscribed with `max_points`: their decimated plots.
    plots: HashMap<Topic, runs::Plot>,
    /// Who is connected: each topic's read scope is checked on subscribe.
    who: Identity,
}

/// The queue or history as of its current seq, from inside the manager (so no change can slip
/// between the two).
async fn manager_snapshot(state: &AppState, topic: &Topic) -> Option<(u64, serde_json::Value)> {
    let of = match topic {
        Topic::History => SnapshotOf::History,
        _ => SnapshotOf::Queue,
    };
    let system = Principal {
        user: "hutch".into(),
        user_group: "root".into(),
    };
    let command = QueueCommand::Read(Read::Snapshot(of));
    let QueueReply::Snapshot(s) = state.queue.send(system, command).await.ok()? else {
        return None;
    };
    let data = match s.of {
        SnapshotOf::History => json!({"items": s.items, "plan_history_uid": s.uid}),
        SnapshotOf::Queue => {
            json!({"items": s.items, "running_item": s.running, "plan_queue_uid": s.uid})
        }
    };
    Some((s.seq, data))
}

async fn serve(socket: WebSocket, state: AppState, who: Identity, recheck: crate::auth::Recheck) {
    let client = state.hub.connect();
    let _count = state.status.client_connected();
    let mut conn = Conn {
        socket,
        client,
        _count,
        sent: HashMap::new(),
        state: state.clone(),
        held: None,
        plots: HashMap::new(),
        who,
    };
    let stopping = crate::stopping(state.shutdown.clone());
    tokio::pin!(stopping);
    let mut heartbeat = tokio::time::interval(state.config.heartbeat);
    heartbeat.tick().await;
    let hello = ServerMessage::Hello {
        protocol: PROTOCOL_VERSION,
        server: format!("hutch {}", env!("CARGO_PKG_VERSION")),
        topics: Topic::ALL.to_vec(),
    };
    if conn.send_msg(&hello).await.is_err() {
        return;
    }
    let mut plot_tick = tokio::time::interval(runs::PLOT_TICK);
    loop {
        if let Some(frame) = conn.held.take() {
            if conn.forward(frame).await.is_err() {
                break;
            }
            continue;
        }
        let step = tokio::select! {
            () = &mut stopping => {
                let _ = conn.close_going_away().await;
                break;
            }
            incoming = conn.socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => conn.on_text(&text).await,
                Some(Ok(Message::Binary(_))) => {
                    conn.send_error("binary frames are not understood; send JSON text such as {\"type\":\"subscribe\",\"topics\":[\"status\"]}").await
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => Ok(()), // ping/pong are answered by the socket layer
            },
            Some(frame) = conn.client.rx.recv() => conn.forward(frame).await,
            _ = heartbeat.tick() => match recheck.failed().await {
                // The key was revoked, the session ended or the user was disabled meanwhile.
                Some(why) => {
                    let _ = conn.send_error(&why).await;
                    let frame = CloseFrame { code: 4001, reason: "Not signed in".into() };
                    let _ = conn.socket.send(Message::Close(Some(frame))).await;
                    break;
                }
                None => conn.heartbeat().await,
            },
            _ = plot_tick.tick(), if !conn.plots.is_empty() => conn.emit_plots(false).await,
        };
        if step.is_err() {
            break;
        }
    }
}

impl Conn {
    async fn send_text(&mut self, text: Utf8Bytes) -> Result<(), Closed> {
        match tokio::time::timeout(SEND_TIMEOUT, self.socket.send(Message::Text(text))).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Closed),
        }
    }

    async fn send_msg(&mut self, msg: &ServerMessage) -> Result<(), Closed> {
        let text = serde_json::to_string(msg).map_err(|_| Closed)?;
        self.send_text(text.into()).await
    }

    async fn send_error(&mut self, msg: &str) -> Result<(), Closed> {
        self.send_msg(&ServerMessage::Error {
            msg: msg.to_string(),
        })
        .await
    }

    async fn close_going_away(&mut self) -> Result<(), Closed> {
        let frame = CloseFrame {
            code: 1001,
            reason: "hutch server is shutting down".into(),
        };
        let send = self.socket.send(Message::Close(Some(frame)));
        tokio::time::timeout(SEND_TIMEOUT, send)
            .await
            .map_err(|_| Closed)?
            .map_err(|_| Closed)
    }

    async fn on_text(&mut self, text: &str) -> Result<(), Closed> {
        let msg = match serde_json::from_str::<ClientMessage>(text) {
            Ok(msg) => msg,
            Err(e) => {
                let hint = format!(
                    "could not read your message ({e}); send e.g. {{\"type\":\"subscribe\",\"topics\":[\"status\"]}}"
                );
                return self.send_error(&hint).await;
            }
        };
        match msg {
            ClientMessage::Subscribe {
                topics,
                since,
                options,
            } => {
                // The same topic twice in one request is one subscription.
                let mut seen = std::collections::HashSet::new();
                let topics: Vec<Topic> = topics
                    .into_iter()
                    .filter(|t| seen.insert(t.clone()))
                    .collect();
                for topic in topics {
                    let key = topic.to_string();
                    if !self.client.is_subscribed(&topic)
                        && self.client.topics().count() >= MAX_TOPICS
                    {
                        let msg = format!(
                            "not subscribed to '{key}': one connection follows at most {MAX_TOPICS} topics; unsubscribe from some first"
                        );
                        self.send_error(&msg).await?;
                        continue;
                    }
                    let scope = crate::auth::scopes::topic_scope(&topic);
                    if !self.who.has(scope) {
                        let msg = format!(
                            "not allowed to subscribe to '{key}': it needs the scope {scope}, which {} (role {}) does not have",
                            self.who.user,
                            self.who.role.as_str()
                        );
                        self.send_error(&msg).await?;
                        continue;
                    }
                    let opts = options.get(&key).cloned().unwrap_or_default();
                    if topic.run_uid().is_none() && opts != TopicOptions::default() {
                        let msg = format!("options are for run topics (run:<uid>), not '{key}'");
                        self.send_error(&msg).await?;
                        continue;
                    }
                    self.plots.remove(&topic);
                    if let Some(max_points) = opts.max_points {
                        if max_points < 2 {
                            self.send_error("max_points must be at least 2").await?;
                            continue;
                        }
                        // More points than any screen has pixels would only cost memory.
                        let plot = runs::Plot::new(max_points.min(100_000), opts.max_rate);
                        self.plots.insert(topic.clone(), plot);
                    }
                    let since = since.get(&key).copied().unwrap_or(0);
                    self.start_topic(topic, since).await?;
                }
            }
            ClientMessage::Unsubscribe { topics } => {
                for topic in topics {
                    let seq = self.client.unsubscribe(&topic);
                    self.sent.remove(&topic);
                    self.plots.remove(&topic);
                    self.send_msg(&ServerMessage::Unsubscribed { topic, seq })
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Registers the subscription and sends `subscribed` and the snapshot (for a run topic: the
    /// run's documents from `since` on).
    async fn start_topic(&mut self, topic: Topic, since: u64) -> Result<(), Closed> {
        if topic.run_uid().is_some() {
            return self.start_run(topic, since).await;
        }
        let start = self.client.subscribe(&topic);
        let (seq, snapshot) = match topic {
            // Their state lives in the queue manager, which answers with a consistent seq.
            Topic::Queue | Topic::History => match manager_snapshot(&self.state, &topic).await {
                Some((seq, data)) => (seq, Some(data)),
                None => (start.seq, None),
            },
            _ => (start.seq, start.snapshot.map(|d| (*d).clone())),
        };
        self.sent.insert(topic.clone(), seq);
        self.send_msg(&ServerMessage::Subscribed {
            topic: topic.clone(),
            seq,
        })
        .await?;
        if let Some(data) = snapshot {
            self.send_msg(&ServerMessage::Snapshot { topic, seq, data })
                .await?;
        }
        Ok(())
    }

    async fn forward(&mut self, frame: crate::hub::Frame) -> Result<(), Closed> {
        let fresh = self
            .sent
            .get(&frame.topic)
            .is_some_and(|&last| frame.seq > last);
        if fresh && frame.topic.run_uid().is_some() {
            self.forward_run(frame).await?;
        } else if fresh {
            self.sent.insert(frame.topic.clone(), frame.seq);
            self.send_text(Utf8Bytes::from(&*frame.text)).await?;
        }
        if self.client.rx.is_empty() {
            self.resync_lagged().await?;
        }
        Ok(())
    }

    /// After frames were dropped for this client: say so, then start the topic afresh.
    async fn resync_lagged(&mut self) -> Result<(), Closed> {
        for topic in self.client.take_lagged() {
            let (seq, since, msg) = match self.sent.get(&topic) {
                Some(&sent) if topic.run_uid().is_some() => (
                    sent,
                    sent,
                    "this client read too slowly and missed updates; they follow from the database",
                ),
                _ => (
                    self.client.hub().seq(&topic),
                    0,
                    "this client read too slowly and missed updates; a fresh snapshot follows",
                ),
            };
            self.send_msg(&ServerMessage::Gap {
                topic: topic.clone(),
                seq,
                msg: msg.to_string(),
            })
            .await?;
            self.start_topic(topic, since).await?;
        }
        Ok(())
    }

    async fn heartbeat(&mut self) -> Result<(), Closed> {
        self.resync_lagged().await?;
        let time = crate::clock::Timestamp::now().reply();
        let topics: Vec<Topic> = self.client.topics().cloned().collect();
        for topic in topics {
            let seq = self.sent.get(&topic).copied().unwrap_or(0);
            self.send_msg(&ServerMessage::Heartbeat {
                topic,
                seq,
                time: time.clone(),
            })
            .await?;
        }
        if self.sent.is_empty() {
            // Not subscribed to anything yet: still prove the connection is alive.
            self.send_msg(&ServerMessage::Heartbeat {
                topic: Topic::Status,
                seq: 0,
                time,
            })
            .await?;
        }
        Ok(())
    }
}
