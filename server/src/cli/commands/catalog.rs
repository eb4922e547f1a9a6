//! `hutch allowed plans|devices`: what the environment offers, with parameters. Plans are read
//! by the model's `plan_form::plans`, as the dashboard's forms read them.

use std::collections::BTreeMap;

use hutch_app::model::plan_form;

use super::*;

/// A device of `devices/allowed`, as far as the table shows it.
#[derive(Deserialize)]
struct Device {
    #[serde(default)]
    classname: String,
    #[serde(default)]
    is_movable: bool,
    #[serde(default)]
    is_readable: bool,
    #[serde(default)]
    is_flyable: bool,
}

#[derive(Deserialize)]
struct Devices {
    #[serde(default)]
    devices_allowed: BTreeMap<String, Device>,
}

fn plan_rows(v: &Value) -> Vec<Vec<String>> {
    let allowed = v.get("plans_allowed").cloned().unwrap_or(Value::Null);
    plan_form::plans(&allowed)
        .into_iter()
        .map(|p| {
            let params: Vec<String> = p
                .params
                .iter()
                .map(|q| match &q.default {
                    Some(def) => format!("{}={def}", q.name),
                    None => q.name.clone(),
                })
                .collect();
            let first_line = p.description.lines().next().unwrap_or("").to_string();
            vec![p.name, params.join(", "), first_line]
        })
        .collect()
}

fn device_rows(d: Devices) -> Vec<Vec<String>> {
    d.devices_allowed
        .into_iter()
        .map(|(name, d)| {
            let caps: Vec<&str> = [
                (d.is_movable, "movable"),
                (d.is_readable, "readable"),
                (d.is_flyable, "flyable"),
            ]
            .iter()
            .filter(|(yes, _)| *yes)
            .map(|(_, w)| *w)
            .collect();
            vec![name, d.classname, caps.join(", ")]
        })
        .collect()
}

pub(super) async fn allowed(what: AllowedWhat, client: &Client, out: &Out) -> Result<(), Failure> {
    let path = match what {
        AllowedWhat::Plans => "/api/plans/allowed",
        AllowedWhat::Devices => "/api/devices/allowed",
    };
    let v = client.call("GET", path, Some(&json!({}))).await?;
    out.show(&v, |v| {
        let (headers, rows) = match what {
            AllowedWhat::Plans => (["plan", "parameters", "description"], plan_rows(v)),
            AllowedWhat::Devices => match Devices::deserialize(v) {
                Ok(d) => (["device", "class", "can be"], device_rows(d)),
                Err(e) => {
                    return format!("(hutch answered in an unexpected shape: {e}; --json prints it)")
                }
            },
        };
        if rows.is_empty() {
            // A bluesky environment describes its plans and devices when it opens.
            return "none yet: the environment describes them when it opens (hutch environment open)".to_string();
        }
        table(&headers, &rows)
    });
    Ok(())
}
