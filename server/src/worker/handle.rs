//! The manager's side of a worker process: spawn it, write commands to its stdin, turn its
//! stdout lines into events, notice when it exits, and kill it on demand.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, Command};
use tokio::sync::{mpsc, oneshot};

use super::protocol::{FromWorker, ToWorker};

/// What the worker tasks report to the manager, tagged with the worker's generation so that
/// late messages of a previous worker are ignored.
#[derive(Debug)]
pub enum WorkerEvent {
    Message(u64, FromWorker),
    /// A line the worker wrote to stderr (console output).
    Stderr(u64, String),
    /// The process ended; `None` when it exited with status 0.
    Exited(u64, Option<String>),
}

pub struct WorkerHandle {
    pub generation: u64,
    /// The worker's process id, shown in the status for operators.
    pub pid: Option<u32>,
    stdin: ChildStdin,
    kill: Option<oneshot::Sender<()>>,
}

impl WorkerHandle {
    /// Starts the worker `command` (see [`super::launch::Launch::command`]).
    pub fn spawn(
        generation: u64,
        mut command: Command,
        events: mpsc::Sender<WorkerEvent>,
    ) -> std::io::Result<WorkerHandle> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id();
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("worker stdin missing"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("worker stdout missing"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| std::io::Error::other("worker stderr missing"))?;
        let (kill_tx, kill_rx) = oneshot::channel::<()>();

        let err_events = events.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if err_events
                    .send(WorkerEvent::Stderr(generation, line))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut kill_rx = kill_rx;
            let mut killed = false;
            loop {
                tokio::select! {
                    line = lines.next_line() => match line {
                        Ok(Some(line)) => {
                            let event = match serde_json::from_str::<FromWorker>(&line) {
                                Ok(msg) => WorkerEvent::Message(generation, msg),
                                Err(e) => WorkerEvent::Stderr(generation, format!("unreadable worker message ({e}): {line}")),
                            };
                            if events.send(event).await.is_err() {
                                break;
                            }
                        }
                        _ => break,
                    },
                    _ = &mut kill_rx, if !killed => {
                        killed = true;
                        let _ = child.start_kill();
                    }
                }
            }
            let reason = match child.wait().await {
                Ok(status) if status.success() => None,
                Ok(status) => Some(match status.code() {
                    Some(code) => format!("RE Worker process exited unexpectedly with code {code}"),
                    None => format!("RE Worker process was killed ({status})"),
                }),
                Err(e) => Some(format!("RE Worker process could not be waited for: {e}")),
            };
            let _ = events.send(WorkerEvent::Exited(generation, reason)).await;
        });
        Ok(WorkerHandle {
            generation,
            pid,
            stdin,
            kill: Some(kill_tx),
        })
    }

    pub async fn send(&mut self, msg: &ToWorker) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(msg).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.stdin.write_all(&line).await?;
        self.stdin.flush().await
    }

    pub fn kill(&mut self) {
        if let Some(k) = self.kill.take() {
            let _ = k.send(());
        }
    }
}
