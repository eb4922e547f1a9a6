//! `hutch apikey …`: making, revoking and listing API keys (kiosk tokens too) on the database,
//! for the single user or for an account of multi-user mode.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use super::{open, record, store_err};
use crate::auth::scopes::{self, Role};
use crate::auth::{Mode, SINGLE_USER};
use crate::config::{Config, ServeArgs};

#[derive(Debug, Clone, Args)]
pub struct ApikeyArgs {
    #[command(subcommand)]
    pub action: ApikeyAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ApikeyAction {
    /// Make a key and print it (once: hutch keeps only its digest).
    Create {
        /// Whose key (multi-user mode); the single user in single-user mode.
        #[arg(long)]
        user: Option<String>,
        /// Comma-separated scopes, a subset of the owner's (`hutch apikey create --scopes
        /// read:status,publish:documents`); all of the owner's when absent.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Days until the key stops working; never when absent.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<f64>,
        /// What the key is for (shown in lists).
        #[arg(long, default_value = "")]
        note: String,
        /// A read-only token for a wall screen: open /kiosk?dashboard=NAME&api_key=KEY.
        #[arg(long)]
        kiosk: bool,
        /// Which database (the same settings as `hutch serve`).
        #[command(flatten)]
        at: ServeArgs,
    },
    /// Revoke the key(s) starting with these eight characters.
    Revoke {
        first_eight: String,
        /// Which database (the same settings as `hutch serve`).
        #[command(flatten)]
        at: ServeArgs,
    },
    /// List keys (never the keys themselves).
    List {
        /// Only this owner's.
        #[arg(long)]
        user: Option<String>,
        /// Which database (the same settings as `hutch serve`).
        #[command(flatten)]
        at: ServeArgs,
    },
}

impl ApikeyAction {
    /// The settings that say which database.
    pub fn settings(&self) -> &ServeArgs {
        match self {
            ApikeyAction::Create { at, .. }
            | ApikeyAction::Revoke { at, .. }
            | ApikeyAction::List { at, .. } => at,
        }
    }
}

pub async fn apikey(action: ApikeyAction, config: &Config) -> anyhow::Result<()> {
    let (store, pool) = open(config).await?;
    match action {
        ApikeyAction::Create {
            user,
            scopes: wanted,
            expires_in_days,
            note,
            kiosk,
            ..
        } => {
            let (owner, owner_scopes) = match (&user, config.auth) {
                (Some(name), _) => {
                    let u = store
                        .user(name)
                        .await
                        .map_err(store_err)
                        .context("the owner must be a user (hutch user add)")?;
                    (u.name, u.role.scopes())
                }
                (None, Mode::Single) => (SINGLE_USER.to_string(), Role::SingleUser.scopes()),
                (None, Mode::Multi) if kiosk => ("cli".to_string(), Role::Admin.scopes()),
                (None, Mode::Multi) => {
                    bail!("say whose key it is: --user NAME (or --kiosk for a wall screen)")
                }
            };
            let limit: Vec<&'static str> = if kiosk {
                scopes::KIOSK
                    .iter()
                    .copied()
                    .filter(|s| owner_scopes.contains(s))
                    .collect()
            } else {
                owner_scopes
            };
            let granted = scopes::key_scopes(&wanted, &limit).map_err(anyhow::Error::msg)?;
            let expires = match expires_in_days {
                Some(d) if d > 0.0 => Some(chrono::Duration::seconds((d * 86_400.0) as i64)),
                Some(_) => bail!("--expires-in-days must be more than 0"),
                None => None,
            };
            let kind = if kiosk { "kiosk" } else { "user" };
            let (key, info) = store
                .create_key(&owner, kind, &granted, &note, expires)
                .await
                .map_err(store_err)?;
            record(
                &pool,
                "cli apikey create",
                format!(
                    "{} kind={kind} owner={owner} scopes={}",
                    info.first_eight,
                    granted.join(",")
                ),
            )
            .await;
            println!("{key}");
            eprintln!(
                "{} key {} for {owner}: {}; {}. It is shown only now.",
                kind,
                info.first_eight,
                granted.join(", "),
                info.expires_at
                    .map_or("never expires".into(), |e| format!("expires {e}"))
            );
            if kiosk {
                eprintln!("open http://HOST:PORT/kiosk?dashboard=NAME&api_key={key} on the screen");
            }
        }
        ApikeyAction::Revoke { first_eight, .. } => {
            let n = store.revoke(&first_eight, None).await.map_err(store_err)?;
            record(&pool, "cli apikey revoke", first_eight.clone()).await;
            println!("revoked {n} key(s) starting with {first_eight}");
        }
        ApikeyAction::List { user, .. } => {
            for k in store.keys(user.as_deref()).await.map_err(store_err)? {
                let state = if k.revoked_at.is_some() {
                    "revoked".to_string()
                } else {
                    k.expires_at
                        .clone()
                        .map_or("active".into(), |e| format!("until {e}"))
                };
                println!(
                    "{}  {:<5} {:<20} {:<24} {}  {}",
                    k.first_eight,
                    k.kind,
                    k.owner,
                    state,
                    k.scopes.join(","),
                    k.note
                );
            }
        }
    }
    pool.close().await;
    Ok(())
}
