//! One module per page of the dashboard.

pub mod applets;
pub mod common;
pub mod console;
pub mod datasets;
pub mod history;
pub mod kiosk;
pub mod monitor;
pub mod queue;
