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
    if let Some(text) = &dtext {
        import_datasets_file(&datasets, text, &dpath, console).await;
    }
    if let Some(text) = &atext {
        import_applets_file(&applets, text, &apath, console).await;
    }
    let (d, c, p) = (datasets.clone(), console.clone(), dpath.clone());
    dmirror.run(
        config.mirror_poll,
        dtext.as_deref(),
        move |text| {
            let (d, c, p) = (d.clone(), c.clone(), p.clone());
            async move { import_datasets_file(&d, &text, &p, &c).await }
        },
        shutdown.clone(),
    );
    let (a, c, p) = (applets.clone(), console.clone(), apath.clone());
    amirror.run(
        config.mirror_poll,
        atext.as_deref(),
        move |text| {
            let (a, c, p) = (a.clone(), c.clone(), p.clone());
            async move { import_applets_file(&a, &text, &p, &c).await }
        },
        shutdown.clone(),
    );
    Ok((datasets, applets))
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

async fn import_applets_file(
    applets: &applets::Applets,
    text: &str,
    path: &Path,
    console: &Console,
) {
    let by = format!("file:{}", path.display());
    match applets.import(text, &by).await {
        Ok(report) if report.changed() || !report.conflicts.is_empty() => {
            let msg = format!(
                "applets imported from {}: {} created, {} updated, {} restored, {} deleted, {} conflicts",
                path.display(),
                report.created.len(),
                report.updated.len(),
                report.restored.len(),
                report.deleted.len(),
                report.conflicts.len()
            );
            mirror_note(console, !report.conflicts.is_empty(), &msg);
            for c in &report.conflicts {
                mirror_note(console, true, c);
            }
        }
        Ok(_) => {}
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

async fn import_datasets_file(
    datasets: &datasets::Datasets,
    text: &str,
    path: &Path,
    console: &Console,
) {
    let by = format!("file:{}", path.display());
    let result = match datasets::parse_mirror(text) {
        Ok(wanted) => datasets
            .import(wanted, &by)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match result {
        Ok(0) => {}
        Ok(n) => mirror_note(
            console,
            false,
            &format!("datasets imported from {}: {n} changed", path.display()),
        ),
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
