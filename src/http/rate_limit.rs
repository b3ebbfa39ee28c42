//! Rate limits: token buckets per client IP, per user and per account (governor's keyed limiters,
//! one per policy). The IP is checked before the token is even verified, so guessing tokens is
//! throttled too; user and account after authentication. The invitee route (`/connect/…`), which
//! takes no login, has its own, stricter limit per IP, so guessing invite links is throttled
//! without touching the main API's budget. A refusal says when to
//! retry. Limits are per process: N replicas allow N times the configured rate.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::auth::principal::Principal;
use crate::config::Config;
use crate::domain::ids::{AccountId, UserId};
use crate::error::AppError;

/// Which limit refused a request (a metric label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Ip,
    User,
    Account,
    InviteeIp,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Ip => "ip",
            Policy::User => "user",
            Policy::Account => "account",
            Policy::InviteeIp => "invitee_ip",
        }
    }
}

/// A refusal: which policy, and when to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited {
    pub policy: Policy,
    pub retry_after: Duration,
}

impl Limited {
    /// Whole seconds, rounded up (a `Retry-After` of 0 would invite an immediate retry).
    pub fn retry_after_seconds(&self) -> u64 {
        self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0)
    }

    pub fn to_error(&self) -> AppError {
        AppError::RateLimited {
            retry_after_seconds: self.retry_after_seconds(),
        }
    }
}

struct Limiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    policy: Policy,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(policy: Policy, per_window: u32, window: Duration) -> Self {
        let burst = NonZeroU32::new(per_window.max(1)).unwrap_or(NonZeroU32::MIN);
        let replenish = window / burst.get();
        let quota = Quota::with_period(replenish.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(burst))
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota),
            policy,
        }
    }

    fn check(&self, key: &K) -> Result<(), Limited> {
        self.limiter.check_key(key).map_err(|not_until| Limited {
            policy: self.policy,
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        })
    }
}

/// Every limit of the server; `None` when limits are switched off.
pub struct RateLimits {
    limits: Option<Limits>,
}

struct Limits {
    ip: Limiter<IpAddr>,
    user: Limiter<UserId>,
    account: Limiter<AccountId>,
    invitee_ip: Limiter<IpAddr>,
}

impl RateLimits {
    pub fn from_config(config: &Config) -> Arc<Self> {
        let window = Duration::from_secs(config.rate_limit_window_seconds.max(1));
        let limits = config.rate_limit_enabled.then(|| Limits {
            ip: Limiter::new(Policy::Ip, config.rate_limit_per_ip_per_minute, window),
            user: Limiter::new(Policy::User, config.rate_limit_per_user_per_minute, window),
            account: Limiter::new(
                Policy::Account,
                config.rate_limit_per_account_per_minute,
                window,
            ),
            invitee_ip: Limiter::new(
                Policy::InviteeIp,
                config.rate_limit_invitee_per_ip_per_minute,
                window,
            ),
        });
        let limits = Arc::new(Self { limits });
        if limits.limits.is_some() {
            spawn_cleanup(Arc::downgrade(&limits), window);
        }
        limits
    }

    /// The client's address limit.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Limited> {
        match &self.limits {
            Some(limits) => limits.ip.check(&ip),
            None => Ok(()),
        }
    }

    /// The client address's limit on the invitee route.
    pub fn check_invitee_ip(&self, ip: IpAddr) -> Result<(), Limited> {
        match &self.limits {
            Some(limits) => limits.invitee_ip.check(&ip),
            None => Ok(()),
        }
    }

    /// The user's and the account's limits (nothing for anyone else).
    pub fn check_principal(&self, principal: &Principal) -> Result<(), Limited> {
        let (Some(limits), Principal::User(user)) = (&self.limits, principal) else {
            return Ok(());
        };
        limits.user.check(&user.user_id)?;
        limits.account.check(&user.account_id)
    }
}

/// Forgets idle keys once per window, so memory follows the active clients only; the task ends
/// with the limits.
fn spawn_cleanup(limits: Weak<RateLimits>, window: Duration) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(window);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let Some(limits) = limits.upgrade() else {
                break;
            };
            if let Some(limits) = &limits.limits {
                limits.ip.limiter.retain_recent();
                limits.user.limiter.retain_recent();
                limits.account.limiter.retain_recent();
                limits.invitee_ip.limiter.retain_recent();
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_retry_time() {
        let limiter = Limiter::new(Policy::Ip, 3, Duration::from_secs(60));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(&ip).is_ok());
        }
        let refused = limiter.check(&ip).unwrap_err();
        assert_eq!(refused.policy, Policy::Ip);
        assert!(
            (1..=20).contains(&refused.retry_after_seconds()),
            "{refused:?}"
        );
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(limiter.check(&other).is_ok(), "keys are independent");
    }
}
