//! Executes simulated plans: moves motors (taking time), reads detectors, emits bluesky
//! documents, and honours pause (deferred at the next checkpoint, immediate at once),
//! resume, stop, abort and halt, with a checkpoint before every point as bluesky's plans have.

use std::path::PathBuf;
use std::time::Duration;

use hutch_app::model::docs::{self, Document, Start, Stop};
use hutch_app::model::queue::{ExitStatus, QueueItem};
use serde_json::json;

use super::devices::{Devices, Rng};
use super::plans::{build, SimPlan, Trajectory};
use crate::clock::unix_now as now;
use crate::worker::protocol::FromWorker;

mod control;
mod emit;

pub use control::{Command, Control};
use emit::{Emit, Readings};

fn uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The simulated environment's state across plans.
pub struct Sim {
    pub devices: Devices,
    rng: Rng,
    /// Where image frames are written (one file per frame).
    assets: PathBuf,
}

/// A wait of `s` seconds that cannot panic: negative or NaN is no wait, and anything past
/// validation's bound (a day) is cut to it. (`Duration::from_secs_f64(1e300)` panics.)
fn seconds(s: f64) -> Duration {
    let s = if s.is_finite() { s } else { 0.0 };
    Duration::try_from_secs_f64(s.clamp(0.0, crate::queue::validate::MAX_SECONDS))
        .unwrap_or(Duration::ZERO)
}

impl Sim {
    pub fn new(assets: PathBuf, seed: u64) -> Self {
        Sim {
            devices: Devices::default(),
            rng: Rng::new(seed),
            assets,
        }
    }

    /// Runs one plan to its end and returns the `finished` message.
    pub fn execute(
        &mut self,
        item: &QueueItem,
        scan_id: i64,
        control: &Control,
        out: &mut dyn FnMut(FromWorker),
    ) -> FromWorker {
        let mut emit = Emit { out };
        // The manager has logged "Starting plan …" already.
        let finished = |exit_status, msg: String, run_uids: Vec<String>, scan_ids: Vec<i64>| {
            FromWorker::Finished {
                exit_status,
                traceback: if exit_status == ExitStatus::Failed {
                    msg.clone()
                } else {
                    String::new()
                },
                msg,
                run_uids,
                scan_ids,
            }
        };
        let plan = match build(item, &self.devices) {
            Ok(p) => p,
            Err(e) => {
                return finished(
                    ExitStatus::Failed,
                    format!("Plan failed: {e}"),
                    vec![],
                    vec![],
                )
            }
        };
        match plan {
            SimPlan::Sleep(s) => {
                let status = self.interruptible(control, &mut emit, |sim, c| {
                    let _ = sim;
                    c.sleep(seconds(s))
                });
                finished(status, String::new(), vec![], vec![])
            }
            SimPlan::Move(moves) => {
                let status = self.interruptible(control, &mut emit, |sim, c| {
                    moves.iter().any(|(m, p)| sim.move_to(m, *p, c))
                });
                finished(status, String::new(), vec![], vec![])
            }
            SimPlan::Run(t) => {
                let (status, run_uid) = self.run(&t, item, scan_id, control, &mut emit);
                emit.log(format!(
                    "Plan '{}' finished: {}",
                    item.name,
                    status.as_str()
                ));
                finished(status, String::new(), vec![run_uid], vec![scan_id])
            }
        }
    }

    /// Repeats `step` (which returns true when an immediate pause interrupted it) around pauses.
    fn interruptible(
        &mut self,
        control: &Control,
        emit: &mut Emit,
        mut step: impl FnMut(&mut Sim, &Control) -> bool,
    ) -> ExitStatus {
        loop {
            if control.take_pause() {
                if let Some(end) = pause_point(control, emit) {
                    return end.0;
                }
            }
            if !step(self, control) {
                return ExitStatus::Completed;
            }
        }
    }

    /// Moves a motor at its velocity; true if an immediate pause interrupted the move.
    fn move_to(&mut self, motor: &str, target: f64, control: &Control) -> bool {
        let Some(m) = self.devices.motor(motor) else {
            return false;
        };
        let secs = (target - m.position).abs() / m.velocity.max(1e-9);
        let interrupted = secs > 0.0 && control.sleep(seconds(secs));
        if !interrupted {
            if let Some(m) = self.devices.motor_mut(motor) {
                m.position = target;
            }
        }
        interrupted
    }

    fn run(
        &mut self,
        t: &Trajectory,
        item: &QueueItem,
        scan_id: i64,
        control: &Control,
        emit: &mut Emit,
    ) -> (ExitStatus, String) {
        let run_uid = uid();
        let mut rest = t.start_extra.clone();
        rest.insert("queue_item_uid".into(), json!(item.item_uid));
        rest.insert(
            "versions".into(),
            json!({"hutch": env!("CARGO_PKG_VERSION")}),
        );
        // The plan's name travels in `start_extra` with the rest of its metadata.
        let plan_name = rest
            .remove("plan_name")
            .and_then(|p| p.as_str().map(String::from));
        emit.doc(Document::Start(Start {
            uid: run_uid.clone(),
            time: now(),
            plan_name,
            scan_id: Some(scan_id),
            rest,
        }));
        (emit.out)(FromWorker::RunOpened {
            uid: run_uid.clone(),
            scan_id,
        });

        let descriptor_uid = uid();
        let uses_img = t.detectors.iter().any(|d| d == "img");
        let resource_uid = uid();
        let mut readings = Readings::default();
        let mut described = false;
        let mut end = None;
        let mut i = 0;
        while i < t.points.len() {
            if control.take_pause() {
                end = pause_point(control, emit);
                if end.is_some() {
                    break;
                }
            }
            if t.motors
                .iter()
                .zip(&t.points[i])
                .any(|(m, p)| self.move_to(m, *p, control))
            {
                continue; // paused mid-move: back to the checkpoint, then redo this point
            }
            if !described {
                self.describe(t, &run_uid, &descriptor_uid, emit);
                if uses_img {
                    self.resource(&run_uid, &resource_uid, emit);
                }
                described = true;
            }
            let data = self.event(t, i, &descriptor_uid, &resource_uid, &run_uid, emit);
            readings.add(t, &data);
            readings.send_last(emit, false);
            i += 1;
            let delay = t.delays.get(i - 1).copied().unwrap_or(0.0);
            if delay > 0.0 {
                control.sleep(seconds(delay));
            }
        }
        let (status, run_exit) = end.unwrap_or((ExitStatus::Completed, docs::ExitStatus::Success));
        if status != ExitStatus::Halted {
            for (m, p) in &t.restore {
                if let Some(motor) = self.devices.motor_mut(m) {
                    motor.position = *p;
                }
            }
        }
        let events = if described { i } else { 0 };
        readings.send_last(emit, true);
        if status == ExitStatus::Completed {
            readings.send_peaks(emit);
            self.plot_applet(t, emit);
        }
        let reason = if status == ExitStatus::Completed {
            ""
        } else {
            status.as_str()
        };
        emit.doc(Document::Stop(Stop {
            uid: uid(),
            run_start: run_uid.clone(),
            time: now(),
            exit_status: run_exit,
            reason: Some(reason.into()),
            num_events: described
                .then(|| ("primary".to_string(), events as u64))
                .into_iter()
                .collect(),
            rest: Default::default(),
        }));
        (emit.out)(FromWorker::RunClosed {
            uid: run_uid.clone(),
            scan_id,
            exit_status: run_exit.as_str().into(),
        });
        (status, run_uid)
    }
}

/// Paused at a checkpoint: tell the manager, wait for its decision.
fn pause_point(control: &Control, emit: &mut Emit) -> Option<(ExitStatus, docs::ExitStatus)> {
    (emit.out)(FromWorker::Paused);
    match control.wait_command() {
        Command::Resume => None,
        Command::Stop => Some((ExitStatus::Stopped, docs::ExitStatus::Success)),
        Command::Abort => Some((ExitStatus::Aborted, docs::ExitStatus::Abort)),
        Command::Halt => Some((ExitStatus::Halted, docs::ExitStatus::Abort)),
    }
}

#[cfg(test)]
mod tests;
