use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::contacts::ConsentChange;
use super::directory::{Group, UserSkill};
use super::enums::{ContactTopicName, UserKind, UserStatus, UserType};
use super::integration::Integration;
use super::role::Role;
use super::telephony::UserResourceAccess;
use crate::domain::permission::{Area, Level};
use crate::graphql::context::{caller, loaders, services};
use crate::graphql::errors::guarded;
use crate::graphql::relay::encode_id;
use crate::store::entities::user;

/// A person of the account: a login user or a non-login contact. The row is shared, so that the
/// same user listed in many places (the contacts of many integrations, say) is not copied.
#[derive(Clone)]
pub struct User(pub Arc<user::Model>);

impl From<user::Model> for User {
    fn from(model: user::Model) -> Self {
        Self(Arc::new(model))
    }
}

pub const USER: &str = "User";

impl User {
    pub fn global_id(&self) -> ID {
        encode_id(USER, &self.0.id.to_string())
    }
}

/// A field that needs USER_PII READ: `null` with FORBIDDEN otherwise.
fn personal<'a>(ctx: &Context<'_>, value: &'a Option<String>) -> Option<&'a str> {
    let check = caller(ctx).and_then(|c| c.require(Area::UserPii, Level::Read));
    guarded(ctx, check, || value.as_deref())
}

/// A person of the account: a login user or a non-login contact. Listing or looking up users needs
/// USERS READ; a caller can always read their own user through `viewer`.
#[Object]
impl User {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        self.global_id()
    }
    /// Login name, unique in the account in any letter case; absent for some non-login contacts.
    async fn username(&self) -> Option<&str> {
        self.0.username.as_deref()
    }
    /// Name shown in the product.
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }
    /// Given name.
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    /// Family name.
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    /// Email address. Personal data: needs USER_PII READ.
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        personal(ctx, &self.0.email)
    }
    /// Phone number in E.164 form. Personal data: needs USER_PII READ.
    async fn phone(&self, ctx: &Context<'_>) -> Option<&str> {
        personal(ctx, &self.0.phone)
    }
    /// Preferred language, a BCP 47 tag.
    async fn preferred_language(&self) -> Option<&str> {
        self.0.preferred_language.as_deref()
    }
    /// Login user or non-login contact.
    async fn kind(&self) -> UserKind {
        self.0.kind.into()
    }
    /// Lifecycle state: ACTIVE, PENDING or DEACTIVATED.
    async fn status(&self) -> UserStatus {
        self.0.status.into()
    }
    /// The user's job in the contact centre.
    async fn user_type(&self) -> Option<UserType> {
        self.0.user_type.map(Into::into)
    }
    /// ISO 3166-1 alpha-2 country code.
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }
    /// The user's telephony region (free text).
    async fn telephony_region(&self) -> Option<&str> {
        self.0.telephony_region.as_deref()
    }
    /// Licence type (free text).
    async fn licence_type(&self) -> Option<&str> {
        self.0.licence_type.as_deref()
    }
    /// Numeric agent ID, unique in the account.
    async fn agent_id(&self) -> Option<i64> {
        self.0.agent_id
    }
    /// Whether this user holds a licence seat (ACTIVE LOGIN users do).
    async fn holds_seat(&self) -> bool {
        crate::domain::user::holds_seat(self.0.kind, self.0.status)
    }
    /// When the user was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the user's fields, groups, skills or status last changed (role changes do not count).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The user's roles. Needs ROLES READ.
    async fn roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Role>>> {
        if let Err(error) = caller(ctx).and_then(|c| c.require(Area::Roles, Level::Read)) {
            crate::graphql::errors::deny_field(ctx, error);
            return Ok(None);
        }
        let roles = loaders(ctx)?.roles_of_user().load_one(self.0.id).await?;
        Ok(Some(
            roles
                .unwrap_or_default()
                .into_iter()
                .map(Role::new)
                .collect(),
        ))
    }
    /// A contact's job title.
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    /// Whether the address is a distribution list rather than a person.
    async fn is_distribution_list(&self) -> bool {
        self.0.is_distribution_list
    }
    /// The integrations this person is a contact for. Needs INTEGRATION_CONTACTS READ.
    async fn integration_contact_for(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<Integration>>> {
        if let Err(error) =
            caller(ctx).and_then(|c| c.require(Area::IntegrationContacts, Level::Read))
        {
            crate::graphql::errors::deny_field(ctx, error);
            return Ok(None);
        }
        let loaders = loaders(ctx)?;
        let keys = loaders
            .integrations_of_user()
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let connections = loaders
            .connection_of_integration()
            .load_many(keys.clone())
            .await?;
        let catalog = &services(ctx).catalog;
        Ok(Some(
            keys.into_iter()
                .filter_map(|key| {
                    let entry = catalog.get(&key)?.clone();
                    Some(Integration {
                        connection: Some(connections.get(&key).cloned()),
                        entry,
                    })
                })
                .collect(),
        ))
    }
    /// Whether the vendor may address this person in marketing: login users, and non-login
    /// people who hold a role or an account-contact topic — not someone who is in the system
    /// only as an integration contact.
    async fn marketing_eligible(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        if self.0.kind == crate::domain::user::UserKind::Login {
            return Ok(true);
        }
        let loaders = loaders(ctx)?;
        let (topics, roles) = tokio::try_join!(
            loaders.topics_of_user().load_one(self.0.id),
            loaders.roles_of_user().load_one(self.0.id),
        )?;
        Ok(!topics.unwrap_or_default().is_empty() || !roles.unwrap_or_default().is_empty())
    }
    /// May be invited to product-usage interviews (default true). Needs ACCOUNT_CONTACTS READ.
    async fn may_contact_for_interviews(&self, ctx: &Context<'_>) -> Option<bool> {
        let check = caller(ctx).and_then(|c| c.require(Area::AccountContacts, Level::Read));
        guarded(ctx, check, || Some(self.0.may_contact_for_interviews))
    }
    /// May be told about product updates (default true); PRODUCT_UPDATES notices respect it.
    /// Needs ACCOUNT_CONTACTS READ.
    async fn may_contact_for_product_updates(&self, ctx: &Context<'_>) -> Option<bool> {
        let check = caller(ctx).and_then(|c| c.require(Area::AccountContacts, Level::Read));
        guarded(ctx, check, || Some(self.0.may_contact_for_product_updates))
    }
    /// Since when a user sync has not found this user upstream: flagged, never deleted (null
    /// while the upstream lists them, or for users no sync links).
    async fn missing_upstream_since(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<chrono::DateTime<chrono::Utc>>> {
        Ok(loaders(ctx)?
            .missing_upstream_of_user()
            .load_one(self.0.id)
            .await?
            .flatten())
    }
    /// Every change of the consent flags, newest first: which, the new value, who and when.
    /// Needs ACCOUNT_CONTACTS READ.
    async fn consent_history(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<ConsentChange>>> {
        if let Err(error) = caller(ctx).and_then(|c| c.require(Area::AccountContacts, Level::Read))
        {
            crate::graphql::errors::deny_field(ctx, error);
            return Ok(None);
        }
        let history = loaders(ctx)?
            .consent_history_of_user()
            .load_one(self.0.id)
            .await?;
        Ok(Some(
            history
                .unwrap_or_default()
                .into_iter()
                .map(ConsentChange)
                .collect(),
        ))
    }
    /// The account-contact topics this person is a contact for. Needs ACCOUNT_CONTACTS READ.
    async fn contact_topics(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<ContactTopicName>>> {
        if let Err(error) = caller(ctx).and_then(|c| c.require(Area::AccountContacts, Level::Read))
        {
            crate::graphql::errors::deny_field(ctx, error);
            return Ok(None);
        }
        let topics = loaders(ctx)?.topics_of_user().load_one(self.0.id).await?;
        Ok(Some(
            topics
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
        ))
    }
    /// The groups the user belongs to.
    async fn groups(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Group>> {
        let groups = loaders(ctx)?.groups_of_user().load_one(self.0.id).await?;
        Ok(groups.unwrap_or_default().into_iter().map(Group).collect())
    }
    /// The queues and lines the user may use, with the level of each.
    async fn resource_access(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<UserResourceAccess>> {
        let access = loaders(ctx)?
            .resources_of_user()
            .load_one(self.0.id)
            .await?;
        Ok(access
            .unwrap_or_default()
            .into_iter()
            .map(UserResourceAccess)
            .collect())
    }
    /// The user's skills with their levels.
    async fn skills(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<UserSkill>> {
        let skills = loaders(ctx)?.skills_of_user().load_one(self.0.id).await?;
        Ok(skills
            .unwrap_or_default()
            .into_iter()
            .map(UserSkill)
            .collect())
    }
}
