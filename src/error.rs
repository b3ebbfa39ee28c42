//! The one error type of services and its client-safe codes. Its `Display` text is what a client
//! may see: database and internal variants say nothing of SQL, stack or configuration; their
//! detail goes to the log (see `graphql::errors`, the one place codes are attached).

use sea_orm::DbErr;
use thiserror::Error;

use crate::domain::connection_request::LinkState;
use crate::domain::permission::{Area, Level};
use crate::domain::values::ValueError;

/// A rejected input or business rule, reported in a mutation payload's `userErrors`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserError {
    /// Path into the mutation's input, e.g. `["input", "email"]`.
    pub field: Vec<String>,
    pub code: String,
    pub message: String,
}

impl UserError {
    pub fn new(field: &[&str], code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.iter().map(|part| (*part).to_owned()).collect(),
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// A value that failed to parse, at `field`.
    pub fn invalid(field: &[&str], error: &ValueError) -> Self {
        Self::new(field, error.code(), error.to_string())
    }
}

#[derive(Debug, Error)]
pub enum AppError {
    #[error("authentication required: {0}")]
    Unauthenticated(&'static str),
    #[error("the account is suspended")]
    AccountSuspended,
    #[error("your roles do not allow {level} on {area}", level = .1.as_str(), area = .0.as_str())]
    Forbidden(Area, Level),
    #[error("{0}")]
    ForbiddenBecause(&'static str),
    #[error("the token's scopes do not allow this; missing: {}", .required.join(" "))]
    InsufficientScopes {
        required: Vec<String>,
        granted: Vec<String>,
    },
    #[error("not found")]
    NotFound,
    /// An invite token that matches no link: the plain answer, which tells a guesser nothing.
    #[error("this link is not valid")]
    InvalidLink,
    /// A real invite link that no longer works, and why.
    #[error("{}", .0.message())]
    LinkUnusable(LinkState),
    #[error("too many requests; retry after {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("{0}")]
    BadInput(String),
    #[error("the request was refused: {}", .0.first().map(|e| e.message.as_str()).unwrap_or("invalid input"))]
    Rejected(Vec<UserError>),
    #[error("an internal error occurred")]
    Database(#[from] DbErr),
    #[error("an internal error occurred")]
    Internal(String),
}

impl AppError {
    /// The `extensions.code` clients see.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::AccountSuspended => "ACCOUNT_SUSPENDED",
            AppError::Forbidden(..) | AppError::ForbiddenBecause(_) => "FORBIDDEN",
            AppError::InsufficientScopes { .. } => "INSUFFICIENT_SCOPES",
            AppError::NotFound => "NOT_FOUND",
            AppError::InvalidLink => "INVALID_LINK",
            AppError::LinkUnusable(state) => state.code(),
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::BadInput(_) | AppError::Rejected(_) => "BAD_USER_INPUT",
            AppError::Database(_) | AppError::Internal(_) => "INTERNAL",
        }
    }

    /// Whether the detail must stay in the log (the client gets a generic message).
    pub fn is_internal(&self) -> bool {
        matches!(self, AppError::Database(_) | AppError::Internal(_))
    }

    /// A single rejected field.
    pub fn rejected(error: UserError) -> Self {
        AppError::Rejected(vec![error])
    }
}

impl From<ValueError> for AppError {
    fn from(error: ValueError) -> Self {
        AppError::BadInput(error.to_string())
    }
}

pub type AppResult<T> = Result<T, AppError>;
