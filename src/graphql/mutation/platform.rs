//! Platform operators' changes to accounts: create one with its first admin, rename it or set its
//! licence limit, suspend and reactivate it. Account users get FORBIDDEN here.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::ids::AccountId;
use crate::graphql::context::{principal, services};
use crate::graphql::relay::decode_typed;
use crate::graphql::types::account::ACCOUNT;
use crate::graphql::types::payload::{UserError, outcome, payload};
use crate::graphql::types::platform::{ManagedAccount, ManagedAccountAdmin};
use crate::service::accounts::NewAccount;
use crate::service::platform::{self, AccountChange, PlatformCaller};
use crate::service::users::NewUserInput;

/// The first admin of a new account: a LOGIN user, ACTIVE, holding the Account Admin role.
#[derive(InputObject)]
pub struct NewAccountAdminInput {
    /// Up to 100 letters, digits and `. _ - @ +`.
    pub username: String,
    /// The admin's email address.
    pub email: String,
    /// The name shown in the product (the user's display name); at most 200 characters.
    pub name: Option<String>,
    /// BCP 47, e.g. `de-CH`.
    pub preferred_language: Option<String>,
}

/// A new customer account and its first admin.
#[derive(InputObject)]
pub struct CreateAccountInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// URL name: 3 to 40 lowercase letters, digits and hyphens; unique (SLUG_TAKEN otherwise).
    pub slug: String,
    /// The company's name; at most 200 characters.
    pub name: String,
    /// How many ACTIVE LOGIN users the account may have; at least 1 (the admin holds a seat).
    pub licence_limit: i32,
    /// The account's first admin.
    pub admin: NewAccountAdminInput,
}

/// Changes to an account's metadata. An omitted field is left as it is.
#[derive(InputObject)]
pub struct UpdateAccountInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// The account's global id (`ManagedAccount.id`).
    pub id: ID,
    /// The company's new name; at most 200 characters.
    pub name: Option<String>,
    /// The new licence limit: at least 1 and never below the seats in use (LICENCE_BELOW_USAGE).
    pub licence_limit: Option<i32>,
}

/// Names the account to suspend.
#[derive(InputObject)]
pub struct SuspendAccountInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// The account's global id (`ManagedAccount.id`).
    pub id: ID,
    /// Why, for the account's audit log; at most 500 characters.
    pub reason: Option<String>,
}

/// Names the account to reactivate.
#[derive(InputObject)]
pub struct ReactivateAccountInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// The account's global id (`ManagedAccount.id`).
    pub id: ID,
}

/// The created account and its first admin.
#[derive(SimpleObject)]
pub struct CreateAccountPayload {
    /// Echo of the input's `clientMutationId`.
    pub client_mutation_id: Option<String>,
    /// The new account; absent when `userErrors` is not empty.
    pub account: Option<ManagedAccount>,
    /// The account's first admin; absent when `userErrors` is not empty.
    pub admin: Option<ManagedAccountAdmin>,
    /// Why the input was rejected; empty on success. The admin's fields are reported under
    /// `["input", "admin", …]`.
    pub user_errors: Vec<UserError>,
}

payload!(
    /// The account after the change.
    UpdateAccountPayload { account: ManagedAccount }
);
payload!(
    /// The suspended account.
    SuspendAccountPayload { account: ManagedAccount }
);
payload!(
    /// The reactivated account.
    ReactivateAccountPayload { account: ManagedAccount }
);

fn account_id(id: &ID) -> async_graphql::Result<AccountId> {
    Ok(decode_typed(id, ACCOUNT)?)
}

/// A test email to send.
#[derive(InputObject)]
pub struct SendTestEmailInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The recipient's address.
    pub to: String,
    /// BCP 47 language of the email; the default language when omitted.
    pub language: Option<String>,
}

payload!(
    /// The id of the recorded outbox message.
    SendTestEmailPayload { outbox_message_id: ID }
);

#[derive(Default)]
pub struct PlatformMutation;

#[Object]
impl PlatformMutation {
    /// Creates a customer account and its first admin (LOGIN, ACTIVE, Account Admin) in one
    /// transaction. Platform operators only (scope `accounts:write`).
    async fn create_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account and its first admin.")] input: CreateAccountInput,
    ) -> async_graphql::Result<CreateAccountPayload> {
        let caller = PlatformCaller::Operator(platform::operator(principal(ctx))?);
        let new = NewAccount {
            slug: input.slug,
            name: input.name,
            licence_limit: input.licence_limit,
            admin: NewUserInput {
                username: Some(input.admin.username),
                email: Some(input.admin.email),
                display_name: input.admin.name,
                preferred_language: input.admin.preferred_language,
                ..NewUserInput::default()
            },
        };
        let (created, user_errors) = outcome(services(ctx).open_account(&caller, new).await)?;
        let (account, admin) = match created {
            Some((account, admin)) => (
                Some(ManagedAccount(account)),
                Some(ManagedAccountAdmin(admin)),
            ),
            None => (None, None),
        };
        Ok(CreateAccountPayload {
            client_mutation_id: input.client_mutation_id,
            account,
            admin,
            user_errors,
        })
    }

    /// Renames an account or changes its licence limit. Platform operators only (scope
    /// `accounts:write`).
    async fn update_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account and the changes.")] input: UpdateAccountInput,
    ) -> async_graphql::Result<UpdateAccountPayload> {
        let caller = PlatformCaller::Operator(platform::operator(principal(ctx))?);
        let id = account_id(&input.id)?;
        let change = AccountChange {
            name: input.name,
            licence_limit: input.licence_limit,
        };
        let result = services(ctx).update_account(&caller, id, change).await;
        UpdateAccountPayload::from_result(input.client_mutation_id, result, ManagedAccount)
    }

    /// Suspends an account: every token of its users is refused with ACCOUNT_SUSPENDED and its
    /// background work pauses until it is reactivated; nothing is lost. Platform operators only
    /// (scope `accounts:write`).
    async fn suspend_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account to suspend.")] input: SuspendAccountInput,
    ) -> async_graphql::Result<SuspendAccountPayload> {
        let caller = PlatformCaller::Operator(platform::operator(principal(ctx))?);
        let id = account_id(&input.id)?;
        let result = services(ctx)
            .suspend_account(&caller, id, input.reason)
            .await;
        SuspendAccountPayload::from_result(input.client_mutation_id, result, ManagedAccount)
    }

    /// Reactivates a suspended account: its users' tokens work again, with everything as it was.
    /// Platform operators only (scope `accounts:write`).
    async fn reactivate_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account to reactivate.")] input: ReactivateAccountInput,
    ) -> async_graphql::Result<ReactivateAccountPayload> {
        let caller = PlatformCaller::Operator(platform::operator(principal(ctx))?);
        let id = account_id(&input.id)?;
        let result = services(ctx).reactivate_account(&caller, id).await;
        ReactivateAccountPayload::from_result(input.client_mutation_id, result, ManagedAccount)
    }

    /// Sends a test email through the outbox to check the mail setup; it is delivered by the
    /// background worker. Platform operators only (scope `mail:write`).
    async fn send_test_email(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The recipient and language.")] input: SendTestEmailInput,
    ) -> async_graphql::Result<SendTestEmailPayload> {
        let caller = PlatformCaller::Operator(platform::operator(principal(ctx))?);
        let result = services(ctx)
            .send_test_email(&caller, &input.to, input.language.as_deref())
            .await;
        SendTestEmailPayload::from_result(input.client_mutation_id, result, |id| {
            crate::graphql::relay::encode_id("OutboxMessage", &id.to_string())
        })
    }
}
