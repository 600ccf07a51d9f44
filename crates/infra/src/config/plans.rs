//! `[plans.<plan>]`: each plan's caps, and their conversion to the domain's
//! `PlanCatalog`.

use domain::plans::{PlanCatalog, PlanLimits};
use serde::{Deserialize, Serialize};

use super::{ConfigError, rule};

/// Each plan's caps (`[plans.<plan>]`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlansSettings {
    /// `[plans.free]`.
    pub free: PlanLimitSettings,
    /// `[plans.pro]`.
    pub pro: PlanLimitSettings,
    /// `[plans.enterprise]`.
    pub enterprise: PlanLimitSettings,
}

/// One plan's caps.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanLimitSettings {
    /// Members (owners included) plus pending invitations.
    pub max_members: u64,
    /// API keys neither revoked nor expired.
    pub max_api_keys: u64,
    /// Jobs that are not archived (deleted ones do not count).
    pub max_jobs: u64,
    /// Runs in progress at once (jobs under a live lease): a claim hands out
    /// at most the room left.
    pub max_concurrent_tasks: u64,
    /// Tokens per calendar month (UTC): a claim once the month's `tokens`
    /// usage reaches it is 403 `QUOTA_EXCEEDED`.
    pub monthly_token_quota: u64,
}

impl Default for PlansSettings {
    fn default() -> Self {
        let caps =
            |max_members, max_api_keys, max_jobs, max_concurrent_tasks, monthly_token_quota| {
                PlanLimitSettings {
                    max_members,
                    max_api_keys,
                    max_jobs,
                    max_concurrent_tasks,
                    monthly_token_quota,
                }
            };
        Self {
            free: caps(5, 2, 10, 2, 1_000_000),
            pro: caps(100, 25, 1_000, 50, 100_000_000),
            enterprise: caps(10_000, 1_000, 100_000, 1_000, 10_000_000_000),
        }
    }
}

impl PlansSettings {
    /// The caps as the domain asks them.
    pub fn catalog(&self) -> PlanCatalog {
        let limits = |p: PlanLimitSettings| PlanLimits {
            max_members: p.max_members,
            max_api_keys: p.max_api_keys,
            max_jobs: p.max_jobs,
            max_concurrent_tasks: p.max_concurrent_tasks,
            monthly_token_quota: p.monthly_token_quota,
        };
        PlanCatalog {
            free: limits(self.free),
            pro: limits(self.pro),
            enterprise: limits(self.enterprise),
        }
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        for (setting, plan) in [
            ("plans.free.max_members", self.free),
            ("plans.pro.max_members", self.pro),
            ("plans.enterprise.max_members", self.enterprise),
        ] {
            // The owner is a member: a cap of 0 would forbid every organization.
            if plan.max_members == 0 {
                return rule(setting, "must be at least 1 (the owner counts)");
            }
        }
        Ok(())
    }
}
