//! The mutation root, merged from one object per area. Every mutation takes one `input` and
//! returns a payload with `userErrors`.

mod bulk_users;
mod connection_requests;
mod contacts;
mod directory;
mod integrations;
mod notices;
mod platform;
mod roles;
mod user_sync;
mod user_views;
mod users;

use async_graphql::{MaybeUndefined, MergedObject};

use crate::service::Patch;

/// An optional input field as a change: omitted keeps, `null` clears, a value sets.
fn patch<T, U: From<T>>(value: MaybeUndefined<T>) -> Patch<U> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(value) => Patch::Set(value.into()),
    }
}

/// Changes. Each mutation takes one `input` and returns a payload: the changed object, or
/// `userErrors` when the input was rejected (nothing is written then). Account data needs an
/// account user's token, account management a platform operator's.
#[derive(MergedObject, Default)]
pub struct Mutation(
    users::UserMutation,
    roles::RoleMutation,
    directory::DirectoryMutation,
    integrations::IntegrationMutation,
    contacts::ContactMutation,
    platform::PlatformMutation,
    notices::NoticeMutation,
    connection_requests::ConnectionRequestMutation,
    bulk_users::BulkUserMutation,
    user_views::UserViewMutation,
    user_sync::UserSyncMutation,
);
