//! Permission areas, levels and token scopes. A caller's effective level in an area is the highest
//! level any of their roles grants, capped by the token's scopes when it has any.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// What a permission protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    Users,
    UserPii,
    Roles,
    Integrations,
    IntegrationContacts,
    AccountContacts,
    ConnectionRequests,
    UserSync,
    BulkUsers,
    AuditLog,
}

impl Area {
    pub const ALL: [Area; 10] = [
        Area::Users,
        Area::UserPii,
        Area::Roles,
        Area::Integrations,
        Area::IntegrationContacts,
        Area::AccountContacts,
        Area::ConnectionRequests,
        Area::UserSync,
        Area::BulkUsers,
        Area::AuditLog,
    ];

    /// The stored and scope name: `USER_PII` is stored, `user_pii` is the scope prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Users => "USERS",
            Area::UserPii => "USER_PII",
            Area::Roles => "ROLES",
            Area::Integrations => "INTEGRATIONS",
            Area::IntegrationContacts => "INTEGRATION_CONTACTS",
            Area::AccountContacts => "ACCOUNT_CONTACTS",
            Area::ConnectionRequests => "CONNECTION_REQUESTS",
            Area::UserSync => "USER_SYNC",
            Area::BulkUsers => "BULK_USERS",
            Area::AuditLog => "AUDIT_LOG",
        }
    }

    fn index(self) -> usize {
        Area::ALL
            .iter()
            .position(|area| *area == self)
            .unwrap_or_default()
    }
}

impl FromStr for Area {
    type Err = PermissionParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Area::ALL
            .into_iter()
            .find(|area| area.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| PermissionParseError::UnknownArea(s.to_owned()))
    }
}

/// How much a grant allows. The order matters: `None < Read < Full`, so the effective level is a
/// `max` over roles and a `min` against scopes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    #[default]
    None,
    Read,
    Full,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "NONE",
            Level::Read => "READ",
            Level::Full => "FULL",
        }
    }
}

impl FromStr for Level {
    type Err = PermissionParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "NONE" => Ok(Level::None),
            "READ" => Ok(Level::Read),
            "FULL" => Ok(Level::Full),
            other => Err(PermissionParseError::UnknownLevel(other.to_owned())),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PermissionParseError {
    #[error("unknown permission area `{0}`")]
    UnknownArea(String),
    #[error("unknown permission level `{0}`")]
    UnknownLevel(String),
    #[error("unknown scope `{0}`: scopes look like `users:read` or `users:write`")]
    UnknownScope(String),
}

/// A level for every area.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Grants([Level; Area::ALL.len()]);

impl Grants {
    /// Full everywhere: the built-in Account Admin role.
    pub fn full() -> Self {
        Self([Level::Full; Area::ALL.len()])
    }

    pub fn level(&self, area: Area) -> Level {
        self.0[area.index()]
    }

    pub fn set(&mut self, area: Area, level: Level) {
        self.0[area.index()] = level;
    }

    /// Raises each area to at least the other's level (the union of two roles).
    pub fn raise_to(&mut self, other: &Grants) {
        for area in Area::ALL {
            let level = self.level(area).max(other.level(area));
            self.set(area, level);
        }
    }

    /// Whether every level here is at most `other`'s (a template or role never raises privileges).
    pub fn is_within(&self, other: &Grants) -> bool {
        Area::ALL
            .iter()
            .all(|area| self.level(*area) <= other.level(*area))
    }

    pub fn iter(&self) -> impl Iterator<Item = (Area, Level)> + '_ {
        Area::ALL.into_iter().map(|area| (area, self.level(area)))
    }
}

/// One token scope: an area and the level it allows (`read` → READ, `write` → FULL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub area: Area,
    pub level: Level,
}

impl Scope {
    pub fn new(area: Area, level: Level) -> Self {
        Self { area, level }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = if self.level == Level::Full {
            "write"
        } else {
            "read"
        };
        write!(f, "{}:{action}", self.area.as_str().to_ascii_lowercase())
    }
}

impl FromStr for Scope {
    type Err = PermissionParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || PermissionParseError::UnknownScope(s.to_owned());
        let (area, action) = s.split_once(':').ok_or_else(unknown)?;
        let area: Area = area.parse().map_err(|_| unknown())?;
        let level = match action {
            "read" => Level::Read,
            "write" => Level::Full,
            _ => return Err(unknown()),
        };
        Ok(Scope { area, level })
    }
}

/// The scopes a token carries. A token without a `scope` claim is unrestricted (it has its
/// user's rights); one with a claim gets, per area, the highest level among its scopes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeSet {
    scopes: Option<BTreeSet<Scope>>,
}

impl ScopeSet {
    pub fn unrestricted() -> Self {
        Self { scopes: None }
    }

    /// Parses a space-separated `scope` claim.
    pub fn parse(claim: &str) -> Result<Self, PermissionParseError> {
        let scopes = claim
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<BTreeSet<Scope>, _>>()?;
        Ok(Self {
            scopes: Some(scopes),
        })
    }

    pub fn is_restricted(&self) -> bool {
        self.scopes.is_some()
    }

    /// The highest level the scopes allow in `area`.
    pub fn cap(&self, area: Area) -> Level {
        match &self.scopes {
            None => Level::Full,
            Some(scopes) => scopes
                .iter()
                .filter(|scope| scope.area == area)
                .map(|scope| scope.level)
                .max()
                .unwrap_or(Level::None),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_cap_levels() {
        let scopes = ScopeSet::parse("users:read roles:write users:write").unwrap();
        assert_eq!(scopes.cap(Area::Users), Level::Full);
        assert_eq!(scopes.cap(Area::Roles), Level::Full);
        assert_eq!(scopes.cap(Area::AuditLog), Level::None);
        assert_eq!(ScopeSet::unrestricted().cap(Area::AuditLog), Level::Full);
    }

    #[test]
    fn unknown_scopes_are_refused() {
        assert!(ScopeSet::parse("users:delete").is_err());
        assert!(ScopeSet::parse("nothing:read").is_err());
        assert!(ScopeSet::parse("users").is_err());
    }

    #[test]
    fn scope_names_round_trip() {
        for area in Area::ALL {
            for level in [Level::Read, Level::Full] {
                let scope = Scope::new(area, level);
                assert_eq!(scope.to_string().parse::<Scope>().unwrap(), scope);
            }
        }
    }
}
