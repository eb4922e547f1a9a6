//! `GET /api/runs/{uid}/plot.svg` and `.png`: a run drawn for e-logs and reports, by the same
//! code (`hutch_app::plot`) that draws the dashboard's `<canvas>` applets.

use std::sync::Once;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use hutch_app::model::applets::{AppletKind, AppletSpec};
use hutch_app::plot::chart::{self, Picture, Theme};
use hutch_app::plot::run_data::RunData;
use hutch_app::plot::view::{self, Inputs, ViewState};
use plotters::prelude::*;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::params::{Params, QueryParams};

mod applet;
use super::ApiError;
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::runs::query;
use crate::AppState;
use applet::applet_spec;

pub fn routes() -> Api {
    Api::new()
        .get(
            "/api/runs/{uid}/plot.svg",
            Need::Scope(scopes::READ_RUNS),
            svg,
        )
        .get(
            "/api/runs/{uid}/plot.png",
            Need::Scope(scopes::READ_RUNS),
            png,
        )
}

/// What to draw: every parameter is optional, with defaults a scientist expects.
#[derive(Deserialize, Default)]
#[serde(default)]
struct PlotParams {
    kind: Option<String>,
    stream: Option<String>,
    x: Option<String>,
    y: Option<String>,
    field: Option<String>,
    z: Option<String>,
    bins: Option<u64>,
    colormap: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    /// Draw as an applet does: `first` (the first plot applet that follows new runs and whose
    /// fields this run has, else the defaults) or an applet's uid.
    applet: Option<String>,
    /// Not used for drawing: the events a page has seen, so that its address changes as a
    /// running scan grows and the browser asks again (the Monitor's live plot).
    #[allow(dead_code)]
    seen: Option<u64>,
}

impl QueryParams for PlotParams {
    const ROUTE: &'static str = "a plot picture";
    fn expects(key: &str) -> &'static str {
        match key {
            "bins" | "seen" => "a whole number",
            "applet" => "'first' or an applet's uid",
            _ => PIXELS,
        }
    }
}

const PIXELS: &str = "a whole number of pixels from 100 to 4000";

/// The most lines one picture draws (`y=` after duplicates are dropped).
const MAX_Y: usize = 16;

/// Pictures drawn at once: drawing is CPU work on blocking threads, and a burst of plot
/// requests must not take every core from the queue and the document feed.
static DRAWING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// What to draw, from the query: an applet spec against this run.
struct Request {
    spec: AppletSpec,
    size: (u32, u32),
}

/// Without `kind`: a grid scan (a start with a 2-D `shape` and two motors) as an image,
/// anything else as lines.
fn default_kind(run: &RunData) -> &'static str {
    let grid = run.start.as_ref().and_then(|s| s.grid_shape()).is_some();
    if grid && run.motors().len() >= 2 {
        "image"
    } else {
        "line"
    }
}

fn size(q: &PlotParams) -> Result<(u32, u32), ApiError> {
    let side = |key: &str, value: Option<u32>, default: u32| -> Result<u32, ApiError> {
        match value {
            None => Ok(default),
            Some(n) if (100..=4000).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::bad_param(format!(
                "'{key}' must be {PIXELS}, got '{n}'"
            ))),
        }
    };
    Ok((side("width", q.width, 800)?, side("height", q.height, 500)?))
}

fn parse(uid: &str, q: &PlotParams, run: &RunData) -> Result<Request, ApiError> {
    let kind = match q.kind.as_deref().unwrap_or_else(|| default_kind(run)) {
        "line" => AppletKind::Line,
        "scatter" => AppletKind::Scatter,
        "histogram" => AppletKind::Histogram,
        "image" => AppletKind::Image,
        other => {
            return Err(ApiError::bad_param(format!(
                "'kind' must be line, scatter, histogram or image, got '{other}'"
            )))
        }
    };
    let size = size(q)?;
    let stream_name = q.stream.as_deref().unwrap_or("primary");
    let Some(stream) = run.stream(stream_name) else {
        let names: Vec<&str> = run.streams.values().map(|s| s.name.as_str()).collect();
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "run '{uid}' has no stream '{stream_name}'; it has {}",
                if names.is_empty() {
                    "none yet".to_string()
                } else {
                    names.join(", ")
                }
            ),
        ));
    };
    // Defaults as a scientist expects: the scan's motor against the hinted detectors.
    let x = q.x.clone().unwrap_or_else(|| {
        run.motors()
            .into_iter()
            .find(|m| stream.columns.contains_key(m))
            .unwrap_or_else(|| "seq_num".to_string())
    });
    let mut y: Vec<String> = Vec::new();
    for f in q.y.iter().flat_map(|y| y.split(',')) {
        let f = f.trim();
        if f.is_empty() || y.iter().any(|seen| seen == f) {
            continue;
        }
        if y.len() == MAX_Y {
            return Err(ApiError::bad_param(format!(
                "'y' names more than {MAX_Y} fields; a picture draws at most {MAX_Y} lines"
            )));
        }
        y.push(f.to_string());
    }
    if y.is_empty() {
        let motors = run.motors();
        y = stream
            .hinted
            .iter()
            .filter(|f| **f != x && !motors.contains(f) && stream.columns.contains_key(*f))
            .cloned()
            .collect();
        if y.is_empty() {
            y = stream
                .columns
                .keys()
                .filter(|f| **f != x)
                .take(4)
                .cloned()
                .collect();
        }
    }
    let mut spec = Map::new();
    spec.insert("run".into(), json!(uid));
    spec.insert("stream".into(), json!(stream_name));
    let mut fields: Vec<String> = Vec::new();
    match kind {
        AppletKind::Line | AppletKind::Scatter => {
            spec.insert("x".into(), json!(x));
            spec.insert("y".into(), json!(y));
            fields.push(x);
            fields.extend(y);
        }
        AppletKind::Histogram => {
            let field = q
                .field
                .clone()
                .or_else(|| y.first().cloned())
                .unwrap_or_default();
            spec.insert("field".into(), json!(field));
            fields.push(field);
            if let Some(b) = q.bins {
                spec.insert("bins".into(), json!(b));
            }
        }
        AppletKind::Image => {
            if let Some(f) = &q.field {
                spec.insert("field".into(), json!(f));
            } else if q.kind.is_none() {
                // A grid scan by default: the detector over the fast (x) and slow (y) motors.
                let motors = run.motors();
                let z = y.first().cloned().unwrap_or_default();
                for (k, v) in [("x", &motors[1]), ("y", &motors[0]), ("z", &z)] {
                    spec.insert(k.into(), json!(v));
                    fields.push(v.clone());
                }
            } else {
                for (k, v) in [("x", &q.x), ("y", &q.y), ("z", &q.z)] {
                    let v = v.as_ref().ok_or_else(|| {
                        ApiError::bad_param(
                            "an image plot needs 'field' (a 2-D field) or 'x', 'y' and 'z' \
                             (a grid scan's motors and detector)",
                        )
                    })?;
                    spec.insert(k.into(), json!(v));
                    fields.push(v.clone());
                }
            }
            if let Some(c) = &q.colormap {
                spec.insert("colormap".into(), json!(c));
            }
        }
        _ => unreachable!("kinds are parsed above"),
    }
    let spec = Value::Object(spec);
    // The spec's keys are the query's parameters: name the parameter, not `spec.<key>`.
    let spec = AppletSpec::parse(kind, &spec)
        .map_err(|e| ApiError::bad_param(format!("'{}' {}", e.field, e.msg)))?;
    let known = |f: &str| stream.column(f).is_some();
    if let Some(bad) = fields.iter().find(|f| !known(f)) {
        let mut names = vec!["seq_num", "time"];
        names.extend(stream.columns.keys().map(String::as_str));
        return Err(ApiError::bad_param(format!(
            "'{bad}' is not a numeric field of stream '{stream_name}'; it has {}",
            names.join(", ")
        )));
    }
    Ok(Request { spec, size })
}

/// Load the run, then build and draw its picture on a blocking thread, at most [`DRAWING`] at
/// a time; `draw` turns the picture into the reply's bytes.
async fn drawn<T: Send + 'static>(
    state: &AppState,
    uid: String,
    q: PlotParams,
    draw: impl FnOnce(&Picture, (u32, u32)) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let text = query::documents(&state.db, &uid)
        .await
        .map_err(ApiError::database)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("there is no run '{uid}'; GET /api/runs lists the runs"),
            )
        })?;
    let applets = match &q.applet {
        Some(_) => state.applets.list().await.map_err(ApiError::database)?,
        None => Vec::new(),
    };
    let _permit = DRAWING
        .acquire()
        .await
        .map_err(|_| draw_failed("the drawing pool is closed".into()))?;
    tokio::task::spawn_blocking(move || {
        let mut run = RunData::new(&uid);
        for line in text.lines() {
            if let Ok((name, doc)) = serde_json::from_str::<(String, Value)>(line) {
                run.apply(&name, doc);
            }
        }
        let chosen = match &q.applet {
            Some(choice) => applet_spec(choice, &applets, &run)?,
            None => None,
        };
        let req = match chosen {
            Some(spec) => Request {
                spec,
                size: size(&q)?,
            },
            None => parse(&uid, &q, &run)?,
        };
        let inputs = Inputs {
            live: Some(&run),
            ..Inputs::default()
        };
        let picture = view::picture(&req.spec, &inputs, &ViewState::default(), req.size);
        register_font();
        draw(&picture, req.size)
    })
    .await
    .map_err(|e| draw_failed(e.to_string()))?
}

fn register_font() {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .is_err()
        {
            tracing::error!("the embedded plot font could not be loaded; PNG plots have no text");
        }
    });
}

fn draw_failed(e: String) -> ApiError {
    tracing::error!("drawing a plot failed: {e}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the plot could not be drawn; see the server log",
    )
}

async fn svg(
    State(state): State<AppState>,
    Path(uid): Path<String>,
    Params(q): Params<PlotParams>,
) -> Result<Response, ApiError> {
    let out = drawn(&state, uid, q, |picture, size| {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
            let theme = Theme {
                svg: true,
                ..Theme::default()
            };
            chart::draw(&root, picture, theme).map_err(draw_failed)?;
            root.present().map_err(|e| draw_failed(e.to_string()))?;
        }
        Ok(out)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], out).into_response())
}

async fn png(
    State(state): State<AppState>,
    Path(uid): Path<String>,
    Params(q): Params<PlotParams>,
) -> Result<Response, ApiError> {
    let out = drawn(&state, uid, q, |picture, (w, h)| {
        let mut pixels = vec![0u8; w as usize * h as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
            chart::draw(&root, picture, Theme::default()).map_err(draw_failed)?;
            root.present().map_err(|e| draw_failed(e.to_string()))?;
        }
        let mut out = Vec::new();
        {
            let mut encoder = ::png::Encoder::new(&mut out, w, h);
            encoder.set_color(::png::ColorType::Rgb);
            encoder.set_depth(::png::BitDepth::Eight);
            let mut writer = encoder
                .write_header()
                .map_err(|e| draw_failed(e.to_string()))?;
            writer
                .write_image_data(&pixels)
                .map_err(|e| draw_failed(e.to_string()))?;
        }
        Ok(out)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], out).into_response())
}
