//! Who is asking, as the rest of hutch sees it once authentication is done: stamped into queue
//! items, datasets and applets, and checked by the queue's permissions.

/// The authenticated user and their bluesky user group.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user: String,
    pub user_group: String,
}
