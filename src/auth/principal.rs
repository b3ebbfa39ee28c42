//! Who is calling, and the one place their permission levels are evaluated: the roles' grants
//! (read from the database on each request) intersected with the token's scopes.

use crate::domain::ids::{AccountId, UserId};
use crate::domain::operator::OperatorScopes;
use crate::domain::permission::{Area, Grants, Level, Scope, ScopeSet};
use crate::error::AppError;

/// An ACTIVE LOGIN user of an account, authenticated by a token.
#[derive(Clone, Debug)]
pub struct AccountUser {
    pub account_id: AccountId,
    pub user_id: UserId,
    pub username: String,
    /// Union of the user's roles' grants, read at authentication.
    pub grants: Grants,
    pub scopes: ScopeSet,
}

impl AccountUser {
    /// The effective level in `area`: never above what the roles grant or the scopes allow.
    pub fn level(&self, area: Area) -> Level {
        self.grants.level(area).min(self.scopes.cap(area))
    }

    /// The effective level of every area (what `viewer.permissions` shows).
    pub fn effective(&self) -> Grants {
        let mut effective = Grants::default();
        for area in Area::ALL {
            effective.set(area, self.level(area));
        }
        effective
    }

    pub fn can(&self, area: Area, level: Level) -> bool {
        self.level(area) >= level
    }

    /// Allows the call only when every need is met. FORBIDDEN when the roles lack a level (the
    /// first such need is named); otherwise INSUFFICIENT_SCOPES listing every missing scope.
    pub fn require_all(&self, needs: &[(Area, Level)]) -> Result<(), AppError> {
        if let Some((area, level)) = needs
            .iter()
            .find(|(area, level)| self.grants.level(*area) < *level)
        {
            return Err(AppError::Forbidden(*area, *level));
        }
        let missing: Vec<String> = needs
            .iter()
            .filter(|(area, level)| self.scopes.cap(*area) < *level)
            .map(|(area, level)| Scope::new(*area, *level).to_string())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AppError::InsufficientScopes {
                required: missing,
                granted: self.scopes.names(),
            })
        }
    }

    pub fn require(&self, area: Area, level: Level) -> Result<(), AppError> {
        self.require_all(&[(area, level)])
    }
}

/// Vendor staff.
#[derive(Clone, Debug)]
pub struct Operator {
    pub name: String,
    pub scopes: OperatorScopes,
}

#[derive(Clone, Debug)]
pub enum Principal {
    Anonymous,
    User(AccountUser),
    Operator(Operator),
}

impl Principal {
    /// The account user, or UNAUTHENTICATED / FORBIDDEN for anyone else.
    pub fn account_user(&self) -> Result<&AccountUser, AppError> {
        match self {
            Principal::User(user) => Ok(user),
            Principal::Anonymous => Err(AppError::Unauthenticated("a bearer token is required")),
            Principal::Operator(_) => Err(AppError::ForbiddenBecause(
                "platform operators cannot read or change account data",
            )),
        }
    }

    pub fn account_id(&self) -> Option<AccountId> {
        match self {
            Principal::User(user) => Some(user.account_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(grants: Grants, scopes: &str) -> AccountUser {
        AccountUser {
            account_id: AccountId::new(),
            user_id: UserId::new(),
            username: "ann".into(),
            grants,
            scopes: if scopes.is_empty() {
                ScopeSet::unrestricted()
            } else {
                ScopeSet::parse(scopes).unwrap()
            },
        }
    }

    #[test]
    fn roles_deny_before_scopes() {
        let caller = user(Grants::default(), "users:read");
        assert!(matches!(
            caller.require(Area::Users, Level::Read),
            Err(AppError::Forbidden(Area::Users, Level::Read))
        ));
    }

    #[test]
    fn scopes_narrow_and_list_every_missing_scope() {
        let caller = user(Grants::full(), "users:read");
        assert!(caller.require(Area::Users, Level::Read).is_ok());
        match caller.require_all(&[(Area::Users, Level::Full), (Area::Roles, Level::Read)]) {
            Err(AppError::InsufficientScopes { required, granted }) => {
                assert_eq!(required, vec!["users:write", "roles:read"]);
                assert_eq!(granted, vec!["users:read"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
