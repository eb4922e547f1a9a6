//! Runs whose writer died: a worker killed mid-plan, or hutch itself stopped while a plan ran,
//! leaves runs that have a start but will never get a stop. Left alone they would stay "open"
//! for ever, and a plot or `hutch wait` would wait for them. hutch writes their stop document
//! (`exit_status: abort`, as bluesky closes an interrupted run, with a reason that says hutch
//! wrote it and why), stored and published like any other, so the record says how the run
//! ended.

use hutch_app::model::docs::{DocName, ExitStatus, Stop};
use sqlx::SqlitePool;

use crate::queue::uids::uuid;
use crate::runs::store::DocWriter;

/// Stops every open run of `dispatch`, after the documents already sent are stored; returns
/// the uids of the runs it stopped.
pub async fn close_open_runs(
    pool: &SqlitePool,
    docs: &DocWriter,
    dispatch: &str,
    why: &str,
    now: f64,
) -> Result<Vec<String>, String> {
    docs.flush().await.map_err(|e| e.to_string())?;
    let runs = crate::runs::query::list_for_dispatch(pool, dispatch)
        .await
        .map_err(|e| e.to_string())?;
    let mut stops = Vec::new();
    let mut closed = Vec::new();
    for run in runs.into_iter().filter(|r| r.exit_status.is_none()) {
        let stop = Stop {
            uid: uuid(),
            run_start: run.uid.clone(),
            time: now,
            exit_status: ExitStatus::Abort,
            reason: Some(format!("closed by hutch: {why}")),
            num_events: run.num_events,
            rest: Default::default(),
        };
        let doc = serde_json::to_value(&stop).map_err(|e| e.to_string())?;
        stops.push((DocName::Stop.as_str().to_string(), doc));
        closed.push(run.uid);
    }
    if !stops.is_empty() {
        docs.store(stops, Some(dispatch.to_string()))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(closed)
}
