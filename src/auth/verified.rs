//! Liaison's own tokens verified recently, by their exact text.
//!
//! A frontend or a partner integration sends the same token with each of its requests; decoding
//! it, checking its signature and reading its claims again was 6 % of a `node(id:)` query's time
//! under load. Only Liaison's own tokens are kept: their key is fixed for the life of the
//! process, so a verification cannot change until the token expires, and each hit checks the
//! expiry exactly as the verification does (`exp` against the system clock, with the leeway).
//! Tokens of identity providers, whose keys rotate, are verified every time. An entry also
//! lasts at most a few minutes, and long texts are not kept, so the cache stays small whatever
//! clients send. What a token may do is not cached: roles are read on every request.

use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use lru::LruCache;

use super::tokens::Subject;

/// Tokens kept: far more than the clients a replica serves at once.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(4096).unwrap();
/// Longer tokens are verified each time.
const MAX_TOKEN_BYTES: usize = 2048;
/// The longest an entry is used, whatever the token's own expiry.
const KEPT_FOR: Duration = Duration::from_secs(300);

/// What verifying a token gave. Entries are found by the token's text alone, so a look-up
/// needs no copy of it: no token is accepted on both routes (each route has its own audience
/// and token kinds), so the route is kept beside the subject and must match.
struct Verified {
    invitee_route: bool,
    subject: Subject,
    /// The token's `exp`, in seconds since the epoch.
    expires: u64,
    kept_until: Instant,
}

/// The most recently verified own tokens.
pub struct VerifiedTokens {
    leeway: u64,
    entries: Mutex<LruCache<String, Verified>>,
}

impl VerifiedTokens {
    /// `leeway`: the seconds a token is still accepted after its `exp`, as in verification.
    pub fn new(leeway: u64) -> Self {
        Self {
            leeway,
            entries: Mutex::new(LruCache::new(CAPACITY)),
        }
    }

    /// The subject of `token` if it was verified for this route and has not expired since.
    pub fn get(&self, token: &str, invitee_route: bool) -> Option<Subject> {
        if token.len() > MAX_TOKEN_BYTES {
            return None;
        }
        let mut entries = self.lock();
        let verified = entries.get(token)?;
        if verified.invitee_route != invitee_route {
            return None;
        }
        if self.expired(verified.expires, jsonwebtoken::get_current_timestamp())
            || Instant::now() >= verified.kept_until
        {
            entries.pop(token);
            return None;
        }
        Some(verified.subject.clone())
    }

    /// Keeps what verifying `token` gave, until its `expires` (seconds since the epoch).
    pub fn put(&self, token: &str, invitee_route: bool, subject: &Subject, expires: u64) {
        if token.len() > MAX_TOKEN_BYTES {
            return;
        }
        self.lock().put(
            token.to_owned(),
            Verified {
                invitee_route,
                subject: subject.clone(),
                expires,
                kept_until: Instant::now() + KEPT_FOR,
            },
        );
    }

    /// The verification's own rule: a token is expired when `exp < now - leeway`.
    fn expired(&self, expires: u64, now: u64) -> bool {
        expires < now.saturating_sub(self.leeway)
    }

    fn lock(&self) -> MutexGuard<'_, LruCache<String, Verified>> {
        // A panic while holding the lock leaves a consistent cache: recover it.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{AccountId, UserId};
    use crate::domain::permission::ScopeSet;

    fn subject() -> Subject {
        Subject::User {
            user_id: UserId::new(),
            account_id: AccountId::new(),
            scopes: ScopeSet::unrestricted(),
        }
    }

    #[test]
    fn a_kept_token_answers_for_its_route_only() {
        let cache = VerifiedTokens::new(0);
        let now = jsonwebtoken::get_current_timestamp();
        let subject = subject();
        cache.put("token", false, &subject, now + 60);
        assert_eq!(cache.get("token", false), Some(subject));
        assert_eq!(cache.get("token", true), None);
        assert_eq!(cache.get("other", false), None);
    }

    #[test]
    fn an_expired_token_is_not_answered_and_is_forgotten() {
        let cache = VerifiedTokens::new(30);
        let now = jsonwebtoken::get_current_timestamp();
        cache.put("within-leeway", false, &subject(), now - 10);
        cache.put("beyond-leeway", false, &subject(), now - 31);
        assert!(cache.get("within-leeway", false).is_some());
        assert_eq!(cache.get("beyond-leeway", false), None);
        assert_eq!(cache.lock().len(), 1, "the expired entry is gone");
    }

    #[test]
    fn a_long_token_is_not_kept() {
        let cache = VerifiedTokens::new(0);
        let long = "x".repeat(MAX_TOKEN_BYTES + 1);
        let now = jsonwebtoken::get_current_timestamp();
        cache.put(&long, false, &subject(), now + 60);
        assert_eq!(cache.get(&long, false), None);
        assert_eq!(cache.lock().len(), 0);
    }
}
