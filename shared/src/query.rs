//! Reading one query-string parameter, wherever the event put it.
//!
//! API Gateway events arrive with parsed `queryStringParameters`; requests built in-process (tests,
//! some local emulators) only carry the query in the URI. Both are read, the parsed map first.

use lambda_http::{Request, RequestExt};

/// The first value of `name`, percent-decoded; `None` when absent or empty (empty means "not given").
pub fn param(request: &Request, name: &str) -> Option<String> {
    let from_event = request
        .query_string_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned);
    from_event
        .or_else(|| {
            let query = request.uri().query()?;
            form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        })
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;
    use std::collections::HashMap;

    fn request(uri: &str) -> Request {
        lambda_http::http::Request::builder()
            .uri(uri)
            .body(Body::Empty)
            .expect("a static test URI is valid")
    }

    #[test]
    fn query_in_the_uri_is_read_and_decoded() {
        let request = request("/round?other=1&number=%2D2.5");
        assert_eq!(param(&request, "number").as_deref(), Some("-2.5"));
    }

    #[test]
    fn parsed_event_parameters_win_over_the_uri() {
        let request = request("/round?number=1")
            .with_query_string_parameters(HashMap::from([("number".to_owned(), "2".to_owned())]));
        assert_eq!(param(&request, "number").as_deref(), Some("2"));
    }

    #[test]
    fn empty_or_absent_parameter_is_none() {
        assert_eq!(param(&request("/round?number="), "number"), None);
        assert_eq!(param(&request("/round"), "number"), None);
    }
}
