//! Drawing, with plotters, on any backend: the browser's `<canvas>` and the server's SVG and PNG
//! pictures use these same functions, so a plot in an e-log looks like the one on the dashboard.
//!
//! The inputs ([`XyChart`], [`Heatmap`], [`Histogram`]) are already decimated: drawing never
//! walks more than a few points per pixel.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Colours and type size. `big` is for wall screens (kiosks); `dark` for the dark theme;
/// `svg` for plotters' SVG backend, which writes a font size of `n` as `n / 1.24` (points), so
/// it is asked for that much more to show the same pixels as the canvas.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Theme {
    pub big: bool,
    pub dark: bool,
    pub svg: bool,
}

impl Theme {
    fn font(&self, px: u32) -> u32 {
        let px = if self.big { px * 2 } else { px };
        if self.svg {
            (px * 124).div_ceil(100)
        } else {
            px
        }
    }

    /// Tick labels that fit `px` pixels of axis: about one per four label heights (y) or per
    /// six label widths (x), never fewer than two nor more than the usual 8 (x) and 6 (y).
    fn ticks(&self, px: u32, vertical: bool) -> usize {
        let font = self.font(13) as f64;
        if vertical {
            ((px as f64 / (font * 4.0)) as usize).clamp(2, 6)
        } else {
            ((px as f64 / (font * 6.0)) as usize).clamp(2, 8)
        }
    }

    fn background(&self) -> RGBColor {
        if self.dark {
            RGBColor(24, 28, 34)
        } else {
            RGBColor(255, 255, 255)
        }
    }

    fn ink(&self) -> RGBColor {
        if self.dark {
            RGBColor(226, 230, 236)
        } else {
            RGBColor(31, 41, 55)
        }
    }

    fn grid(&self) -> RGBColor {
        if self.dark {
            RGBColor(70, 78, 90)
        } else {
            RGBColor(209, 213, 219)
        }
    }
}
const FONT: &str = "sans-serif";

mod colormap;
mod legend;

pub use colormap::Colormap;
use legend::{Legend, LegendItem};

/// Series colours (colour-blind safe, Okabe–Ito order).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(240, 228, 66),
];

/// One curve: a live one, or a faded one from an earlier run.
#[derive(Clone, Debug, PartialEq)]
pub struct XySeries {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub color: usize,
    /// An earlier run drawn for comparison: thinner and lighter.
    pub faded: bool,
    pub line: bool,
    pub markers: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct XyChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: Range<f64>,
    pub y_range: Range<f64>,
    pub series: Vec<XySeries>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub z_label: String,
    pub grid: super::decimate::Grid,
    pub colormap: Colormap,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub title: String,
    pub x_label: String,
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

/// What an applet draws.
#[derive(Clone, Debug, PartialEq)]
pub enum Picture {
    Xy(XyChart),
    Heatmap(Heatmap),
    Histogram(Histogram),
    /// Nothing to draw yet, and why ("waiting for the first event").
    Message(String),
}

impl Picture {
    /// Adds a remark to the title ("(the latest, scan 12, has no 'det')").
    pub fn note(&mut self, remark: &str) {
        let title = match self {
            Picture::Xy(c) => &mut c.title,
            Picture::Heatmap(h) => &mut h.title,
            Picture::Histogram(h) => &mut h.title,
            Picture::Message(_) => return,
        };
        title.push(' ');
        title.push_str(remark);
    }
}

type Area<'a, DB> = DrawingArea<DB, Shift>;

/// Draws a picture over the whole area (wall-screen type only where the area is big enough to
/// hold it: a small panel on a kiosk keeps the desktop size). Returns the pixel columns (left, right) of a line or
/// scatter chart's data, for turning a drag on the picture into a zoom.
pub fn draw<DB: DrawingBackend>(
    area: &Area<DB>,
    picture: &Picture,
    theme: Theme,
) -> Result<Option<(i32, i32)>, String> {
    area.fill(&theme.background()).map_err(|e| e.to_string())?;
    let (w, h) = area.dim_in_pixel();
    let theme = Theme {
        big: theme.big && w >= 720 && h >= 420,
        ..theme
    };
    let r = match picture {
        Picture::Xy(c) => draw_xy(area, c, theme).map(Some),
        Picture::Heatmap(h) => draw_heatmap(area, h, theme).map(|_| None),
        Picture::Histogram(h) => draw_histogram(area, h, theme).map(|_| None),
        Picture::Message(m) => draw_message(area, m, theme).map(|_| None),
    };
    r.map_err(|e| e.to_string())
}

type DrawResult<DB, T = ()> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_message<DB: DrawingBackend>(area: &Area<DB>, msg: &str, theme: Theme) -> DrawResult<DB> {
    let (w, h) = area.dim_in_pixel();
    let ink = theme.ink().mix(0.6);
    let style = TextStyle::from((FONT, theme.font(14)).into_font())
        .color(&ink)
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(
        msg.to_string(),
        (w as i32 / 2, h as i32 / 2),
        style,
    ))
}

fn draw_xy<DB: DrawingBackend>(
    area: &Area<DB>,
    c: &XyChart,
    theme: Theme,
) -> DrawResult<DB, (i32, i32)> {
    let legend: Vec<LegendItem> = c
        .series
        .iter()
        .filter(|s| !s.label.is_empty())
        .map(|s| LegendItem {
            label: s.label.as_str(),
            style: series_style(s, theme),
            line: s.line,
        })
        .collect();
    let legend = if c.series.len() > 1 && !legend.is_empty() {
        Legend::lay_out(area, legend, theme)?
    } else {
        None
    };
    // The legend beside or under the data, never over it.
    let (w, h) = area.dim_in_pixel();
    let (plot_area, legend_area) = match &legend {
        Some(l) if l.beside => {
            let (a, b) = area.split_horizontally(w.saturating_sub(l.width));
            (a, Some(b))
        }
        Some(l) => {
            let (a, b) = area.split_vertically(h.saturating_sub(l.height));
            (a, Some(b))
        }
        None => (area.clone(), None),
    };
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(
            &c.title,
            (FONT, theme.font(15)).into_font().color(&theme.ink()),
        )
        .margin(theme.font(8))
        .x_label_area_size(theme.font(40))
        .y_label_area_size(theme.font(64))
        .build_cartesian_2d(c.x_range.clone(), c.y_range.clone())?;
    chart
        .configure_mesh()
        .x_desc(c.x_label.as_str())
        .y_desc(c.y_label.as_str())
        .x_labels(theme.ticks(plot_area.dim_in_pixel().0, false))
        .y_labels(theme.ticks(plot_area.dim_in_pixel().1, true))
        .x_max_light_lines(2)
        .y_max_light_lines(2)
        .label_style((FONT, theme.font(13)).into_font().color(&theme.ink()))
        .axis_desc_style((FONT, theme.font(15)).into_font().color(&theme.ink()))
        .bold_line_style(theme.grid().mix(0.6))
        .light_line_style(theme.grid().mix(0.25))
        .axis_style(theme.ink().mix(0.8))
        .draw()?;
    // Earlier runs first, so the live curve is drawn on top.
    let mut order: Vec<&XySeries> = c.series.iter().collect();
    order.sort_by_key(|s| !s.faded);
    for s in order {
        let style = series_style(s, theme);
        let radius = if theme.big { 4 } else { 2 };
        if s.line {
            chart.draw_series(LineSeries::new(s.points.iter().copied(), style))?;
        }
        if s.markers && s.points.len() > 200 {
            // Many markers: small squares (much cheaper to draw than circles, same look).
            let r = radius;
            chart.draw_series(s.points.iter().map(|&p| {
                EmptyElement::at(p) + Rectangle::new([(-r, -r), (r, r)], style.filled())
            }))?;
        } else if s.markers {
            chart.draw_series(
                s.points
                    .iter()
                    .map(|&p| Circle::new(p, radius, style.filled())),
            )?;
        }
    }
    if let (Some(l), Some(a)) = (legend, legend_area) {
        // Beside: level with the top of the data, under the title.
        let top = if l.beside {
            theme.font(8) as i32 + theme.font(15) as i32 + theme.font(8) as i32
        } else {
            0
        };
        l.draw(&a, top, theme)?;
    }
    let (xs, _) = chart.plotting_area().get_pixel_range();
    Ok((xs.start, xs.end))
}

/// A live curve in its colour; an earlier run in its own colour too (so two earlier runs are
/// told apart), lighter and thinner.
fn series_style(s: &XySeries, theme: Theme) -> ShapeStyle {
    let color = PALETTE[s.color % PALETTE.len()];
    if s.faded {
        ShapeStyle::from(&color.mix(0.55)).stroke_width(if theme.big { 2 } else { 1 })
    } else {
        ShapeStyle::from(&color).stroke_width(if theme.big { 3 } else { 2 })
    }
}

fn draw_histogram<DB: DrawingBackend>(
    area: &Area<DB>,
    h: &Histogram,
    theme: Theme,
) -> DrawResult<DB> {
    let (Some(first), Some(last)) = (h.edges.first(), h.edges.last()) else {
        return draw_message(area, "no values yet", theme);
    };
    let top = h.counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.08;
    let mut chart = ChartBuilder::on(area)
        .caption(
            &h.title,
            (FONT, theme.font(15)).into_font().color(&theme.ink()),
        )
        .margin(theme.font(8))
        .x_label_area_size(theme.font(40))
        .y_label_area_size(theme.font(64))
        .build_cartesian_2d(*first..*last, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc(h.x_label.as_str())
        .y_desc("count")
        .x_labels(theme.ticks(area.dim_in_pixel().0, false))
        .y_labels(theme.ticks(area.dim_in_pixel().1, true))
        .label_style((FONT, theme.font(13)).into_font().color(&theme.ink()))
        .axis_desc_style((FONT, theme.font(15)).into_font().color(&theme.ink()))
        .bold_line_style(theme.grid().mix(0.6))
        .light_line_style(theme.grid().mix(0.25))
        .draw()?;
    let fill = PALETTE[0].mix(0.75).filled();
    chart.draw_series(
        h.counts
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(i, &n)| Rectangle::new([(h.edges[i], 0.0), (h.edges[i + 1], n as f64)], fill)),
    )?;
    Ok(())
}

fn draw_heatmap<DB: DrawingBackend>(area: &Area<DB>, h: &Heatmap, theme: Theme) -> DrawResult<DB> {
    let g = &h.grid;
    let (lo, hi) = super::decimate::extent(g.cells.iter().copied()).unwrap_or((0.0, 1.0));
    let z = super::decimate::padded((lo, hi));
    let (lo, hi) = if hi > lo { (lo, hi) } else { (z.start, z.end) };
    let (w, _) = area.dim_in_pixel();
    // The colour bar: a narrow strip with its ticks on the right and its name above.
    let bar = theme.font(18 + 56).min(w / 3);
    let (main, side) = area.split_horizontally(w.saturating_sub(bar));
    let mut chart = ChartBuilder::on(&main)
        .caption(
            &h.title,
            (FONT, theme.font(15)).into_font().color(&theme.ink()),
        )
        .margin(theme.font(8))
        .x_label_area_size(theme.font(40))
        .y_label_area_size(theme.font(64))
        .build_cartesian_2d(g.x_range.clone(), g.y_range.clone())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(theme.ticks(main.dim_in_pixel().0, false))
        .y_labels(theme.ticks(main.dim_in_pixel().1, true))
        .x_desc(h.x_label.as_str())
        .y_desc(h.y_label.as_str())
        .label_style((FONT, theme.font(13)).into_font().color(&theme.ink()))
        .axis_desc_style((FONT, theme.font(15)).into_font().color(&theme.ink()))
        .draw()?;
    let dx = (g.x_range.end - g.x_range.start) / g.nx as f64;
    let dy = (g.y_range.end - g.y_range.start) / g.ny as f64;
    chart.draw_series(
        g.cells
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| {
                let (ix, iy) = ((i % g.nx) as f64, (i / g.nx) as f64);
                let x = g.x_range.start + ix * dx;
                let y = g.y_range.start + iy * dy;
                let color = h.colormap.color((v - lo) / (hi - lo));
                Rectangle::new([(x, y), (x + dx, y + dy)], color.filled())
            }),
    )?;
    // The colour bar: the same colours against the z axis, level with the data.
    let top = theme.font(8) + theme.font(15) + theme.font(8);
    let mut bar_chart = ChartBuilder::on(&side)
        .margin_top(top)
        .margin_bottom(theme.font(8) + theme.font(40))
        .margin_left(theme.font(4))
        .right_y_label_area_size(theme.font(52))
        .build_cartesian_2d(0.0..1.0, lo..hi)?;
    bar_chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(theme.ticks(side.dim_in_pixel().1, true))
        .label_style((FONT, theme.font(13)).into_font().color(&theme.ink()))
        .axis_style(theme.ink().mix(0.8))
        .draw()?;
    let ink = theme.ink();
    let name = TextStyle::from((FONT, theme.font(13)).into_font())
        .color(&ink)
        .pos(Pos::new(HPos::Right, VPos::Bottom));
    side.draw(&Text::new(
        h.z_label.clone(),
        (bar as i32 - 2, top as i32 - theme.font(9) as i32),
        name,
    ))?;
    const STEPS: usize = 64;
    let step = (hi - lo) / STEPS as f64;
    bar_chart.draw_series((0..STEPS).map(|i| {
        let y = lo + i as f64 * step;
        let color = h.colormap.color((i as f64 + 0.5) / STEPS as f64);
        Rectangle::new([(0.0, y), (1.0, y + step)], color.filled())
    }))?;
    Ok(())
}

#[cfg(test)]
mod tests;
