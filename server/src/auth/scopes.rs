//! Scopes, roles and what each route needs: pure data, no IO.
//!
//! Scope names are bluesky-httpserver's where a route exists there (`read:queue`,
//! `write:queue:edit`, …) and hutch's own for its own routes (`read:runs`, `publish:documents`,
//! `write:applets`, `admin`, …). A role is a fixed set of scopes; an API key carries a subset of
//! its owner's scopes.

use hutch_app::model::stream::Topic;

pub const READ_STATUS: &str = "read:status";
pub const READ_QUEUE: &str = "read:queue";
pub const READ_HISTORY: &str = "read:history";
pub const READ_MONITOR: &str = "read:monitor";
pub const READ_CONSOLE: &str = "read:console";
pub const READ_RESOURCES: &str = "read:resources";
pub const READ_CONFIG: &str = "read:config";
pub const READ_LOCK: &str = "read:lock";
pub const READ_RUNS: &str = "read:runs";
pub const READ_DATASETS: &str = "read:datasets";
pub const READ_APPLETS: &str = "read:applets";
pub const WRITE_QUEUE_EDIT: &str = "write:queue:edit";
pub const WRITE_QUEUE_CONTROL: &str = "write:queue:control";
pub const WRITE_PLAN_CONTROL: &str = "write:plan:control";
pub const WRITE_MANAGER_CONTROL: &str = "write:manager:control";
pub const WRITE_HISTORY_EDIT: &str = "write:history:edit";
pub const WRITE_EXECUTE: &str = "write:execute";
pub const WRITE_LOCK: &str = "write:lock";
pub const WRITE_DATASETS: &str = "write:datasets";
pub const WRITE_APPLETS: &str = "write:applets";
pub const WRITE_SCRIPTS: &str = "write:scripts";
pub const WRITE_PERMISSIONS: &str = "write:permissions";
pub const WRITE_CONFIG: &str = "write:config";
pub const WRITE_MANAGER_STOP: &str = "write:manager:stop";
pub const PUBLISH_DOCUMENTS: &str = "publish:documents";
pub const USER_APIKEYS: &str = "user:apikeys";
pub const ADMIN: &str = "admin";

/// Every scope, in the order `/api/auth/scopes` lists them.
pub const ALL: &[&str] = &[
    READ_STATUS,
    READ_QUEUE,
    READ_HISTORY,
    READ_MONITOR,
    READ_CONSOLE,
    READ_RESOURCES,
    READ_CONFIG,
    READ_LOCK,
    READ_RUNS,
    READ_DATASETS,
    READ_APPLETS,
    WRITE_QUEUE_EDIT,
    WRITE_QUEUE_CONTROL,
    WRITE_PLAN_CONTROL,
    WRITE_MANAGER_CONTROL,
    WRITE_HISTORY_EDIT,
    WRITE_EXECUTE,
    WRITE_LOCK,
    WRITE_DATASETS,
    WRITE_APPLETS,
    WRITE_SCRIPTS,
    WRITE_PERMISSIONS,
    WRITE_CONFIG,
    WRITE_MANAGER_STOP,
    PUBLISH_DOCUMENTS,
    USER_APIKEYS,
    ADMIN,
];

/// Scopes only staff hold among the accounts of multi-user mode: running arbitrary Python in
/// the environment, changing who may do what, and stopping hutch.
pub const STAFF_ONLY: &[&str] = &[
    ADMIN,
    WRITE_SCRIPTS,
    WRITE_PERMISSIONS,
    WRITE_CONFIG,
    WRITE_MANAGER_STOP,
];

/// What a kiosk screen may see: everything a dashboard shows, nothing it could change.
pub const KIOSK: &[&str] = &[
    READ_STATUS,
    READ_QUEUE,
    READ_HISTORY,
    READ_MONITOR,
    READ_RESOURCES,
    READ_RUNS,
    READ_DATASETS,
    READ_APPLETS,
];

/// Who someone is to hutch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Staff: everything, including users, the audit log and breaking a lock.
    Admin,
    /// Runs the experiment: queue, plans, environment, lock, datasets, applets, publishing.
    Operator,
    /// Watches: every read scope, and their own read-only API keys.
    Observer,
    /// A wall screen's token: [`KIOSK`].
    Kiosk,
    /// The one user of single-user mode: every scope.
    SingleUser,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Observer => "observer",
            Role::Kiosk => "kiosk",
            Role::SingleUser => "unauthenticated_single_user",
        }
    }

    /// The roles a user account can have (`hutch user add --role`).
    pub fn parse_user_role(s: &str) -> Result<Role, String> {
        match s {
            "admin" | "staff" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "observer" => Ok(Role::Observer),
            other => Err(format!(
                "unknown role '{other}': use admin (also called staff), operator or observer"
            )),
        }
    }

    pub fn scopes(self) -> Vec<&'static str> {
        match self {
            Role::Admin | Role::SingleUser => ALL.to_vec(),
            Role::Operator => ALL
                .iter()
                .copied()
                .filter(|s| !STAFF_ONLY.contains(s))
                .collect(),
            Role::Observer => ALL
                .iter()
                .copied()
                .filter(|s| s.starts_with("read:") || *s == USER_APIKEYS)
                .collect(),
            Role::Kiosk => KIOSK.to_vec(),
        }
    }
}

/// Checks requested key scopes against what the owner has; `inherit` (bluesky's word) means all.
pub fn key_scopes(
    requested: &[String],
    owner: &[&'static str],
) -> Result<Vec<&'static str>, String> {
    if requested.is_empty() || requested.iter().any(|s| s == "inherit") {
        return Ok(owner.to_vec());
    }
    let mut out = Vec::new();
    for s in requested {
        let Some(known) = ALL.iter().find(|k| **k == s.as_str()) else {
            return Err(format!(
                "unknown scope '{s}'; GET /api/auth/scopes lists them"
            ));
        };
        if !owner.contains(known) {
            return Err(format!(
                "a key cannot have scope '{s}': its owner does not have it"
            ));
        }
        if !out.contains(known) {
            out.push(*known);
        }
    }
    Ok(out)
}

/// What a route asks of the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Anyone, signed in or not (login, the scope list).
    Public,
    /// Anyone signed in, whatever their scopes (whoami, logout).
    SignedIn,
    /// This scope.
    Scope(&'static str),
    /// `/api/stream`: signed in to connect; each topic's scope is checked on subscribe, and an
    /// unauthenticated socket is told why before it is closed.
    Stream,
}

impl Need {
    pub fn describe(self) -> String {
        match self {
            Need::Public => "none".into(),
            Need::SignedIn => "signed in".into(),
            Need::Scope(s) => s.into(),
            Need::Stream => "signed in; each topic's read scope on subscribe".into(),
        }
    }
}

/// The scope a stream topic needs.
pub fn topic_scope(topic: &Topic) -> &'static str {
    match topic {
        Topic::Status => READ_STATUS,
        Topic::Queue => READ_QUEUE,
        Topic::History => READ_HISTORY,
        Topic::Console => READ_CONSOLE,
        Topic::Runs | Topic::Run(_) => READ_RUNS,
        Topic::Datasets => READ_DATASETS,
        Topic::Applets => READ_APPLETS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_nest() {
        let admin = Role::Admin.scopes();
        let op = Role::Operator.scopes();
        let obs = Role::Observer.scopes();
        assert!(op.iter().all(|s| admin.contains(s)));
        assert!(obs.iter().all(|s| op.contains(s)));
        assert!(!op.contains(&ADMIN));
        assert!(obs
            .iter()
            .all(|s| s.starts_with("read:") || *s == USER_APIKEYS));
        assert!(Role::Kiosk.scopes().iter().all(|s| s.starts_with("read:")));
        assert!(!Role::Kiosk.scopes().contains(&READ_CONSOLE));
    }

    #[test]
    fn key_scopes_stay_within_the_owner() {
        let obs = Role::Observer.scopes();
        assert_eq!(key_scopes(&["inherit".into()], &obs).unwrap(), obs);
        assert_eq!(
            key_scopes(&["read:queue".into(), "read:queue".into()], &obs).unwrap(),
            vec![READ_QUEUE]
        );
        let e = key_scopes(&["write:queue:edit".into()], &obs).unwrap_err();
        assert!(e.contains("owner does not have it"), "{e}");
        let e = key_scopes(&["write:everything".into()], &obs).unwrap_err();
        assert!(e.contains("unknown scope 'write:everything'"), "{e}");
    }

    #[test]
    fn every_topic_needs_a_read_scope() {
        for t in [
            Topic::Status,
            Topic::Queue,
            Topic::History,
            Topic::Console,
            Topic::Runs,
            Topic::Run("x".into()),
            Topic::Datasets,
            Topic::Applets,
        ] {
            assert!(topic_scope(&t).starts_with("read:"));
        }
    }
}
