//! Executes simulated plans: moves motors (taking time), reads detectors, emits bluesky
//! documents, and honours pause (deferred at the next checkpoint, immediate at once),
//! resume, stop, abort and halt, with a checkpoint before every point as bluesky's plans have.

use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hutch_app::model::docs::{
    self, Datum, Descriptor, Document, Event, Hint, Resource, Start, Stop,
};
use hutch_app::model::queue::{ExitStatus, QueueItem};
use serde_json::{json, Map, Value};

use super::devices::{DetectorKind, Devices, Rng, IMG_SIZE};
use super::plans::{build, SimPlan, Trajectory};
use crate::queue::state::PauseOption;
use crate::worker::protocol::FromWorker;

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

    fn take_pause(&self) -> bool {
        self.lock().pause.take().is_some()
    }

    /// Sleeps for `d`; returns true early if an immediate pause arrives.
    fn sleep(&self, d: Duration) -> bool {
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

    fn wait_command(&self) -> Command {
        let mut c = self.lock();
        loop {
            if let Some(cmd) = c.command.take() {
                return cmd;
            }
            c = self.cv.wait(c).unwrap_or_else(|p| p.into_inner());
        }
    }
}

use crate::clock::unix_now as now;

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

struct Emit<'a> {
    out: &'a mut dyn FnMut(FromWorker),
}

impl Emit<'_> {
    fn doc(&mut self, doc: Document) {
        (self.out)(FromWorker::Document {
            name: doc.name().as_str().into(),
            doc: doc.to_value(),
        });
    }
    fn log(&mut self, msg: String) {
        (self.out)(FromWorker::Log { msg });
    }
    fn dataset(&mut self, key: String, value: Value, persist: bool) {
        (self.out)(FromWorker::Dataset {
            key,
            value,
            persist,
            unit: None,
        });
    }
}

/// How often a run sets the `<detector>.last` datasets while it goes.
const LAST_READING_EVERY: Duration = Duration::from_millis(100);

/// A wait of `s` seconds that cannot panic: negative or NaN is no wait, and anything past
/// validation's bound (a day) is cut to it. (`Duration::from_secs_f64(1e300)` panics.)
fn seconds(s: f64) -> Duration {
    let s = if s.is_finite() { s } else { 0.0 };
    Duration::try_from_secs_f64(s.clamp(0.0, crate::queue::validate::MAX_SECONDS))
        .unwrap_or(Duration::ZERO)
}

/// What a run has read so far, for the datasets it sets: each scalar detector's last reading
/// and its maximum with the motor positions there.
#[derive(Default)]
struct Readings {
    last: Map<String, Value>,
    peaks: Map<String, Value>,
    sent: Option<std::time::Instant>,
}

impl Readings {
    fn add(&mut self, t: &Trajectory, data: &Map<String, Value>) {
        for det in &t.detectors {
            let Some(v) = data.get(det).and_then(Value::as_f64) else {
                continue;
            };
            self.last.insert(det.clone(), json!(v));
            let higher = self
                .peaks
                .get(det)
                .and_then(|p| p["value"].as_f64())
                .is_none_or(|best| v > best);
            if higher && !t.motors.is_empty() {
                let at: Map<String, Value> = t
                    .motors
                    .iter()
                    .map(|m| (m.clone(), data.get(m).cloned().unwrap_or(Value::Null)))
                    .collect();
                self.peaks
                    .insert(det.clone(), json!({"value": v, "at": at}));
            }
        }
    }

    /// Sends `<det>.last` if due (or `now`).
    fn send_last(&mut self, emit: &mut Emit, now: bool) {
        if !now && self.sent.is_some_and(|t| t.elapsed() < LAST_READING_EVERY) {
            return;
        }
        self.sent = Some(std::time::Instant::now());
        for (det, v) in &self.last {
            emit.dataset(format!("{det}.last"), v.clone(), false);
        }
    }

    /// Sends `peak.<det>.value` and `peak.<det>.<motor>` (persistent: a scan's result).
    fn send_peaks(&self, emit: &mut Emit) {
        for (det, p) in &self.peaks {
            emit.dataset(format!("peak.{det}.value"), p["value"].clone(), true);
            if let Some(at) = p["at"].as_object() {
                for (m, pos) in at {
                    emit.dataset(format!("peak.{det}.{m}"), pos.clone(), true);
                }
            }
        }
    }
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
        emit.log(format!("Starting plan '{}' ({})", item.name, item.item_uid));
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

    /// A scan with motors asks for a live plot of its detectors against its first motor (group
    /// `experiment`; that group's policy decides whether it is created).
    fn plot_applet(&self, t: &Trajectory, emit: &mut Emit) {
        let Some(motor) = t.motors.first() else {
            return;
        };
        let dets: Vec<&String> = t
            .detectors
            .iter()
            .filter(|d| {
                self.devices
                    .detector(d)
                    .is_some_and(|d| d.kind != DetectorKind::Image)
            })
            .collect();
        if dets.is_empty() {
            return;
        }
        (emit.out)(FromWorker::Applet {
            group: "experiment".into(),
            name: format!(
                "{}: {} vs {motor}",
                t.plan_name,
                dets.iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            kind: hutch_app::model::applets::AppletKind::Line,
            spec: json!({"latest_of_plan": t.plan_name, "x": motor, "y": dets}),
            plan: t.plan_name.clone(),
        });
    }

    fn describe(&self, t: &Trajectory, run_uid: &str, descriptor_uid: &str, emit: &mut Emit) {
        let mut data_keys = std::collections::BTreeMap::new();
        let mut object_keys = Map::new();
        let mut hints = std::collections::BTreeMap::new();
        for name in t.detectors.iter().chain(&t.motors) {
            let keys = self.devices.data_keys(name);
            object_keys.insert(name.clone(), json!(keys.keys().collect::<Vec<_>>()));
            let fields = self.devices.hint_fields(name);
            hints.insert(
                name.clone(),
                Hint {
                    fields,
                    rest: Map::new(),
                },
            );
            data_keys.extend(keys);
        }
        emit.doc(Document::Descriptor(Descriptor {
            uid: descriptor_uid.into(),
            run_start: run_uid.into(),
            time: now(),
            name: "primary".into(),
            data_keys,
            hints,
            rest: Map::from_iter([
                ("object_keys".into(), Value::Object(object_keys)),
                ("configuration".into(), json!({})),
            ]),
        }));
    }

    fn resource(&self, run_uid: &str, resource_uid: &str, emit: &mut Emit) {
        emit.doc(Document::Resource(Resource {
            uid: resource_uid.into(),
            run_start: Some(run_uid.into()),
            spec: "HUTCH_RAW_U16".into(),
            root: self.assets.display().to_string(),
            resource_path: run_uid.into(),
            resource_kwargs: Map::from_iter([
                ("shape".into(), json!([IMG_SIZE, IMG_SIZE])),
                ("dtype".into(), json!("<u2")),
            ]),
            rest: Map::from_iter([("path_semantics".into(), json!("posix"))]),
        }));
    }

    fn event(
        &mut self,
        t: &Trajectory,
        i: usize,
        descriptor: &str,
        resource: &str,
        run_uid: &str,
        emit: &mut Emit,
    ) -> Map<String, Value> {
        let mut data = Map::new();
        let mut filled = Map::new();
        for name in &t.detectors {
            let Some(det) = self.devices.detector(name).cloned() else {
                continue;
            };
            if det.kind == DetectorKind::Image {
                let frame = self.devices.read_image(&mut self.rng);
                let datum_id = format!("{resource}/{i}");
                if let Err(e) = self.write_frame(run_uid, i, &frame) {
                    emit.log(format!("could not store img frame {i}: {e}"));
                }
                emit.doc(Document::Datum(Datum {
                    resource: resource.into(),
                    datum_id: datum_id.clone(),
                    datum_kwargs: Map::from_iter([("index".into(), json!(i))]),
                    rest: Map::new(),
                }));
                data.insert(name.clone(), json!(datum_id));
                filled.insert(name.clone(), json!(false));
            } else {
                data.insert(
                    name.clone(),
                    json!(self.devices.read_scalar(&det, &mut self.rng)),
                );
            }
        }
        for m in &t.motors {
            let p = self.devices.motor(m).map_or(0.0, |m| m.position);
            data.insert(m.clone(), json!(p));
            data.insert(format!("{m}_setpoint"), json!(p));
        }
        let ts = now();
        let timestamps: Map<String, Value> = data.keys().map(|k| (k.clone(), json!(ts))).collect();
        emit.doc(Document::Event(Event {
            uid: uid(),
            descriptor: descriptor.into(),
            time: ts,
            seq_num: i as i64 + 1,
            data: data.clone(),
            timestamps,
            filled,
            rest: Map::new(),
        }));
        data
    }

    fn write_frame(&self, run_uid: &str, i: usize, frame: &[u16]) -> std::io::Result<()> {
        let dir = self.assets.join(run_uid);
        std::fs::create_dir_all(&dir)?;
        let bytes: Vec<u8> = frame.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.join(format!("{i}.u16")), bytes)
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
mod tests {
    use std::sync::Arc;

    use super::*;

    fn item(name: &str, args: Value, kwargs: Value) -> QueueItem {
        serde_json::from_value(json!({"name": name, "args": args, "kwargs": kwargs, "item_type": "plan", "item_uid": "i1"}))
            .unwrap()
    }

    fn run(sim: &mut Sim, it: &QueueItem, control: &Control) -> (Vec<FromWorker>, FromWorker) {
        let mut out = Vec::new();
        let fin = sim.execute(it, 7, control, &mut |m| out.push(m));
        (out, fin)
    }

    fn docs(out: &[FromWorker]) -> Vec<(String, Value)> {
        out.iter()
            .filter_map(|m| match m {
                FromWorker::Document { name, doc } => Some((name.clone(), doc.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn waits_never_panic() {
        assert_eq!(seconds(-1.0), Duration::ZERO);
        assert_eq!(seconds(f64::NAN), Duration::ZERO);
        assert_eq!(
            seconds(1e300).as_secs_f64(),
            crate::queue::validate::MAX_SECONDS
        );
        assert_eq!(seconds(0.5), Duration::from_millis(500));
    }

    #[test]
    fn a_scan_emits_start_descriptor_events_stop() {
        let dir = tempfile::tempdir().unwrap();
        let mut sim = Sim::new(dir.path().into(), 1);
        let (out, fin) = run(
            &mut sim,
            &item("scan", json!([["det"], "motor", -1, 1, 5]), json!({})),
            &Control::default(),
        );
        let d = docs(&out);
        let names: Vec<&str> = d.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "start",
                "descriptor",
                "event",
                "event",
                "event",
                "event",
                "event",
                "stop"
            ]
        );
        let start = &d[0].1;
        assert_eq!(start["plan_name"], "scan");
        assert_eq!(start["scan_id"], 7);
        assert_eq!(start["queue_item_uid"], "i1");
        assert_eq!(start["num_points"], 5);
        assert_eq!(d[1].1["data_keys"]["det"]["dtype"], "number");
        let peak = &d[4].1;
        assert_eq!(peak["seq_num"], 3);
        assert_eq!(peak["data"]["motor"], 0.0);
        assert!((peak["data"]["det"].as_f64().unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(d[7].1["exit_status"], "success");
        assert_eq!(d[7].1["num_events"]["primary"], 5);
        assert!(
            matches!(fin, FromWorker::Finished { exit_status: ExitStatus::Completed, ref scan_ids, .. } if scan_ids == &[7])
        );
    }

    #[test]
    fn images_are_stored_outside_the_events() {
        let dir = tempfile::tempdir().unwrap();
        let mut sim = Sim::new(dir.path().into(), 1);
        let (out, _) = run(
            &mut sim,
            &item("count", json!([["img", "det1"]]), json!({"num": 2})),
            &Control::default(),
        );
        let d = docs(&out);
        let names: Vec<&str> = d.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "start",
                "descriptor",
                "resource",
                "datum",
                "event",
                "datum",
                "event",
                "stop"
            ]
        );
        let event = &d[4].1;
        assert_eq!(event["filled"]["img"], false);
        let run_uid = d[0].1["uid"].as_str().unwrap();
        let frame = std::fs::read(dir.path().join(run_uid).join("0.u16")).unwrap();
        assert_eq!(frame.len(), IMG_SIZE * IMG_SIZE * 2);
    }

    #[test]
    fn deferred_pause_then_abort() {
        let dir = tempfile::tempdir().unwrap();
        let control = Arc::new(Control::default());
        let c2 = control.clone();
        let it = item(
            "count",
            json!([["det1"]]),
            json!({"num": 50, "delay": 0.01}),
        );
        let handle = std::thread::spawn(move || {
            let mut sim = Sim::new(dir.path().into(), 1);
            let mut out = Vec::new();
            let fin = sim.execute(&it, 1, &c2, &mut |m| {
                if m == FromWorker::Paused {
                    c2.command(Command::Abort);
                }
                out.push(m);
            });
            (out, fin)
        });
        control.request_pause(PauseOption::Deferred);
        let (out, fin) = handle.join().unwrap();
        assert!(out.contains(&FromWorker::Paused));
        let d = docs(&out);
        let stop = &d.last().unwrap().1;
        assert_eq!(stop["exit_status"], "abort");
        assert!(stop["num_events"]["primary"].as_u64().unwrap_or(0) < 50);
        assert!(matches!(
            fin,
            FromWorker::Finished {
                exit_status: ExitStatus::Aborted,
                ..
            }
        ));
    }

    #[test]
    fn stop_while_paused_closes_the_run_as_success_and_the_item_as_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let control = Control::default();
        control.request_pause(PauseOption::Immediate);
        control.command(Command::Stop);
        let mut sim = Sim::new(dir.path().into(), 1);
        let (out, fin) = run(
            &mut sim,
            &item("scan", json!([["det"], "motor", -1, 1, 5]), json!({})),
            &control,
        );
        assert_eq!(docs(&out).last().unwrap().1["exit_status"], "success");
        assert!(matches!(
            fin,
            FromWorker::Finished {
                exit_status: ExitStatus::Stopped,
                ..
            }
        ));
    }
}
