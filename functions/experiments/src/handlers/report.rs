//! `experiment-report`: `GET /experiments`, `GET /experiments/{name}` (JSON) and
//! `GET /experiments/{name}/dashboard` (HTML with inline SVG charts).
//!
//! Figures cover the latest [`REPORT_WINDOW`] comparisons of an experiment. Beside them, the
//! experiment's counters ([`Counts`]): "compared X of Y requests" since the counters began.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use shared::ApiError;

use crate::adapters::store::{ExperimentStore, LoadError};
use crate::domain::definition::{Experiment, Experiments};
use crate::domain::record::{ComparisonRecord, Counts};
use crate::domain::report::{self, REPORT_WINDOW};

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
            one(app, name, shared::query::param(request, "correlationId")).await
        }
        ["experiments", name, "dashboard"] => dashboard_page(app, name).await,
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

/// What the JSON report and the dashboard show of one experiment.
struct Loaded {
    experiment: Experiment,
    report: report::Report,
    records: Vec<ComparisonRecord>,
    counts: Counts,
}

async fn load(app: &ReportApp, name: &str) -> Result<Loaded, ApiError> {
    let experiments = experiments(app).await?;
    let experiment = experiments.by_name.get(name).cloned().ok_or_else(|| {
        ApiError::not_found(format!("no experiment named {name}; see GET /experiments"))
    })?;
    let unavailable = |error: crate::adapters::store::StoreError| {
        tracing::warn!(%error, "results unavailable");
        ApiError::unavailable()
    };
    let (records, counts) = tokio::join!(
        app.store.latest(name, REPORT_WINDOW),
        app.store.counts(name)
    );
    let (records, counts) = (records.map_err(unavailable)?, counts.map_err(unavailable)?);
    let report = report::report(&experiment, &records, &app.memory_mb);
    Ok(Loaded {
        experiment,
        report,
        records,
        counts,
    })
}

/// The report; with `?correlationId=`, also that request's comparison (`null` until it is stored).
async fn one(
    app: &ReportApp,
    name: &str,
    correlation_id: Option<String>,
) -> Result<Response<Body>, ApiError> {
    let loaded = load(app, name).await?;
    let mut body = serde_json::json!({
        "definition": loaded.experiment,
        "report": loaded.report,
        "counts": loaded.counts,
        "compared": loaded.counts.sentence(),
    });
    if let Some(id) = correlation_id {
        body["comparison"] =
            serde_json::to_value(loaded.records.iter().find(|r| r.correlation_id == id))
                .unwrap_or_default();
    }
    Ok(shared::http::json(StatusCode::OK, &body))
}

async fn dashboard_page(app: &ReportApp, name: &str) -> Result<Response<Body>, ApiError> {
    let loaded = load(app, name).await?;
    Ok(shared::http::with_body(
        StatusCode::OK,
        "text/html; charset=utf-8",
        Body::Text(
            dashboard::render(&loaded.experiment, &loaded.report, &loaded.counts).into_string(),
        ),
    ))
}
