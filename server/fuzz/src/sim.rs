//! `server/src/worker/sim/catalog.rs`: the simulated environment's plans and devices.
#[path = "../../src/worker/sim/catalog.rs"]
pub mod catalog;
