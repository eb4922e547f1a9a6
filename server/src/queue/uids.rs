//! The `*_uid` change markers of the bluesky status: a client re-reads a list when its marker
//! changed. Renewed from the change log, so a change and its marker can never disagree.

use super::state::Change;

/// The markers, one per list.
#[derive(Clone, Debug)]
pub struct Uids {
    pub plan_queue: String,
    pub plan_history: String,
    pub run_list: String,
    pub lock_info: String,
    pub plans_allowed: String,
    pub devices_allowed: String,
    pub task_results: String,
}

pub(super) fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Uids {
    pub fn new() -> Self {
        Uids {
            plan_queue: uuid(),
            plan_history: uuid(),
            run_list: uuid(),
            lock_info: uuid(),
            plans_allowed: uuid(),
            devices_allowed: uuid(),
            task_results: uuid(),
        }
    }

    /// Renews the marker of every list `changes` touch.
    pub fn renew(&mut self, changes: &[Change]) {
        for c in changes {
            match c {
                Change::QueueInsert { .. }
                | Change::QueueRemove { .. }
                | Change::QueueMove { .. }
                | Change::QueueReplace { .. }
                | Change::QueueClear
                | Change::Started(_) => self.plan_queue = uuid(),
                Change::Finished(_) => {
                    self.plan_queue = uuid();
                    self.plan_history = uuid();
                }
                Change::HistoryTrim { .. } => self.plan_history = uuid(),
                Change::Runs => self.run_list = uuid(),
                Change::Settings => self.lock_info = uuid(),
                Change::Tasks => self.task_results = uuid(),
                Change::Catalog => {
                    self.plans_allowed = uuid();
                    self.devices_allowed = uuid();
                }
                Change::Status | Change::Dispatch(_) | Change::NextScanId(_) => {}
            }
        }
    }
}

impl Default for Uids {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_renews_only_its_own_lists_markers() {
        let mut u = Uids::new();
        let before = u.clone();
        u.renew(&[Change::HistoryTrim { count: 1 }, Change::Status]);
        assert_ne!(u.plan_history, before.plan_history);
        assert_eq!(u.plan_queue, before.plan_queue);
        assert_eq!(u.run_list, before.run_list);
        u.renew(&[Change::Catalog]);
        assert_ne!(u.plans_allowed, before.plans_allowed);
        assert_ne!(u.devices_allowed, before.devices_allowed);
        assert_eq!(u.lock_info, before.lock_info);
    }
}
