//! `experiment-report`: `GET /experiments`, `GET /experiments/{name}` (JSON) and
//! `GET /experiments/{name}/dashboard` (HTML with inline SVG charts).
//!
//! Figures cover the latest [`REPORT_WINDOW`] comparisons of an experiment. Beside them, the
//! experiment's counters ([`Counts`]): "compared X of Y requests" since the counters began.
//!
//! By default the figures cover the comparisons since the current versions (those whose variants
//! ran the versions of the latest comparison, [`crate::domain::versions`]), so that a fix shows at
//! once; `?all=1` covers every comparison of the window.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use shared::ApiError;

use crate::adapters::store::{ExperimentStore, LoadError};
use crate::domain::definition::{Experiment, Experiments};
use crate::domain::promotion::Event;
use crate::domain::record::{ComparisonRecord, Counts};
use crate::domain::report::{self, REPORT_WINDOW};
use crate::domain::{coverage, tally, versions};

/// The report's view: the dashboard page.
pub mod dashboard;

pub struct ReportApp {
    pub store: ExperimentStore,
    /// Memory size (MB) of each function, by name, for the verdict's cost (`FUNCTION_MEMORY_MB`).
    pub memory_mb: std::collections::BTreeMap<String, u32>,
}

pub async fn handler(app: &ReportApp, request: Request) -> Response<Body> {
    shared::run::traced(
        request,
        |request, _| async move { route(app, &request).await },
    )
    .await
}

async fn route(app: &ReportApp, request: &Request) -> Response<Body> {
    let path = match request.raw_http_path() {
        raw if !raw.is_empty() => raw.to_owned(),
        _ => request.uri().path().to_owned(),
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if request.method() != Method::GET {
        return ApiError::method_not_allowed("GET").into_response();
    }
    let result = match segments.as_slice() {
        ["experiments"] => list(app).await,
        ["experiments", name] => {
            one(
                app,
                name,
                View::parse(request),
                shared::query::param(request, "correlationId"),
            )
            .await
        }
        ["experiments", name, "dashboard"] => dashboard_page(app, name, View::parse(request)).await,
        _ => Err(ApiError::not_found("no such route; try GET /experiments")),
    };
    result.unwrap_or_else(ApiError::into_response)
}

async fn experiments(app: &ReportApp) -> Result<Experiments, ApiError> {
    app.store.experiments().await.map_err(|error| match error {
        LoadError::Store(error) => {
            tracing::warn!(%error, "definitions unavailable");
            ApiError::unavailable()
        }
        LoadError::Invalid(error) => {
            tracing::error!(%error, "stored definitions are invalid");
            ApiError::internal()
        }
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed<'a> {
    name: &'a str,
    path: &'a str,
    control: &'a str,
    candidates: Vec<&'a str>,
    sample_percent: f64,
    report: String,
    dashboard: String,
}

async fn list(app: &ReportApp) -> Result<Response<Body>, ApiError> {
    let experiments = experiments(app).await?;
    let listed: Vec<Listed> = experiments
        .by_name
        .values()
        .map(|e| Listed {
            name: &e.name,
            path: &e.path,
            control: &e.control.function,
            candidates: e.candidates.iter().map(|c| c.id.as_str()).collect(),
            sample_percent: e.sample_percent,
            report: format!("/experiments/{}", e.name),
            dashboard: format!("/experiments/{}/dashboard", e.name),
        })
        .collect();
    Ok(shared::http::json(
        StatusCode::OK,
        &serde_json::json!({ "experiments": listed }),
    ))
}

/// Which comparisons a report covers: those since the current versions (the default), or all.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    /// `?all=1`: every comparison of the window.
    pub all: bool,
    /// The versions of the latest comparison, by variant id (`null` where none is known).
    pub versions: std::collections::BTreeMap<String, Option<String>>,
    /// Comparisons of the window left out because they ran other versions, or other functions
    /// (made before a promotion, or before one was undone).
    pub older: usize,
}

impl View {
    fn parse(request: &Request) -> Self {
        Self {
            all: shared::query::param(request, "all").is_some_and(|v| v == "1" || v == "true"),
            ..Self::default()
        }
    }
}

/// What the JSON report and the dashboard show of one experiment.
struct Loaded {
    experiment: Experiment,
    report: report::Report,
    records: Vec<ComparisonRecord>,
    counts: Counts,
    view: View,
    /// Every promotion and undo of the experiment, oldest first.
    history: Vec<Event>,
}

async fn load(app: &ReportApp, name: &str, mut view: View) -> Result<Loaded, ApiError> {
    let experiments = experiments(app).await?;
    let experiment = experiments.by_name.get(name).cloned().ok_or_else(|| {
        ApiError::not_found(format!("no experiment named {name}; see GET /experiments"))
    })?;
    let unavailable = |error: crate::adapters::store::StoreError| {
        tracing::warn!(%error, "results unavailable");
        ApiError::unavailable()
    };
    let (records, counts, explorations, promotions, tallies) = tokio::join!(
        app.store.latest(name, REPORT_WINDOW),
        app.store.counts(name),
        app.store.explorations(name),
        app.store.promotions_of(name),
        app.store.tallies(name)
    );
    let (records, counts) = (records.map_err(unavailable)?, counts.map_err(unavailable)?);
    let history = promotions.map_err(unavailable)?.history;
    let tallies = tallies.map_err(unavailable)?;
    let (current, latest_versions, older) = versions::since_current(records.clone(), &experiment);
    // The current versions' correctness is counted on their running totals (every comparison
    // they ever had), so that the verdict's guarantee holds; "all comparisons" is a look at the
    // window, without it.
    let totals = tally::current(&tallies, &experiment, &latest_versions);
    view.versions = latest_versions;
    view.older = older;
    let mut report = if view.all {
        report::report(&experiment, &records, &app.memory_mb)
    } else {
        // Counted since the last reset, all versions: lost unevenly, nothing seen since can be
        // trusted to represent the traffic either.
        let coverage = coverage::coverage(&counts.by_class, counts.pending());
        report::report_on_totals(
            &experiment,
            &current,
            &app.memory_mb,
            Some(&totals),
            Some(coverage),
        )
    };
    // Explorations are extra: the report stands without them.
    report.explorations = explorations.unwrap_or_else(|error| {
        tracing::warn!(%error, "explorations unavailable");
        Vec::new()
    });
    Ok(Loaded {
        experiment,
        report,
        records,
        counts,
        view,
        history,
    })
}

/// The report; with `?correlationId=`, also that request's comparison (`null` until it is stored).
async fn one(
    app: &ReportApp,
    name: &str,
    view: View,
    correlation_id: Option<String>,
) -> Result<Response<Body>, ApiError> {
    let loaded = load(app, name, view).await?;
    let mut body = serde_json::json!({
        "definition": loaded.experiment,
        "report": loaded.report,
        "counts": loaded.counts,
        "compared": loaded.counts.sentence(),
        "view": loaded.view,
        "promotions": loaded.history,
    });
    if let Some(id) = correlation_id {
        body["comparison"] =
            serde_json::to_value(loaded.records.iter().find(|r| r.correlation_id == id))
                .unwrap_or_default();
    }
    Ok(shared::http::json(StatusCode::OK, &body))
}

async fn dashboard_page(
    app: &ReportApp,
    name: &str,
    view: View,
) -> Result<Response<Body>, ApiError> {
    let loaded = load(app, name, view).await?;
    Ok(shared::page::html(
        StatusCode::OK,
        dashboard::render(
            &loaded.experiment,
            &loaded.report,
            &loaded.counts,
            &loaded.view,
            &loaded.history,
        )
        .into_string(),
    ))
}
