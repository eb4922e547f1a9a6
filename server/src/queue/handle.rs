//! The client side of the queue manager: [`QueueHandle`] sends a job into the manager task and
//! waits for its reply, which comes once the job's changes are stored.

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use super::catalog::Catalog;
use super::state::{Ctx, QueueState};
use super::uids::Uids;
use crate::auth::Principal;
use crate::console::Console;

/// What a request may touch.
pub struct Env<'a, 'c> {
    pub state: &'a mut QueueState,
    pub catalog: &'a mut Catalog,
    pub ctx: &'a mut Ctx<'c>,
    pub console: &'a Console,
    pub uids: &'a Uids,
}

/// What a request answers: JSON to serialise, or JSON already serialised (large lists are
/// written straight from the state, without building a `Value` tree first).
#[derive(Debug)]
pub enum Reply {
    Value(Value),
    Raw(String),
}

impl From<Value> for Reply {
    fn from(v: Value) -> Self {
        Reply::Value(v)
    }
}

pub(super) type Job = Box<dyn for<'a, 'c> FnOnce(&mut Env<'a, 'c>) -> Reply + Send>;

pub(super) struct Request {
    pub principal: Principal,
    pub job: Job,
    pub reply: oneshot::Sender<Reply>,
}

/// What the last `environment/open` came to: `generation` counts the opens, `result` is
/// `None` while the environment is still starting.
#[derive(Clone, Debug, Default)]
pub struct OpenOutcome {
    pub generation: u64,
    pub result: Option<Result<(), String>>,
}

/// Cheap to clone; sends requests to the manager task.
#[derive(Clone)]
pub struct QueueHandle {
    pub(super) tx: mpsc::Sender<Request>,
    pub(super) opened: watch::Receiver<OpenOutcome>,
}

#[derive(Debug, thiserror::Error)]
#[error("the queue manager has stopped; restart hutch")]
pub struct ManagerGone;

impl QueueHandle {
    /// The outcome of the latest `environment/open`.
    pub fn open_outcome(&self) -> watch::Receiver<OpenOutcome> {
        self.opened.clone()
    }

    /// Runs `job` inside the manager and returns its reply once the changes are stored.
    pub async fn call<R: Into<Reply>>(
        &self,
        principal: Principal,
        job: impl for<'a, 'c> FnOnce(&mut Env<'a, 'c>) -> R + Send + 'static,
    ) -> Result<Reply, ManagerGone> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request {
                principal,
                job: Box::new(move |env: &mut Env| job(env).into()),
                reply,
            })
            .await
            .map_err(|_| ManagerGone)?;
        rx.await.map_err(|_| ManagerGone)
    }
}
