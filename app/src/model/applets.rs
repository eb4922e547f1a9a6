//! Applets — the dashboard's live panels — and the rules their specs follow.
//!
//! An applet lives in the master's database and is the same for every dashboard; whether a
//! dashboard shows it (and where, how big) is that dashboard's own business, kept in the browser.
//! The server validates every spec with [`validate`]; the dashboard's editor uses the same code.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod spec;
pub use spec::AppletSpec;

/// One applet as stored and sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Applet {
    pub uid: String,
    pub name: String,
    /// Free-form grouping ("alignment", "experiment", …); experiments create applets per group.
    pub group: String,
    pub kind: AppletKind,
    pub spec: Value,
    /// 1 for a new applet, one more with every change.
    pub version: i64,
    /// Who made this version: a user, `plan:<name>`, `publisher:<user>` or `file:<path>`.
    pub updated_by: String,
    /// RFC 3339.
    pub updated_at: String,
    /// Dashboards that have not decided yet show it (the group's `create_enable` policy).
    #[serde(default)]
    pub auto_enable: bool,
}

impl Applet {
    /// The spec, typed (stored specs were validated on the way in; an error here means one
    /// written by another version of hutch).
    pub fn parsed(&self) -> Result<AppletSpec, SpecError> {
        AppletSpec::parse(self.kind, &self.spec)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppletKind {
    Line,
    Scatter,
    Image,
    Histogram,
    Value,
    Table,
    Markdown,
}

impl AppletKind {
    pub const ALL: [AppletKind; 7] = [
        AppletKind::Line,
        AppletKind::Scatter,
        AppletKind::Image,
        AppletKind::Histogram,
        AppletKind::Value,
        AppletKind::Table,
        AppletKind::Markdown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AppletKind::Line => "line",
            AppletKind::Scatter => "scatter",
            AppletKind::Image => "image",
            AppletKind::Histogram => "histogram",
            AppletKind::Value => "value",
            AppletKind::Table => "table",
            AppletKind::Markdown => "markdown",
        }
    }
}

/// What a group does when an experiment (a plan or a publisher) creates or updates an applet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupPolicy {
    /// Experiments may not create applets in this group (updates of their own are still refused).
    Ignore,
    /// Create or update; dashboards decide themselves whether to show it.
    #[default]
    Create,
    /// Create or update, and dashboards that have not decided show it.
    CreateEnable,
}

/// One change of the applets, as the `applets` topic's `update` data. The topic's snapshot is
/// `{applets, groups}`; a dashboard that keeps the list applies these in `seq` order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AppletDelta {
    /// The server (re)started: take the snapshot.
    Reset,
    /// A group's policy was set.
    Group {
        group: String,
        policy: GroupPolicy,
    },
    /// An applet was created or got a new version.
    Upsert {
        applet: Box<Applet>,
    },
    Delete {
        uid: String,
    },
    /// A mirror import: every applet at once.
    Replace {
        applets: Vec<Applet>,
    },
}

impl AppletDelta {
    /// Applies the change to a dashboard's list (group policies are not part of it).
    pub fn apply(self, list: &mut Vec<Applet>) {
        match self {
            AppletDelta::Upsert { applet } => match list.iter_mut().find(|o| o.uid == applet.uid) {
                Some(o) => *o = *applet,
                None => list.push(*applet),
            },
            AppletDelta::Delete { uid } => list.retain(|a| a.uid != uid),
            AppletDelta::Replace { applets } => *list = applets,
            AppletDelta::Reset | AppletDelta::Group { .. } => {}
        }
    }
}

/// A spec problem: the field (a dotted path inside the spec) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    pub field: String,
    pub msg: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.field.as_str() {
            "" => write!(f, "spec: {}", self.msg),
            field => write!(f, "spec.{field}: {}", self.msg),
        }
    }
}

/// Checks an applet's name and group (shown in lists and used in the mirror file).
pub fn validate_name(what: &str, name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(format!("'{what}' must be 1 to 200 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("'{what}' must not contain control characters"));
    }
    Ok(())
}

/// Validates a spec for its kind (the rules: [`AppletSpec::parse`]).
pub fn validate(kind: AppletKind, spec: &Value) -> Result<(), SpecError> {
    AppletSpec::parse(kind, spec).map(drop)
}

#[cfg(test)]
mod tests;
