//! Datasets and applets opened with their git-trackable mirror files: what the files say at start
//! is imported, outside edits are imported while hutch runs, and a file that cannot be imported
//! is kept aside and reported in the log and on the console. (The file tasks themselves are
//! [`crate::mirror`]'s; this is the wiring between them and the two stores.)

use std::path::Path;

use sqlx::SqlitePool;
use tokio::sync::watch;

use crate::config::Config;
use crate::console::Console;
use crate::hub::Hub;
use crate::{applets, datasets, mirror, StartError};

/// Opens datasets and applets with their mirror files: what the files say at start is imported
/// (a file that cannot be imported is kept aside under another name and reported), then both are
/// watched for outside changes.
pub(crate) async fn start(
    config: &Config,
    db: &SqlitePool,
    hub: &Hub,
    console: &Console,
    shutdown: &watch::Receiver<bool>,
) -> Result<(datasets::Datasets, applets::Applets), StartError> {
    let dir = &config.mirror_dir;
    std::fs::create_dir_all(dir).map_err(|error| StartError::MirrorDir {
        path: dir.clone(),
        error,
    })?;
    let (dpath, apath) = (dir.join("datasets.json"), dir.join("applets.json"));
    let (dtext, atext) = (
        std::fs::read_to_string(&dpath).ok(),
        std::fs::read_to_string(&apath).ok(),
    );
    let dmirror = mirror::Mirror::new(dpath.clone());
    let amirror = mirror::Mirror::new(apath.clone());
    let datasets = datasets::Datasets::load(db.clone(), hub.clone(), Some(dmirror.clone()))
        .await
        .map_err(StartError::Load)?;
    let applets = applets::Applets::load(db.clone(), hub.clone(), Some(amirror.clone()))
        .await
        .map_err(StartError::Load)?;
    let files = [
        (Store::Datasets(datasets.clone()), dmirror, dpath, dtext),
        (Store::Applets(applets.clone()), amirror, apath, atext),
    ];
    for (store, file, path, text) in files {
        if let Some(text) = &text {
            store.import_file(text, &path, console).await;
        }
        let console = console.clone();
        file.run(
            config.mirror_poll,
            text.as_deref(),
            move |text| {
                let (store, path, console) = (store.clone(), path.clone(), console.clone());
                async move { store.import_file(&text, &path, &console).await }
            },
            shutdown.clone(),
        );
    }
    Ok((datasets, applets))
}

/// A store with a mirror file.
#[derive(Clone)]
enum Store {
    Datasets(datasets::Datasets),
    Applets(applets::Applets),
}

impl Store {
    /// Imports the file's text; says what changed, or why nothing did (and keeps the file aside).
    async fn import_file(&self, text: &str, path: &Path, console: &Console) {
        match self.import(text, path).await {
            Ok(notes) => {
                for (error, msg) in notes {
                    mirror_note(console, error, &msg);
                }
            }
            Err(e) => {
                let kept = keep_rejected(path, text);
                let msg = format!(
                    "{} was not imported, nothing changed: {e}; {kept}",
                    path.display()
                );
                mirror_note(console, true, &msg);
            }
        }
    }

    /// The import itself; returns what to say (each an error or not), nothing if nothing changed.
    async fn import(&self, text: &str, path: &Path) -> Result<Vec<(bool, String)>, String> {
        let by = format!("file:{}", path.display());
        match self {
            Store::Datasets(datasets) => {
                let n = datasets
                    .import(datasets::parse_mirror(text)?, &by)
                    .await
                    .map_err(|e| e.to_string())?;
                let msg = format!("datasets imported from {}: {n} changed", path.display());
                Ok((n > 0).then_some((false, msg)).into_iter().collect())
            }
            Store::Applets(applets) => {
                let report = applets.import(text, &by).await.map_err(|e| e.to_string())?;
                if !report.changed() && report.conflicts.is_empty() {
                    return Ok(Vec::new());
                }
                let summary = format!(
                    "applets imported from {}: {} created, {} updated, {} restored, {} deleted, {} conflicts",
                    path.display(),
                    report.created.len(),
                    report.updated.len(),
                    report.restored.len(),
                    report.deleted.len(),
                    report.conflicts.len()
                );
                let mut notes = vec![(!report.conflicts.is_empty(), summary)];
                notes.extend(report.conflicts.into_iter().map(|c| (true, c)));
                Ok(notes)
            }
        }
    }
}

/// Says something about a mirror file in the log and on the console.
fn mirror_note(console: &Console, error: bool, msg: &str) {
    if error {
        tracing::error!("{msg}");
    } else {
        tracing::info!("{msg}");
    }
    let now = crate::clock::unix_now();
    console.push(now, msg);
}

/// Keeps a file that could not be imported beside the mirror, since the next write replaces it.
fn keep_rejected(path: &Path, text: &str) -> String {
    use std::io::Write;
    let aside = path.with_extension("json.rejected");
    // Replaced, never written through: a symlink planted at that name is removed, not followed.
    let _ = std::fs::remove_file(&aside);
    let kept = mirror::create_new_private(&aside).and_then(|mut f| f.write_all(text.as_bytes()));
    match kept {
        Ok(()) => format!("your file is kept as {}", aside.display()),
        Err(e) => format!("it could not be kept aside ({e})"),
    }
}
