use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::ids::UserId;
use crate::graphql::context::{caller, services};
use crate::graphql::relay::{decode_all, decode_typed};
use crate::graphql::types::integration::Integration;
use crate::graphql::types::payload::payload;
use crate::graphql::types::user::{USER, User};
use crate::service::contacts::NewContact;

/// A user to add to, or remove from, an integration's contacts.
#[derive(InputObject)]
pub struct IntegrationContactInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The catalog key, e.g. `intercom`.
    pub integration_key: String,
    /// The user (login or non-login).
    pub user_id: ID,
}

/// The whole list of an integration's contacts.
#[derive(InputObject)]
pub struct SetIntegrationContactsInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The catalog key, e.g. `intercom`.
    pub integration_key: String,
    /// The contacts; an empty list removes them all.
    #[graphql(validator(max_items = 250))]
    pub user_ids: Vec<ID>,
}

/// A new non-login contact: a person (or distribution list) who receives notices but cannot sign
/// in and holds no seat.
#[derive(InputObject)]
pub struct CreateContactInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The contact's name.
    pub name: String,
    /// The contact's email address.
    pub email: String,
    /// BCP 47 language of the notices, e.g. `de-CH`.
    pub preferred_language: String,
    /// E.164 phone number.
    pub phone: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// The address is a distribution list rather than a person.
    #[graphql(default)]
    pub is_distribution_list: bool,
    /// Integrations to make the new contact a contact of, in the same change.
    #[graphql(default, validator(max_items = 250))]
    pub integration_keys: Vec<String>,
}

/// A non-login contact to turn into a login user.
#[derive(InputObject)]
pub struct ConvertToLoginUserInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The non-login user.
    pub id: ID,
    /// Their username, unique in the account in any letter case.
    pub username: String,
}

payload!(
    /// The integration with its contacts after the change.
    IntegrationContactsPayload { integration: Integration }
);
payload!(
    /// The created contact.
    CreateContactPayload { contact: User }
);
payload!(
    /// The user, now able to sign in.
    ConvertToLoginUserPayload { user: User }
);

fn integration(entry: crate::domain::catalog::Integration) -> Integration {
    Integration {
        entry,
        connection: None,
    }
}

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// Makes a user (login or non-login) a contact of an integration; adding twice is harmless.
    /// Needs INTEGRATION_CONTACTS FULL.
    async fn add_integration_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The integration and the user.")] input: IntegrationContactInput,
    ) -> async_graphql::Result<IntegrationContactsPayload> {
        let user: UserId = decode_typed(&input.user_id, USER)?;
        let result = services(ctx)
            .add_integration_contact(caller(ctx)?, &input.integration_key, user)
            .await;
        IntegrationContactsPayload::from_result(input.client_mutation_id, result, integration)
    }

    /// Replaces an integration's contacts. Needs INTEGRATION_CONTACTS FULL.
    async fn set_integration_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The integration and its contacts.")] input: SetIntegrationContactsInput,
    ) -> async_graphql::Result<IntegrationContactsPayload> {
        let users = decode_all::<UserId>(&input.user_ids, USER)?;
        let result = services(ctx)
            .set_integration_contacts(caller(ctx)?, &input.integration_key, users)
            .await;
        IntegrationContactsPayload::from_result(input.client_mutation_id, result, integration)
    }

    /// Removes a contact from an integration. Needs INTEGRATION_CONTACTS FULL.
    async fn remove_integration_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The integration and the user.")] input: IntegrationContactInput,
    ) -> async_graphql::Result<IntegrationContactsPayload> {
        let user: UserId = decode_typed(&input.user_id, USER)?;
        let result = services(ctx)
            .remove_integration_contact(caller(ctx)?, &input.integration_key, user)
            .await;
        IntegrationContactsPayload::from_result(input.client_mutation_id, result, integration)
    }

    /// Creates a non-login contact and makes it the contact of the given integrations, in one
    /// change. Needs INTEGRATION_CONTACTS FULL and USER_PII FULL.
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact.")] input: CreateContactInput,
    ) -> async_graphql::Result<CreateContactPayload> {
        let new = NewContact {
            name: input.name,
            email: input.email,
            preferred_language: input.preferred_language,
            phone: input.phone,
            title: input.title,
            is_distribution_list: input.is_distribution_list,
            integration_keys: input.integration_keys,
        };
        let result = services(ctx).create_contact(caller(ctx)?, new).await;
        CreateContactPayload::from_result(input.client_mutation_id, result, User)
    }

    /// Turns a non-login contact into an ACTIVE login user; a licence seat must be free. Needs
    /// USERS FULL.
    async fn convert_to_login_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact and their username.")] input: ConvertToLoginUserInput,
    ) -> async_graphql::Result<ConvertToLoginUserPayload> {
        let id: UserId = decode_typed(&input.id, USER)?;
        let result = services(ctx)
            .convert_to_login_user(caller(ctx)?, id, &input.username)
            .await;
        ConvertToLoginUserPayload::from_result(input.client_mutation_id, result, User)
    }
}
