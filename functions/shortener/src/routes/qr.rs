//! `GET /{code}/qr.svg`: a QR code of the link's short URL (its base from
//! [`super::short_url_base`]). `404` for an unknown code, `410` for a taken-down link (no code for
//! a phishing link); a disabled or expired link still gets its code, which scans to the short URL
//! and so to whatever the link answers then.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use shared::ApiError;

use crate::App;
use crate::domain::code::ShortCode;
use crate::domain::link::Availability;

pub async fn get(app: &App, request: &Request, raw_code: &str) -> Response<Body> {
    let Ok(code) = ShortCode::parse(raw_code) else {
        return ApiError::not_found("no link has this code").into_response();
    };
    let link = match app.store.get(&code).await {
        Ok(Some(link)) => link,
        Ok(None) => return ApiError::not_found("no link has this code").into_response(),
        Err(error) => return crate::AppError::from(error).into_response(),
    };
    if link.availability(super::now()) == Availability::TakenDown {
        return super::redirect::taken_down(&link);
    }
    let base = match super::short_url_base(app, request) {
        Ok(base) => base,
        Err(error) => return error.into_response(),
    };
    let short_url = format!("{base}/{code}");
    match crate::domain::qr::svg(&short_url) {
        Ok(svg) => {
            let mut response =
                shared::http::with_body(StatusCode::OK, "image/svg+xml", Body::Text(svg));
            // `private`: a shared cache (a CDN in front, a corporate proxy) must not hand one
            // client's answer to another; a take-down shows within an hour.
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            );
            response
        }
        Err(error) => {
            tracing::error!(code = %code, %error, "QR code failed");
            ApiError::internal().into_response()
        }
    }
}
