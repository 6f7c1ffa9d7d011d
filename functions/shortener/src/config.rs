//! The shortener's configuration, read once at cold start from the variables `template.yaml` sets.

use std::time::Duration;

use shared::config::{ConfigError, Env, invalid, optional, parsed_or, required};
use shared::secrets::SecretVariable;
use url::Url;

use crate::domain::code::CodeKey;

/// The variables that are secrets: on Lambda the function gets their ARNs and reads the values
/// at cold start (`shared::secrets`); locally they are plain variables.
pub const SECRETS: [SecretVariable; 2] = [
    SecretVariable {
        name: "CODE_KEY",
        arn_variable: "CODE_KEY_SECRET_ARN",
    },
    SecretVariable {
        name: "CREATE_API_KEY",
        arn_variable: "CREATE_API_KEY_SECRET_ARN",
    },
];

/// Every setting the shortener reads.
#[derive(Debug, Clone)]
pub struct Config {
    /// `LINKS_TABLE`: the DynamoDB table.
    pub table: String,
    /// `SHORT_URL_BASE`: the public base of short URLs; derived from each request when unset.
    pub short_url_base: Option<Url>,
    /// `APPLE_APP_SITE_ASSOCIATION`: the JSON document served at `/apple-app-site-association`.
    pub apple_app_site_association: String,
    /// `CODE_KEY`: the secret (16+ bytes) that keys the code permutation (on Lambda read from the
    /// secret `CODE_KEY_SECRET_ARN` names).
    pub code_key: CodeKey,
    /// `ID_BLOCK_SIZE`: ids leased from the counter per write (default 100).
    pub id_block_size: u64,
    /// `BLOCKED_DOMAINS`: comma-separated domains (and their subdomains) links may not point to.
    pub blocked_domains: Vec<String>,
    /// `VISIT_COUNTER_SHARDS`: shards of each link's visit counter (default 10).
    pub visit_shards: u32,
    /// `MAX_REFERRERS`: the most distinct referrer hosts one shard of a link's day keeps (default
    /// 50, at most 200), and the most a day of stats lists; the rest are counted as `(other)`.
    pub max_referrers: u32,
    /// `VISIT_COUNT_BUDGET_MS`: the most a redirect waits for its visit to be counted (default 50).
    pub visit_count_budget: Duration,
    /// Who may create, edit and delete links, and read a link's target in its stats: the holders of
    /// `CREATE_API_KEY` (on Lambda read from the secret `CREATE_API_KEY_SECRET_ARN` names), or
    /// anyone when `ALLOW_ANONYMOUS_WRITES=true` says so on purpose. Neither set fails the cold
    /// start: a key that did not arrive never opens the shortener.
    pub access: WriteAccess,
    /// `COUNT_VISITS`: `true` (default) or `false`; when false, redirects of links without
    /// `maxVisits` write nothing and stats leave `visits` out.
    pub count_visits: bool,
    /// `VISIT_ANALYTICS`: `true` (default) or `false`; when false, redirects count visits (as
    /// `COUNT_VISITS` says) but record no per-day analytics, and stats leave `daily` out.
    pub visit_analytics: bool,
}

impl Config {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let short_url_base = optional(env, "SHORT_URL_BASE")
            .map(|raw| {
                let url =
                    Url::parse(&raw).map_err(|e| invalid("SHORT_URL_BASE", &raw, e.to_string()))?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(invalid(
                        "SHORT_URL_BASE",
                        &raw,
                        "must be an http(s) URL with a host",
                    ));
                }
                Ok(url)
            })
            .transpose()?;
        let aasa = required(env, "APPLE_APP_SITE_ASSOCIATION")?;
        let parsed: serde_json::Value = serde_json::from_str(&aasa)
            .map_err(|e| invalid("APPLE_APP_SITE_ASSOCIATION", &aasa, e.to_string()))?;
        let code_key = required(env, "CODE_KEY")?;
        let id_block_size = parsed_or(env, "ID_BLOCK_SIZE", 100u64)?;
        if !(1..=100_000).contains(&id_block_size) {
            return Err(invalid(
                "ID_BLOCK_SIZE",
                id_block_size.to_string(),
                "must be 1..=100000",
            ));
        }
        let visit_shards = parsed_or(env, "VISIT_COUNTER_SHARDS", 10u32)?;
        if !(1..=100).contains(&visit_shards) {
            return Err(invalid(
                "VISIT_COUNTER_SHARDS",
                visit_shards.to_string(),
                "must be 1..=100",
            ));
        }
        let max_referrers = parsed_or(env, "MAX_REFERRERS", 50u32)?;
        if !(1..=200).contains(&max_referrers) {
            return Err(invalid(
                "MAX_REFERRERS",
                max_referrers.to_string(),
                "must be 1..=200",
            ));
        }
        Ok(Self {
            table: required(env, "LINKS_TABLE")?,
            max_referrers,
            short_url_base,
            // Re-serialised compactly: the response is precomputed once from this string.
            apple_app_site_association: parsed.to_string(),
            code_key: CodeKey::new(code_key.as_bytes())
                .ok_or_else(|| invalid("CODE_KEY", "<redacted>", "must be at least 16 bytes"))?,
            id_block_size,
            blocked_domains: optional(env, "BLOCKED_DOMAINS")
                .unwrap_or_default()
                .split(',')
                .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
            visit_shards,
            visit_count_budget: Duration::from_millis(parsed_or(
                env,
                "VISIT_COUNT_BUDGET_MS",
                50u64,
            )?),
            count_visits: parsed_or(env, "COUNT_VISITS", true)?,
            visit_analytics: parsed_or(env, "VISIT_ANALYTICS", true)?,
            access: WriteAccess::from_env(env)?,
        })
    }
}

/// Who may write links (see [`Config::access`]).
#[derive(Debug, Clone)]
pub enum WriteAccess {
    /// Writes (and targets in stats) need this key in `x-api-key`.
    Key(ApiKey),
    /// Anyone may write: chosen with `ALLOW_ANONYMOUS_WRITES=true`.
    Anonymous,
}

impl WriteAccess {
    /// The variable that opens writes to anyone, on purpose.
    pub const OPEN_VARIABLE: &'static str = "ALLOW_ANONYMOUS_WRITES";

    fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let open = parsed_or(env, Self::OPEN_VARIABLE, false)?;
        match (optional(env, "CREATE_API_KEY"), open) {
            (Some(_), true) => Err(invalid(
                Self::OPEN_VARIABLE,
                "true",
                "CREATE_API_KEY is set too: either writes need the key or they are open, not both",
            )),
            (Some(key), false) => ApiKey::new(key).map(Self::Key).ok_or_else(|| {
                invalid(
                    "CREATE_API_KEY",
                    "<redacted>",
                    "must be at least 16 characters",
                )
            }),
            (None, true) => Ok(Self::Anonymous),
            (None, false) => Err(invalid(
                "CREATE_API_KEY",
                "",
                "is not set (on Lambda: the secret CREATE_API_KEY_SECRET_ARN names is missing or \
                 empty), so creating, editing and deleting links would be open to anyone; set the \
                 key, or ALLOW_ANONYMOUS_WRITES=true to open them on purpose",
            )),
        }
    }
}

/// The key that creating links needs; compared in constant time, never printed.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub const MIN_LEN: usize = 16;

    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into();
        (key.len() >= Self::MIN_LEN).then_some(Self(key))
    }

    /// Whether `presented` is the key, in time that does not depend on where they differ.
    pub fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: [(&str, &str); 3] = [
        ("LINKS_TABLE", "links"),
        (
            "APPLE_APP_SITE_ASSOCIATION",
            r#"{"applinks": {"details": []}}"#,
        ),
        ("CODE_KEY", "0123456789abcdef"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        MINIMAL.iter().chain(extra).copied().collect()
    }

    #[test]
    fn minimal_environment_gives_defaults() {
        let config = Config::from_env(&with(&[("CREATE_API_KEY", "0123456789abcdef")])).unwrap();
        assert_eq!(config.id_block_size, 100);
        assert_eq!(config.visit_shards, 10);
        assert_eq!(
            config.apple_app_site_association,
            r#"{"applinks":{"details":[]}}"#
        );
        assert!(config.short_url_base.is_none());
        assert!(config.count_visits);
        assert!(config.visit_analytics);
        assert!(matches!(config.access, WriteAccess::Key(_)));
    }

    #[test]
    fn without_a_key_the_shortener_does_not_start_unless_opened_on_purpose() {
        let err = Config::from_env(&MINIMAL).unwrap_err().to_string();
        assert!(err.contains("CREATE_API_KEY"), "{err}");
        assert!(err.contains("ALLOW_ANONYMOUS_WRITES=true"), "{err}");
        // An empty value (a secret that resolved to nothing) is not set.
        assert!(Config::from_env(&with(&[("CREATE_API_KEY", "")])).is_err());
        let open = Config::from_env(&with(&[("ALLOW_ANONYMOUS_WRITES", "true")])).unwrap();
        assert!(matches!(open.access, WriteAccess::Anonymous));
        let both = Config::from_env(&with(&[
            ("ALLOW_ANONYMOUS_WRITES", "true"),
            ("CREATE_API_KEY", "0123456789abcdef"),
        ]));
        assert!(both.unwrap_err().to_string().contains("not both"));
    }

    #[test]
    fn the_api_key_matches_only_itself() {
        let key = ApiKey::new("0123456789abcdef").unwrap();
        assert!(key.matches("0123456789abcdef"));
        for other in [
            "",
            "0123456789abcde",
            "0123456789abcdeF",
            "0123456789abcdef0",
        ] {
            assert!(!key.matches(other), "{other:?}");
        }
        assert!(ApiKey::new("short").is_none());
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
    }

    #[test]
    fn bad_values_fail_naming_the_variable() {
        let cases = [
            ("SHORT_URL_BASE", "not a url"),
            ("APPLE_APP_SITE_ASSOCIATION", "{not json"),
            ("CODE_KEY", "short"),
            ("ID_BLOCK_SIZE", "0"),
            ("VISIT_COUNTER_SHARDS", "1000"),
            ("MAX_REFERRERS", "0"),
            ("COUNT_VISITS", "sometimes"),
            ("VISIT_ANALYTICS", "maybe"),
            ("CREATE_API_KEY", "too-short"),
            ("ALLOW_ANONYMOUS_WRITES", "perhaps"),
        ];
        for (name, value) in cases {
            let mut env: Vec<(&str, &str)> = with(&[("CREATE_API_KEY", "0123456789abcdef")])
                .into_iter()
                .filter(|(k, _)| *k != name)
                .collect();
            env.push((name, value));
            let err = Config::from_env(&env).unwrap_err().to_string();
            assert!(err.contains(name), "{name}: {err}");
        }
    }
}
