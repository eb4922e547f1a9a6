//! `server/src/runs/`: batch parsing, document checks, event data against descriptors.
#[path = "../../src/runs/conform.rs"]
pub mod conform;
#[path = "../../src/runs/validate.rs"]
pub mod validate;
