//! hutch's input-checking code, compiled from the server's own files (no copies), for the fuzz
//! targets. The module tree mirrors the server's so `super::`/`crate::` paths resolve the same.
#![allow(dead_code, unused_imports)]

// The server's files name the shared wire types `hutch_app::model::…`; the few they need are
// compiled here too, under that name, instead of building the whole UI crate.
extern crate self as hutch_app;

pub mod model;
pub mod queue;
pub mod runs;
pub mod sim;
