//! The mutation root, merged from one object per area. Every mutation takes one `input` and
//! returns a payload with `userErrors`.

mod directory;
mod roles;
mod users;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Mutation(
    users::UserMutation,
    roles::RoleMutation,
    directory::DirectoryMutation,
);
