//! The definitions file as written (YAML), before validation: every field optional where the
//! format allows it; [`super::Experiments::parse`] turns it into the domain types.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) experiments: BTreeMap<String, RawExperiment>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawExperiment {
    pub(super) comparators: Vec<RawComparator>,
    pub(super) path: String,
    pub(super) control: RawVariant,
    pub(super) candidates: BTreeMap<String, RawVariant>,
    pub(super) sample: Option<f64>,
    pub(super) timeout_ms: Option<u64>,
    #[serde(default)]
    pub(super) ignore: Vec<String>,
    #[serde(default)]
    pub(super) redact: Vec<String>,
    #[serde(default)]
    pub(super) noise_baseline: bool,
    pub(super) promotion: Option<RawPromotion>,
    #[serde(default)]
    pub(super) intended: Vec<RawIntended>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIntended {
    pub(super) description: String,
    pub(super) replace: RawReplace,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReplace {
    #[serde(rename = "in")]
    pub(super) within: String,
    pub(super) from: String,
    pub(super) to: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawPromotion {
    pub(super) max_mismatch_rate: Option<f64>,
    pub(super) min_comparisons: Option<u64>,
    pub(super) max_duration_ratio: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawComparator {
    Named(String),
    Headers { headers: Vec<String> },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVariant {
    pub(super) name: String,
    pub(super) function: Option<String>,
    pub(super) arn: Option<String>,
    /// Candidates only.
    #[serde(default)]
    pub(super) intended: Vec<RawIntended>,
}
