//! The pause and command handshake between the thread that reads the manager's messages and
//! the plan thread: pause requests, the manager's decision, and sleeps a pause can cut short.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::queue::state::PauseOption;

/// What the manager asks of a paused plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Resume,
    Stop,
    Abort,
    Halt,
}

#[derive(Default)]
struct Ctl {
    pause: Option<PauseOption>,
    command: Option<Command>,
}

/// Shared between the thread that reads the manager's messages and the plan thread.
#[derive(Default)]
pub struct Control {
    ctl: Mutex<Ctl>,
    cv: Condvar,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, Ctl> {
        self.ctl.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn request_pause(&self, option: PauseOption) {
        let mut c = self.lock();
        if c.pause != Some(PauseOption::Immediate) {
            c.pause = Some(option);
        }
        self.cv.notify_all();
    }

    pub fn command(&self, command: Command) {
        self.lock().command = Some(command);
        self.cv.notify_all();
    }

    /// Forgets requests meant for an earlier plan; call when a new plan is handed over.
    pub fn reset(&self) {
        *self.lock() = Ctl::default();
    }

    pub(super) fn take_pause(&self) -> bool {
        self.lock().pause.take().is_some()
    }

    /// Sleeps for `d`; returns true early if an immediate pause arrives.
    pub(super) fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut c = self.lock();
        loop {
            if c.pause == Some(PauseOption::Immediate) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            c = self
                .cv
                .wait_timeout(c, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    pub(super) fn wait_command(&self) -> Command {
        let mut c = self.lock();
        loop {
            if let Some(cmd) = c.command.take() {
                return cmd;
            }
            c = self.cv.wait(c).unwrap_or_else(|p| p.into_inner());
        }
    }
}
