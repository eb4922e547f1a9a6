//! Queue and history editing: add (single, batch), get, update, remove, move, clear.
//! Messages follow bluesky-queueserver's, without the route prefix (the HTTP layer adds it).

use std::collections::HashSet;

use hutch_app::model::queue::QueueItem;

use super::position::{existing_index, insertion_index, move_destination, Placement, Pos};
use super::state::{Change, Ctx, QueueState};

pub use submit::{parse_item, prepare_item};

mod submit;

/// Identifies one queued item: by uid or by position.
#[derive(Clone, Debug, PartialEq)]
pub enum Which {
    Uid(String),
    At(Pos),
}

impl Which {
    pub fn from_parts(uid: Option<String>, pos: Option<Pos>) -> Result<Which, String> {
        match (uid, pos) {
            (Some(_), Some(_)) => {
                Err("Ambiguous parameters: plan position and UID is specified".into())
            }
            (Some(uid), None) => Ok(Which::Uid(uid)),
            (None, Some(pos)) => Ok(Which::At(pos)),
            (None, None) => Ok(Which::At(Pos::Back)),
        }
    }
}

fn pos_text(pos: &Pos) -> String {
    match pos {
        Pos::Front => "front".into(),
        Pos::Back => "back".into(),
        Pos::Index(i) => i.to_string(),
    }
}

impl QueueState {
    fn index_of(&self, uid: &str) -> Option<usize> {
        self.items.iter().position(|i| i.item_uid == uid)
    }

    fn insertion(&self, placement: &Placement) -> Result<usize, String> {
        if let (Placement::Before(uid) | Placement::After(uid), Some(running)) =
            (placement, &self.running)
        {
            if &running.item_uid == uid {
                return match placement {
                    Placement::Before(_) => Err(
                        "Can not insert a plan in the queue before a currently running plan."
                            .into(),
                    ),
                    _ => Ok(0),
                };
            }
        }
        insertion_index(&self.items, placement)
            .map(|i| i.min(self.items.len()))
            .map_err(|e| format!("{e}."))
    }

    fn insert(&mut self, index: usize, item: QueueItem) {
        self.items.insert(index, item.clone());
        self.changes.push(Change::QueueInsert { index, item });
    }

    /// Adds a prepared item; returns the queue size after the insert.
    pub fn add(
        &mut self,
        item: QueueItem,
        placement: &Placement,
        ctx: &mut Ctx,
    ) -> Result<usize, String> {
        let index = self.insertion(placement)?;
        self.insert(index, item);
        self.kick_autostart(ctx);
        Ok(self.items.len())
    }

    /// Adds prepared items as one contiguous block, all or none.
    pub fn add_batch(
        &mut self,
        items: Vec<QueueItem>,
        placement: &Placement,
        ctx: &mut Ctx,
    ) -> Result<usize, String> {
        let index = self.insertion(placement)?;
        for (offset, item) in items.into_iter().enumerate() {
            self.insert(index + offset, item);
        }
        self.kick_autostart(ctx);
        Ok(self.items.len())
    }

    pub fn get(&self, which: &Which) -> Result<&QueueItem, String> {
        match which {
            Which::Uid(uid) => {
                if self.running.as_ref().is_some_and(|r| &r.item_uid == uid) {
                    return Err(format!("The item with UID '{uid}' is currently running."));
                }
                self.index_of(uid)
                    .map(|i| &self.items[i])
                    .ok_or_else(|| format!("Item with UID '{uid}' is not in the queue."))
            }
            Which::At(pos) => existing_index(&self.items, pos)
                .map(|i| &self.items[i])
                .ok_or_else(|| {
                    let shown = match pos {
                        Pos::Back => "-1".to_string(),
                        Pos::Front => "0".to_string(),
                        Pos::Index(i) => i.to_string(),
                    };
                    format!(
                        "Index '{shown}' is out of range (parameter pos = '{}')",
                        pos_text(pos)
                    )
                }),
        }
    }

    /// Replaces a queued item in place. `item` is prepared (validated, stamped, with a new uid);
    /// unless `replace`, it keeps the uid it replaces.
    pub fn update(
        &mut self,
        uid: &str,
        mut item: QueueItem,
        replace: bool,
    ) -> Result<usize, String> {
        if self.running.as_ref().is_some_and(|r| r.item_uid == uid) {
            return Err(format!(
                "Failed to replace item: Item with UID '{uid}' is currently running"
            ));
        }
        let index = self.index_of(uid).ok_or_else(|| {
            format!("Failed to replace item: Item with UID '{uid}' is not in the queue")
        })?;
        if !replace {
            item.item_uid = uid.to_string();
        }
        self.items[index] = item.clone();
        self.changes.push(Change::QueueReplace {
            uid: uid.to_string(),
            item,
        });
        Ok(self.items.len())
    }

    pub fn remove(&mut self, which: &Which) -> Result<QueueItem, String> {
        if let Which::Uid(uid) = which {
            if self.running.as_ref().is_some_and(|r| &r.item_uid == uid) {
                return Err("Can not remove an item which is currently running.".into());
            }
            if self.index_of(uid).is_none() {
                return Err(format!("Plan with UID '{uid}' is not in the queue."));
            }
        }
        if self.items.is_empty() {
            return Err("Queue is empty".into());
        }
        let uid = self.get(which)?.item_uid.clone();
        Ok(self.remove_uid(&uid))
    }

    fn remove_uid(&mut self, uid: &str) -> QueueItem {
        let index = self.index_of(uid).expect("caller checked the uid");
        let item = self.items.remove(index);
        self.changes.push(Change::QueueRemove {
            uid: uid.to_string(),
        });
        item
    }

    pub fn remove_batch(
        &mut self,
        uids: &[String],
        ignore_missing: bool,
    ) -> Result<Vec<QueueItem>, String> {
        if !ignore_missing {
            check_unique(uids)?;
            let missing: Vec<&String> =
                uids.iter().filter(|u| self.index_of(u).is_none()).collect();
            if !missing.is_empty() {
                return Err(format!(
                    "The queue does not contain items with the following UIDs: {}",
                    py_list(&missing)
                ));
            }
        }
        let mut removed = Vec::new();
        for uid in uids {
            if self.index_of(uid).is_some() {
                removed.push(self.remove_uid(uid));
            }
        }
        Ok(removed)
    }

    pub fn move_item(&mut self, which: &Which, dest: &Placement) -> Result<QueueItem, String> {
        let src = match which {
            Which::Uid(uid) => self.index_of(uid).ok_or_else(|| {
                format!("Source plan (UID '{uid}') was not found: Item with UID '{uid}' is not in the queue..")
            })?,
            Which::At(pos) => existing_index(&self.items, pos).ok_or_else(|| {
                let p = pos_text(pos);
                format!("Source plan (position {p}) was not found: Index '{p}' is out of range (parameter pos = '{p}').")
            })?,
        };
        let to = move_destination(&self.items, src, dest).map_err(|e| {
            let uid = match dest {
                Placement::Before(u) | Placement::After(u) => u.as_str(),
                Placement::At(_) => "",
            };
            if uid.is_empty() {
                e
            } else {
                format!("Destination plan (UID '{uid}') was not found: Item with UID '{uid}' is not in the queue..")
            }
        })?;
        let item = self.items.remove(src);
        self.items.insert(to, item.clone());
        if src != to {
            self.changes.push(Change::QueueMove {
                uid: item.item_uid.clone(),
                index: to,
            });
        }
        Ok(item)
    }

    /// Moves several items into one contiguous block at the destination.
    pub fn move_batch(
        &mut self,
        uids: &[String],
        dest: &Placement,
        reorder: bool,
    ) -> Result<Vec<QueueItem>, String> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        check_unique(uids)?;
        let missing: Vec<&String> = uids.iter().filter(|u| self.index_of(u).is_none()).collect();
        if !missing.is_empty() {
            return Err(format!(
                "The queue does not contain items with the following UIDs: {}",
                py_list(&missing)
            ));
        }
        if let Placement::Before(u) | Placement::After(u) = dest {
            if uids.contains(u) {
                let which = if matches!(dest, Placement::Before(_)) {
                    "before_uid"
                } else {
                    "after_uid"
                };
                return Err(format!(
                    "Parameter '{which}': item with UID '{u}' is in the batch"
                ));
            }
            if self.index_of(u).is_none() {
                return Err(format!("Destination plan (UID '{u}') was not found: Item with UID '{u}' is not in the queue.."));
            }
        }
        let mut block: Vec<String> = uids.to_vec();
        if reorder {
            block.sort_by_key(|u| self.index_of(u));
        }
        let mut moved = Vec::new();
        let rest: Vec<QueueItem> = self
            .items
            .iter()
            .filter(|i| !block.contains(&i.item_uid))
            .cloned()
            .collect();
        let at = match dest {
            Placement::At(Pos::Front) => 0,
            Placement::Before(u) => rest.iter().position(|i| &i.item_uid == u).unwrap_or(0),
            Placement::After(u) => rest
                .iter()
                .position(|i| &i.item_uid == u)
                .map_or(rest.len(), |i| i + 1),
            _ => rest.len(),
        };
        for (offset, uid) in block.iter().enumerate() {
            let src = self.index_of(uid).expect("checked above");
            let item = self.items.remove(src);
            let to = (at + offset).min(self.items.len());
            self.items.insert(to, item.clone());
            self.changes.push(Change::QueueMove {
                uid: uid.clone(),
                index: to,
            });
            moved.push(item);
        }
        Ok(moved)
    }

    pub fn clear(&mut self) {
        if !self.items.is_empty() {
            self.items.clear();
            self.changes.push(Change::QueueClear);
        }
    }

    /// Keeps the newest `size` items, or deletes the oldest up to and including `item_uid`, or all.
    pub fn clear_history(
        &mut self,
        size: Option<usize>,
        item_uid: Option<&str>,
    ) -> Result<(), String> {
        let count = match (size, item_uid) {
            (Some(_), Some(_)) => {
                return Err("Parameters 'size' and 'item_uid' are mutually exclusive.".into())
            }
            (Some(size), None) => self.history.len().saturating_sub(size),
            (None, Some(uid)) => self
                .history
                .iter()
                .position(|h| h.item_uid == uid)
                .map_or(0, |i| i + 1),
            (None, None) => self.history.len(),
        };
        if count > 0 {
            self.history.drain(..count);
            self.changes.push(Change::HistoryTrim { count });
        }
        Ok(())
    }
}

fn check_unique(uids: &[String]) -> Result<(), String> {
    let mut seen = HashSet::new();
    let repeated = uids.iter().filter(|u| !seen.insert(*u)).count();
    if repeated > 0 {
        return Err(format!(
            "The list of contains repeated UIDs ({repeated} UIDs)"
        ));
    }
    Ok(())
}

fn py_list(items: &[&String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}
