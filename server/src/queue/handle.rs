//! The client side of the queue manager: [`QueueHandle`] sends a [`QueueCommand`] into the
//! manager task and waits for its [`QueueReply`], which comes once the command's changes are
//! stored.

use tokio::sync::{mpsc, oneshot, watch};

use super::catalog::Catalog;
use super::command::{QueueCommand, QueueReply};
use super::state::{Ctx, QueueState};
use super::uids::Uids;
use crate::auth::Principal;
use crate::console::Console;
use crate::hub::Hub;

/// What a request may touch.
pub struct Env<'a, 'c> {
    pub state: &'a mut QueueState,
    pub catalog: &'a mut Catalog,
    pub ctx: &'a mut Ctx<'c>,
    pub console: &'a Console,
    pub uids: &'a Uids,
    /// Read only: the seq a snapshot is current at.
    pub hub: &'a Hub,
}

pub(super) struct Request {
    pub principal: Principal,
    pub command: QueueCommand,
    pub reply: oneshot::Sender<QueueReply>,
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

    /// Runs `command` in the manager as `principal` and returns its reply once the changes are
    /// stored.
    pub async fn send(
        &self,
        principal: Principal,
        command: QueueCommand,
    ) -> Result<QueueReply, ManagerGone> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request {
                principal,
                command,
                reply,
            })
            .await
            .map_err(|_| ManagerGone)?;
        rx.await.map_err(|_| ManagerGone)
    }
}
