//! One module per page of the dashboard.

pub mod common;
pub mod console;
pub mod history;
pub mod monitor;
pub mod planned;
pub mod queue;
