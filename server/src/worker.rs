//! The worker side: the process that executes plans in an environment of devices.

pub mod handle;
pub mod launch;
pub mod main_loop;
pub mod protocol;
pub mod sim;
