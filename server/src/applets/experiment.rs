//! Applets an experiment asks for (a plan or a publisher): created or updated under the group's
//! policy, and never over a person's edit.

use hutch_app::model::applets::{Applet, AppletDelta, AppletKind, GroupPolicy};
use serde::Serialize;
use serde_json::Value;

use super::{applet, AppletError, Applets, Content, Row, COLUMNS};

/// What an experiment's create-or-update did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum ExperimentOutcome {
    Created {
        applet: Box<Applet>,
    },
    Updated {
        applet: Box<Applet>,
    },
    Unchanged {
        applet: Box<Applet>,
    },
    /// The group's policy is `ignore`.
    Ignored {
        msg: String,
    },
    /// A person edited it since the experiment last did; their edit stays.
    Kept {
        msg: String,
        applet: Box<Applet>,
    },
}

/// Whether a version was made by an experiment (a plan or a publisher) rather than a person.
fn by_experiment(who: &str) -> bool {
    who.starts_with("plan:") || who.starts_with("publisher:")
}

impl Applets {
    /// Creates or updates the applet `name` of `group` for an experiment (`by` is `plan:<name>`
    /// or `publisher:<user>`), following the group's policy and never overwriting a person's edit.
    pub async fn from_experiment(
        &self,
        group: &str,
        name: &str,
        kind: AppletKind,
        spec: Value,
        by: &str,
    ) -> Result<ExperimentOutcome, AppletError> {
        let policy = self.groups().await?.get(group).copied().unwrap_or_default();
        let content = Content {
            name: name.to_string(),
            group: group.to_string(),
            kind,
            spec,
            auto_enable: policy == GroupPolicy::CreateEnable,
        };
        content.validate()?;
        if policy == GroupPolicy::Ignore {
            return Ok(ExperimentOutcome::Ignored {
                msg: format!(
                    "group '{group}' ignores applets from experiments (its policy is 'ignore')"
                ),
            });
        }
        let _guard = self.lock.lock().await;
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM applets WHERE grp = ? AND name = ?"
        ))
        .bind(group)
        .bind(name)
        .fetch_optional(&self.db)
        .await?;
        let outcome = match row.map(applet) {
            None => {
                let a = self
                    .insert(content, uuid::Uuid::new_v4().to_string(), 1, by)
                    .await?;
                ExperimentOutcome::Created {
                    applet: Box::new(a),
                }
            }
            Some(current) if !by_experiment(&current.updated_by) => ExperimentOutcome::Kept {
                msg: format!(
                    "applet '{name}' of group '{group}' was last edited by {}; their edit is kept",
                    current.updated_by
                ),
                applet: Box::new(current),
            },
            Some(current) if Content::of(&current) == content => ExperimentOutcome::Unchanged {
                applet: Box::new(current),
            },
            Some(current) => ExperimentOutcome::Updated {
                applet: Box::new(self.save(&current, content, by).await?),
            },
        };
        if let ExperimentOutcome::Created { applet } | ExperimentOutcome::Updated { applet } =
            &outcome
        {
            self.publish(AppletDelta::Upsert {
                applet: applet.clone(),
            })
            .await?;
        }
        Ok(outcome)
    }
}
