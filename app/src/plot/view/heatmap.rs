//! The `image` applet's picture: a heatmap of a detector's 2-D frame or of a grid scan's points.

use super::{fields_of, live_stream, title, Inputs};
use crate::model::applets::spec::{Image, ImageSpec};
use crate::plot::chart::{Colormap, Heatmap, Picture};
use crate::plot::decimate;

pub(super) fn heatmap(spec: &ImageSpec, inputs: &Inputs) -> Result<Picture, String> {
    let (run, stream) = live_stream(&spec.data, inputs)?;
    let colormap = Colormap::named(spec.colormap.as_deref());
    let (x, y, z) = match &spec.image {
        Image::Grid { x, y, z } => (x.as_str(), y.as_str(), z.as_str()),
        Image::Field(field) => {
            let field = field.as_str();
            let frame = stream.frames.get(field).ok_or_else(|| {
                format!(
                "{}: no 2-D values of '{field}' in the events (images written to files are not \
                 sent over the stream)",
                run.short_name()
            )
            })?;
            let (ny, nx, cells) =
                decimate::shrink_frame(frame.rows, frame.cols, &frame.values, 128);
            let grid = decimate::Grid {
                x_range: 0.0..frame.cols as f64,
                y_range: 0.0..frame.rows as f64,
                nx,
                ny,
                cells,
            };
            return Ok(Picture::Heatmap(Heatmap {
                title: format!("{} · event {}", title(run), stream.len()),
                x_label: "column".into(),
                y_label: "row".into(),
                z_label: stream.label(field),
                grid,
                colormap,
            }));
        }
    };
    let col = |f: &str| {
        stream
            .column(f)
            .ok_or_else(|| format!("no numeric field '{f}'; it has {}", fields_of(stream)))
    };
    let (xs, ys, zs) = (col(x)?, col(y)?, col(z)?);
    let points: Vec<(f64, f64, f64)> = xs
        .as_slice()
        .iter()
        .zip(ys.as_slice())
        .zip(zs.as_slice())
        .map(|((&x, &y), &z)| (x, y, z))
        .collect();
    // bluesky's grid_scan puts `shape: [rows, cols]` in the start document.
    let shape = run.start.as_ref().and_then(|s| s.grid_shape());
    let grid = decimate::grid(&points, shape, 256).ok_or("waiting for the first point")?;
    Ok(Picture::Heatmap(Heatmap {
        title: title(run),
        x_label: stream.label(x),
        y_label: stream.label(y),
        z_label: stream.label(z),
        grid,
        colormap,
    }))
}
