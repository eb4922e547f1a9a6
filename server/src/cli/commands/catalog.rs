//! `hutch allowed plans|devices`: what the environment offers, with parameters.

use super::*;

pub(super) async fn allowed(what: AllowedWhat, client: &Client, out: &Out) -> Result<(), Failure> {
    let (path, key) = match what {
        AllowedWhat::Plans => ("/api/plans/allowed", "plans_allowed"),
        AllowedWhat::Devices => ("/api/devices/allowed", "devices_allowed"),
    };
    let v = client.call("GET", path, Some(&json!({}))).await?;
    out.show(&v, |v| {
        let map = v[key].as_object().cloned().unwrap_or_default();
        let rows: Vec<Vec<String>> = map
            .iter()
            .map(|(name, d)| match what {
                AllowedWhat::Plans => {
                    let params: Vec<String> =
                        d["parameters"].as_array().map_or_else(Vec::new, |ps| {
                            ps.iter()
                                .map(|p| {
                                    let n = p["name"].as_str().unwrap_or("?");
                                    match p.get("default") {
                                        Some(def) => format!(
                                            "{n}={}",
                                            def.as_str().unwrap_or(&def.to_string())
                                        ),
                                        None => n.to_string(),
                                    }
                                })
                                .collect()
                        });
                    vec![
                        name.clone(),
                        params.join(", "),
                        d["description"]
                            .as_str()
                            .unwrap_or("")
                            .lines()
                            .next()
                            .unwrap_or("")
                            .to_string(),
                    ]
                }
                AllowedWhat::Devices => {
                    let caps: Vec<&str> = [
                        ("is_movable", "movable"),
                        ("is_readable", "readable"),
                        ("is_flyable", "flyable"),
                    ]
                    .iter()
                    .filter(|(k, _)| d[*k] == true)
                    .map(|(_, w)| *w)
                    .collect();
                    vec![
                        name.clone(),
                        d["classname"].as_str().unwrap_or("").to_string(),
                        caps.join(", "),
                    ]
                }
            })
            .collect();
        if rows.is_empty() {
            // A bluesky environment describes its plans and devices when it opens.
            return "none yet: the environment describes them when it opens (hutch environment open)".to_string();
        }
        match what {
            AllowedWhat::Plans => table(&["plan", "parameters", "description"], &rows),
            AllowedWhat::Devices => table(&["device", "class", "can be"], &rows),
        }
    });
    Ok(())
}
