//! Wire types shared by the browser, the server and the CLI.
//!
//! Everything here is plain data with serde derives: no IO, no server crates, so it compiles for
//! wasm32 and can be unit-tested alone. Database rows live in the server and convert into these.

pub mod applets;
pub mod control;
pub mod dashboard;
pub mod datasets;
pub mod docs;
pub mod markdown;
pub mod plan_form;
pub mod progress;
pub mod queue;
pub mod queue_view;
pub mod runs;
pub mod spreadsheet;
pub mod status;
pub mod stream;
pub mod theme;
