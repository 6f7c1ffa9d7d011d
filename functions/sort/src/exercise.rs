//! The `sort-candidate` exercise, as handed to workshop attendees (slide 27).
//!
//! It is almost done: it parses like the control and answers every request, but two minor things
//! make it disagree with the control. Find them, fix them here, deploy, and watch the experiment
//! dashboard agree. The finished version is in `solution.rs`; don't peek.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};

use crate::domain::SortableList;

/// Sorts the list ascending.
pub fn sort(list: SortableList) -> SortableList {
    match list {
        SortableList::Numbers(mut numbers) => {
            // WORKSHOP BUG 1: compare this function's answer for [10, 9, 2] with the control's.
            numbers.sort_by_key(|number| number.to_string());
            SortableList::Numbers(numbers)
        }
        SortableList::Strings(mut strings) => {
            strings.sort();
            SortableList::Strings(strings)
        }
    }
}

/// The successful response: the sorted list as JSON.
pub fn response(list: &SortableList) -> Response<Body> {
    // WORKSHOP BUG 2: compare this response's headers with the control's.
    shared::http::with_body(StatusCode::OK, "text/plain", Body::Text(list.to_json()))
}
