//! DataLoaders, created per request with the caller's account inside (a shared loader would be
//! blind to the caller). Each turns N nested look-ups into one statement, and caches for the
//! request. Lists prime them with [`prime_user_relations`]: one `load_many` per selected relation
//! before the items resolve, so the statement count never depends on batch timing (async-graphql
//! resolves long lists in several polls, which can split a timed batch).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::{ContainerType, resolve_container};
use async_graphql::{
    Context, ContextSelectionSet, ObjectType, OutputType, Positioned, ServerResult, Value,
};

use crate::domain::contact::Topic;
use crate::domain::ids::{AccountId, ConnectionRequestId, RoleId, UserId};
use crate::domain::permission::{Area, Grants, Level};
use crate::error::AppError;
use crate::store;
use crate::store::entities::{consent_change, role, user};
use crate::store::named::{NamedRecord, UserSkill};

/// How long a loader waits to gather keys that were not primed.
const BATCH_DELAY: Duration = Duration::from_millis(1);

type Cached<T> = DataLoader<T, HashMapCache>;

/// Declares the request's loaders, each made at its first use (most requests use one or two of
/// the dozen: making and dropping the others was 1 % of a small request), with an accessor named
/// after it.
macro_rules! request_loaders {
    ($($field:ident: $loader:ident<$key:ty>),* $(,)?) => {
        pub struct Loaders {
            scope: Scope,
            $($field: OnceLock<Cached<$loader>>,)*
        }

        impl Loaders {
            pub fn new(db: &store::Db, account: AccountId) -> Self {
                Self {
                    scope: Scope {
                        db: db.clone(),
                        account,
                    },
                    $($field: OnceLock::new(),)*
                }
            }

            $(pub fn $field(&self) -> &Cached<$loader> {
                self.$field.get_or_init(|| {
                    DataLoader::with_cache(
                        $loader(self.scope.clone()),
                        tokio::spawn,
                        HashMapCache::default(),
                    )
                    .delay(BATCH_DELAY)
                })
            })*

            /// Forgets everything loaded so far: a mutation has changed what the cache holds.
            pub fn forget_all(&self) {
                $(if let Some(loader) = self.$field.get() {
                    loader.clear::<$key>();
                })*
            }
        }
    };
}

request_loaders! {
    users: UserById<UserId>,
    roles_of_user: RolesOfUser<UserId>,
    groups_of_user: GroupsOfUser<UserId>,
    skills_of_user: SkillsOfUser<UserId>,
    resources_of_user: ResourcesOfUser<UserId>,
    grants_of_role: GrantsOfRole<RoleId>,
    contacts_of_integration: ContactsOfIntegration<String>,
    integrations_of_user: IntegrationsOfUser<UserId>,
    connection_of_integration: ConnectionOfIntegration<String>,
    topics_of_user: TopicsOfUser<UserId>,
    consent_history_of_user: ConsentHistoryOfUser<UserId>,
    items_of_request: ItemsOfRequest<ConnectionRequestId>,
    missing_upstream_of_user: MissingUpstreamOfUser<UserId>,
}

/// The mutation root, clearing the request's loaders after each of its fields, so a later field
/// (two mutations in one request, each returning the changed objects) never answers from what an
/// earlier one loaded before its change. A wrapper rather than an extension: with any extension,
/// async-graphql sends every field and list item of every query through its extension chain.
#[derive(Default)]
pub struct FreshAfterEachField<M>(pub M);

impl<M: ContainerType> OutputType for FreshAfterEachField<M> {
    fn type_name() -> Cow<'static, str> {
        M::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        M::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve_container(ctx, self).await
    }
}

impl<M: ContainerType> ContainerType for FreshAfterEachField<M> {
    fn is_empty() -> bool {
        M::is_empty()
    }

    /// Mutation fields run one after another, each with its selection resolved here.
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        let value = self.0.resolve_field(ctx).await;
        if let Some(loaders) = ctx.data_opt::<Loaders>() {
            loaders.forget_all();
        }
        value
    }
}

impl<M: ObjectType> ObjectType for FreshAfterEachField<M> {}

/// The database and the account every loader is bound to.
#[derive(Clone)]
pub struct Scope {
    db: store::Db,
    account: AccountId,
}

pub type LoadError = Arc<AppError>;

/// An entry for every key (empty when the key has none), so the cache remembers "none" too.
fn every_key<V: Default>(keys: &[UserId], mut found: HashMap<UserId, V>) -> HashMap<UserId, V> {
    keys.iter()
        .map(|key| (*key, found.remove(key).unwrap_or_default()))
        .collect()
}

/// Whether a connection's items select `field` (through `nodes` or `edges.node`).
fn items_select(ctx: &Context<'_>, field: &str) -> bool {
    let look_ahead = ctx.look_ahead();
    look_ahead.field("nodes").field(field).exists()
        || look_ahead
            .field("edges")
            .field("node")
            .field(field)
            .exists()
}

/// Whether the caller may read `area`: a relation it may not read is not loaded.
fn may_read(ctx: &Context<'_>, area: Area) -> bool {
    super::context::caller(ctx).is_ok_and(|caller| caller.can(area, Level::Read))
}

/// Loads, in one statement each, the relations the users of a connection will ask for.
pub async fn prime_user_relations(ctx: &Context<'_>, users: &[UserId]) -> Result<(), LoadError> {
    let Some(loaders) = ctx.data_opt::<Loaders>() else {
        return Ok(());
    };
    let may_read_roles = may_read(ctx, Area::Roles);
    let roles = async {
        if may_read_roles && items_select(ctx, "roles") {
            loaders
                .roles_of_user()
                .load_many(users.iter().copied())
                .await?;
        }
        Ok::<_, LoadError>(())
    };
    let groups = async {
        if items_select(ctx, "groups") {
            loaders
                .groups_of_user()
                .load_many(users.iter().copied())
                .await?;
        }
        Ok::<_, LoadError>(())
    };
    let skills = async {
        if items_select(ctx, "skills") {
            loaders
                .skills_of_user()
                .load_many(users.iter().copied())
                .await?;
        }
        Ok::<_, LoadError>(())
    };
    let resources = async {
        if items_select(ctx, "resourceAccess") {
            loaders
                .resources_of_user()
                .load_many(users.iter().copied())
                .await?;
        }
        Ok::<_, LoadError>(())
    };
    tokio::try_join!(roles, groups, skills, resources)?;
    Ok(())
}

/// Loads, in one statement, the contacts of a page of integrations, when the page selects them
/// and the caller may read them.
pub async fn prime_integration_contacts(
    ctx: &Context<'_>,
    keys: impl IntoIterator<Item = String>,
) -> Result<(), LoadError> {
    let Some(loaders) = ctx.data_opt::<Loaders>() else {
        return Ok(());
    };
    if may_read(ctx, Area::IntegrationContacts) && items_select(ctx, "contacts") {
        loaders.contacts_of_integration().load_many(keys).await?;
    }
    Ok(())
}

fn failed(error: sea_orm::DbErr) -> LoadError {
    Arc::new(AppError::Database(error))
}

/// A loader of one relation per user: `$store` returns the users that have some; the others get
/// an empty value.
macro_rules! per_user_loader {
    ($(#[$doc:meta])* $name:ident, $value:ty, $store:path) => {
        $(#[$doc])*
        pub struct $name(Scope);

        impl Loader<UserId> for $name {
            type Value = $value;
            type Error = LoadError;

            async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, $value>, LoadError> {
                let found = $store(&self.0.db, self.0.account, keys)
                    .await
                    .map_err(failed)?;
                Ok(every_key(keys, found))
            }
        }
    };
}

per_user_loader!(
    /// Each user's roles.
    RolesOfUser,
    Vec<role::Model>,
    store::roles::roles_by_users
);
per_user_loader!(
    /// Each user's groups.
    GroupsOfUser,
    Vec<NamedRecord>,
    store::named::groups_by_users
);
per_user_loader!(
    /// Each user's skills with levels.
    SkillsOfUser,
    Vec<UserSkill>,
    store::named::skills_by_users
);
per_user_loader!(
    /// Each user's queue and line access.
    ResourcesOfUser,
    Vec<store::telephony::ResourceAccess>,
    store::telephony::access_by_users
);
per_user_loader!(
    /// The integrations each user is a contact for (keys).
    IntegrationsOfUser,
    Vec<String>,
    store::contacts::by_users
);
per_user_loader!(
    /// The topics each user is a contact for.
    TopicsOfUser,
    Vec<Topic>,
    store::topics::by_users
);
per_user_loader!(
    /// Each user's consent changes, newest first.
    ConsentHistoryOfUser,
    Vec<consent_change::Model>,
    store::topics::consent_history
);

per_user_loader!(
    /// Since when a user sync has not found each user upstream.
    MissingUpstreamOfUser,
    Option<chrono::DateTime<chrono::Utc>>,
    store::sync::missing_since_by_users
);

pub struct UserById(Scope);

impl Loader<UserId> for UserById {
    type Value = Arc<user::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, Self::Value>, LoadError> {
        Ok(store::users::by_ids(&self.0.db, self.0.account, keys)
            .await
            .map_err(failed)?
            .into_iter()
            .map(|(id, user)| (id, Arc::new(user)))
            .collect())
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

pub struct ContactsOfIntegration(Scope);

impl Loader<String> for ContactsOfIntegration {
    /// Shared rows: the cache hands out a copy of the list for every integration that asks.
    type Value = Vec<Arc<user::Model>>;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, LoadError> {
        let mut found = store::contacts::by_integrations(&self.0.db, self.0.account, keys)
            .await
            .map_err(failed)?;
        Ok(keys
            .iter()
            .map(|key| {
                let contacts = found.remove(key).unwrap_or_default();
                (key.clone(), contacts.into_iter().map(Arc::new).collect())
            })
            .collect())
    }
}

/// The account's connection to each integration (absent when never connected).
pub struct ConnectionOfIntegration(Scope);

impl Loader<String> for ConnectionOfIntegration {
    type Value = crate::store::entities::connection::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, LoadError> {
        let mut all = store::connections::by_integration(&self.0.db, self.0.account)
            .await
            .map_err(failed)?;
        all.retain(|key, _| keys.contains(key));
        Ok(all)
    }
}

/// Each connection request's integrations, in the order the requester gave them.
pub struct ItemsOfRequest(Scope);

impl Loader<ConnectionRequestId> for ItemsOfRequest {
    type Value = Vec<crate::store::entities::connection_request_item::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ConnectionRequestId],
    ) -> Result<HashMap<ConnectionRequestId, Self::Value>, LoadError> {
        store::connection_requests::items(&self.0.db, self.0.account, keys)
            .await
            .map_err(failed)
    }
}
