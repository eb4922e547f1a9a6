//! Live plots: run documents folded into bounded columns ([`run_data`]), reduced to what a plot
//! of a given size can show ([`decimate`]), turned into pictures by an applet's spec ([`view`])
//! and drawn with plotters on any backend ([`chart`]). No IO: the browser draws on `<canvas>`,
//! the server draws the same pictures as SVG and PNG.

#[cfg(feature = "hydrate")]
pub mod canvas;
pub mod chart;
pub mod decimate;
pub mod run_data;
pub mod view;
