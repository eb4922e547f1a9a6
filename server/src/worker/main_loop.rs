//! The worker process (`hutch worker`): reads the manager's messages from stdin, runs plans in
//! the simulated environment, and writes its reports to stdout, one JSON line each.
//!
//! Three threads: stdin reader (control messages act at once, even mid-plan), the plan thread
//! (this one), and a stdout writer fed by a bounded channel so that documents are written in
//! order without the plan waiting on each write.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use hutch_app::model::queue::QueueItem;

use super::protocol::{FromWorker, ToWorker, WORKER_PROTOCOL};
use super::sim::runner::{Command, Control, Sim};

/// Lines the writer may have queued before the plan thread waits.
const OUT_QUEUE: usize = 4096;

/// Runs the worker until stdin closes or the manager says `close`. Returns the exit code.
pub fn run(assets: PathBuf) -> i32 {
    let (out_tx, out_rx) = sync_channel::<FromWorker>(OUT_QUEUE);
    let writer = std::thread::spawn(move || write_all(out_rx));
    let control = Arc::new(Control::default());
    let (plan_tx, plan_rx) = sync_channel::<(QueueItem, i64)>(1);
    {
        let control = control.clone();
        let out = out_tx.clone();
        std::thread::spawn(move || read_all(control, plan_tx, out));
    }
    let seed = std::process::id() as u64 ^ 0x5DEE_CE66;
    let mut sim = Sim::new(assets, seed);
    // The catalogue travels in `ready`, as a Python environment's does: the manager has no
    // compiled-in list of its own.
    let catalog = super::sim::catalog::catalog();
    let _ = out_tx.send(FromWorker::Ready {
        protocol: WORKER_PROTOCOL,
        environment: "sim".into(),
        plans: Some(catalog.plans_json(false)),
        devices: Some(catalog.devices_json()),
        types: Some(catalog.types_json()),
    });
    while let Ok((item, scan_id)) = plan_rx.recv() {
        let send = |m: FromWorker| {
            let _ = out_tx.send(m);
        };
        let mut send = send;
        let finished = sim.execute(&item, scan_id, &control, &mut send);
        let _ = out_tx.send(finished);
    }
    drop(out_tx);
    let _ = writer.join();
    0
}

fn read_all(
    control: Arc<Control>,
    plans: SyncSender<(QueueItem, i64)>,
    out: SyncSender<FromWorker>,
) {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else {
            std::process::exit(3)
        };
        if line.trim().is_empty() {
            continue;
        }
        let msg = match serde_json::from_str::<ToWorker>(&line) {
            Ok(m) => m,
            Err(e) => {
                let _ = out.send(FromWorker::Log {
                    msg: format!("worker: unreadable message ignored: {e}"),
                });
                continue;
            }
        };
        match msg {
            ToWorker::Run { item, scan_id } => {
                control.reset();
                if plans.send((*item, scan_id)).is_err() {
                    break;
                }
            }
            ToWorker::Pause { option } => control.request_pause(option),
            ToWorker::Resume => control.command(Command::Resume),
            ToWorker::Stop => control.command(Command::Stop),
            ToWorker::Abort => control.command(Command::Abort),
            ToWorker::Halt => control.command(Command::Halt),
            ToWorker::Close => return,
            ToWorker::Update { task_uid, .. } => {
                let catalog = super::sim::catalog::catalog();
                let _ = out.send(FromWorker::Catalog {
                    plans: catalog.plans_json(false),
                    devices: catalog.devices_json(),
                    types: Some(catalog.types_json()),
                });
                let _ = out.send(FromWorker::TaskFinished {
                    task_uid,
                    success: true,
                    msg: String::new(),
                    traceback: String::new(),
                    return_value: serde_json::Value::Null,
                });
            }
            // The simulated environment has no Python namespace to run code in.
            ToWorker::Script { task_uid, .. } | ToWorker::Function { task_uid, .. } => {
                let _ = out.send(FromWorker::TaskFinished {
                    task_uid,
                    success: false,
                    msg: "the simulated environment runs no Python: scripts and functions need --environment bluesky".into(),
                    traceback: String::new(),
                    return_value: serde_json::Value::Null,
                });
            }
        }
    }
    std::process::exit(3);
    // `close` (sent only when no plan runs): dropping `plans` ends the plan loop. End of input
    // without `close` means the manager is gone (crashed or killed): stop at once rather than
    // run a plan nobody records.
}

fn write_all(rx: Receiver<FromWorker>) {
    let stdout = std::io::stdout();
    let mut w = BufWriter::with_capacity(1 << 16, stdout.lock());
    while let Ok(msg) = rx.recv() {
        if write_line(&mut w, &msg).is_err() {
            return;
        }
        // Batch what is already queued, then flush so the manager sees it now.
        while let Ok(more) = rx.try_recv() {
            if write_line(&mut w, &more).is_err() {
                return;
            }
        }
        if w.flush().is_err() {
            return;
        }
    }
}

fn write_line(w: &mut impl Write, msg: &FromWorker) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, msg)?;
    w.write_all(b"\n")
}
