//! The plan queue: pure logic (positions, catalogue, validation, the state machine) and, around
//! it, the manager task that owns the state, persists it and talks to the worker.

pub mod annotation;
pub mod catalog;
pub mod command;
pub mod edit;
pub mod handle;
pub mod manager;
pub mod permissions;
pub mod position;
pub mod publish;
pub mod router;
pub mod run;
pub mod state;
pub mod store;
pub mod tasks;
#[cfg(test)]
mod tests;
pub mod uids;
pub mod validate;
