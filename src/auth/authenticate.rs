//! Turns a bearer token into a principal: verify the token, then check in the database that the
//! user exists in that account, is an ACTIVE LOGIN user, and that the account is not suspended.
//! One statement: the user, the account's status and the user's effective grants.

use super::principal::{AccountUser, Operator, Principal};
use super::tokens::{Subject, Tokens};
use crate::domain::user::{UserKind, UserStatus};
use crate::error::AppError;
use crate::service::Services;
use crate::service::connection_requests::Invitation;
use crate::store;
use crate::store::entities::account::AccountStatus;

pub async fn authenticate(
    db: &store::Db,
    tokens: &Tokens,
    bearer: Option<&str>,
) -> Result<Principal, AppError> {
    let Some(token) = bearer else {
        return Ok(Principal::Anonymous);
    };
    let subject = tokens.verify(token, false).await.map_err(|error| {
        tracing::debug!(%error, "token refused");
        AppError::Unauthenticated(token_message(&error))
    })?;
    match subject {
        Subject::User {
            user_id,
            account_id,
            scopes,
        } => {
            let user = store::roles::sign_in(db, account_id, user_id)
                .await?
                .ok_or(AppError::Unauthenticated("the token's user does not exist"))?;
            if user.kind != UserKind::Login || user.status != UserStatus::Active {
                return Err(AppError::Unauthenticated(
                    "the token's user cannot sign in (not an active login user)",
                ));
            }
            if user.account_status == AccountStatus::Suspended {
                return Err(AppError::AccountSuspended);
            }
            Ok(Principal::User(AccountUser {
                account_id,
                user_id,
                username: user.username.unwrap_or_default(),
                grants: user.grants,
                scopes,
            }))
        }
        Subject::Operator { name, scopes } => Ok(Principal::Operator(Operator { name, scopes })),
        Subject::Invitee { .. } => Err(AppError::Unauthenticated(
            "invitee sessions are accepted only on the invitee route",
        )),
    }
}

/// A static, client-safe reason for a refused token.
fn token_message(error: &super::tokens::TokenError) -> &'static str {
    use super::tokens::TokenError::*;
    match error {
        Malformed => "the token is malformed",
        BadSignature => "the token's signature is invalid",
        Expired => "the token has expired",
        NotYetValid => "the token is not valid yet",
        WrongAlgorithm => "the token's algorithm is not accepted",
        UnknownKey => "the token's key id is unknown",
        UnknownIssuer => "the token's issuer is not trusted",
        WrongAudience => "the token's audience is not accepted here",
        BadClaims(reason) => reason,
        BadScopes => "the token's scope claim is invalid",
        KeysUnavailable => "the identity provider's keys are unavailable",
    }
}

/// Turns a bearer token on the invitee route into the invitation of its session: only an
/// invitee session is accepted (account and provider tokens are refused), and only while its
/// link works. No token: no session (the caller may still open one).
pub async fn authenticate_invitee(
    services: &Services,
    tokens: &Tokens,
    bearer: Option<&str>,
) -> Result<Option<Invitation>, AppError> {
    let Some(token) = bearer else {
        return Ok(None);
    };
    let subject = tokens.verify(token, true).await.map_err(|error| {
        tracing::debug!(%error, "invitee token refused");
        AppError::Unauthenticated(token_message(&error))
    })?;
    let Subject::Invitee {
        subject,
        account_id,
    } = subject
    else {
        return Err(AppError::Unauthenticated(
            "only invitee sessions are accepted on the invitee route",
        ));
    };
    let link = subject
        .parse()
        .map_err(|_| AppError::Unauthenticated("the token's claims are incomplete or invalid"))?;
    services
        .invitation_of_session(account_id, link)
        .await
        .map(Some)
}
