//! The mutation root, merged from one object per area. Every mutation takes one `input` and
//! returns a payload with `userErrors`.

mod directory;
mod integrations;
mod roles;
mod users;

use async_graphql::MergedObject;

/// Changes. Each mutation takes one `input` and returns a payload: the changed object, or
/// `userErrors` when the input was rejected (nothing is written then). Needs a bearer token of an
/// account user.
#[derive(MergedObject, Default)]
pub struct Mutation(
    users::UserMutation,
    roles::RoleMutation,
    directory::DirectoryMutation,
    integrations::IntegrationMutation,
);
