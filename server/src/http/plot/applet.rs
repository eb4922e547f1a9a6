//! `plot.svg?applet=…`: a run drawn as an applet draws it (the Monitor's live plot).

use axum::http::StatusCode;
use hutch_app::model::applets::spec::Source;
use hutch_app::model::applets::{Applet, AppletKind, AppletSpec};
use hutch_app::plot::run_data::RunData;
use hutch_app::plot::view;

use crate::http::ApiError;

/// The spec of the applet `choice` names (see [`PlotParams::applet`]) for this run; `None`
/// when `first` finds no applet that fits (the defaults are drawn then).
pub(super) fn applet_spec(
    choice: &str,
    applets: &[Applet],
    run: &RunData,
) -> Result<Option<AppletSpec>, ApiError> {
    let plot = |k: AppletKind| {
        matches!(
            k,
            AppletKind::Line | AppletKind::Scatter | AppletKind::Image | AppletKind::Histogram
        )
    };
    if choice != "first" {
        let a = applets.iter().find(|a| a.uid == choice).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("there is no applet '{choice}'; 'applet' is 'first' or an applet's uid"),
            )
        })?;
        let spec = a
            .parsed()
            .map_err(|e| ApiError::bad_param(format!("applet '{}': {e}", a.name)))?;
        if !plot(spec.kind()) {
            return Err(ApiError::bad_param(format!(
                "applet '{}' is a {} applet, not a plot",
                a.name,
                spec.kind().as_str()
            )));
        }
        return Ok(Some(spec));
    }
    let fits = |spec: &AppletSpec| {
        let follows = match spec.data().map(|d| &d.source) {
            Some(Source::Latest) => true,
            Some(Source::LatestOfPlan(plan)) => plan == run.plan_name(),
            _ => false,
        };
        let stream = spec.data().and_then(|d| run.stream(&d.stream));
        plot(spec.kind())
            && follows
            && stream.is_some_and(|s| !s.is_empty())
            && view::lacks(spec, run).is_none()
    };
    Ok(applets
        .iter()
        .filter_map(|a| a.parsed().ok())
        .find(|spec| fits(spec)))
}
