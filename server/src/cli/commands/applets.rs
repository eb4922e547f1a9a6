//! `hutch applets …`: dashboard panels, their export and import.

use super::*;
use crate::applets::import::ImportReport;

/// The reply of `POST /api/applets/import`.
#[derive(Deserialize)]
struct ImportReply {
    report: ImportReport,
}

pub(super) async fn applets(
    action: AppletsAction,
    client: &Client,
    out: &Out,
) -> Result<(), Failure> {
    match action {
        AppletsAction::List => {
            let v = client.call("GET", "/api/applets", None).await?;
            #[derive(Deserialize)]
            struct Reply {
                applets: Vec<Applet>,
            }
            out.show(&v, |v| {
                human(v, |r: Reply| {
                    let rows: Vec<Vec<String>> = r
                        .applets
                        .iter()
                        .map(|a| {
                            vec![
                                a.group.clone(),
                                a.name.clone(),
                                a.kind.as_str().into(),
                                a.version.to_string(),
                                a.updated_by.clone(),
                                uid8(&a.uid),
                            ]
                        })
                        .collect();
                    if rows.is_empty() {
                        "no applets".into()
                    } else {
                        table(&["group", "name", "kind", "version", "by", "uid"], &rows)
                    }
                })
            });
        }
        AppletsAction::Export { file } => {
            let (status, body) = client.raw("GET", "/api/applets/export", None).await?;
            if status != 200 {
                return Err(Failure::Refused(String::from_utf8_lossy(&body).into()));
            }
            write_out(file.as_deref(), &body)?;
        }
        AppletsAction::Import { file } => {
            let text = std::fs::read(&file)
                .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", file.display())))?;
            let (status, body) = client
                .raw("POST", "/api/applets/import", Some(&text))
                .await?;
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if status != 200 {
                let msg = Refusal::of(&body)
                    .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
                return Err(Failure::Refused(format!(
                    "{} was not imported, nothing changed: {msg}",
                    file.display()
                )));
            }
            out.show(&v, |v| {
                human(v, |r: ImportReply| {
                    let r = r.report;
                    let mut text = format!(
                        "{} created, {} updated, {} restored, {} deleted, {} unchanged",
                        r.created.len(),
                        r.updated.len(),
                        r.restored.len(),
                        r.deleted.len(),
                        r.unchanged
                    );
                    for c in r.conflicts {
                        text.push_str(&format!("\nconflict: {c}"));
                    }
                    text
                })
            });
        }
    }
    Ok(())
}
