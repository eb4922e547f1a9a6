//! Per-group allowed plans and devices, as bluesky's user-group permissions file: regular
//! expressions that a whole name must match. Pure: parsing and checking, no IO.
//!
//! ```toml
//! [groups.primary]
//! allowed_plans = [".*"]
//! forbidden_plans = ["^_.*", "move_to_.*"]
//! allowed_devices = [".*"]
//! forbidden_devices = ["sample_stage_.*"]
//! ```
//!
//! A name is allowed when it matches one `allowed_*` pattern and no `forbidden_*` one. A group
//! without a section may queue nothing. Without a permissions file every group may use
//! everything. `allowed_functions`/`forbidden_functions` govern `function/execute` the same way.
//!
//! `permissions/get` shows the rules in bluesky-queueserver's form (`user_groups`, patterns
//! `":<regex>"`), and `permissions/set` takes that form: `":<regex>"` matches anywhere in the name
//! (bluesky's `re.search`; a device pattern's `:<sub-device pattern>` and `:depth=N` parts are
//! dropped), a plain string is the exact name, `null` nothing.

use std::collections::BTreeMap;

use regex_lite::Regex;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    groups: BTreeMap<String, RawRules>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    allowed_plans: Vec<String>,
    #[serde(default)]
    forbidden_plans: Vec<String>,
    #[serde(default)]
    allowed_devices: Vec<String>,
    #[serde(default)]
    forbidden_devices: Vec<String>,
    #[serde(default)]
    allowed_functions: Vec<String>,
    #[serde(default)]
    forbidden_functions: Vec<String>,
}

#[derive(Debug)]
struct Rules {
    allowed_plans: Vec<Regex>,
    forbidden_plans: Vec<Regex>,
    allowed_devices: Vec<Regex>,
    forbidden_devices: Vec<Regex>,
    allowed_functions: Vec<Regex>,
    forbidden_functions: Vec<Regex>,
}

const KEYS: [&str; 6] = [
    "allowed_plans",
    "forbidden_plans",
    "allowed_devices",
    "forbidden_devices",
    "allowed_functions",
    "forbidden_functions",
];

#[derive(Debug)]
pub struct Permissions {
    groups: BTreeMap<String, Rules>,
}

fn compile(group: &str, key: &str, patterns: &[String]) -> Result<Vec<Regex>, String> {
    patterns
        .iter()
        .map(|p| {
            // Whole names only, as bluesky matches them.
            Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                format!("groups.{group}.{key}: '{p}' is not a regular expression: {e}")
            })
        })
        .collect()
}

/// A bluesky pattern as one of ours (a regex the whole name must match).
fn from_bluesky_pattern(p: &str, device: bool) -> String {
    match p.strip_prefix(':') {
        Some(rest) => {
            // Devices: "<name re>:<sub-device re>[:depth=N]" — the name part decides here.
            // A leading `?` (bluesky: "and its sub-devices") does not change the name's match.
            // A `:` right after `?` belongs to a group `(?:…)`, not to bluesky's syntax.
            let re = if device {
                let b = rest.as_bytes();
                let cut = (0..b.len())
                    .find(|&i| b[i] == b':' && (i == 0 || b[i - 1] != b'?'))
                    .unwrap_or(b.len());
                let name = &rest[..cut];
                name.strip_prefix('?').unwrap_or(name)
            } else {
                rest
            };
            format!(".*(?:{re}).*")
        }
        None => regex_lite::escape(p),
    }
}

fn matches(list: &[Regex], name: &str) -> bool {
    list.iter().any(|r| r.is_match(name))
}

impl Permissions {
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| e.message().to_string())?;
        Self::from_raw(file.groups)
    }

    fn from_raw(raw_groups: BTreeMap<String, RawRules>) -> Result<Self, String> {
        let mut groups = BTreeMap::new();
        for (name, raw) in raw_groups {
            let rules = Rules {
                allowed_plans: compile(&name, "allowed_plans", &raw.allowed_plans)?,
                forbidden_plans: compile(&name, "forbidden_plans", &raw.forbidden_plans)?,
                allowed_devices: compile(&name, "allowed_devices", &raw.allowed_devices)?,
                forbidden_devices: compile(&name, "forbidden_devices", &raw.forbidden_devices)?,
                allowed_functions: compile(&name, "allowed_functions", &raw.allowed_functions)?,
                forbidden_functions: compile(
                    &name,
                    "forbidden_functions",
                    &raw.forbidden_functions,
                )?,
            };
            groups.insert(name, rules);
        }
        Ok(Permissions { groups })
    }

    /// Reads bluesky-queueserver's `user_group_permissions` (`{"user_groups": {group: {…}}}`).
    pub fn from_bluesky(v: &Value) -> Result<Self, String> {
        let groups = v
            .get("user_groups")
            .and_then(Value::as_object)
            .ok_or("user_group_permissions must be an object with 'user_groups': {group: rules}")?;
        let mut raw = BTreeMap::new();
        for (group, rules) in groups {
            let rules = rules
                .as_object()
                .ok_or_else(|| format!("user_groups.{group} must be an object"))?;
            if let Some(bad) = rules.keys().find(|k| !KEYS.contains(&k.as_str())) {
                return Err(format!(
                    "user_groups.{group}: unknown key '{bad}'; known: {}",
                    KEYS.join(", ")
                ));
            }
            let list = |key: &str| -> Result<Vec<String>, String> {
                let devices = key.ends_with("_devices");
                match rules.get(key) {
                    None | Some(Value::Null) => Ok(Vec::new()),
                    Some(Value::Array(items)) => items
                        .iter()
                        .filter(|i| !i.is_null())
                        .map(|i| {
                            i.as_str()
                                .map(|p| from_bluesky_pattern(p, devices))
                                .ok_or_else(|| {
                                    format!("user_groups.{group}.{key}: patterns must be strings or null")
                                })
                        })
                        .collect(),
                    Some(_) => Err(format!("user_groups.{group}.{key} must be a list")),
                }
            };
            raw.insert(
                group.clone(),
                RawRules {
                    allowed_plans: list("allowed_plans")?,
                    forbidden_plans: list("forbidden_plans")?,
                    allowed_devices: list("allowed_devices")?,
                    forbidden_devices: list("forbidden_devices")?,
                    allowed_functions: list("allowed_functions")?,
                    forbidden_functions: list("forbidden_functions")?,
                },
            );
        }
        Self::from_raw(raw)
    }

    /// The rules in bluesky-queueserver's form, for `permissions/get`.
    pub fn to_bluesky(&self) -> Value {
        let pats = |list: &[Regex]| -> Value {
            if list.is_empty() {
                return Value::Array(vec![Value::Null]);
            }
            Value::Array(
                list.iter()
                    .map(|r| Value::String(format!(":{}", r.as_str())))
                    .collect(),
            )
        };
        let groups: serde_json::Map<String, Value> = self
            .groups
            .iter()
            .map(|(g, r)| {
                (
                    g.clone(),
                    serde_json::json!({
                        "allowed_plans": pats(&r.allowed_plans),
                        "forbidden_plans": pats(&r.forbidden_plans),
                        "allowed_devices": pats(&r.allowed_devices),
                        "forbidden_devices": pats(&r.forbidden_devices),
                        "allowed_functions": pats(&r.allowed_functions),
                        "forbidden_functions": pats(&r.forbidden_functions),
                    }),
                )
            })
            .collect();
        serde_json::json!({ "user_groups": groups })
    }

    pub fn function_allowed(&self, group: &str, function: &str) -> bool {
        self.groups.get(group).is_some_and(|r| {
            matches(&r.allowed_functions, function) && !matches(&r.forbidden_functions, function)
        })
    }

    pub fn plan_allowed(&self, group: &str, plan: &str) -> bool {
        self.groups
            .get(group)
            .is_some_and(|r| matches(&r.allowed_plans, plan) && !matches(&r.forbidden_plans, plan))
    }

    pub fn device_allowed(&self, group: &str, device: &str) -> bool {
        self.groups.get(group).is_some_and(|r| {
            matches(&r.allowed_devices, device) && !matches(&r.forbidden_devices, device)
        })
    }

    /// Why `group` may not queue `plan` with these arguments, if it may not. `is_device` tells
    /// which strings in the arguments name devices.
    pub fn check(
        &self,
        group: &str,
        plan: &str,
        args: &[Value],
        kwargs: &serde_json::Map<String, Value>,
        is_device: &dyn Fn(&str) -> bool,
    ) -> Result<(), String> {
        if !self.groups.contains_key(group) {
            return Err(format!(
                "user group '{group}' has no entry in the permissions file, so it may not queue plans"
            ));
        }
        if !self.plan_allowed(group, plan) {
            return Err(format!(
                "plan '{plan}' is not allowed for user group '{group}'"
            ));
        }
        let mut devices = Vec::new();
        for v in args.iter().chain(kwargs.values()) {
            collect_strings(v, &mut devices);
        }
        match devices
            .into_iter()
            .find(|d| is_device(d) && !self.device_allowed(group, d))
        {
            Some(d) => Err(format!(
                "device '{d}' is not allowed for user group '{group}'"
            )),
            None => Ok(()),
        }
    }
}

fn collect_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str = r#"
[groups.primary]
allowed_plans = [".*"]
forbidden_plans = ["mv.*"]
allowed_devices = [".*"]
forbidden_devices = ["motor2"]

[groups.students]
allowed_plans = ["count"]
allowed_devices = ["det1"]
"#;

    fn is_device(s: &str) -> bool {
        ["det1", "det2", "motor1", "motor2"].contains(&s)
    }

    #[test]
    fn groups_get_what_their_patterns_allow() {
        let p = Permissions::parse(FILE).unwrap();
        let none = serde_json::Map::new();
        assert!(p
            .check(
                "primary",
                "scan",
                &[json!(["det1"]), json!("motor1")],
                &none,
                &is_device
            )
            .is_ok());
        let e = p
            .check("primary", "mv", &[], &none, &is_device)
            .unwrap_err();
        assert!(
            e.contains("plan 'mv' is not allowed for user group 'primary'"),
            "{e}"
        );
        let e = p
            .check(
                "primary",
                "scan",
                &[json!(["det1"]), json!("motor2")],
                &none,
                &is_device,
            )
            .unwrap_err();
        assert!(e.contains("device 'motor2'"), "{e}");
        assert!(p
            .check("students", "count", &[json!(["det1"])], &none, &is_device)
            .is_ok());
        let kw = json!({"detectors": ["det2"]}).as_object().unwrap().clone();
        assert!(
            p.check("students", "count", &[], &kw, &is_device).is_err(),
            "kwargs count too"
        );
        assert!(!p.plan_allowed("students", "counts"), "whole names only");
        let e = p
            .check("visitors", "count", &[], &none, &is_device)
            .unwrap_err();
        assert!(e.contains("no entry"), "{e}");
    }

    #[test]
    fn bluesky_rules_are_read_and_shown() {
        let v = json!({"user_groups": {
            "primary": {"allowed_plans": [":.*"], "forbidden_plans": [null],
                        "allowed_devices": [":?.*:depth=5"], "forbidden_devices": [null],
                        "allowed_functions": ["function_sleep", ":^func_for_test"]},
            "test_user": {"allowed_plans": [":^count", ":scan$"], "forbidden_plans": [":^adaptive_scan$"],
                          "allowed_devices": [":^det:?.*", ":^motor:?.*"], "forbidden_devices": [":^det[3-5]$:?.*"]}
        }});
        let p = Permissions::from_bluesky(&v).unwrap();
        assert!(p.plan_allowed("primary", "anything"));
        assert!(p.function_allowed("primary", "function_sleep"));
        assert!(p.function_allowed("primary", "func_for_test2"));
        assert!(!p.function_allowed("primary", "function_sleep2"));
        assert!(p.plan_allowed("test_user", "count"));
        assert!(p.plan_allowed("test_user", "rel_scan"));
        assert!(!p.plan_allowed("test_user", "adaptive_scan"));
        assert!(p.device_allowed("test_user", "det1"));
        assert!(!p.device_allowed("test_user", "det4"));
        let shown = p.to_bluesky();
        assert_eq!(
            shown["user_groups"]["primary"]["forbidden_plans"],
            json!([null])
        );
        let again = Permissions::from_bluesky(&shown).unwrap();
        assert!(
            again.plan_allowed("test_user", "count") && !again.device_allowed("test_user", "det4")
        );
        let e = Permissions::from_bluesky(&json!({"user_groups": {"a": {"allowed_plan": []}}}))
            .unwrap_err();
        assert!(e.contains("allowed_plan"), "{e}");
        assert!(Permissions::from_bluesky(&json!({})).is_err());
    }

    #[test]
    fn bad_files_are_named() {
        let e = Permissions::parse("[groups.a]\nallowed_plans = [\"(\"]\n").unwrap_err();
        assert!(e.contains("groups.a.allowed_plans"), "{e}");
        let e = Permissions::parse("[groups.a]\nallowd_plans = []\n").unwrap_err();
        assert!(e.contains("allowd_plans"), "{e}");
    }
}
