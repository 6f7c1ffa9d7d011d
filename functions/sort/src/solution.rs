//! The `sort-candidate-fixed` function: the workshop exercise with its two mistakes fixed.
//!
//! Kept line for line beside `exercise.rs` so the diff between the two is exactly the fix.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};

use crate::domain::{SortableList, compare_numbers};

/// Sorts the list ascending.
pub fn sort(list: SortableList) -> SortableList {
    match list {
        SortableList::Numbers(mut numbers) => {
            numbers.sort_by(compare_numbers);
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
    shared::http::with_body(
        StatusCode::OK,
        "application/json",
        Body::Text(list.to_json()),
    )
}
