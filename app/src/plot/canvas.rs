//! A plotters backend for `<canvas>` (browser only), written for live plots:
//!
//! - text is measured with the canvas's own `measureText` and remembered, never by adding an
//!   element to the page (which forces the browser to lay out the whole page for every label);
//! - consecutive lines and markers of one style are collected into one path and stroked or
//!   filled once, and colours and fonts are only set when they change — each call from wasm to
//!   the canvas costs a string conversion.

use std::cell::RefCell;
use std::collections::HashMap;

use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontTransform,
};
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

#[derive(Debug)]
pub struct CanvasError(String);

impl std::fmt::Display for CanvasError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "canvas: {}", self.0)
    }
}

impl std::error::Error for CanvasError {}

fn fail(e: wasm_bindgen::JsValue) -> DrawingErrorKind<CanvasError> {
    DrawingErrorKind::DrawingError(CanvasError(format!("{e:?}")))
}

/// What the open path will be when flushed.
#[derive(Clone, Copy, PartialEq)]
enum Pending {
    None,
    Stroke(u32, u32),
    Fill(u32),
}

pub struct Canvas {
    ctx: CanvasRenderingContext2d,
    size: (u32, u32),
    pending: Pending,
    stroke: Option<(u32, u32)>,
    fill: Option<u32>,
    font: String,
}

thread_local! {
    /// (font, text) → (width, height) in pixels.
    static MEASURED: RefCell<HashMap<(String, String), (u32, u32)>> = RefCell::default();
}

fn key(c: BackendColor) -> u32 {
    let (r, g, b) = c.rgb;
    let a = (c.alpha.clamp(0.0, 1.0) * 255.0).round() as u32;
    (r as u32) << 24 | (g as u32) << 16 | (b as u32) << 8 | a
}

fn css(k: u32) -> String {
    format!(
        "rgba({},{},{},{:.3})",
        k >> 24,
        (k >> 16) & 255,
        (k >> 8) & 255,
        (k & 255) as f64 / 255.0
    )
}

fn font_of<S: BackendTextStyle>(style: &S) -> String {
    format!(
        "{} {}px {}",
        style.style().as_str(),
        style.size(),
        style.family().as_str()
    )
}

impl Canvas {
    pub fn new(canvas: &HtmlCanvasElement) -> Option<Canvas> {
        let ctx = canvas
            .get_context("2d")
            .ok()??
            .dyn_into::<CanvasRenderingContext2d>()
            .ok()?;
        Some(Canvas {
            ctx,
            size: (canvas.width(), canvas.height()),
            pending: Pending::None,
            stroke: None,
            fill: None,
            font: String::new(),
        })
    }

    fn flush(&mut self) {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => {}
            Pending::Stroke(..) => self.ctx.stroke(),
            Pending::Fill(_) => self.ctx.fill(),
        }
    }

    /// Continues the open path if it has this style, else draws it and opens a new one.
    fn open(&mut self, want: Pending) {
        if self.pending == want {
            return;
        }
        self.flush();
        match want {
            Pending::Stroke(color, width) => self.set_stroke(color, width),
            Pending::Fill(color) => self.set_fill(color),
            Pending::None => {}
        }
        self.ctx.begin_path();
        self.pending = want;
    }

    fn set_stroke(&mut self, color: u32, width: u32) {
        if self.stroke != Some((color, width)) {
            self.ctx.set_stroke_style_str(&css(color));
            self.ctx.set_line_width(width as f64);
            self.stroke = Some((color, width));
        }
    }

    fn set_fill(&mut self, color: u32) {
        if self.fill != Some(color) {
            self.ctx.set_fill_style_str(&css(color));
            self.fill = Some(color);
        }
    }

    fn set_font(&mut self, font: String) {
        if self.font != font {
            self.ctx.set_font(&font);
            self.font = font;
        }
    }
}

impl DrawingBackend for Canvas {
    type ErrorType = CanvasError;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<CanvasError>> {
        Ok(())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.flush();
        Ok(())
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        if color.alpha > 0.0 {
            self.flush();
            self.set_fill(key(color));
            self.ctx.fill_rect(point.0 as f64, point.1 as f64, 1.0, 1.0);
        }
        Ok(())
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        self.draw_path([from, to], style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let (x, y) = (upper_left.0 as f64, upper_left.1 as f64);
        let (w, h) = (
            (bottom_right.0 - upper_left.0) as f64,
            (bottom_right.1 - upper_left.1) as f64,
        );
        if fill {
            self.open(Pending::Fill(key(style.color())));
            self.ctx.rect(x, y, w, h);
        } else {
            self.open(Pending::Stroke(key(style.color()), style.stroke_width()));
            self.ctx.rect(x + 0.5, y + 0.5, w, h);
        }
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let width = style.stroke_width();
        self.open(Pending::Stroke(key(style.color()), width));
        // Odd widths sit on pixel centres, so a one-pixel grid line is sharp.
        let half = if width % 2 == 1 { 0.5 } else { 0.0 };
        let mut points = path.into_iter();
        if let Some(p) = points.next() {
            self.ctx.move_to(p.0 as f64 + half, p.1 as f64 + half);
            for p in points {
                self.ctx.line_to(p.0 as f64 + half, p.1 as f64 + half);
            }
        }
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        let want = if fill {
            Pending::Fill(key(style.color()))
        } else {
            Pending::Stroke(key(style.color()), style.stroke_width())
        };
        self.open(want);
        let (x, y, r) = (center.0 as f64, center.1 as f64, radius as f64);
        self.ctx.move_to(x + r, y);
        self.ctx
            .arc(x, y, r, 0.0, std::f64::consts::TAU)
            .map_err(fail)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        if style.color().alpha == 0.0 {
            return Ok(());
        }
        self.open(Pending::Fill(key(style.color())));
        let mut points = vert.into_iter();
        if let Some(p) = points.next() {
            self.ctx.move_to(p.0 as f64, p.1 as f64);
            for p in points {
                self.ctx.line_to(p.0 as f64, p.1 as f64);
            }
            self.ctx.close_path();
        }
        Ok(())
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        self.flush();
        self.set_fill(key(color));
        self.set_font(font_of(style));
        self.ctx.set_text_baseline(match style.anchor().v_pos {
            VPos::Top => "top",
            VPos::Center => "middle",
            VPos::Bottom => "bottom",
        });
        self.ctx.set_text_align(match style.anchor().h_pos {
            HPos::Left => "start",
            HPos::Right => "end",
            HPos::Center => "center",
        });
        let turn = match style.transform() {
            FontTransform::None => 0.0,
            FontTransform::Rotate90 => 0.25,
            FontTransform::Rotate180 => 0.5,
            FontTransform::Rotate270 => 0.75,
        };
        if turn == 0.0 {
            return self
                .ctx
                .fill_text(text, pos.0 as f64, pos.1 as f64)
                .map_err(fail);
        }
        self.ctx.save();
        let r = self
            .ctx
            .translate(pos.0 as f64, pos.1 as f64)
            .and_then(|_| self.ctx.rotate(turn * std::f64::consts::TAU))
            .and_then(|_| self.ctx.fill_text(text, 0.0, 0.0));
        self.ctx.restore();
        r.map_err(fail)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<CanvasError>> {
        let font = font_of(style);
        let k = (font, text.to_string());
        if let Some(size) = MEASURED.with_borrow(|m| m.get(&k).copied()) {
            return Ok(size);
        }
        // Measuring needs the font set; put the drawing font back afterwards.
        self.ctx.set_font(&k.0);
        let width = self.ctx.measure_text(text).map_err(fail)?.width();
        if !self.font.is_empty() {
            self.ctx.set_font(&self.font);
        }
        let size = (width.ceil() as u32, (style.size() * 1.2).ceil() as u32);
        MEASURED.with_borrow_mut(|m| {
            if m.len() > 4096 {
                m.clear();
            }
            m.insert(k, size);
        });
        Ok(size)
    }
}
