//! The tables of differences: the latest mismatches and intended differences, the mismatches
//! grouped by input, and each candidate's latest exploration.

use maud::{Markup, html};

use crate::domain::compare::Outcome;
use crate::domain::definition::Experiment;
use crate::domain::report::{Explored, Mismatch, MismatchGroup};

/// One row of the latest mismatches or intended differences: when, which candidate, the request,
/// what differed (and, when intended, as what it was declared).
pub(super) fn difference_row(m: &Mismatch) -> Markup {
    let request = &m.request;
    html! {
        tr {
            td { (m.at) }
            td { (m.variant) }
            td {
                code {
                    (request.method) " " (request.path)
                    @if !request.query.is_empty() { "?" (request.query) }
                }
                @if !request.body.is_empty() { br; code { (request.body) } }
            }
            td {
                code class="diff" { (m.diff) }
                @if let Some(declared) = &m.intended { br; small { "intended: " (declared) } }
            }
        }
    }
}

/// The rows of a differences table, or one row saying there are `none`.
pub(super) fn difference_rows(differences: &[Mismatch], none: &str) -> Markup {
    html! {
        @for m in differences { (difference_row(m)) }
        @if differences.is_empty() { tr { td colspan="4" { (none) } } }
    }
}

/// The header row of both differences tables.
pub(super) fn difference_heading() -> Markup {
    html! {
        tr { th { "at" } th { "variant" } th { "request" } th { "difference" } }
    }
}

/// One distinct mismatching input: how often, which candidate, the request, the latest difference.
pub(super) fn group_row(g: &MismatchGroup) -> Markup {
    html! {
        tr {
            td class="count" { (g.count) }
            td { (g.variant) }
            td { code { (g.input) } }
            td { code class="diff" { (g.diff) } }
            td { (g.latest_at) }
        }
    }
}

/// The mismatches grouped by input, or one row saying there are none.
pub(super) fn group_rows(groups: &[MismatchGroup]) -> Markup {
    html! {
        @for g in groups { (group_row(g)) }
        @if groups.is_empty() { tr { td colspan="5" { "No mismatches in this window." } } }
    }
}

/// The latest exploration of each candidate explored: the minimal input found, or none.
pub(super) fn exploration_rows(experiment: &Experiment, explorations: &[Explored]) -> Markup {
    html! {
        @for candidate in &experiment.candidates {
            @if let Some(e) = explorations.iter().find(|e| e.candidate == candidate.id) {
                tr data-explored=(e.candidate) {
                    td { (e.candidate) }
                    td { (e.at) }
                    td { (e.distribution) ", seed " code { (e.seed) } }
                    @match &e.input {
                        Some(input) => {
                            td class="count" { (e.cases) }
                            td {
                                @if e.outcome == Some(Outcome::Intended) { "differs as intended on " }
                                @else { "differs on " }
                                code { (input) }
                                @if let Some(diff) = &e.diff { code class="diff" { (diff) } }
                            }
                        }
                        None => {
                            td class="count" { (e.cases) }
                            td { "no difference in " (e.cases) " cases" }
                        }
                    }
                }
            }
        }
        @if explorations.is_empty() {
            tr {
                td colspan="5" {
                    "Not explored yet: " code { "./build.sh explore <env> " (experiment.name) }
                }
            }
        }
    }
}
