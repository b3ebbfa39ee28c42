//! Mutation payloads: the changed object, `userErrors` for rejected input, and the echoed
//! `clientMutationId`.

use async_graphql::SimpleObject;

use crate::error::{AppError, UserError as DomainUserError};

/// Why an input was rejected. Nothing was written.
#[derive(SimpleObject, Clone, Debug)]
pub struct UserError {
    /// Path into the mutation's arguments, e.g. `["input", "email"]`.
    pub field: Option<Vec<String>>,
    /// Machine-readable reason, e.g. `USERNAME_EXISTS`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl From<DomainUserError> for UserError {
    fn from(error: DomainUserError) -> Self {
        Self {
            field: Some(error.field),
            code: error.code,
            message: error.message,
        }
    }
}

/// Splits a service result into the payload's object and its `userErrors`; any other error is a
/// top-level error.
pub fn outcome<T>(result: Result<T, AppError>) -> Result<(Option<T>, Vec<UserError>), AppError> {
    match result {
        Ok(value) => Ok((Some(value), Vec::new())),
        Err(AppError::Rejected(errors)) => Ok((None, errors.into_iter().map(Into::into).collect())),
        Err(other) => Err(other),
    }
}

/// Declares a payload type `$name { clientMutationId, $field: Option<$ty>, userErrors }`.
macro_rules! payload {
    ($(#[$doc:meta])* $name:ident { $field:ident : $ty:ty }) => {
        $(#[$doc])*
        #[derive(async_graphql::SimpleObject)]
        pub struct $name {
            /// Echo of the input's `clientMutationId`.
            pub client_mutation_id: Option<String>,
            /// The changed object, or the deleted one's id; absent when `userErrors` is not empty.
            pub $field: Option<$ty>,
            /// Why the input was rejected; empty on success.
            pub user_errors: Vec<$crate::graphql::types::payload::UserError>,
        }

        impl $name {
            pub fn from_result<T>(
                client_mutation_id: Option<String>,
                result: Result<T, $crate::error::AppError>,
                convert: impl FnOnce(T) -> $ty,
            ) -> async_graphql::Result<Self> {
                let (value, user_errors) = $crate::graphql::types::payload::outcome(result)?;
                Ok(Self {
                    client_mutation_id,
                    $field: value.map(convert),
                    user_errors,
                })
            }
        }
    };
}

pub(crate) use payload;
