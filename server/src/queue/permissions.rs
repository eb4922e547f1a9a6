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
//! everything.

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
}

#[derive(Debug)]
struct Rules {
    allowed_plans: Vec<Regex>,
    forbidden_plans: Vec<Regex>,
    allowed_devices: Vec<Regex>,
    forbidden_devices: Vec<Regex>,
}

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

fn matches(list: &[Regex], name: &str) -> bool {
    list.iter().any(|r| r.is_match(name))
}

impl Permissions {
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let mut groups = BTreeMap::new();
        for (name, raw) in file.groups {
            let rules = Rules {
                allowed_plans: compile(&name, "allowed_plans", &raw.allowed_plans)?,
                forbidden_plans: compile(&name, "forbidden_plans", &raw.forbidden_plans)?,
                allowed_devices: compile(&name, "allowed_devices", &raw.allowed_devices)?,
                forbidden_devices: compile(&name, "forbidden_devices", &raw.forbidden_devices)?,
            };
            groups.insert(name, rules);
        }
        Ok(Permissions { groups })
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
    fn bad_files_are_named() {
        let e = Permissions::parse("[groups.a]\nallowed_plans = [\"(\"]\n").unwrap_err();
        assert!(e.contains("groups.a.allowed_plans"), "{e}");
        let e = Permissions::parse("[groups.a]\nallowd_plans = []\n").unwrap_err();
        assert!(e.contains("allowd_plans"), "{e}");
    }
}
