//! Which controls the manager accepts in which state: one function, [`check`], used by the
//! server before it acts and by the dashboard to enable a button (with the refusal as its
//! tooltip), so a button is never enabled that the server would refuse.
//!
//! The messages are bluesky-queueserver's, word for word: bluesky clients read them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::status::ServerStatus;

/// What the queue manager is doing (`manager_state` of the status).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManagerState {
    Idle,
    Paused,
    CreatingEnvironment,
    ExecutingQueue,
    /// A foreground task (script, function, update) runs in the environment.
    ExecutingTask,
    ClosingEnvironment,
    DestroyingEnvironment,
}

impl ManagerState {
    pub const ALL: [ManagerState; 7] = [
        ManagerState::Idle,
        ManagerState::Paused,
        ManagerState::CreatingEnvironment,
        ManagerState::ExecutingQueue,
        ManagerState::ExecutingTask,
        ManagerState::ClosingEnvironment,
        ManagerState::DestroyingEnvironment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ManagerState::Idle => "idle",
            ManagerState::Paused => "paused",
            ManagerState::CreatingEnvironment => "creating_environment",
            ManagerState::ExecutingQueue => "executing_queue",
            ManagerState::ExecutingTask => "executing_task",
            ManagerState::ClosingEnvironment => "closing_environment",
            ManagerState::DestroyingEnvironment => "destroying_environment",
        }
    }
}

/// What the worker's environment is doing (`worker_environment_state` of the status).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvState {
    Closed,
    Initializing,
    Idle,
    ExecutingPlan,
    ExecutingTask,
    Closing,
}

impl EnvState {
    pub const ALL: [EnvState; 6] = [
        EnvState::Closed,
        EnvState::Initializing,
        EnvState::Idle,
        EnvState::ExecutingPlan,
        EnvState::ExecutingTask,
        EnvState::Closing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EnvState::Closed => "closed",
            EnvState::Initializing => "initializing",
            EnvState::Idle => "idle",
            EnvState::ExecutingPlan => "executing_plan",
            EnvState::ExecutingTask => "executing_task",
            EnvState::Closing => "closing",
        }
    }

    pub fn exists(self) -> bool {
        !matches!(self, EnvState::Closed)
    }
}

/// A state name hutch does not know (from a newer server, say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownState(pub String);

impl fmt::Display for UnknownState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown state '{}'", self.0)
    }
}

impl FromStr for ManagerState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, UnknownState> {
        ManagerState::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

impl FromStr for EnvState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, UnknownState> {
        EnvState::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// A control of the environment, the queue's execution or the run engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    OpenEnvironment,
    CloseEnvironment,
    DestroyEnvironment,
    StartQueue,
    StopQueue,
    CancelStopQueue,
    /// `queue/item/execute`.
    Execute,
    Pause,
    Resume,
    /// Stop, abort or halt a paused plan.
    EndPaused,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::OpenEnvironment,
        Action::CloseEnvironment,
        Action::DestroyEnvironment,
        Action::StartQueue,
        Action::StopQueue,
        Action::CancelStopQueue,
        Action::Execute,
        Action::Pause,
        Action::Resume,
        Action::EndPaused,
    ];
}

/// What the rules look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Situation {
    pub manager: ManagerState,
    pub env: EnvState,
    /// `re_state` of the status (`idle`, `running`, `paused`), when an environment exists.
    pub re_state: Option<String>,
    /// A plan is running (or paused).
    pub running: bool,
    /// The queue stops after the running plan (`queue_stop_pending`).
    pub stop_pending: bool,
    /// A pause was asked for and the plan has not reached its checkpoint yet.
    pub pause_pending: bool,
}

impl Situation {
    /// The situation a status shows; `None` for a state this build does not know.
    pub fn of(status: &ServerStatus) -> Option<Situation> {
        Some(Situation {
            manager: status.manager_state.parse().ok()?,
            env: status.worker_environment_state.parse().ok()?,
            re_state: status.re_state.clone(),
            running: status.running_item_uid.is_some(),
            stop_pending: status.queue_stop_pending,
            pause_pending: status.pause_pending,
        })
    }
}

/// The colour family of a [`Headline`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Nothing can run: the environment is closed.
    Off,
    /// Ready to run.
    Ready,
    /// Opening, closing, a task: wait.
    Busy,
    Running,
    Paused,
}

impl Tone {
    /// The CSS class (`tone-running`, …).
    pub fn class(self) -> &'static str {
        match self {
            Tone::Off => "tone-off",
            Tone::Ready => "tone-ready",
            Tone::Busy => "tone-busy",
            Tone::Running => "tone-running",
            Tone::Paused => "tone-paused",
        }
    }
}

/// The state in the words a scientist reads at a glance, and its colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headline {
    pub tone: Tone,
    pub text: &'static str,
}

/// What the Monitor and the kiosk say the manager is doing. `events`: events of the running
/// plan seen so far, when known (none yet: the plan is moving to its first point).
pub fn headline(s: &Situation, events: Option<u64>) -> Headline {
    let h = |tone, text| Headline { tone, text };
    match s.manager {
        ManagerState::CreatingEnvironment => h(Tone::Busy, "Opening the environment"),
        ManagerState::ClosingEnvironment => h(Tone::Busy, "Closing the environment"),
        ManagerState::DestroyingEnvironment => h(Tone::Busy, "Destroying the environment"),
        ManagerState::ExecutingTask => h(Tone::Busy, "Running a task"),
        ManagerState::Paused => h(Tone::Paused, "Paused at a checkpoint"),
        ManagerState::ExecutingQueue if !s.running => h(Tone::Running, "Starting the next plan"),
        ManagerState::ExecutingQueue if s.pause_pending => {
            h(Tone::Paused, "Pausing at the next checkpoint")
        }
        ManagerState::ExecutingQueue if events == Some(0) => {
            h(Tone::Running, "Starting: moving to the first point")
        }
        ManagerState::ExecutingQueue if s.stop_pending => {
            h(Tone::Running, "Running, the queue stops after this plan")
        }
        ManagerState::ExecutingQueue => h(Tone::Running, "Running"),
        ManagerState::Idle => match s.env {
            EnvState::Closed => h(Tone::Off, "Environment closed"),
            EnvState::Initializing => h(Tone::Busy, "Opening the environment"),
            EnvState::Closing => h(Tone::Busy, "Closing the environment"),
            _ => h(Tone::Ready, "Ready"),
        },
    }
}

/// Whether the dashboard offers `action` now: what the server accepts ([`check`]), less what
/// would change nothing (stopping a queue that already stops, cancelling a stop not asked for).
pub fn offered(action: Action, s: &Situation) -> Result<(), String> {
    check(action, s)?;
    match action {
        Action::StopQueue if s.stop_pending => {
            Err("The queue already stops after the running plan.".into())
        }
        Action::CancelStopQueue if !s.stop_pending => {
            Err("No stop of the queue is pending.".into())
        }
        _ => Ok(()),
    }
}

/// Whether the manager accepts `action` now; the refusal is what it would answer.
pub fn check(action: Action, s: &Situation) -> Result<(), String> {
    let no_env = || Err("RE Worker environment does not exist.".to_string());
    let not_idle = || {
        Err(format!(
            "Manager state is not idle. Current state: {}",
            s.manager.as_str()
        ))
    };
    match action {
        Action::OpenEnvironment => match s.manager {
            ManagerState::CreatingEnvironment => Err(
                "Manager is already in the process of creating the RE Worker environment.".into(),
            ),
            _ if s.env.exists() => Err("RE Worker environment already exists.".into()),
            ManagerState::Idle => Ok(()),
            _ => not_idle(),
        },
        Action::CloseEnvironment => match s.manager {
            _ if !s.env.exists() => no_env(),
            ManagerState::Idle => Ok(()),
            ManagerState::ExecutingQueue => Err("Queue execution is in progress.".into()),
            ManagerState::ClosingEnvironment => Err(
                "Manager is already in the process of closing the RE Worker environment.".into(),
            ),
            _ => not_idle(),
        },
        Action::DestroyEnvironment if !s.env.exists() => {
            Err("RE environment does not exist".into())
        }
        Action::DestroyEnvironment | Action::CancelStopQueue => Ok(()),
        Action::StartQueue | Action::Execute => {
            if !s.env.exists() {
                no_env()
            } else if s.manager != ManagerState::Idle || s.env != EnvState::Idle {
                Err("RE Manager is busy.".into())
            } else {
                Ok(())
            }
        }
        Action::StopQueue if s.manager != ManagerState::ExecutingQueue => Err(format!(
            "Failed to pause the queue. Queue is not running. Manager state: MState.{}",
            s.manager.as_str().to_uppercase()
        )),
        Action::StopQueue => Ok(()),
        Action::Pause if !s.env.exists() => {
            Err("Environment does not exist. Can not pause Run Engine.".into())
        }
        Action::Pause if !s.running || s.manager == ManagerState::Paused => Err(format!(
            "Run Engine must be in 'running' state to be paused: current state is '{}'",
            s.re_state.as_deref().unwrap_or("idle")
        )),
        Action::Pause => Ok(()),
        Action::Resume | Action::EndPaused if s.manager != ManagerState::Paused => Err(format!(
            "RE Manager is not paused: current state is '{}'",
            s.manager.as_str()
        )),
        Action::Resume | Action::EndPaused => Ok(()),
    }
}

#[cfg(test)]
mod tests;
