//! `/api/stream` and the bluesky-compatible status and console sockets: the per-connection
//! writer tasks over the [`crate::hub`], the live run feed ([`feed`]) and plot decimation.

mod compat;
pub mod decimate;
pub mod feed;
mod ws;

pub use compat::{console_ws, status_ws};
pub use ws::stream_handler;
