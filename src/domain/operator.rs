//! Platform operators (vendor staff): their names and the scopes of their tokens. Operators manage
//! accounts' metadata (create, rename, set the licence limit, suspend, list) and send notices;
//! they never read an account's data except through notices' audiences. A token without a
//! `scope` claim has every operator right.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// One right an operator token may carry. `accounts:write` includes `accounts:read`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OperatorScope {
    /// List accounts with their status and seat counts (`accounts`).
    AccountsRead,
    /// Create, rename, re-limit, suspend and reactivate accounts.
    AccountsWrite,
    /// Read the outbox: which emails were sent to whom, and how delivery went.
    MailRead,
    /// Send test emails (and read the outbox).
    MailWrite,
    /// Preview audiences (names and emails of the vendor's contacts, CSV) and read sent notices.
    NoticesRead,
    /// Send notices (and everything `notices:read` allows).
    NoticesWrite,
}

impl OperatorScope {
    pub const ALL: [OperatorScope; 6] = [
        OperatorScope::AccountsRead,
        OperatorScope::AccountsWrite,
        OperatorScope::MailRead,
        OperatorScope::MailWrite,
        OperatorScope::NoticesRead,
        OperatorScope::NoticesWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OperatorScope::AccountsRead => "accounts:read",
            OperatorScope::AccountsWrite => "accounts:write",
            OperatorScope::MailRead => "mail:read",
            OperatorScope::MailWrite => "mail:write",
            OperatorScope::NoticesRead => "notices:read",
            OperatorScope::NoticesWrite => "notices:write",
        }
    }

    /// Whether holding `self` grants `needed`.
    fn covers(self, needed: OperatorScope) -> bool {
        self == needed
            || (self == OperatorScope::AccountsWrite && needed == OperatorScope::AccountsRead)
            || (self == OperatorScope::MailWrite && needed == OperatorScope::MailRead)
            || (self == OperatorScope::NoticesWrite && needed == OperatorScope::NoticesRead)
    }
}

impl fmt::Display for OperatorScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum OperatorParseError {
    #[error(
        "unknown operator scope `{0}`: operator scopes are `accounts:read`, `accounts:write`, \
         `mail:read`, `mail:write`, `notices:read` and `notices:write`"
    )]
    UnknownScope(String),
    #[error(
        "an operator name has 1 to 100 characters: letters, digits, and `.`, `_`, `-`, `@`, `+`"
    )]
    InvalidName,
}

impl FromStr for OperatorScope {
    type Err = OperatorParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OperatorScope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| OperatorParseError::UnknownScope(s.to_owned()))
    }
}

/// The scopes an operator token carries: unrestricted without a `scope` claim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorScopes {
    scopes: Option<BTreeSet<OperatorScope>>,
}

/// The scopes a call needs that the token lacks, and those it has (the INSUFFICIENT_SCOPES
/// answer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingScopes {
    pub required: Vec<String>,
    pub granted: Vec<String>,
}

impl OperatorScopes {
    pub fn unrestricted() -> Self {
        Self { scopes: None }
    }

    /// Parses a space-separated `scope` claim.
    pub fn parse(claim: &str) -> Result<Self, OperatorParseError> {
        let scopes = claim
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<BTreeSet<OperatorScope>, _>>()?;
        Ok(Self {
            scopes: Some(scopes),
        })
    }

    pub fn allows(&self, needed: OperatorScope) -> bool {
        match &self.scopes {
            None => true,
            Some(scopes) => scopes.iter().any(|scope| scope.covers(needed)),
        }
    }

    /// Allows the call when every need is met; otherwise lists every missing scope at once.
    pub fn require(&self, needs: &[OperatorScope]) -> Result<(), MissingScopes> {
        let required: Vec<String> = needs
            .iter()
            .filter(|needed| !self.allows(**needed))
            .map(ToString::to_string)
            .collect();
        if required.is_empty() {
            Ok(())
        } else {
            Err(MissingScopes {
                required,
                granted: self.names(),
            })
        }
    }

    /// The scopes as written in a claim (empty when unrestricted).
    pub fn names(&self) -> Vec<String> {
        self.scopes
            .iter()
            .flatten()
            .map(ToString::to_string)
            .collect()
    }

    pub fn to_claim(&self) -> Option<String> {
        self.scopes.as_ref().map(|_| self.names().join(" "))
    }
}

/// An operator's name: the `sub` of an operator token and the actor label of its audit events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorName(String);

impl OperatorName {
    pub fn parse(raw: &str) -> Result<Self, OperatorParseError> {
        let valid = !raw.is_empty()
            && raw.chars().count() <= 100
            && raw
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(OperatorParseError::InvalidName)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OperatorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_includes_read_and_unscoped_tokens_have_every_right() {
        let write = OperatorScopes::parse("accounts:write").unwrap();
        assert!(write.allows(OperatorScope::AccountsRead));
        assert!(write.allows(OperatorScope::AccountsWrite));
        let read = OperatorScopes::parse("accounts:read").unwrap();
        assert!(!read.allows(OperatorScope::AccountsWrite));
        for scope in OperatorScope::ALL {
            assert!(OperatorScopes::unrestricted().allows(scope));
        }
    }

    #[test]
    fn a_denial_lists_every_missing_scope() {
        let none = OperatorScopes::parse("").unwrap();
        let missing = none
            .require(&[OperatorScope::AccountsRead, OperatorScope::AccountsWrite])
            .unwrap_err();
        assert_eq!(missing.required, vec!["accounts:read", "accounts:write"]);
        assert!(missing.granted.is_empty());
    }

    #[test]
    fn account_scopes_and_unknown_names_are_refused() {
        assert!(OperatorScopes::parse("users:read").is_err());
        assert!(OperatorScopes::parse("accounts:delete").is_err());
        assert_eq!(
            OperatorScopes::parse("accounts:write accounts:read")
                .unwrap()
                .to_claim()
                .as_deref(),
            Some("accounts:read accounts:write")
        );
    }

    #[test]
    fn operator_names_are_short_and_plain() {
        assert!(OperatorName::parse("ops.alice@vendor").is_ok());
        assert!(OperatorName::parse("").is_err());
        assert!(OperatorName::parse("alice smith").is_err());
        assert!(OperatorName::parse(&"a".repeat(101)).is_err());
    }
}
