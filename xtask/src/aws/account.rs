//! The account's Lambda concurrency (`get-account-settings`): whether a stack's reserved
//! concurrency fits before it is created, and what to ask AWS for when it does not.

use anyhow::{Context, Result, bail};

/// The account's Lambda concurrency in the deploy's region (`aws lambda get-account-settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountConcurrency {
    /// `AccountLimit.ConcurrentExecutions`.
    pub limit: u64,
    /// `AccountLimit.UnreservedConcurrentExecutions`: what no function has reserved.
    pub unreserved: u64,
}

impl AccountConcurrency {
    /// From `aws lambda get-account-settings --output json`.
    pub fn from_account_settings(json: &str) -> Result<Self> {
        let settings: serde_json::Value =
            serde_json::from_str(json).context("get-account-settings answered with no JSON")?;
        let field = |name: &str| {
            settings["AccountLimit"][name]
                .as_u64()
                .with_context(|| format!("get-account-settings answered without {name}"))
        };
        Ok(Self {
            limit: field("ConcurrentExecutions")?,
            unreserved: field("UnreservedConcurrentExecutions")?,
        })
    }

    /// What Lambda keeps unreserved: 100 ("as long as you leave at least 100 simultaneous
    /// executions unreserved", PutFunctionConcurrency), and on accounts whose limit is under 100
    /// the whole limit (its error reads "below its minimum value of [10]" on a 10-limit account:
    /// xtask/recorded-aws/SOURCES.md).
    pub fn minimum_unreserved(&self) -> u64 {
        self.limit.min(100)
    }

    /// Pre-flight of a stack's create: whether `reserved` (the sum of the template's
    /// `ReservedConcurrentExecutions`) fits; what was checked when it does, and when it does not,
    /// what to ask AWS for.
    pub fn check_create(&self, reserved: u64, region: &str) -> Result<String> {
        let free = self.unreserved.saturating_sub(self.minimum_unreserved());
        if reserved <= free {
            return Ok(format!(
                "pre-flight: the stack reserves {reserved} concurrent executions; the account has \
                 {} unreserved of {} in {region}, {} of which Lambda keeps: fits",
                self.unreserved,
                self.limit,
                self.minimum_unreserved()
            ));
        }
        bail!(
            "pre-flight: the stack reserves {reserved} concurrent executions \
             (ReservedConcurrentExecutions in template.yaml: each demo function is capped so that \
             anonymous traffic cannot run up the bill), but this account has a Lambda concurrency \
             limit of {} in {region}, {} of it unreserved, and Lambda keeps {} unreserved. \
             CloudFormation would roll the create back with \
             \"Specified ReservedConcurrentExecutions for function decreases account's \
             UnreservedConcurrentExecution below its minimum value of [{}]\". \
             Ask AWS for more: Service Quotas > AWS Lambda > Concurrent executions \
             (quota code L-B99A9384) in {region}, at least {} (new accounts often start at 10 \
             and are raised on request), then deploy again. Nothing was created.",
            self.limit,
            self.unreserved,
            self.minimum_unreserved(),
            self.minimum_unreserved(),
            reserved + 100 + (self.limit - self.unreserved)
        )
    }
}
