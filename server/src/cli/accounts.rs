//! `hutch user …` and `hutch apikey …`: accounts and keys, written to the database directly (as
//! `hutch db` does), so they work before the first start and while hutch runs. Every change is
//! written to the audit log as done by `cli` on this machine.

mod keys;

use std::io::{BufRead, IsTerminal, Write};

use anyhow::bail;
use clap::{Args, Subcommand};

pub use keys::{apikey, ApikeyAction, ApikeyArgs};

use crate::auth::scopes::Role;
use crate::auth::store::{Store, StoreError};
use crate::auth::{audit, Mode};
use crate::config::{Config, ServeArgs};

#[derive(Debug, Clone, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub action: UserAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum UserAction {
    /// Add a user; asks for the password (or reads one line from standard input).
    Add {
        name: String,
        /// admin (staff), operator or observer.
        #[arg(long, default_value = "operator")]
        role: String,
        /// The user group stamped into their queue items (bluesky's user_group).
        #[arg(long, default_value = "primary")]
        group: String,
        /// Which database (the same settings as `hutch serve`).
        #[command(flatten)]
        at: ServeArgs,
    },
    /// Set a user's password; their browser sessions end.
    Passwd {
        name: String,
        /// Which database (the same settings as `hutch serve`).
        #[command(flatten)]
        at: ServeArgs,
    },
    /// Change a user's role or group, or disable/enable them.
    Set {
        name: String,
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        group: Option<String>,
        /// Refuse their sign-ins and keys (sessions end).
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
        /// Which database (the same settings as `hutch serve`).
        #[command(flatten)]
        at: ServeArgs,
    },
    /// List the users.
    List {
        /// Which database (the same settings as `hutch serve`).
        #[command(flatten)]
        at: ServeArgs,
    },
}

impl UserAction {
    /// The settings that say which database.
    pub fn settings(&self) -> &ServeArgs {
        match self {
            UserAction::Add { at, .. }
            | UserAction::Passwd { at, .. }
            | UserAction::Set { at, .. }
            | UserAction::List { at } => at,
        }
    }
}

async fn open(config: &Config) -> anyhow::Result<(Store, sqlx::SqlitePool)> {
    let (pool, _) = crate::db::open(&config.database).await?;
    Ok((Store::new(pool.clone()), pool))
}

async fn record(pool: &sqlx::SqlitePool, action: &str, detail: String) {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let entry = audit::Entry {
        at: crate::clock::Timestamp::now().record(),
        user: format!("cli:{who}"),
        role: "admin".into(),
        action: action.into(),
        status: 0,
        source: "cli".into(),
        detail,
    };
    if let Err(e) = audit::write(pool, &[entry]).await {
        eprintln!(
            "hutch: warning: the change was made but could not be written to the audit log: {e}"
        );
    }
}

fn store_err(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Db(e) => anyhow::anyhow!("the database failed: {e}"),
        other => anyhow::anyhow!("{other}"),
    }
}

/// A password from the terminal (asked twice, not echoed) or one line of standard input.
fn read_password(name: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_string());
    }
    let echo = |on: bool| {
        let _ = std::process::Command::new("stty")
            .arg(if on { "echo" } else { "-echo" })
            .stdin(std::process::Stdio::inherit())
            .status();
    };
    let ask = |prompt: &str| -> anyhow::Result<String> {
        eprint!("{prompt}");
        std::io::stderr().flush()?;
        echo(false);
        let mut line = String::new();
        let read = stdin.lock().read_line(&mut line);
        echo(true);
        eprintln!();
        read?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    };
    let first = ask(&format!("New password for {name}: "))?;
    let again = ask("Again: ")?;
    if first != again {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

pub async fn user(action: UserAction, config: &Config) -> anyhow::Result<()> {
    let (store, pool) = open(config).await?;
    if config.auth != Mode::Multi && !matches!(action, UserAction::List { .. }) {
        eprintln!(
            "hutch: note: these settings say single-user mode; accounts take effect when hutch runs with --auth multi (HUTCH_AUTH=multi)"
        );
    }
    match action {
        UserAction::Add {
            name, role, group, ..
        } => {
            let role = Role::parse_user_role(&role).map_err(anyhow::Error::msg)?;
            crate::auth::store::check_name(&name, "the user name").map_err(store_err)?;
            let password = read_password(&name)?;
            let u = store
                .add_user(&name, role, &group, &password)
                .await
                .map_err(store_err)?;
            record(
                &pool,
                "cli user add",
                format!("{} role={} group={}", u.name, u.role.as_str(), u.user_group),
            )
            .await;
            println!(
                "added {} ({}, group {})",
                u.name,
                u.role.as_str(),
                u.user_group
            );
        }
        UserAction::Passwd { name, .. } => {
            store.user(&name).await.map_err(store_err)?;
            let password = read_password(&name)?;
            store
                .update_user(&name, None, None, Some(&password), None)
                .await
                .map_err(store_err)?;
            record(&pool, "cli user passwd", name.clone()).await;
            println!("password of {name} changed; their sessions ended");
        }
        UserAction::Set {
            name,
            role,
            group,
            disable,
            enable,
            ..
        } => {
            let role = role
                .map(|r| Role::parse_user_role(&r))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let disabled = if disable {
                Some(true)
            } else if enable {
                Some(false)
            } else {
                None
            };
            let u = store
                .update_user(&name, role, group.as_deref(), None, disabled)
                .await
                .map_err(store_err)?;
            record(
                &pool,
                "cli user set",
                format!(
                    "{} role={} group={} disabled={}",
                    u.name,
                    u.role.as_str(),
                    u.user_group,
                    u.disabled
                ),
            )
            .await;
            println!(
                "{}: {}, group {}{}",
                u.name,
                u.role.as_str(),
                u.user_group,
                if u.disabled { ", disabled" } else { "" }
            );
        }
        UserAction::List { .. } => {
            let users = store.users().await.map_err(store_err)?;
            if users.is_empty() {
                println!("no users (add one with `hutch user add NAME --role admin`)");
            }
            for u in users {
                println!(
                    "{:<20} {:<9} {:<12} {}{}",
                    u.name,
                    u.role.as_str(),
                    u.user_group,
                    u.created_at,
                    if u.disabled { "  disabled" } else { "" }
                );
            }
        }
    }
    pool.close().await;
    Ok(())
}
