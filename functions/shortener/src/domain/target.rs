//! The URL a short link points at.
//!
//! [`TargetUrl::parse`] is the only way to get one, so holding a `TargetUrl` means it is an absolute
//! `http`/`https` URL of at most [`MAX_URL_LEN`] characters, without control characters or embedded
//! credentials, not on a blocked domain and not pointing back at the shortener itself.

use sha2::{Digest, Sha256};
use url::{Host, Url};

/// The longest target accepted, in characters (what browsers and most shorteners accept safely).
pub const MAX_URL_LEN: usize = 2_048;

/// Why a target URL was refused. Each variant is a distinct client mistake with its own error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the URL is longer than {MAX_URL_LEN} characters")]
    TooLong,
    #[error(
        "the URL contains control characters (tabs, newlines or other non-printing characters)"
    )]
    ControlCharacters,
    #[error("the URL is not an absolute URL: {0}")]
    Malformed(String),
    #[error("only http and https URLs can be shortened, not {0}:")]
    UnsupportedScheme(String),
    #[error("the URL has no host name")]
    MissingHost,
    #[error("URLs with a user name or password in them are refused")]
    Credentials,
    #[error("the URL points back at this shortener, which would make a redirect loop")]
    RedirectLoop,
    #[error("links to {0} are not allowed on this shortener")]
    BlockedDomain(String),
}

impl TargetError {
    /// The stable error code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLong => "url_too_long",
            Self::ControlCharacters => "control_characters",
            Self::Malformed(_) | Self::MissingHost => "invalid_url",
            Self::UnsupportedScheme(_) => "unsupported_scheme",
            Self::Credentials => "credentials_in_url",
            Self::RedirectLoop => "redirect_loop",
            Self::BlockedDomain(_) => "blocked_domain",
        }
    }
}

/// What a target is checked against besides its own form.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    /// Host names of this shortener (lower case); a target on one of them would loop.
    pub own_hosts: Vec<String>,
    /// Blocked domains (lower case); a domain also blocks its subdomains.
    pub blocked_domains: Vec<String>,
}

/// A safe, normalised target URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl(Url);

impl TargetUrl {
    pub fn parse(raw: &str, policy: &TargetPolicy) -> Result<Self, TargetError> {
        let raw = raw.trim_matches(' ');
        if raw.chars().count() > MAX_URL_LEN {
            return Err(TargetError::TooLong);
        }
        // Checked before parsing: the URL parser silently drops tabs and newlines.
        if raw.chars().any(char::is_control) {
            return Err(TargetError::ControlCharacters);
        }
        let url = Url::parse(raw).map_err(|e| TargetError::Malformed(e.to_string()))?;
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(TargetError::UnsupportedScheme(other.to_owned())),
        }
        let host = match url.host() {
            Some(Host::Domain(domain)) => domain.trim_end_matches('.').to_ascii_lowercase(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => format!("[{ip}]"),
            None => return Err(TargetError::MissingHost),
        };
        if host.is_empty() {
            return Err(TargetError::MissingHost);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::Credentials);
        }
        if policy.own_hosts.contains(&host) {
            return Err(TargetError::RedirectLoop);
        }
        if let Some(blocked) = policy
            .blocked_domains
            .iter()
            .find(|d| host == **d || host.ends_with(&format!(".{d}")))
        {
            return Err(TargetError::BlockedDomain(blocked.clone()));
        }
        if url.as_str().len() > MAX_URL_LEN {
            // Normalisation (percent-encoding) can only grow a URL; the stored form must fit too.
            return Err(TargetError::TooLong);
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The key two requests for "the same" URL share: SHA-256 of the normalised form
    /// (scheme and host lower-cased, default port dropped, empty path as `/`).
    pub fn dedupe_key(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_str().as_bytes()))
    }
}

/// Restores a target read back from the table (it was validated when stored).
impl From<Url> for TargetUrl {
    fn from(url: Url) -> Self {
        Self(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> TargetPolicy {
        TargetPolicy {
            own_hosts: vec!["sho.rt".into()],
            blocked_domains: vec!["evil.example".into()],
        }
    }

    #[test]
    fn refused_urls_give_the_right_error_code() {
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        let cases = [
            ("", "invalid_url"),
            ("example.com/no-scheme", "invalid_url"),
            ("ftp://example.com/file", "unsupported_scheme"),
            ("javascript:alert(1)", "unsupported_scheme"),
            ("data:text/html,hi", "unsupported_scheme"),
            ("https://exa\tmple.com/", "control_characters"),
            ("https://example.com/\n", "control_characters"),
            ("https://user:pw@example.com/", "credentials_in_url"),
            ("https://user@example.com/", "credentials_in_url"),
            ("https://sho.rt/abc", "redirect_loop"),
            ("https://SHO.RT./abc", "redirect_loop"),
            ("https://evil.example/", "blocked_domain"),
            ("https://www.evil.example/x", "blocked_domain"),
            (long.as_str(), "url_too_long"),
        ];
        for (raw, code) in cases {
            let got = TargetUrl::parse(raw, &policy()).map(|u| u.as_str().to_owned());
            assert_eq!(
                got.as_ref().map_err(TargetError::code),
                Err(code),
                "case {raw:?}"
            );
        }
    }

    #[test]
    fn accepted_urls_are_normalised() {
        let cases = [
            ("https://Example.COM", "https://example.com/"),
            (
                "HTTP://example.com:80/a?b=c#d",
                "http://example.com/a?b=c#d",
            ),
            ("https://notevil.example/", "https://notevil.example/"),
            ("https://sho.rt.example/", "https://sho.rt.example/"),
        ];
        for (raw, want) in cases {
            let got = TargetUrl::parse(raw, &policy()).unwrap();
            assert_eq!(got.as_str(), want, "case {raw:?}");
        }
    }

    #[test]
    fn the_same_url_written_differently_shares_a_dedupe_key() {
        let a = TargetUrl::parse("HTTPS://Example.com:443", &policy()).unwrap();
        let b = TargetUrl::parse("https://example.com/", &policy()).unwrap();
        let c = TargetUrl::parse("https://example.com/other", &policy()).unwrap();
        assert_eq!(a.dedupe_key(), b.dedupe_key());
        assert_ne!(a.dedupe_key(), c.dedupe_key());
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_accepted_urls_are_http_and_bounded(raw in ".{0,300}") {
            if let Ok(url) = TargetUrl::parse(&raw, &policy()) {
                prop_assert!(url.as_str().starts_with("http://") || url.as_str().starts_with("https://"));
                prop_assert!(url.as_str().len() <= MAX_URL_LEN);
            }
        }

        #[test]
        fn any_simple_https_url_is_accepted(host in "[a-z]{1,20}\\.[a-z]{2,5}", path in "[a-zA-Z0-9/_-]{0,50}") {
            let raw = format!("https://{host}/{path}");
            prop_assert!(TargetUrl::parse(&raw, &policy()).is_ok(), "{}", raw);
        }
    }
}
