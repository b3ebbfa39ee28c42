use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Upload};

use crate::domain::bulk::{RowStatus, SourceRow};
use crate::domain::ids::{BulkUserJobId, UserId};
use crate::error::{AppError, UserError as DomainUserError};
use crate::graphql::context::{caller, services};
use crate::graphql::relay::decode_typed;
use crate::graphql::types::bulk_users::{BULK_USER_JOB, BulkUserJob, BulkUserRow};
use crate::graphql::types::payload::{UserError, outcome, payload};
use crate::graphql::types::user::USER;
use crate::graphql::types::user_view::USER_VIEW;
use crate::service::bulk_users::{BulkSource, BulkUsersInput};

/// One user to create, as a row of a spreadsheet.
#[derive(InputObject)]
pub struct BulkUserRowInput {
    /// Unique in the account in any letter case. Required.
    pub username: Option<String>,
    /// A first and a last name, or a display name, are required.
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// E.164; required when the template's type takes calls (agents, voice supervisors).
    pub phone: Option<String>,
    /// Unique in the account; generated when omitted and `generateAgentIds` is given.
    pub agent_id: Option<i64>,
    /// With `externalId`: the record of another platform (say `salesforce`) the new user is
    /// linked to. A record already linked to a user is skipped (ALREADY_LINKED).
    pub external_source: Option<String>,
    pub external_id: Option<String>,
}

/// Agent IDs for rows without one.
#[derive(InputObject)]
pub struct GenerateAgentIdsInput {
    /// The first ID to try; IDs used in the account and IDs given by rows are skipped.
    pub starting_id: i64,
}

/// Many users from one template user. Give exactly one source: `rows`, `csv`, `userViewId` or
/// `pendingUserIds`.
#[derive(InputObject)]
pub struct UsersFromTemplateInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// An existing login user of the account: new users copy its skills with levels, groups,
    /// roles, queue and line access, user type, country, telephony region and licence type.
    pub template_user_id: ID,
    /// Users to create: 1 to 250.
    #[graphql(validator(max_items = 250))]
    pub rows: Option<Vec<BulkUserRowInput>>,
    /// The same rows as a CSV file with a header row (`username`, `firstName`, `lastName`,
    /// `displayName`, `email`, `phone`, `agentId`, `externalSource`, `externalId`; any letter
    /// case, spaces allowed), sent with the GraphQL multipart request convention: up to 10 MiB
    /// (configurable) and 50,000 rows.
    pub csv: Option<Upload>,
    /// PENDING users (say, imported by user sync) to activate: 1 to 250.
    #[graphql(validator(max_items = 250))]
    pub pending_user_ids: Option<Vec<ID>>,
    /// The users a saved view shows when the job is recorded: PENDING ones are activated, the
    /// others are skipped (ALREADY_LINKED). At most 50,000.
    pub user_view_id: Option<ID>,
    /// Generate agent IDs for rows without one.
    pub generate_agent_ids: Option<GenerateAgentIdsInput>,
    /// The same key (per account) returns the same job instead of a second one. 1 to 100
    /// characters. Ignored by the preview.
    pub idempotency_key: Option<String>,
}

impl UsersFromTemplateInput {
    async fn into_service(self, ctx: &Context<'_>) -> Result<BulkUsersInput, AppError> {
        let template_user_id: UserId = decode_typed(&self.template_user_id, USER)?;
        let source = match (
            self.rows,
            self.csv,
            self.pending_user_ids,
            self.user_view_id,
        ) {
            (Some(rows), None, None, None) => BulkSource::Rows(
                rows.into_iter()
                    .map(|r| SourceRow {
                        username: r.username,
                        first_name: r.first_name,
                        last_name: r.last_name,
                        display_name: r.display_name,
                        email: r.email,
                        phone: r.phone,
                        agent_id: r.agent_id,
                        external_source: r.external_source,
                        external_id: r.external_id,
                        pending_user_id: None,
                    })
                    .collect(),
            ),
            (None, Some(csv), None, None) => {
                let file = csv
                    .value(ctx)
                    .map_err(|_| AppError::BadInput("`csv` is not an uploaded file".into()))?;
                BulkSource::Csv(services(ctx).read_csv(caller(ctx)?, file.content).await?)
            }
            (None, None, Some(ids), None) => BulkSource::PendingUsers(
                ids.iter()
                    .map(|id| decode_typed(id, USER))
                    .collect::<Result<_, _>>()?,
            ),
            (None, None, None, Some(view)) => {
                BulkSource::UserView(decode_typed(&view, USER_VIEW).map_err(|_| unknown_view())?)
            }
            _ => {
                return Err(AppError::rejected(DomainUserError::new(
                    &["input"],
                    "SOURCE_REQUIRED",
                    "give exactly one source: rows, csv, userViewId or pendingUserIds",
                )));
            }
        };
        Ok(BulkUsersInput {
            template_user_id,
            source,
            starting_agent_id: self.generate_agent_ids.map(|g| g.starting_id),
            idempotency_key: self.idempotency_key,
        })
    }
}

fn unknown_view() -> AppError {
    AppError::rejected(DomainUserError::new(
        &["input", "userViewId"],
        "UNKNOWN_VIEW",
        "the user view does not exist in the account",
    ))
}

/// Counts of a preview's verdicts.
#[derive(SimpleObject)]
pub struct BulkUserPreviewSummary {
    pub total: i32,
    /// Rows a run would create (or activate).
    pub created: i32,
    pub failed: i32,
    pub skipped: i32,
}

/// What a run would do now, row by row. Nothing was written.
#[derive(SimpleObject)]
pub struct UsersFromTemplatePreviewPayload {
    /// Echo of the input's `clientMutationId`.
    pub client_mutation_id: Option<String>,
    /// Each row with the verdict a run would reach now and the agent ID it would get; absent
    /// when `userErrors` is not empty.
    pub rows: Option<Vec<BulkUserRow>>,
    pub summary: Option<BulkUserPreviewSummary>,
    /// Why the input was rejected; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Names a bulk user job.
#[derive(InputObject)]
pub struct BulkUserJobIdInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The job's global id.
    pub id: ID,
}

/// The job whose failed rows to run again.
#[derive(InputObject)]
pub struct RetryFailedRowsInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The finished job's global id.
    pub job_id: ID,
    /// The same key (per account) returns the same retry job.
    pub idempotency_key: Option<String>,
}

payload!(
    /// The bulk user job.
    BulkUserJobPayload { bulk_user_job: BulkUserJob }
);

#[derive(Default)]
pub struct BulkUserMutation;

#[Object]
impl BulkUserMutation {
    /// Runs exactly the checks of a real run, row by row, and writes nothing: every reason a
    /// row would fail, which rows would be skipped, the agent IDs that would be generated. Needs
    /// BULK_USERS FULL (and USER_PII FULL when rows carry emails or phones).
    async fn preview_users_from_template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The template and the rows.")] input: UsersFromTemplateInput,
    ) -> async_graphql::Result<UsersFromTemplatePreviewPayload> {
        let client_mutation_id = input.client_mutation_id.clone();
        let result = match input.into_service(ctx).await {
            Ok(input) => {
                services(ctx)
                    .preview_users_from_template(caller(ctx)?, input)
                    .await
            }
            Err(error) => Err(error),
        };
        let (rows, user_errors) = outcome(result)?;
        let summary = rows.as_ref().map(|rows| {
            let count = |status| {
                i32::try_from(rows.iter().filter(|r| r.status == status).count()).unwrap_or(0)
            };
            BulkUserPreviewSummary {
                total: i32::try_from(rows.len()).unwrap_or(0),
                created: count(RowStatus::Created),
                failed: count(RowStatus::Failed),
                skipped: count(RowStatus::Skipped),
            }
        });
        Ok(UsersFromTemplatePreviewPayload {
            client_mutation_id,
            rows: rows.map(|rows| rows.into_iter().map(BulkUserRow).collect()),
            summary,
            user_errors,
        })
    }

    /// Records a job that creates the users (or activates the pending users) in the
    /// background and returns it at once; follow it with `bulkUserJob`. Each row succeeds or
    /// fails on its own; no welcome email is sent. The same `idempotencyKey` returns the same
    /// job. Needs BULK_USERS FULL (and USER_PII FULL when rows carry emails or phones), and
    /// every grant of the template's roles: a template never raises anyone's privileges.
    async fn create_users_from_template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The template and the rows.")] input: UsersFromTemplateInput,
    ) -> async_graphql::Result<BulkUserJobPayload> {
        let client_mutation_id = input.client_mutation_id.clone();
        let result = match input.into_service(ctx).await {
            Ok(input) => {
                services(ctx)
                    .create_users_from_template(caller(ctx)?, input)
                    .await
            }
            Err(error) => Err(error),
        };
        BulkUserJobPayload::from_result(client_mutation_id, result, BulkUserJob)
    }

    /// Stops a job after its current row; the rows not processed become CANCELLED. Needs
    /// BULK_USERS FULL.
    async fn cancel_bulk_user_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job.")] input: BulkUserJobIdInput,
    ) -> async_graphql::Result<BulkUserJobPayload> {
        let id: BulkUserJobId = decode_typed(&input.id, BULK_USER_JOB)?;
        let result = services(ctx).cancel_bulk_user_job(caller(ctx)?, id).await;
        BulkUserJobPayload::from_result(input.client_mutation_id, result, BulkUserJob)
    }

    /// A new job with only the failed rows of a finished job, after the data was fixed (pending
    /// users are read afresh). Needs BULK_USERS FULL.
    async fn retry_failed_rows(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job.")] input: RetryFailedRowsInput,
    ) -> async_graphql::Result<BulkUserJobPayload> {
        let id: BulkUserJobId = decode_typed(&input.job_id, BULK_USER_JOB)?;
        let result = services(ctx)
            .retry_failed_rows(caller(ctx)?, id, input.idempotency_key)
            .await;
        BulkUserJobPayload::from_result(input.client_mutation_id, result, BulkUserJob)
    }
}
