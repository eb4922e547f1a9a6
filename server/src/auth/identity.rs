//! Who a request turned out to be: a known [`Identity`], the [`Authn`] outcome every request
//! carries, and the [`Recheck`] a long-lived connection makes while it stays open.

use axum::http::{HeaderMap, StatusCode};

use super::scopes::Role;
use super::{credentials, Auth, Credentials, Principal};

/// Someone known.
#[derive(Clone, Debug)]
pub struct Identity {
    pub user: String,
    pub user_group: String,
    pub role: Role,
    pub scopes: Vec<&'static str>,
    /// Set when the credential came in a cookie: writes must echo this token.
    pub csrf: Option<String>,
}

impl Identity {
    pub fn new(
        user: &str,
        group: &str,
        role: Role,
        scopes: Vec<&'static str>,
        csrf: Option<String>,
    ) -> Self {
        Identity {
            user: user.into(),
            user_group: group.into(),
            role,
            scopes,
            csrf,
        }
    }

    pub fn has(&self, scope: &str) -> bool {
        self.scopes.contains(&scope)
    }

    pub fn principal(&self) -> Principal {
        Principal {
            user: self.user.clone(),
            user_group: self.user_group.clone(),
        }
    }
}

/// The outcome of authentication, put into every request's extensions.
#[derive(Clone, Debug)]
pub enum Authn {
    Anonymous,
    Denied { status: StatusCode, msg: String },
    Ok(Identity),
}

/// What a long-lived connection presented, kept to ask again later: a socket outlives the check
/// made when it opened, and a key may be revoked or a user disabled meanwhile.
#[derive(Clone)]
pub struct Recheck {
    auth: Auth,
    creds: std::sync::Arc<Credentials>,
}

impl Recheck {
    pub fn new(auth: &Auth, headers: &HeaderMap, query: Option<&str>) -> Self {
        Recheck {
            auth: auth.clone(),
            creds: std::sync::Arc::new(credentials(headers, query)),
        }
    }

    /// `None` while the credentials still hold, else why they no longer do.
    pub async fn failed(&self) -> Option<String> {
        match self.auth.authenticate(&self.creds).await {
            Authn::Ok(_) => None,
            Authn::Denied { msg, .. } => Some(msg),
            Authn::Anonymous => Some("not signed in any more".into()),
        }
    }

    /// [`Self::failed`], and also when the credentials no longer carry `scope` (a key's scopes
    /// lowered, a user's role changed).
    pub async fn lost(&self, scope: &str) -> Option<String> {
        match self.auth.authenticate(&self.creds).await {
            Authn::Ok(id) if id.has(scope) => None,
            Authn::Ok(id) => Some(format!(
                "{} (role {}) no longer has the scope {scope} this connection needs",
                id.user,
                id.role.as_str()
            )),
            Authn::Denied { msg, .. } => Some(msg),
            Authn::Anonymous => Some("not signed in any more".into()),
        }
    }
}
