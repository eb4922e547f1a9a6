//! Git-trackable mirror files (`applets.json`, `datasets.json`): written atomically after every
//! change, in a stable order and pretty-printed so diffs stay small, and watched so that an edit
//! on disk (or a `git checkout` of an older version) is imported.
//!
//! One task owns each file: it writes hutch's new texts and polls for outside changes (once a
//! second by default; no platform notification API needed). Because the same task does both, it
//! knows exactly what it wrote last: any other content is an outside edit. Before each write it
//! checks the file, so an edit made just before hutch's next change is imported, not overwritten.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::watch;

fn hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// Pretty JSON with object keys sorted at every level and a final newline.
pub fn pretty(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect::<Map<_, _>>(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let mut text = serde_json::to_string_pretty(&sorted(v)).unwrap_or_default();
    text.push('\n');
    text
}

/// Largest mirror file read back; a bigger one is not imported (it is not hutch's).
pub const MAX_MIRROR_FILE: u64 = 64 << 20;

/// A new file at `path` that did not exist (so never one a symlink planted there points to),
/// readable and writable by its owner only.
pub fn create_new_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Writes `text` to `path` atomically: a temporary file of its own beside it (unique, created
/// exclusively), flushed, then renamed over `path`.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut f = create_new_private(&tmp)?;
    let written = f.write_all(text.as_bytes()).and_then(|()| f.sync_all());
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// One mirror file. Cheap to clone.
#[derive(Clone)]
pub struct Mirror {
    path: Arc<PathBuf>,
    tx: Arc<watch::Sender<Option<Arc<str>>>>,
    rx: watch::Receiver<Option<Arc<str>>>,
}

fn read(path: &Path) -> Option<String> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    f.take(MAX_MIRROR_FILE + 1).read_to_string(&mut text).ok()?;
    if text.len() as u64 > MAX_MIRROR_FILE {
        tracing::warn!(
            "{} is larger than {MAX_MIRROR_FILE} bytes: not read as a mirror",
            path.display()
        );
        return None;
    }
    Some(text)
}

impl Mirror {
    /// A mirror for `path`; texts given to [`Mirror::write`] wait until [`Mirror::run`] starts.
    pub fn new(path: PathBuf) -> Mirror {
        let (tx, rx) = watch::channel::<Option<Arc<str>>>(None);
        Mirror {
            path: Arc::new(path),
            tx: Arc::new(tx),
            rx,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the file's content (soon; a newer text replaces one not yet written).
    pub fn write(&self, text: String) {
        self.tx.send_replace(Some(text.into()));
    }

    /// Starts the task that writes and watches the file. `seen` is the file's text that was
    /// already imported at start (so it is not imported again); `import` is called with every
    /// outside content, once.
    pub fn run<F, Fut>(
        &self,
        every: Duration,
        seen: Option<&str>,
        mut import: F,
        mut stop: watch::Receiver<bool>,
    ) where
        F: FnMut(String) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let path = self.path.clone();
        let mut rx = self.rx.clone();
        rx.mark_changed();
        let mut last = seen.map(hash);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let write = tokio::select! {
                    biased;
                    _ = stop.wait_for(|s| *s) => break,
                    changed = rx.changed() => match changed {
                        Ok(()) => true,
                        Err(_) => break,
                    },
                    _ = tick.tick() => false,
                };
                // An outside edit first: imported before anything overwrites it.
                let p = path.clone();
                if let Ok(Some(text)) = tokio::task::spawn_blocking(move || read(&p)).await {
                    if last != Some(hash(&text)) {
                        last = Some(hash(&text));
                        import(text).await;
                    }
                }
                if !write && !rx.has_changed().unwrap_or(false) {
                    continue;
                }
                let Some(text) = rx.borrow_and_update().clone() else {
                    continue;
                };
                if last == Some(hash(&text)) {
                    continue;
                }
                last = Some(hash(&text));
                let p = path.clone();
                let result = tokio::task::spawn_blocking(move || write_atomically(&p, &text)).await;
                if let Ok(Err(e)) | Err(e) = result.map_err(std::io::Error::other) {
                    tracing::error!(path = %path.display(), "cannot write the mirror file: {e}");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[cfg(unix)]
    #[test]
    fn writes_never_follow_a_planted_symlink_and_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        // The old fixed temporary name, pointing elsewhere.
        std::os::unix::fs::symlink(&victim, dir.path().join(".applets.json.tmp")).unwrap();
        let path = dir.path().join("applets.json");
        write_atomically(&path, "{}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(
            leftovers, 1,
            "only the planted link; no temporary file of ours is left"
        );
    }

    #[test]
    fn pretty_sorts_keys_and_ends_with_a_newline() {
        let text = pretty(&json!({"b": 1, "a": {"d": [1, {"z": 0, "y": 1}], "c": null}}));
        assert!(text.ends_with("}\n"));
        let a = text.find("\"a\"").unwrap();
        let b = text.find("\"b\"").unwrap();
        assert!(a < b);
        assert!(text.find("\"y\"").unwrap() < text.find("\"z\"").unwrap());
    }

    #[test]
    fn atomic_writes_replace_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("applets.json");
        write_atomically(&path, "one").unwrap();
        write_atomically(&path, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
