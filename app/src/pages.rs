//! One module per page of the dashboard.

pub mod monitor;
pub mod planned;
