//! The built-in simulated environment (motors, detectors and the usual scan plans).

pub mod catalog;
pub mod devices;
pub mod plans;
pub mod runner;
