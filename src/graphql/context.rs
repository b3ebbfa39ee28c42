//! What resolvers read from the request: the principal, the services and the per-request loaders.

use async_graphql::Context;

use super::loaders::Loaders;
use crate::auth::principal::{AccountUser, Principal};
use crate::error::AppError;
use crate::service::Services;

/// Per-request data: who is calling.
pub struct RequestPrincipal(pub Principal);

pub fn services<'a>(ctx: &Context<'a>) -> &'a Services {
    ctx.data_unchecked::<Services>()
}

pub fn principal<'a>(ctx: &Context<'a>) -> &'a Principal {
    &ctx.data_unchecked::<RequestPrincipal>().0
}

/// The account user calling, or the error that says why there is none.
pub fn caller<'a>(ctx: &Context<'a>) -> Result<&'a AccountUser, AppError> {
    principal(ctx).account_user()
}

/// The request's DataLoaders (present for account users only).
pub fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, AppError> {
    ctx.data_opt::<Loaders>()
        .ok_or(AppError::Unauthenticated("a bearer token is required"))
}

/// The largest page a connection serves.
pub struct MaxPageSize(pub u64);

pub fn max_page(ctx: &Context<'_>) -> u64 {
    ctx.data_opt::<MaxPageSize>().map_or(100, |max| max.0)
}
