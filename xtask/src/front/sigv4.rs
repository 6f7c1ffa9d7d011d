//! SigV4 verification as a Function URL with `AuthType: AWS_IAM` does it: the signature is
//! computed again from the request as received (its method, path, query, the headers it says it
//! signed, its body) with the secret of the access key it names, and compared.
//!
//! The computation is `aws-sigv4`'s (the SDK's signer), given exactly the request's signed headers
//! and its own timestamp; the checks around it (scope, clock skew, unknown keys) and the answers
//! are AWS's, as recorded from AWS (sources in [`Denial::answer`]). It is tested against AWS's
//! published example and, in the suite, against requests curl signs with its own implementation.
//!
//! Not modelled: presigned URLs (the signature in the query string), IAM policies (any known key
//! may call any URL), and session tokens' validity (a token is only part of what is signed).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;

/// How far the request's `x-amz-date` may be from the receiver's clock (Lambda: 5 minutes).
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// Why a request is refused; each is a `403` with AWS's error type and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No `Authorization` header at all.
    Unsigned,
    /// An access key the receiver does not know.
    UnknownKey,
    /// The `Authorization` header or `x-amz-date` cannot be read.
    Malformed(String),
    /// The credential scope names another region, service, day or terminator.
    Scope(String),
    /// Signed more than [`MAX_SKEW`] before the receiver's clock.
    Expired { signed: String, now: String },
    /// Signed more than [`MAX_SKEW`] after the receiver's clock.
    NotYetCurrent { signed: String, now: String },
    /// The signature differs from the one computed here.
    Mismatch,
}

/// The answer to a refused request: status, `x-amzn-ErrorType`, JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub error_type: &'static str,
    pub body: String,
}

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

impl Denial {
    /// What AWS answers. Recorded from AWS, in public issue threads: an unauthorised Function URL
    /// request (awsdocs/aws-lambda-developer-guide#494: `403`, `AccessDeniedException`,
    /// `{"Message":"Forbidden. For troubleshooting ..."}`); a wrong signature on a Lambda API
    /// call (erlcloud/erlcloud#690: `InvalidSignatureException`, `{"message":"The request
    /// signature we calculated ..."}`); an expired one (serverless/serverless#27: "Signature
    /// expired: ... (... - 5 min.)", status 403); temporary credentials a Function URL did not
    /// accept (jamesmbourne/aws4-axios#1553: "The security token included in the request is
    /// invalid.").
    pub fn answer(&self) -> Answer {
        let (error_type, body) = match self {
            Self::Unsigned => (
                "AccessDeniedException",
                serde_json::json!({"Message": "Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}),
            ),
            Self::UnknownKey => (
                "UnrecognizedClientException",
                serde_json::json!({"message": "The security token included in the request is invalid."}),
            ),
            Self::Malformed(what) | Self::Scope(what) => (
                "IncompleteSignatureException",
                serde_json::json!({"message": what}),
            ),
            Self::Expired { signed, now } => (
                "InvalidSignatureException",
                serde_json::json!({"message": format!("Signature expired: {signed} is now earlier than {} ({now} - 5 min.)", shifted(now, -1))}),
            ),
            Self::NotYetCurrent { signed, now } => (
                "InvalidSignatureException",
                serde_json::json!({"message": format!("Signature not yet current: {signed} is still later than {} ({now} + 5 min.)", shifted(now, 1))}),
            ),
            Self::Mismatch => (
                "InvalidSignatureException",
                serde_json::json!({"message": MISMATCH}),
            ),
        };
        Answer {
            status: 403,
            error_type,
            body: body.to_string(),
        }
    }
}

/// `stamp` (`yyyymmddThhmmssZ`) moved by [`MAX_SKEW`] in `direction`.
fn shifted(stamp: &str, direction: i64) -> String {
    match parse_stamp(stamp) {
        Some(time) => {
            let skew = MAX_SKEW.as_secs() as i64 * direction;
            let moved = if skew < 0 {
                time - Duration::from_secs(skew.unsigned_abs())
            } else {
                time + Duration::from_secs(skew as u64)
            };
            format_stamp(moved)
        }
        None => stamp.to_owned(),
    }
}

/// The receiver: the keys it knows and the region its URLs are in.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// Access key id -> secret access key.
    pub keys: BTreeMap<String, String>,
    pub region: String,
}

/// A request as received.
pub struct Received<'a> {
    pub method: &'a str,
    /// Path and query, as sent.
    pub path_and_query: &'a str,
    /// Names lower-case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl Received<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
/// Signature=...` header.
#[derive(Debug, PartialEq, Eq)]
struct Authorization<'a> {
    key: &'a str,
    scope: Vec<&'a str>,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, Denial> {
    let malformed = |what: &str| Denial::Malformed(format!("Authorization header {what}"));
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| malformed("requires the algorithm AWS4-HMAC-SHA256"))?;
    let mut fields = BTreeMap::new();
    for part in rest.split(',') {
        let (name, value) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| malformed("has a part without '='"))?;
        fields.insert(name, value);
    }
    let field = |name: &str| {
        fields
            .get(name)
            .copied()
            .ok_or_else(|| malformed(&format!("requires the {name} parameter")))
    };
    let mut credential = field("Credential")?.split('/');
    let key = credential.next().unwrap_or_default();
    Ok(Authorization {
        key,
        scope: credential.collect(),
        signed_headers: field("SignedHeaders")?.split(';').collect(),
        signature: field("Signature")?,
    })
}

fn parse_stamp(stamp: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let time = time::PrimitiveDateTime::parse(stamp, format).ok()?;
    Some(SystemTime::from(time.assume_utc()))
}

fn format_stamp(time: SystemTime) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::from(time)
        .format(format)
        .unwrap_or_default()
}

impl Verifier {
    /// `Ok` when `request` carries a valid signature for this region's `lambda` service, made
    /// within [`MAX_SKEW`] of `now`.
    pub fn verify(&self, request: &Received<'_>, now: SystemTime) -> Result<(), Denial> {
        let Some(header) = request.header("authorization") else {
            return Err(Denial::Unsigned);
        };
        let authorization = parse_authorization(header)?;
        let secret = self.keys.get(authorization.key).ok_or(Denial::UnknownKey)?;
        let stamp = request
            .header("x-amz-date")
            .ok_or_else(|| Denial::Malformed("the x-amz-date header is required".into()))?;
        let signed_at = parse_stamp(stamp).ok_or_else(|| {
            Denial::Malformed(format!("x-amz-date {stamp:?} is not yyyymmddThhmmssZ"))
        })?;
        let (day, region, service, terminator) = match authorization.scope[..] {
            [day, region, service, terminator] => (day, region, service, terminator),
            _ => {
                return Err(Denial::Scope(
                    "Credential must have exactly 5 slash-delimited elements".into(),
                ));
            }
        };
        if region != self.region {
            return Err(Denial::Scope(format!(
                "Credential should be scoped to a valid region, not '{region}'. Use '{}'.",
                self.region
            )));
        }
        if service != super::SERVICE {
            return Err(Denial::Scope(format!(
                "Credential should be scoped to correct service: '{}'.",
                super::SERVICE
            )));
        }
        if terminator != "aws4_request" || !stamp.starts_with(day) {
            return Err(Denial::Scope(format!(
                "Credential should be scoped to the date of x-amz-date and end in aws4_request, not {day}/…/{terminator}"
            )));
        }
        if signed_at + MAX_SKEW < now {
            return Err(Denial::Expired {
                signed: stamp.to_owned(),
                now: format_stamp(now),
            });
        }
        if signed_at > now + MAX_SKEW {
            return Err(Denial::NotYetCurrent {
                signed: stamp.to_owned(),
                now: format_stamp(now),
            });
        }
        for required in ["host", "x-amz-date"] {
            if !authorization.signed_headers.contains(&required) {
                return Err(Denial::Malformed(format!(
                    "SignedHeaders must include {required}"
                )));
            }
        }
        let expected = self.signature(request, &authorization, secret, signed_at)?;
        if constant_time_eq(expected.as_bytes(), authorization.signature.as_bytes()) {
            Ok(())
        } else {
            Err(Denial::Mismatch)
        }
    }

    /// The signature of `request` computed here from its signed headers only.
    fn signature(
        &self,
        request: &Received<'_>,
        authorization: &Authorization<'_>,
        secret: &str,
        signed_at: SystemTime,
    ) -> Result<String, Denial> {
        // The signer adds x-amz-date (from `signed_at`) and x-amz-security-token (from the
        // identity) itself; every other signed header is given as received.
        let token = request.header("x-amz-security-token");
        let mut headers = Vec::new();
        for name in &authorization.signed_headers {
            if matches!(*name, "x-amz-date" | "x-amz-security-token") {
                continue;
            }
            let values: Vec<&str> = request
                .headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect();
            if values.is_empty() {
                return Err(Denial::Mismatch);
            }
            for value in values {
                headers.push((*name, value));
            }
        }
        let host = request.header("host").unwrap_or("localhost");
        let uri = format!("http://{host}{}", request.path_and_query);
        let body = match request.header("x-amz-content-sha256") {
            Some(hash)
                if authorization
                    .signed_headers
                    .contains(&"x-amz-content-sha256") =>
            {
                SignableBody::Precomputed(hash.to_owned())
            }
            _ => SignableBody::Bytes(request.body),
        };
        let mut settings = SigningSettings::default();
        settings.excluded_headers = Some(Vec::new());
        settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        let identity = Credentials::new(
            authorization.key,
            secret,
            token.map(str::to_owned),
            None,
            "front",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(super::SERVICE)
            .time(signed_at)
            .settings(settings)
            .build()
            .map_err(|e| Denial::Malformed(e.to_string()))?
            .into();
        let signable = SignableRequest::new(request.method, uri, headers.into_iter(), body)
            .map_err(|e| Denial::Malformed(e.to_string()))?;
        let output = sign(signable, &params).map_err(|e| Denial::Malformed(e.to_string()))?;
        Ok(output.signature().to_owned())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's example request and keys, from the Signature Version 4 test suite's `get-vanilla`
    /// case (service `service`, us-east-1, 2015-08-30 12:36:00 UTC).
    const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const EXAMPLE_SIGNATURE: &str =
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    fn verifier(region: &str) -> Verifier {
        Verifier {
            keys: BTreeMap::from([("AKIDEXAMPLE".to_owned(), EXAMPLE_SECRET.to_owned())]),
            region: region.to_owned(),
        }
    }

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn at(stamp: &str) -> SystemTime {
        parse_stamp(stamp).unwrap()
    }

    #[test]
    fn the_signature_is_computed_as_in_aws_published_example() {
        let request = Received {
            method: "GET",
            path_and_query: "/",
            headers: &headers(&[
                ("host", "example.amazonaws.com"),
                ("x-amz-date", "20150830T123600Z"),
            ]),
            body: b"",
        };
        let authorization = Authorization {
            key: "AKIDEXAMPLE",
            scope: vec!["20150830", "us-east-1", "service", "aws4_request"],
            signed_headers: vec!["host", "x-amz-date"],
            signature: EXAMPLE_SIGNATURE,
        };
        // The example's service is `service`, not `lambda`: computed directly, not verified.
        let mut settings = SigningSettings::default();
        settings.excluded_headers = Some(Vec::new());
        let identity = Credentials::new("AKIDEXAMPLE", EXAMPLE_SECRET, None, None, "t").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("service")
            .time(at("20150830T123600Z"))
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let signable = SignableRequest::new(
            request.method,
            "http://example.amazonaws.com/",
            [("host", "example.amazonaws.com")].into_iter(),
            SignableBody::Bytes(b""),
        )
        .unwrap();
        assert_eq!(
            sign(signable, &params).unwrap().signature(),
            authorization.signature
        );
        let received = verifier("us-east-1").signature(
            &request,
            &Authorization {
                scope: vec!["20150830", "us-east-1", "lambda", "aws4_request"],
                ..authorization
            },
            EXAMPLE_SECRET,
            at("20150830T123600Z"),
        );
        // Same request for the lambda service: another signature (the scope is signed).
        assert_ne!(received.unwrap(), EXAMPLE_SIGNATURE);
    }

    /// A request signed by the SDK's signer (shared::function_url's) for `lambda` in `region`.
    fn signed(region: &str, secret: &str, time: SystemTime, body: &[u8]) -> Vec<(String, String)> {
        let credentials = Credentials::new("AKIDEXAMPLE", secret, None, None, "t");
        let mut request = http::Request::builder()
            .method("POST")
            .uri("http://127.0.0.1:9000/lambda-url/sort-control/sort?x=1")
            .header("content-type", "application/json")
            .body(body.to_vec())
            .unwrap();
        shared::signed::sign(
            &mut request,
            shared::function_url::SERVICE,
            &credentials,
            region,
            time,
        )
        .unwrap();
        let mut list: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        list.push(("host".to_owned(), "127.0.0.1:9000".to_owned()));
        list
    }

    fn received<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> Received<'a> {
        Received {
            method: "POST",
            path_and_query: "/lambda-url/sort-control/sort?x=1",
            headers,
            body,
        }
    }

    #[test]
    fn a_correctly_signed_request_passes_and_every_fault_gets_its_answer() {
        let now = at("20261204T120000Z");
        let v = verifier("us-east-1");
        let good = signed("us-east-1", EXAMPLE_SECRET, now, b"[2,1]");
        assert_eq!(v.verify(&received(&good, b"[2,1]"), now), Ok(()));
        // Within the skew either way.
        assert_eq!(
            v.verify(&received(&good, b"[2,1]"), now + Duration::from_secs(299)),
            Ok(())
        );

        type Case<'a> = (&'a str, Vec<(String, String)>, &'a [u8], Denial);
        let cases: Vec<Case> = vec![
            (
                "unsigned",
                headers(&[("host", "127.0.0.1:9000")]),
                b"[2,1]",
                Denial::Unsigned,
            ),
            ("body changed", good.clone(), b"[2,2]", Denial::Mismatch),
            (
                "wrong secret",
                signed("us-east-1", "not-the-secret", now, b"[2,1]"),
                b"[2,1]",
                Denial::Mismatch,
            ),
            (
                "expired",
                signed(
                    "us-east-1",
                    EXAMPLE_SECRET,
                    now - Duration::from_secs(301),
                    b"[2,1]",
                ),
                b"[2,1]",
                Denial::Expired {
                    signed: "20261204T115459Z".into(),
                    now: "20261204T120000Z".into(),
                },
            ),
            (
                "from the future",
                signed(
                    "us-east-1",
                    EXAMPLE_SECRET,
                    now + Duration::from_secs(301),
                    b"[2,1]",
                ),
                b"[2,1]",
                Denial::NotYetCurrent {
                    signed: "20261204T120501Z".into(),
                    now: "20261204T120000Z".into(),
                },
            ),
        ];
        for (name, headers, body, want) in cases {
            assert_eq!(
                v.verify(&received(&headers, body), now),
                Err(want),
                "{name}"
            );
        }
        let other_region = signed("eu-west-1", EXAMPLE_SECRET, now, b"[2,1]");
        assert!(
            matches!(
                v.verify(&received(&other_region, b"[2,1]"), now),
                Err(Denial::Scope(_))
            ),
            "another region's scope"
        );
        let unknown: Vec<(String, String)> = good
            .iter()
            .map(|(n, v)| (n.clone(), v.replace("AKIDEXAMPLE", "AKIDOTHER")))
            .collect();
        assert_eq!(
            v.verify(&received(&unknown, b"[2,1]"), now),
            Err(Denial::UnknownKey)
        );
        let moved: Vec<(String, String)> = good
            .iter()
            .map(|(n, v)| {
                (
                    n.clone(),
                    if n == "host" {
                        "127.0.0.1:9001".into()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect();
        assert_eq!(
            v.verify(&received(&moved, b"[2,1]"), now),
            Err(Denial::Mismatch),
            "the host is signed"
        );
    }

    #[test]
    fn answers_are_403_with_aws_error_types() {
        let expired = Denial::Expired {
            signed: "20150806T131223Z".into(),
            now: "20150806T132034Z".into(),
        }
        .answer();
        assert_eq!(expired.status, 403);
        assert_eq!(expired.error_type, "InvalidSignatureException");
        assert_eq!(
            expired.body,
            r#"{"message":"Signature expired: 20150806T131223Z is now earlier than 20150806T131534Z (20150806T132034Z - 5 min.)"}"#
        );
        let unsigned = Denial::Unsigned.answer();
        assert_eq!(unsigned.error_type, "AccessDeniedException");
        assert!(
            unsigned.body.starts_with(r#"{"Message":"Forbidden."#),
            "{}",
            unsigned.body
        );
        assert_eq!(
            Denial::Mismatch.answer().body,
            serde_json::json!({"message": MISMATCH}).to_string()
        );
    }

    #[test]
    fn a_malformed_authorization_header_is_named() {
        assert!(matches!(
            parse_authorization("Bearer abc"),
            Err(Denial::Malformed(_))
        ));
        assert_eq!(
            parse_authorization(
                "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab"
            ),
            Ok(Authorization {
                key: "AK",
                scope: vec!["20150830", "us-east-1", "lambda", "aws4_request"],
                signed_headers: vec!["host", "x-amz-date"],
                signature: "ab",
            })
        );
    }
}
