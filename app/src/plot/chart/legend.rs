//! The legend of a line or scatter chart, laid out beside or under the data (never over it).
//! Text is measured through the backend: plotters' own legend measures with the page's layout
//! engine in the browser, which is slow.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Area, DrawResult, Theme, FONT};

pub(super) struct LegendItem<'a> {
    pub label: &'a str,
    pub style: ShapeStyle,
    pub line: bool,
}

/// The legend's place: a column beside the plot when it takes at most a third of the width,
/// else rows under it. (Text is measured through the backend: plotters' own legend measures
/// with the page's layout engine in the browser, which is slow.)
pub(super) struct Legend<'a> {
    items: Vec<(LegendItem<'a>, (i32, i32))>,
    pub beside: bool,
    pub width: u32,
    pub height: u32,
}

impl<'a> Legend<'a> {
    pub fn lay_out<DB: DrawingBackend>(
        area: &Area<DB>,
        items: Vec<LegendItem<'a>>,
        theme: Theme,
    ) -> Result<Option<Legend<'a>>, DrawingAreaErrorKind<DB::ErrorType>> {
        let font = TextStyle::from((FONT, theme.font(13)).into_font());
        let (w, h) = area.dim_in_pixel();
        let (line, sample, gap) = (
            theme.font(18) as i32,
            theme.font(18) as i32,
            theme.font(12) as i32,
        );
        let mut widths = Vec::with_capacity(items.len());
        for item in &items {
            widths.push(area.estimate_text_size(item.label, &font)?.0 as i32 + sample + 8);
        }
        let widest = widths.iter().copied().max().unwrap_or(0);
        let beside = widest + 2 * gap <= w as i32 / 3;
        let mut placed = Vec::with_capacity(items.len());
        let (mut x, mut y) = (gap, 0);
        for (item, iw) in items.into_iter().zip(widths) {
            if beside {
                placed.push((item, (gap / 2, y)));
                y += line;
            } else {
                if x > gap && x + iw > w as i32 - gap {
                    x = gap;
                    y += line;
                }
                placed.push((item, (x, y)));
                x += iw + gap;
            }
        }
        let height = (y + if beside { 0 } else { line }) as u32 + 4;
        if height > if beside { h * 9 / 10 } else { h / 3 } {
            return Ok(None); // too many curves to name in this picture
        }
        Ok(Some(Legend {
            items: placed,
            beside,
            width: (widest + 2 * gap) as u32,
            height,
        }))
    }

    pub fn draw<DB: DrawingBackend>(
        &self,
        area: &Area<DB>,
        top: i32,
        theme: Theme,
    ) -> DrawResult<DB> {
        let font = (FONT, theme.font(13)).into_font().color(&theme.ink());
        let sample = theme.font(18) as i32;
        let line = theme.font(18) as i32;
        for (item, (x, y)) in &self.items {
            let y = top + y + line / 2;
            if item.line {
                area.draw(&PathElement::new(
                    vec![(*x, y), (x + sample, y)],
                    item.style,
                ))?;
            } else {
                area.draw(&Circle::new((x + sample / 2, y), 3, item.style.filled()))?;
            }
            let text = font.clone().pos(Pos::new(HPos::Left, VPos::Center));
            area.draw(&Text::new(
                item.label.to_string(),
                (x + sample + 6, y),
                text,
            ))?;
        }
        Ok(())
    }
}
