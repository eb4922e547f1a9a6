//! hutch's input-checking code, compiled from the server's own files (no copies), for the fuzz
//! targets. The module tree mirrors the server's so `super::`/`crate::` paths resolve the same.
#![allow(dead_code, unused_imports)]

pub mod queue;
pub mod runs;
pub mod sim;
