//! `POST /sort` with a JSON list: answers the list sorted ascending.
//!
//! Three deployable functions share parsing and errors and differ in how they sort and answer:
//! `sort-control` (production, [`domain::sorted`]), `sort-candidate` (the workshop exercise in
//! [`exercise`], with two deliberate mistakes) and `sort-candidate-fixed` (its solution in
//! [`solution`], which must answer exactly like the control).
//!
//! Response: `200` with the sorted JSON list (`application/json`). Errors are `400` JSON
//! (`invalid_json`, `not_a_list`, `mixed_types`, `unsupported_element`), `413` for a body over
//! 1 MiB (`body_too_large`) and `405` for any method but POST.

pub mod domain;

/// Candidates written by workshop attendees (`./build.sh new-candidate <family> <name>`), one
/// module per file in `src/attendees/`, declared by build.rs: adding one edits no file here.
pub mod attendees {
    include!(concat!(env!("OUT_DIR"), "/attendees.rs"));
}
pub mod exercise;
pub mod solution;

use domain::{ListError, SortableList};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use shared::ApiError;
use shared::http::body_bytes;

/// One way of sorting and answering: what differs between the three functions.
struct Variant {
    sort: fn(SortableList) -> SortableList,
    response: fn(&SortableList) -> Response<Body>,
}

const CONTROL: Variant = Variant {
    sort: domain::sorted,
    response: control_response,
};
const EXERCISE: Variant = Variant {
    sort: exercise::sort,
    response: exercise::response,
};
const SOLUTION: Variant = Variant {
    sort: solution::sort,
    response: solution::response,
};

/// Handler of `sort-control`.
pub async fn sort_control(request: Request) -> Response<Body> {
    handle(request, &CONTROL).await
}

/// Handler of `sort-candidate`: the workshop exercise.
pub async fn sort_candidate(request: Request) -> Response<Body> {
    handle(request, &EXERCISE).await
}

/// Handler of `sort-candidate-fixed`: the exercise's solution.
pub async fn sort_candidate_fixed(request: Request) -> Response<Body> {
    handle(request, &SOLUTION).await
}

fn control_response(list: &SortableList) -> Response<Body> {
    shared::http::with_body(
        StatusCode::OK,
        "application/json",
        Body::Text(list.to_json()),
    )
}

async fn handle(request: Request, variant: &'static Variant) -> Response<Body> {
    shared::run::traced(request, |request, _correlation_id| async move {
        if request.method() != Method::POST {
            return ApiError::method_not_allowed("POST").into_response();
        }
        match SortableList::parse(body_bytes(request.body())) {
            Ok(list) => (variant.response)(&(variant.sort)(list)),
            Err(error) => to_api_error(&error).into_response(),
        }
    })
    .await
}

fn to_api_error(error: &ListError) -> ApiError {
    let status = match error {
        ListError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, error.code(), error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn post(body: &str) -> Request {
        lambda_http::http::Request::builder()
            .method(Method::POST)
            .uri("/sort")
            .body(Body::Text(body.to_owned()))
            .expect("static test request is valid")
    }

    fn body_text(response: &Response<Body>) -> &str {
        std::str::from_utf8(body_bytes(response.body())).expect("UTF-8 body")
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime builds")
            .block_on(future)
    }

    #[tokio::test]
    async fn control_answers_the_sorted_list_as_json() {
        let response = sort_control(post("[10, 9, 2]")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(body_text(&response), "[2,9,10]");
    }

    fn content_type(response: &Response<Body>) -> Option<&str> {
        response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
    }

    /// The exercise's answer must be what it answers as shipped (a deliberate mistake) or exactly
    /// the control's: an attendee's fix keeps this passing, any third answer fails it.
    fn assert_shipped_or_control<T: PartialEq + std::fmt::Debug>(
        case: &str,
        exercise: T,
        shipped: T,
        control: T,
    ) {
        assert!(
            exercise == shipped || exercise == control,
            "case {case}: the exercise answered {exercise:?}, neither its shipped mistake \
             {shipped:?} nor the control's {control:?}"
        );
    }

    #[tokio::test]
    async fn exercise_candidate_sorts_numbers_as_text_as_shipped_or_exactly_like_the_control() {
        for (list, shipped) in [
            ("[10, 9, 2]", "[10,2,9]"),
            ("[-1.5, 2.25, -10, 0.5]", "[-1.5,-10,0.5,2.25]"),
            // 2^53 + 1 and 2^53 are one f64: a sort through f64 leaves them in this order.
            (
                "[9007199254740993, 9007199254740992, 10, 9]",
                "[10,9,9007199254740992,9007199254740993]",
            ),
        ] {
            let control = sort_control(post(list)).await;
            let exercise = sort_candidate(post(list)).await;
            assert_eq!(exercise.status(), StatusCode::OK, "case {list}");
            assert_shipped_or_control(list, body_text(&exercise), shipped, body_text(&control));
        }
    }

    #[tokio::test]
    async fn exercise_candidate_answers_text_plain_as_shipped_or_the_controls_content_type() {
        let list = r#"["b", "a"]"#;
        let control = sort_control(post(list)).await;
        let exercise = sort_candidate(post(list)).await;
        assert_eq!(exercise.status(), StatusCode::OK);
        assert_shipped_or_control(
            "content-type",
            content_type(&exercise),
            Some("text/plain"),
            content_type(&control),
        );
        assert_eq!(body_text(&exercise), body_text(&control));
    }

    #[tokio::test]
    async fn fixed_candidate_answers_like_the_control() {
        let response = sort_candidate_fixed(post("[10, 9, 2]")).await;
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(body_text(&response), "[2,9,10]");
    }

    #[tokio::test]
    async fn every_function_refuses_bad_bodies_alike() {
        let huge = format!("[{}1]", "1,".repeat(domain::MAX_BODY_BYTES / 2));
        for (body, status, code) in [
            ("not json", 400, "invalid_json"),
            ("{}", 400, "not_a_list"),
            ("[1, \"a\"]", 400, "mixed_types"),
            ("[null]", 400, "unsupported_element"),
            (huge.as_str(), 413, "body_too_large"),
        ] {
            for (name, response) in [
                ("control", sort_control(post(body)).await),
                ("exercise", sort_candidate(post(body)).await),
                ("solution", sort_candidate_fixed(post(body)).await),
            ] {
                let shown = &body[..body.len().min(20)];
                assert_eq!(response.status().as_u16(), status, "{name} {shown}");
                assert_eq!(response.headers()["content-type"], "application/json");
                let error: shared::ErrorBody =
                    serde_json::from_slice(body_bytes(response.body())).expect("JSON error");
                assert_eq!(error.error, code, "{name} {shown}");
            }
        }
    }

    #[tokio::test]
    async fn get_is_a_405() {
        let request = lambda_http::http::Request::builder()
            .method(Method::GET)
            .uri("/sort")
            .body(Body::Empty)
            .expect("static test request is valid");
        assert_eq!(
            sort_control(request).await.status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    proptest! {
        #[test]
        fn fixed_candidate_equals_control_on_random_lists(list in domain::tests::any_list()) {
            let body = list.to_json();
            let (control, fixed) = block_on(async {
                (sort_control(post(&body)).await, sort_candidate_fixed(post(&body)).await)
            });
            prop_assert_eq!(control.status(), fixed.status());
            prop_assert_eq!(&control.headers()["content-type"], &fixed.headers()["content-type"]);
            prop_assert_eq!(body_text(&control), body_text(&fixed));
        }
    }
}
