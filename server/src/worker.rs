//! The worker side: the process that executes plans in an environment of devices.

pub mod protocol;
pub mod sim;
