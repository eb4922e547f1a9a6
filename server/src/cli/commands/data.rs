//! `hutch datasets …` and `hutch runs …`: named values and recorded runs.

use super::*;

pub(super) async fn datasets(
    action: DatasetsAction,
    client: &Client,
    out: &Out,
) -> Result<(), Failure> {
    #[derive(Deserialize)]
    struct One {
        dataset: Dataset,
    }
    #[derive(Deserialize)]
    struct List {
        datasets: Vec<Dataset>,
    }
    let describe = |d: &Dataset| {
        let unit = d
            .meta
            .unit
            .as_ref()
            .map_or_else(String::new, |u| format!(" {u}"));
        format!("{} = {}{unit}", d.key, short(&d.value))
    };
    match action {
        DatasetsAction::Get { key } => {
            let v = client
                .call("GET", &format!("/api/datasets/{key}"), None)
                .await?;
            out.show(&v, |v| {
                human(v, |One { dataset: d }| {
                    format!(
                        "{}\n(set by {} at {}, version {}{})",
                        describe(&d),
                        d.set_by,
                        d.updated_at,
                        d.version,
                        if d.persist { ", persistent" } else { "" }
                    )
                })
            });
        }
        DatasetsAction::Set {
            key,
            value,
            persist,
            unit,
        } => {
            let value = serde_json::from_str(&value).unwrap_or(Value::String(value));
            let mut body = json!({"value": value});
            if persist {
                body["persist"] = json!(true);
            }
            if let Some(u) = unit {
                body["unit"] = json!(u);
            }
            let v = client
                .call("PUT", &format!("/api/datasets/{key}"), Some(&body))
                .await?;
            out.show(&v, |v| human(v, |r: One| describe(&r.dataset)));
        }
        DatasetsAction::List { prefix } => {
            let path = match prefix {
                Some(p) => format!("/api/datasets?prefix={p}"),
                None => "/api/datasets".into(),
            };
            let v = client.call("GET", &path, None).await?;
            out.show(&v, |v| {
                human(v, |l: List| {
                    let rows: Vec<Vec<String>> = l
                        .datasets
                        .iter()
                        .map(|d| {
                            vec![
                                d.key.clone(),
                                short(&d.value),
                                d.meta.unit.clone().unwrap_or_default(),
                                if d.persist { "yes".into() } else { "".into() },
                                d.set_by.clone(),
                            ]
                        })
                        .collect();
                    if rows.is_empty() {
                        "no datasets".into()
                    } else {
                        table(&["key", "value", "unit", "persist", "set by"], &rows)
                    }
                })
            });
        }
    }
    Ok(())
}

pub(super) async fn runs(action: RunsAction, client: &Client, out: &Out) -> Result<(), Failure> {
    match action {
        RunsAction::List { plan, limit } => {
            let mut path = format!("/api/runs?limit={limit}");
            if let Some(p) = plan {
                path.push_str(&format!("&plan={p}"));
            }
            let v = client.call("GET", &path, None).await?;
            #[derive(Deserialize)]
            struct Reply {
                runs: Vec<RunSummary>,
            }
            out.show(&v, |v| {
                human(v, |r: Reply| {
                    let rows: Vec<Vec<String>> = r
                        .runs
                        .iter()
                        .map(|r| {
                            vec![
                                time(&json!(r.time_start)),
                                r.scan_id.map_or_else(|| "null".into(), |n| n.to_string()),
                                r.plan_name.clone(),
                                r.exit_status.clone().unwrap_or_else(|| "open".into()),
                                r.events().to_string(),
                                r.uid.clone(),
                            ]
                        })
                        .collect();
                    if rows.is_empty() {
                        "no runs".into()
                    } else {
                        table(&["started", "scan", "plan", "exit", "events", "uid"], &rows)
                    }
                })
            });
        }
        RunsAction::Show { uid } => {
            let v = client
                .call("GET", &format!("/api/runs/{uid}"), None)
                .await?;
            #[derive(Deserialize)]
            struct Run {
                #[serde(flatten)]
                summary: RunSummary,
                #[serde(default)]
                streams: Vec<StreamInfo>,
            }
            #[derive(Deserialize)]
            struct Reply {
                run: Run,
            }
            out.show(&v, |v| {
                human(v, |r: Reply| {
                    let (r, streams) = (r.run.summary, r.run.streams);
                    let streams: Vec<String> = streams
                        .iter()
                        .map(|s| {
                            let events = r
                                .num_events
                                .get(&s.name)
                                .map_or_else(|| "null".into(), u64::to_string);
                            format!("{} ({} fields, {events} events)", s.name, s.data_keys.len())
                        })
                        .collect();
                    format!(
                        "run {}\nplan      {} (scan {})\nstarted   {}\nstopped   {}\nexit      {}\nstreams   {}",
                        r.uid,
                        r.plan_name,
                        r.scan_id.map_or_else(|| "null".into(), |n| n.to_string()),
                        time(&json!(r.time_start)),
                        time(&json!(r.time_stop)),
                        r.exit_status.as_deref().unwrap_or("open"),
                        streams.join(", ")
                    )
                })
            });
        }
        RunsAction::Export { uid, file } => {
            let (status, body) = client
                .raw("GET", &format!("/api/runs/{uid}/documents"), None)
                .await?;
            if status != 200 {
                return Err(Failure::Refused(
                    Refusal::of(&body).unwrap_or_else(|| "the run could not be exported".into()),
                ));
            }
            write_out(file.as_deref(), &body)?;
        }
    }
    Ok(())
}
