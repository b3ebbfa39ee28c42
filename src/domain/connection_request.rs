//! Connection requests and their invite links: the statuses, the token in the link (not a JWT:
//! 256 random bits behind a recognisable prefix, so secret scanners and people can tell what
//! leaked), how long a link lives, and what its holder is told when it no longer works.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::entity::prelude::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum RequestStatus {
    /// Waiting for the invitee.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Every integration of the request is connected.
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
    /// The requester withdrew it.
    #[sea_orm(string_value = "REVOKED")]
    Revoked,
    /// Its link ran out before everything was connected.
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}

/// Where one integration of a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ItemStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "CONNECTED")]
    Connected,
}

/// Every invite token starts with this ("Liaison connection request").
pub const TOKEN_PREFIX: &str = "lcr_";
/// Random bytes behind the prefix: 256 bits.
const TOKEN_BYTES: usize = 32;
/// Base64url characters of those bytes, without padding.
const TOKEN_CHARS: usize = 43;

/// A link for a named invitee lives a week by default; a shareable link two days.
pub const EMAIL_LIFETIME_HOURS: i64 = 7 * 24;
pub const SHAREABLE_LIFETIME_HOURS: i64 = 48;
/// No link lives longer than 30 days, nor less than an hour.
pub const MAX_LIFETIME_HOURS: i64 = 30 * 24;
pub const MIN_LIFETIME_HOURS: i64 = 1;
/// At most this many integrations per request.
pub const MAX_INTEGRATIONS: usize = 5;
/// A request's link can be resent this many times per day.
pub const RESENDS_PER_DAY: i32 = 3;
/// A link holder can ask the requester for a new link once per this many minutes.
pub const NEW_LINK_INTERVAL_MINUTES: i64 = 60;

/// A fresh token: the prefix and 256 bits from the operating system's generator.
pub fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill(&mut bytes[..]);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether `raw` has the shape of a token; anything else is answered "invalid link" without a
/// database look-up.
pub fn looks_like_token(raw: &str) -> bool {
    raw.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == TOKEN_CHARS
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The lifetime of a request's links: `hours` when given (within bounds), else the default for
/// an emailed or a shareable link. `Err` carries the bounds for the message.
pub fn lifetime(has_invitee: bool, hours: Option<i32>) -> Result<Duration, (i64, i64)> {
    match hours.map(i64::from) {
        None if has_invitee => Ok(Duration::hours(EMAIL_LIFETIME_HOURS)),
        None => Ok(Duration::hours(SHAREABLE_LIFETIME_HOURS)),
        Some(hours) if (MIN_LIFETIME_HOURS..=MAX_LIFETIME_HOURS).contains(&hours) => {
            Ok(Duration::hours(hours))
        }
        Some(_) => Err((MIN_LIFETIME_HOURS, MAX_LIFETIME_HOURS)),
    }
}

/// What a real link is worth to its holder now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// It works: the invitee may connect.
    Usable,
    /// Its time ran out.
    Expired,
    /// Everything it asked for is connected.
    Completed,
    /// The requester withdrew it.
    Revoked,
    /// A resend replaced it with a newer link.
    Replaced,
}

impl LinkState {
    /// The state of a link of a request in `status` whose link expires at `expires_at`;
    /// `replaced` when a resend superseded this link.
    pub fn of(
        status: RequestStatus,
        expires_at: DateTime<Utc>,
        replaced: bool,
        now: DateTime<Utc>,
    ) -> Self {
        match status {
            RequestStatus::Completed => LinkState::Completed,
            RequestStatus::Revoked => LinkState::Revoked,
            _ if replaced => LinkState::Replaced,
            RequestStatus::Expired => LinkState::Expired,
            RequestStatus::Pending if expires_at <= now => LinkState::Expired,
            RequestStatus::Pending => LinkState::Usable,
        }
    }

    /// The error code a holder of a link in this state gets.
    pub fn code(self) -> &'static str {
        match self {
            LinkState::Usable => "LINK_USABLE",
            LinkState::Expired => "LINK_EXPIRED",
            LinkState::Completed => "LINK_COMPLETED",
            LinkState::Revoked => "LINK_REVOKED",
            LinkState::Replaced => "LINK_REPLACED",
        }
    }

    /// What the holder is told.
    pub fn message(self) -> &'static str {
        match self {
            LinkState::Usable => "this link works",
            LinkState::Expired => "this link has expired",
            LinkState::Completed => {
                "this link has been used up: everything it asked for is connected"
            }
            LinkState::Revoked => "this link has been withdrawn by the person who sent it",
            LinkState::Replaced => "this link has been replaced by a newer one",
        }
    }

    /// The audit and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Usable => "USABLE",
            LinkState::Expired => "EXPIRED",
            LinkState::Completed => "COMPLETED",
            LinkState::Revoked => "REVOKED",
            LinkState::Replaced => "REPLACED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_256_bit_and_distinct() {
        let a = new_token();
        let b = new_token();
        assert!(looks_like_token(&a), "{a}");
        assert_ne!(a, b);
        let raw = URL_SAFE_NO_PAD
            .decode(a.strip_prefix(TOKEN_PREFIX).unwrap())
            .unwrap();
        assert_eq!(raw.len() * 8, 256);
        assert!(!looks_like_token("lcr_short"));
        assert!(!looks_like_token(&a.replace(TOKEN_PREFIX, "xyz_")));
        assert!(!looks_like_token(&format!("{a}!")));
    }

    #[test]
    fn lifetimes_default_by_kind_and_stay_in_bounds() {
        assert_eq!(lifetime(true, None), Ok(Duration::days(7)));
        assert_eq!(lifetime(false, None), Ok(Duration::hours(48)));
        assert_eq!(lifetime(false, Some(720)), Ok(Duration::days(30)));
        assert!(lifetime(true, Some(721)).is_err());
        assert!(lifetime(true, Some(0)).is_err());
    }
}
