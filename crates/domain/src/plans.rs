//! Plan limits: each plan caps an organization's members (plus pending
//! invitations), its active API keys, its jobs and its runs in progress.

use crate::error::DomainError;
use crate::organizations::Plan;

/// The machine code of a 403 for going over a plan's cap.
pub const PLAN_LIMIT_REACHED: &str = "PLAN_LIMIT_REACHED";

/// One plan's caps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanLimits {
    /// Members (owners included) plus pending invitations.
    pub max_members: u64,
    /// API keys that are neither revoked nor expired.
    pub max_api_keys: u64,
    /// Jobs that are not archived.
    pub max_jobs: u64,
    /// Runs in progress at once (jobs under a live lease).
    pub max_concurrent_tasks: u64,
    /// Tokens (usage metric `tokens`) per calendar month (UTC); a claim once
    /// the month's tokens reach it hands out nothing.
    pub monthly_token_quota: u64,
}

/// The caps of every plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanCatalog {
    /// `free`.
    pub free: PlanLimits,
    /// `pro`.
    pub pro: PlanLimits,
    /// `enterprise`.
    pub enterprise: PlanLimits,
}

impl PlanCatalog {
    /// The caps of `plan`.
    pub const fn limits(&self, plan: Plan) -> PlanLimits {
        match plan {
            Plan::Free => self.free,
            Plan::Pro => self.pro,
            Plan::Enterprise => self.enterprise,
        }
    }
}

/// `Ok` when one more fits: `used` already counted against a cap of `max`;
/// else 403 `PLAN_LIMIT_REACHED` naming `what` and the plan.
pub fn ensure_room(used: u64, max: u64, what: &str, plan: Plan) -> Result<(), DomainError> {
    if used < max {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            PLAN_LIMIT_REACHED,
            format!("the {plan} plan allows at most {max} {what}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_free_place_can_be_taken_and_no_more() {
        assert!(ensure_room(4, 5, "members", Plan::Free).is_ok());
        match ensure_room(5, 5, "members", Plan::Free) {
            Err(DomainError::Forbidden { code, message }) => {
                assert_eq!(code, PLAN_LIMIT_REACHED);
                assert_eq!(message, "the free plan allows at most 5 members");
            }
            other => panic!("{other:?}"),
        }
    }
}
