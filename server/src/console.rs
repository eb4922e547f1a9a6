//! The console: the last lines of worker and manager output, for `/api/console_output*` and the
//! `console` topic. A bounded ring (2 000 messages, as in bluesky); each message has a uid so a
//! client can ask for what came after the last one it saw.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use hutch_app::model::stream::{ConsoleLine, Topic};
use serde::Serialize;

pub const CAPACITY: usize = 2000;

#[derive(Clone, Debug, Serialize)]
pub struct ConsoleMsg {
    #[serde(skip)]
    pub uid: String,
    pub time: f64,
    pub msg: String,
}

#[derive(Default)]
struct Inner {
    lines: VecDeque<ConsoleMsg>,
    /// Changes whenever a message is added.
    console_uid: String,
}

#[derive(Clone, Default)]
pub struct Console {
    inner: Arc<Mutex<Inner>>,
    /// Where new lines are published (`console` topic); none in unit tests.
    hub: Option<crate::hub::Hub>,
}

impl Console {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A console that also publishes each line on the hub's `console` topic.
    pub fn with_hub(hub: crate::hub::Hub) -> Self {
        Console {
            inner: Arc::default(),
            hub: Some(hub),
        }
    }

    /// Adds one line (a trailing newline is added, as bluesky's console messages carry one).
    pub fn push(&self, time: f64, text: &str) -> ConsoleMsg {
        let msg = ConsoleMsg {
            uid: uuid::Uuid::new_v4().to_string(),
            time,
            msg: format!("{text}\n"),
        };
        let mut inner = self.lock();
        if inner.lines.len() == CAPACITY {
            inner.lines.pop_front();
        }
        inner.lines.push_back(msg.clone());
        inner.console_uid = uuid::Uuid::new_v4().to_string();
        drop(inner);
        if let Some(hub) = &self.hub {
            let line = ConsoleLine {
                time: msg.time,
                msg: msg.msg.clone(),
            };
            hub.publish_delta(
                Topic::Console,
                serde_json::to_value(line).unwrap_or_default(),
            );
        }
        msg
    }

    pub fn uid(&self) -> String {
        self.lock().console_uid.clone()
    }

    /// The last `n` lines as one text.
    pub fn text(&self, n: usize) -> String {
        let inner = self.lock();
        let skip = inner.lines.len().saturating_sub(n);
        let text: String = inner
            .lines
            .iter()
            .skip(skip)
            .map(|m| m.msg.as_str())
            .collect();
        text.trim_end_matches('\n').to_string()
    }

    /// Messages after `last_uid` ("ALL" for everything) and the uid of the newest message.
    pub fn since(&self, last_uid: &str) -> (Vec<ConsoleMsg>, String) {
        let inner = self.lock();
        let newest = inner
            .lines
            .back()
            .map(|m| m.uid.clone())
            .unwrap_or_default();
        let msgs = if last_uid == "ALL" {
            inner.lines.iter().cloned().collect()
        } else {
            match inner.lines.iter().position(|m| m.uid == last_uid) {
                Some(i) => inner.lines.iter().skip(i + 1).cloned().collect(),
                None => Vec::new(),
            }
        };
        (msgs, newest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines_and_answers_since() {
        let c = Console::default();
        let first = c.push(1.0, "one");
        c.push(2.0, "two");
        assert_eq!(c.text(10), "one\ntwo");
        assert_eq!(c.text(1), "two");
        let (msgs, newest) = c.since(&first.uid);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].msg, "two\n");
        assert_eq!(c.since(&newest).0.len(), 0);
        assert_eq!(c.since("ALL").0.len(), 2);
        assert_eq!(c.since("unknown").0.len(), 0);
        for i in 0..CAPACITY + 5 {
            c.push(i as f64, "x");
        }
        assert_eq!(c.since("ALL").0.len(), CAPACITY);
    }
}
