//! Runs and their bluesky documents: the storage path (batched writes in short transactions,
//! acknowledged once stored) and the queries behind `/api/runs`.

pub mod arrays;
pub mod conform;
pub mod pages;
pub mod query;
pub mod store;
pub mod validate;
