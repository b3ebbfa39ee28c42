//! DataLoaders, created per request with the caller's account inside (a shared loader would be
//! blind to the caller). Each turns N nested look-ups into one statement.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DatabaseConnection;

use crate::domain::ids::{AccountId, RoleId, UserId};
use crate::domain::permission::Grants;
use crate::error::AppError;
use crate::store;
use crate::store::entities::{role, user};
use crate::store::named::{NamedRecord, UserSkill};

/// How long a loader waits to batch keys; nested fields arrive within microseconds.
const BATCH_DELAY: Duration = Duration::from_micros(200);

pub struct Loaders {
    pub users: DataLoader<UserById>,
    pub roles_of_user: DataLoader<RolesOfUser>,
    pub groups_of_user: DataLoader<GroupsOfUser>,
    pub skills_of_user: DataLoader<SkillsOfUser>,
    pub grants_of_role: DataLoader<GrantsOfRole>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, account: AccountId) -> Self {
        let scope = || Scope {
            db: db.clone(),
            account,
        };
        fn make<T: Send + Sync + 'static>(loader: T) -> DataLoader<T> {
            DataLoader::new(loader, tokio::spawn).delay(BATCH_DELAY)
        }
        Self {
            users: make(UserById(scope())),
            roles_of_user: make(RolesOfUser(scope())),
            groups_of_user: make(GroupsOfUser(scope())),
            skills_of_user: make(SkillsOfUser(scope())),
            grants_of_role: make(GrantsOfRole(scope())),
        }
    }
}

/// The database and the account every loader is bound to.
pub struct Scope {
    db: DatabaseConnection,
    account: AccountId,
}

pub type LoadError = Arc<AppError>;

fn failed(error: sea_orm::DbErr) -> LoadError {
    Arc::new(AppError::Database(error))
}

pub struct UserById(Scope);

impl Loader<UserId> for UserById {
    type Value = user::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, user::Model>, LoadError> {
        store::users::by_ids(&self.0.db, self.0.account, keys)
            .await
            .map_err(failed)
    }
}

pub struct RolesOfUser(Scope);

impl Loader<UserId> for RolesOfUser {
    type Value = Vec<role::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, Vec<role::Model>>, LoadError> {
        store::roles::roles_by_users(&self.0.db, self.0.account, keys)
            .await
            .map_err(failed)
    }
}

pub struct GroupsOfUser(Scope);

impl Loader<UserId> for GroupsOfUser {
    type Value = Vec<NamedRecord>;
    type Error = LoadError;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, Vec<NamedRecord>>, LoadError> {
        store::named::groups_by_users(&self.0.db, self.0.account, keys)
            .await
            .map_err(failed)
    }
}

pub struct SkillsOfUser(Scope);

impl Loader<UserId> for SkillsOfUser {
    type Value = Vec<UserSkill>;
    type Error = LoadError;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, Vec<UserSkill>>, LoadError> {
        store::named::skills_by_users(&self.0.db, self.0.account, keys)
            .await
            .map_err(failed)
    }
}

pub struct GrantsOfRole(Scope);

impl Loader<RoleId> for GrantsOfRole {
    type Value = Grants;
    type Error = LoadError;

    async fn load(&self, keys: &[RoleId]) -> Result<HashMap<RoleId, Grants>, LoadError> {
        let roles = store::roles::by_ids(&self.0.db, self.0.account, keys)
            .await
            .map_err(failed)?;
        store::roles::grants_by_roles(&self.0.db, self.0.account, &roles)
            .await
            .map_err(failed)
    }
}
