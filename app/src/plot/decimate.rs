//! Reducing many points to what a plot of a given size can show, so drawing costs the same for
//! a hundred points and for a million.
//!
//! - Lines: [`min_max_columns`] keeps, per pixel column, the smallest and the largest value in
//!   the order they occurred — the drawn line covers exactly the pixels the full line would.
//! - Scatter: [`one_per_pixel`] keeps the first point that lands on each pixel.
//! - [`histogram`] and [`grid`] (grid scans as a heatmap) bin values.

use std::ops::Range;

/// The finite `[min, max]` of the values, or `None` if there is none.
pub fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Widens an empty or one-value range so an axis can be drawn, and pads it by 5 %.
pub fn padded((lo, hi): (f64, f64)) -> Range<f64> {
    if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
        let d = lo.abs().max(1.0) * 0.5;
        return lo - d..hi + d;
    }
    let pad = (hi - lo) * 0.05;
    lo - pad..hi + pad
}

/// Min/max decimation: the points `(x, y)` inside `x_range` reduced to at most two per pixel
/// column (`columns` of them across the range), each column's minimum and maximum at their own x,
/// in the order they came — sparse data comes out unchanged. Points with a non-finite coordinate are skipped.
/// The result is in column order, ready to draw as one polyline.
pub fn min_max_columns(
    points: impl Iterator<Item = (f64, f64)>,
    x_range: &Range<f64>,
    columns: usize,
) -> Vec<(f64, f64)> {
    let columns = columns.max(1);
    let span = x_range.end - x_range.start;
    if span.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return Vec::new();
    }
    let scale = columns as f64 / span;
    // Per column: (min, x of min, max, x of max, min seen first); min > max marks an empty one.
    let empty = (f64::INFINITY, 0.0, f64::NEG_INFINITY, 0.0, true);
    let mut buckets = vec![empty; columns];
    for (x, y) in points {
        if !(x.is_finite() && y.is_finite()) || x < x_range.start || x > x_range.end {
            continue;
        }
        let c = (((x - x_range.start) * scale) as usize).min(columns - 1);
        let b = &mut buckets[c];
        if b.0 > b.2 {
            *b = (y, x, y, x, true);
        } else if y < b.0 {
            (b.0, b.1, b.4) = (y, x, false);
        } else if y > b.2 {
            (b.2, b.3, b.4) = (y, x, true);
        }
    }
    let mut out = Vec::with_capacity(columns * 2);
    for &(lo, x_lo, hi, x_hi, min_first) in &buckets {
        if lo > hi {
            continue;
        }
        if lo == hi {
            out.push((x_lo, lo));
        } else if min_first {
            out.extend([(x_lo, lo), (x_hi, hi)]);
        } else {
            out.extend([(x_hi, hi), (x_lo, lo)]);
        }
    }
    out
}

/// Scatter decimation: of the points inside the ranges, the first on each of `w` × `h` pixels.
pub fn one_per_pixel(
    points: impl Iterator<Item = (f64, f64)>,
    x_range: &Range<f64>,
    y_range: &Range<f64>,
    w: usize,
    h: usize,
) -> Vec<(f64, f64)> {
    let (w, h) = (w.max(1), h.max(1));
    let sx = w as f64 / (x_range.end - x_range.start);
    let sy = h as f64 / (y_range.end - y_range.start);
    if !(sx.is_finite() && sy.is_finite()) {
        return Vec::new();
    }
    let mut taken = vec![false; w * h];
    let mut out = Vec::new();
    for (x, y) in points {
        if !(x_range.contains(&x) && y_range.contains(&y)) {
            continue;
        }
        let px = (((x - x_range.start) * sx) as usize).min(w - 1);
        let py = (((y - y_range.start) * sy) as usize).min(h - 1);
        let cell = &mut taken[py * w + px];
        if !*cell {
            *cell = true;
            out.push((x, y));
        }
    }
    out
}

/// Counts of the finite values in `bins` equal bins over their extent: `(edges, counts)` with
/// `edges.len() == counts.len() + 1`. Empty input gives no bins.
pub fn histogram(values: impl Iterator<Item = f64> + Clone, bins: usize) -> (Vec<f64>, Vec<u64>) {
    let Some((lo, hi)) = extent(values.clone()) else {
        return (Vec::new(), Vec::new());
    };
    let range = if hi > lo { lo..hi } else { padded((lo, hi)) };
    let bins = bins.max(1);
    let width = (range.end - range.start) / bins as f64;
    let edges = (0..=bins).map(|i| range.start + i as f64 * width).collect();
    let mut counts = vec![0u64; bins];
    for v in values.filter(|v| v.is_finite()) {
        let i = (((v - range.start) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    (edges, counts)
}

/// A grid of cells for a heatmap: `ny` rows of `nx` cells, row-major from the lowest y; NaN
/// where nothing was measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub x_range: Range<f64>,
    pub y_range: Range<f64>,
    pub nx: usize,
    pub ny: usize,
    pub cells: Vec<f64>,
}

/// Puts grid-scan points `(x, y, z)` into cells. `shape` is the scan's `[ny, nx]` when the start
/// document says it (bluesky's `shape`); otherwise the number of distinct positions decides,
/// at most `max_cells` a side. A cell measured twice shows the newer value.
pub fn grid(
    points: &[(f64, f64, f64)],
    shape: Option<(usize, usize)>,
    max_cells: usize,
) -> Option<Grid> {
    let finite = || points.iter().filter(|p| p.0.is_finite() && p.1.is_finite());
    let (x0, x1) = extent(finite().map(|p| p.0))?;
    let (y0, y1) = extent(finite().map(|p| p.1))?;
    let distinct = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.dedup_by(|a, b| (*a - *b).abs() <= 1e-9 * (a.abs() + b.abs()).max(1e-12));
        v.len()
    };
    let (ny, nx) = shape.unwrap_or_else(|| {
        (
            distinct(finite().map(|p| p.1).collect()),
            distinct(finite().map(|p| p.0).collect()),
        )
    });
    let (nx, ny) = (nx.clamp(1, max_cells), ny.clamp(1, max_cells));
    // Cell centres sit on the measured positions: widen by half a cell on each side.
    let half = |lo: f64, hi: f64, n: usize| {
        if n > 1 && hi > lo {
            (hi - lo) / (n - 1) as f64 / 2.0
        } else {
            0.5
        }
    };
    let (hx, hy) = (half(x0, x1, nx), half(y0, y1, ny));
    let x_range = x0 - hx..x1 + hx;
    let y_range = y0 - hy..y1 + hy;
    let mut cells = vec![f64::NAN; nx * ny];
    for &(x, y, z) in finite() {
        let ix = (((x - x_range.start) / (x_range.end - x_range.start) * nx as f64) as usize)
            .min(nx - 1);
        let iy = (((y - y_range.start) / (y_range.end - y_range.start) * ny as f64) as usize)
            .min(ny - 1);
        cells[iy * nx + ix] = z;
    }
    Some(Grid {
        x_range,
        y_range,
        nx,
        ny,
        cells,
    })
}

/// A frame reduced to at most `max` cells a side by averaging blocks (a 512×512 detector image
/// drawn as 128×128 rectangles).
pub fn shrink_frame(
    rows: usize,
    cols: usize,
    values: &[f64],
    max: usize,
) -> (usize, usize, Vec<f64>) {
    let step = rows.max(cols).div_ceil(max.max(1)).max(1);
    let (r2, c2) = (rows.div_ceil(step), cols.div_ceil(step));
    let mut sum = vec![0.0; r2 * c2];
    let mut n = vec![0u32; r2 * c2];
    for r in 0..rows {
        for c in 0..cols {
            let v = values[r * cols + c];
            if v.is_finite() {
                let i = (r / step) * c2 + c / step;
                sum[i] += v;
                n[i] += 1;
            }
        }
    }
    let cells = sum
        .iter()
        .zip(&n)
        .map(|(s, &n)| if n == 0 { f64::NAN } else { s / n as f64 })
        .collect();
    (r2, c2, cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_keeps_every_extreme_and_at_most_two_points_per_column() {
        let n = 1_000_000;
        let points = (0..n).map(|i| {
            let x = i as f64;
            // A spike at 500 000 must survive decimation.
            let y = if i == 500_000 {
                100.0
            } else {
                (x / 1000.0).sin()
            };
            (x, y)
        });
        let out = min_max_columns(points, &(0.0..n as f64), 800);
        assert!(out.len() <= 1600, "{} points", out.len());
        assert!(out.len() > 1500);
        let max = out.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        assert_eq!(max, 100.0, "the spike is kept");
        let min = out.iter().map(|p| p.1).fold(f64::MAX, f64::min);
        assert!(min < -0.999);
        assert!(out.windows(2).all(|w| w[0].0 <= w[1].0), "in column order");
    }

    #[test]
    fn min_max_keeps_the_order_within_a_column_and_skips_nan_and_outside_points() {
        let pts = [
            (0.1, 5.0),
            (0.2, 1.0),
            (0.3, f64::NAN),
            (5.0, 9.0),
            (-1.0, 7.0),
        ];
        let out = min_max_columns(pts.into_iter(), &(0.0..1.0), 1);
        assert_eq!(out, [(0.1, 5.0), (0.2, 1.0)], "max came first");
        assert!(min_max_columns(pts.into_iter(), &(1.0..1.0), 10).is_empty());
    }

    #[test]
    fn scatter_keeps_one_point_per_pixel() {
        let pts = (0..10_000).map(|i| ((i % 100) as f64 / 100.0, (i / 100) as f64 / 100.0));
        let out = one_per_pixel(pts, &(0.0..1.0), &(0.0..1.0), 10, 10);
        assert_eq!(out.len(), 100);
    }

    #[test]
    fn histogram_counts_every_finite_value_once() {
        let values = [1.0, 2.0, 2.0, 3.0, f64::NAN, 4.0];
        let (edges, counts) = histogram(values.iter().copied(), 3);
        assert_eq!(edges.len(), 4);
        assert_eq!(counts.iter().sum::<u64>(), 5);
        assert_eq!(counts, [1, 2, 2]);
        assert_eq!(histogram(std::iter::empty(), 3).1.len(), 0);
    }

    #[test]
    fn a_grid_scan_fills_its_cells_and_leaves_unmeasured_ones_empty() {
        // A 3 × 2 snake scan that stopped one point early.
        let pts = [
            (0.0, 10.0, 1.0),
            (1.0, 10.0, 2.0),
            (2.0, 10.0, 3.0),
            (2.0, 20.0, 4.0),
            (1.0, 20.0, 5.0),
        ];
        let g = grid(&pts, None, 256).unwrap();
        assert_eq!((g.nx, g.ny), (3, 2));
        assert_eq!(&g.cells[..3], &[1.0, 2.0, 3.0]);
        assert!(g.cells[3].is_nan(), "(0, 20) was never measured");
        assert_eq!(g.cells[4..], [5.0, 4.0]);
        let g = grid(&pts, Some((4, 6)), 256).unwrap();
        assert_eq!((g.nx, g.ny), (6, 4), "the start document's shape wins");
        assert!(grid(&[], None, 10).is_none());
    }

    #[test]
    fn frames_shrink_by_block_averages() {
        let values: Vec<f64> = (0..16).map(f64::from).collect();
        let (r, c, cells) = shrink_frame(4, 4, &values, 2);
        assert_eq!((r, c), (2, 2));
        assert_eq!(cells[0], (0.0 + 1.0 + 4.0 + 5.0) / 4.0);
    }

    #[test]
    fn flat_data_still_gets_an_axis() {
        let r = padded((3.0, 3.0));
        assert!(r.start < 3.0 && r.end > 3.0);
        assert_eq!(extent([f64::NAN, 2.0, -1.0]), Some((-1.0, 2.0)));
    }
}
