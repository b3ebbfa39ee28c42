use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::ids::UserId;
use crate::graphql::context::{caller, services};
use crate::graphql::relay::{decode_all, decode_typed};
use crate::graphql::types::contacts::{ContactDomains, ContactSetup, ContactTopic};
use crate::graphql::types::enums::ContactTopicName;
use crate::graphql::types::integration::Integration;
use crate::graphql::types::notice::{AccountNotice, notice_id};
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

/// The whole list of a topic's contacts.
#[derive(InputObject)]
pub struct SetTopicContactsInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The topic.
    pub topic: ContactTopicName,
    /// Its contacts: ACTIVE users with a name, a valid email (at an allowed domain) and a valid
    /// preferred language. An empty list removes them all.
    #[graphql(validator(max_items = 250))]
    pub user_ids: Vec<ID>,
}

/// The email domains topic contacts must use.
#[derive(InputObject)]
pub struct SetAllowedContactDomainsInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// Domains such as `example.com` (subdomains are allowed too); an empty list allows any.
    #[graphql(validator(max_items = 250))]
    pub domains: Vec<String>,
}

/// New consent flags of a user; an omitted flag is left as it is.
#[derive(InputObject)]
pub struct SetContactConsentInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The user.
    pub user_id: ID,
    /// May be invited to product-usage interviews.
    pub may_contact_for_interviews: Option<bool>,
    /// May be told about product updates.
    pub may_contact_for_product_updates: Option<bool>,
}

/// Confirms the account's contacts are current.
#[derive(InputObject)]
pub struct ConfirmContactsReviewedInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
}

/// A notice to dismiss.
#[derive(InputObject)]
pub struct DismissNoticeInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The notice (`Account.notices`).
    pub id: ID,
}

payload!(
    /// The topic with its contacts after the change.
    SetTopicContactsPayload { topic: ContactTopic }
);
payload!(
    /// The allowed domains after the change.
    SetAllowedContactDomainsPayload { allowed_contact_domains: ContactDomains }
);
payload!(
    /// The user with their consent flags after the change.
    SetContactConsentPayload { user: User }
);
payload!(
    /// The contact setup after the confirmation.
    ConfirmContactsReviewedPayload { contact_setup: ContactSetup }
);
payload!(
    /// The dismissed notice.
    DismissNoticePayload { notice: AccountNotice }
);
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

fn integration(entry: std::sync::Arc<crate::domain::catalog::Integration>) -> Integration {
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
        CreateContactPayload::from_result(input.client_mutation_id, result, User::from)
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
        ConvertToLoginUserPayload::from_result(input.client_mutation_id, result, User::from)
    }

    /// Replaces a topic's contacts. Every contact is checked, and every problem is reported
    /// naming the field (`["input", "userIds", "<index>", "email"]`); nothing is saved then.
    /// Needs ACCOUNT_CONTACTS FULL.
    async fn set_topic_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The topic and its contacts.")] input: SetTopicContactsInput,
    ) -> async_graphql::Result<SetTopicContactsPayload> {
        let users = decode_all::<UserId>(&input.user_ids, USER)?;
        let result = services(ctx)
            .set_topic_contacts(caller(ctx)?, input.topic.into(), users)
            .await;
        SetTopicContactsPayload::from_result(input.client_mutation_id, result, ContactTopic)
    }

    /// Restricts topic contacts' emails to these domains. Needs ACCOUNT_CONTACTS FULL.
    async fn set_allowed_contact_domains(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The domains.")] input: SetAllowedContactDomainsInput,
    ) -> async_graphql::Result<SetAllowedContactDomainsPayload> {
        let result = services(ctx)
            .set_allowed_contact_domains(caller(ctx)?, input.domains)
            .await;
        SetAllowedContactDomainsPayload::from_result(input.client_mutation_id, result, |domains| {
            ContactDomains { domains }
        })
    }

    /// Changes a user's consent flags; each change is recorded (`User.consentHistory`). Needs
    /// ACCOUNT_CONTACTS FULL.
    async fn set_contact_consent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user and the flags.")] input: SetContactConsentInput,
    ) -> async_graphql::Result<SetContactConsentPayload> {
        let id: UserId = decode_typed(&input.user_id, USER)?;
        let result = services(ctx)
            .set_contact_consent(
                caller(ctx)?,
                id,
                input.may_contact_for_interviews,
                input.may_contact_for_product_updates,
            )
            .await;
        SetContactConsentPayload::from_result(input.client_mutation_id, result, User::from)
    }

    /// Confirms the contacts are current: the next review is due in 3 months. Needs
    /// ACCOUNT_CONTACTS FULL.
    async fn confirm_contacts_reviewed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Nothing but the mutation id.")] input: Option<
            ConfirmContactsReviewedInput,
        >,
    ) -> async_graphql::Result<ConfirmContactsReviewedPayload> {
        let result = services(ctx).confirm_contacts_reviewed(caller(ctx)?).await;
        ConfirmContactsReviewedPayload::from_result(
            input.and_then(|i| i.client_mutation_id),
            result,
            ContactSetup,
        )
    }

    /// Hides a notice from the viewer's `Account.notices(unreadOnly: true)`. Needs
    /// INTEGRATIONS READ.
    async fn dismiss_notice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The notice.")] input: DismissNoticeInput,
    ) -> async_graphql::Result<DismissNoticePayload> {
        let id = notice_id(&input.id)?;
        let result = services(ctx).dismiss_notice(caller(ctx)?, id).await;
        DismissNoticePayload::from_result(input.client_mutation_id, result, |notice| {
            AccountNotice {
                notice,
                dismissed: true,
            }
        })
    }
}
