//! What a run sends besides its control flow: the sink for the worker's messages, the
//! documents built at each point, the datasets of its readings and the live plot it asks for.

use std::time::Duration;

use hutch_app::model::docs::{Datum, Descriptor, Document, Event, Hint, Resource};
use serde_json::{json, Map, Value};

use super::{uid, Sim};
use crate::clock::unix_now as now;
use crate::worker::protocol::FromWorker;
use crate::worker::sim::devices::{DetectorKind, IMG_SIZE};
use crate::worker::sim::plans::Trajectory;

pub(super) struct Emit<'a> {
    pub(super) out: &'a mut dyn FnMut(FromWorker),
}

impl Emit<'_> {
    pub(super) fn doc(&mut self, doc: Document) {
        (self.out)(FromWorker::Document {
            name: doc.name().as_str().into(),
            doc: doc.to_value(),
        });
    }
    pub(super) fn log(&mut self, msg: String) {
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

/// What a run has read so far, for the datasets it sets: each scalar detector's last reading
/// and its maximum with the motor positions there.
#[derive(Default)]
pub(super) struct Readings {
    last: Map<String, Value>,
    peaks: Map<String, Value>,
    sent: Option<std::time::Instant>,
}

impl Readings {
    pub(super) fn add(&mut self, t: &Trajectory, data: &Map<String, Value>) {
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
    pub(super) fn send_last(&mut self, emit: &mut Emit, now: bool) {
        if !now && self.sent.is_some_and(|t| t.elapsed() < LAST_READING_EVERY) {
            return;
        }
        self.sent = Some(std::time::Instant::now());
        for (det, v) in &self.last {
            emit.dataset(format!("{det}.last"), v.clone(), false);
        }
    }

    /// Sends `peak.<det>.value` and `peak.<det>.<motor>` (persistent: a scan's result).
    pub(super) fn send_peaks(&self, emit: &mut Emit) {
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
    /// A scan with motors asks for a live plot of its detectors against its first motor (group
    /// `experiment`; that group's policy decides whether it is created).
    pub(super) fn plot_applet(&self, t: &Trajectory, emit: &mut Emit) {
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

    pub(super) fn describe(
        &self,
        t: &Trajectory,
        run_uid: &str,
        descriptor_uid: &str,
        emit: &mut Emit,
    ) {
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

    pub(super) fn resource(&self, run_uid: &str, resource_uid: &str, emit: &mut Emit) {
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

    pub(super) fn event(
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
