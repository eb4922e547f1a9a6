//! Run topics on one connection: replay from the database on subscribe (and after a gap),
//! merging of queued event pages for a client that reads slowly, and decimated plots.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use hutch_app::model::docs::{DocName, EventPage};
use hutch_app::model::stream::{Topic, DECIMATED};
use serde_json::Value;
use tokio::time::Instant;

use super::{Closed, Conn};
use crate::hub::{encode_update, Frame};
use crate::runs::pages::{weight, Finished, Pager};
use crate::runs::query::Replayed;
use crate::stream::decimate::Decimator;

/// How often decimated plots are checked for something to send.
pub const PLOT_TICK: Duration = Duration::from_millis(25);
/// Documents read from the database per step of a replay.
const REPLAY_STEP: u64 = 5000;
/// …and at most about this much stored text (a step holds at least one document), so a run of
/// large documents is replayed in bounded memory.
const REPLAY_STEP_BYTES: u64 = 8 << 20;
/// Events in one merged page at most, and values in its data (about 4 MB of JSON).
const MERGE_MAX: usize = 20_000;
const MERGE_MAX_VALUES: usize = 400_000;

/// A run topic subscribed with `max_points`: one decimator per descriptor.
pub struct Plot {
    max_points: usize,
    interval: Duration,
    next: Instant,
    /// The run seq covered by what was folded in.
    seq: u64,
    streams: HashMap<String, Decimator>,
}

impl Plot {
    pub fn new(max_points: usize, max_rate: Option<f64>) -> Plot {
        // Between one frame a minute and 1000 a second: `1 / 1e-300` seconds would not fit a
        // Duration (and would panic).
        let rate = max_rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .unwrap_or(10.0)
            .clamp(1.0 / 60.0, 1000.0);
        Plot {
            max_points,
            interval: Duration::from_secs_f64(1.0 / rate),
            next: Instant::now(),
            seq: 0,
            streams: HashMap::new(),
        }
    }

    fn fold(&mut self, end: u64, page: &EventPage) {
        let max_points = self.max_points;
        self.streams
            .entry(page.descriptor.clone())
            .or_insert_with(|| Decimator::new(max_points))
            .push_page(page);
        self.seq = end;
    }
}

/// Values in a page's data (see [`weight`]).
fn page_weight(page: &EventPage) -> usize {
    page.data.values().flatten().map(weight).sum()
}

impl Conn {
    /// Subscribes to a run: `subscribed` at `since`, the stored documents from there up to what
    /// the feed has published, then live frames (which continue exactly where the replay ends).
    pub(super) async fn start_run(&mut self, topic: Topic, since: u64) -> Result<(), Closed> {
        let uid = topic.run_uid().unwrap_or_default().to_string();
        self.client.subscribe(&topic);
        let bound = match self.state.feed.bound(&uid).await {
            Ok(b) => b,
            Err(msg) => {
                self.client.unsubscribe(&topic);
                return self.send_error(&msg).await;
            }
        };
        let from = if since > bound {
            // The client has more than the feed has sent so far (it read the database, or
            // the rest is on its way here): start where it is, within what is stored.
            let stored: Option<(i64,)> = sqlx::query_as("SELECT doc_count FROM runs WHERE uid = ?")
                .bind(&uid)
                .fetch_optional(&self.state.db)
                .await
                .unwrap_or(None);
            since.min(stored.map_or(0, |(n,)| n as u64)).max(bound)
        } else {
            since
        };
        self.sent.insert(topic.clone(), from);
        self.send_msg(&hutch_app::model::stream::ServerMessage::Subscribed {
            topic: topic.clone(),
            seq: from,
        })
        .await?;
        let mut at = from;
        while at < bound {
            let to = match crate::runs::query::step_end(
                &self.state.db,
                &uid,
                at,
                bound,
                REPLAY_STEP,
                REPLAY_STEP_BYTES,
            )
            .await
            {
                Ok(to) => to,
                Err(e) => return self.replay_failed(&topic, &uid, e).await,
            };
            let docs =
                match crate::runs::query::documents_between(&self.state.db, &uid, at, to).await {
                    Ok(d) => d,
                    Err(e) => return self.replay_failed(&topic, &uid, e).await,
                };
            let mut pager = Pager::default();
            for (seq, doc) in docs {
                let (name, doc) = match doc {
                    Replayed::Event(e) => {
                        pager.push(seq, e);
                        continue;
                    }
                    Replayed::Doc(name, doc) => (name, doc),
                };
                self.send_pages(&topic, pager.take()).await?;
                self.send_run_doc(&topic, seq + 1, name.as_str(), &doc)
                    .await?;
            }
            self.send_pages(&topic, pager.take()).await?;
            at = to;
        }
        let done = from.max(bound);
        self.sent.insert(topic.clone(), done);
        if let Some(plot) = self.plots.get_mut(&topic) {
            plot.seq = done;
        }
        self.emit_plot(&topic).await
    }

    /// A replay the database could not serve: the subscription ends with the reason.
    async fn replay_failed(
        &mut self,
        topic: &Topic,
        uid: &str,
        e: sqlx::Error,
    ) -> Result<(), Closed> {
        self.client.unsubscribe(topic);
        self.sent.remove(topic);
        let msg = format!("cannot replay run '{uid}' from the database: {e}; subscribe again");
        self.send_error(&msg).await
    }

    async fn send_pages(&mut self, topic: &Topic, pages: Vec<Finished>) -> Result<(), Closed> {
        for page in pages {
            if let Some(plot) = self.plots.get_mut(topic) {
                plot.fold(page.end, &page.page);
            } else {
                let text = encode_update(topic, page.end, DocName::EventPage.as_str(), &page.page);
                self.send_text(Utf8Bytes::from(&*text)).await?;
            }
        }
        Ok(())
    }

    async fn send_run_doc(
        &mut self,
        topic: &Topic,
        seq: u64,
        name: &str,
        doc: &Value,
    ) -> Result<(), Closed> {
        self.emit_plot(topic).await?;
        let text = encode_update(topic, seq, name, doc);
        self.send_text(Utf8Bytes::from(&*text)).await
    }

    /// A live frame of a run topic (already known to be newer than what was sent).
    pub(super) async fn forward_run(&mut self, frame: Frame) -> Result<(), Closed> {
        let topic = frame.topic.clone();
        let sent = self.sent.get(&topic).copied().unwrap_or(0);
        if let Some(page) = frame.page.as_ref().filter(|p| p.first < sent) {
            // The page starts before what this client has: send only its new events.
            let mut trimmed = page.page.clone();
            trimmed.skip((sent - page.first) as usize);
            let page = std::sync::Arc::new(crate::hub::PageFrame {
                first: sent,
                page: trimmed,
            });
            let text = encode_update(&topic, frame.seq, DocName::EventPage.as_str(), &page.page);
            return Box::pin(self.forward_run(Frame {
                text,
                page: Some(page),
                ..frame
            }))
            .await;
        }
        self.sent.insert(topic.clone(), frame.seq);
        match (&frame.page, self.plots.get_mut(&topic)) {
            (Some(page), Some(plot)) => {
                plot.fold(frame.seq, &page.page);
                Ok(())
            }
            (None, Some(_)) => {
                self.emit_plot(&topic).await?;
                self.send_text(Utf8Bytes::from(&*frame.text)).await
            }
            (Some(page), None) if !self.client.rx.is_empty() => {
                // Behind: merge the pages waiting behind this one into a single frame.
                let mut merged = page.page.clone();
                let mut end = frame.seq;
                let mut count = merged.len();
                let mut values = page_weight(&merged);
                while count < MERGE_MAX && values < MERGE_MAX_VALUES {
                    let Ok(next) = self.client.rx.try_recv() else {
                        break;
                    };
                    let fits = next.topic == topic
                        && next
                            .page
                            .as_ref()
                            .is_some_and(|p| p.first == end && merged.same_columns(&p.page));
                    if !fits {
                        self.held = Some(next);
                        break;
                    }
                    if let Some(p) = &next.page {
                        merged.append(&p.page);
                        count += p.page.len();
                        values += page_weight(&p.page);
                    }
                    end = next.seq;
                }
                self.sent.insert(topic.clone(), end);
                let text = encode_update(&topic, end, DocName::EventPage.as_str(), &merged);
                self.send_text(Utf8Bytes::from(&*text)).await
            }
            (_, None) => self.send_text(Utf8Bytes::from(&*frame.text)).await,
        }
    }

    /// Sends what changed in the plots that are due (all of them if `force`).
    pub(super) async fn emit_plots(&mut self, force: bool) -> Result<(), Closed> {
        let now = Instant::now();
        let due: Vec<Topic> = self
            .plots
            .iter()
            .filter(|(_, p)| force || p.next <= now)
            .map(|(t, _)| t.clone())
            .collect();
        for topic in due {
            self.emit_plot(&topic).await?;
        }
        Ok(())
    }

    async fn emit_plot(&mut self, topic: &Topic) -> Result<(), Closed> {
        let Some(plot) = self.plots.get_mut(topic) else {
            return Ok(());
        };
        let seq = plot.seq;
        let mut frames = Vec::new();
        for (descriptor, d) in &mut plot.streams {
            if let Some(mut update) = d.take_update() {
                update.descriptor.clone_from(descriptor);
                let update = serde_json::to_value(update).unwrap_or_default();
                frames.push(encode_update(topic, seq, DECIMATED, &update));
            }
        }
        if !frames.is_empty() {
            plot.next = Instant::now() + plot.interval;
        }
        for text in frames {
            self.send_text(Utf8Bytes::from(&*text)).await?;
        }
        Ok(())
    }
}
