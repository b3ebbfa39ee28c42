use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use super::patch;
use crate::domain::ids::{SyncRunId, SyncSourceId};
use crate::graphql::context::{caller, services};
use crate::graphql::relay::decode_typed;
use crate::graphql::types::enums::SyncPrimaryIdentifier;
use crate::graphql::types::payload::payload;
use crate::graphql::types::user_sync::{SYNC_RUN, SYNC_SOURCE, SyncRun, SyncSource};
use crate::service::user_sync::{EnableUserSync, UserSyncPatch};

/// Turns user sync on for a connected directory integration.
#[derive(InputObject)]
pub struct EnableUserSyncInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// `intercom` or `scim`: the integration must be connected.
    pub integration_key: String,
    /// Which attribute matches an unlinked upstream record to an existing user; omitted:
    /// username (where the upstream has usernames), then email.
    pub primary_identifier: Option<SyncPrimaryIdentifier>,
    /// Seconds between runs, counted from the end of the last one: at least 900; 21,600 (6 h)
    /// when omitted.
    pub every_seconds: Option<i64>,
    /// Deactivate users gone upstream for this many consecutive complete runs (never an
    /// Account Admin); omitted: users gone upstream are only flagged.
    pub deactivate_after_missed_runs: Option<i32>,
}

/// Changes a source; omitted fields stay, `null` clears.
#[derive(InputObject)]
pub struct UpdateUserSyncInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The source's global id.
    pub source_id: ID,
    pub primary_identifier: MaybeUndefined<SyncPrimaryIdentifier>,
    pub every_seconds: Option<i64>,
    pub deactivate_after_missed_runs: MaybeUndefined<i32>,
}

/// Names a sync source.
#[derive(InputObject)]
pub struct UserSyncSourceInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The source's global id.
    pub source_id: ID,
}

/// Names a sync run.
#[derive(InputObject)]
pub struct UserSyncRunInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The run's global id.
    pub run_id: ID,
}

payload!(
    /// The sync source.
    UserSyncSourcePayload { user_sync_source: SyncSource }
);

payload!(
    /// The sync run.
    UserSyncRunPayload { user_sync_run: SyncRun }
);

async fn queue(
    ctx: &Context<'_>,
    input: UserSyncSourceInput,
    dry_run: bool,
) -> async_graphql::Result<UserSyncRunPayload> {
    let id: SyncSourceId = decode_typed(&input.source_id, SYNC_SOURCE)?;
    let result = services(ctx)
        .queue_user_sync_run(caller(ctx)?, id, dry_run)
        .await;
    UserSyncRunPayload::from_result(input.client_mutation_id, result, SyncRun)
}

async fn decide(
    ctx: &Context<'_>,
    input: UserSyncRunInput,
    approve: bool,
) -> async_graphql::Result<UserSyncRunPayload> {
    let id: SyncRunId = decode_typed(&input.run_id, SYNC_RUN)?;
    let result = services(ctx)
        .decide_user_sync_run(caller(ctx)?, id, approve)
        .await;
    UserSyncRunPayload::from_result(input.client_mutation_id, result, SyncRun)
}

#[derive(Default)]
pub struct UserSyncMutation;

#[Object]
impl UserSyncMutation {
    /// Turns user sync on: the first run starts at once, then one every `everySeconds` from the
    /// end of the last. Upstream users arrive as PENDING users (no seat, no roles); the upstream
    /// owns names and email; nothing is ever written upstream. Needs USER_SYNC FULL.
    async fn enable_user_sync(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The integration and the options.")] input: EnableUserSyncInput,
    ) -> async_graphql::Result<UserSyncSourcePayload> {
        let result = services(ctx)
            .enable_user_sync(
                caller(ctx)?,
                EnableUserSync {
                    integration_key: input.integration_key,
                    primary_identifier: input.primary_identifier.map(Into::into),
                    every_seconds: input.every_seconds,
                    deactivate_after_missed_runs: input.deactivate_after_missed_runs,
                },
            )
            .await;
        UserSyncSourcePayload::from_result(input.client_mutation_id, result, SyncSource)
    }

    /// Changes a source's matching, schedule or deactivation policy. Needs USER_SYNC FULL.
    async fn update_user_sync(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The source and the changes.")] input: UpdateUserSyncInput,
    ) -> async_graphql::Result<UserSyncSourcePayload> {
        let id: SyncSourceId = decode_typed(&input.source_id, SYNC_SOURCE)?;
        let result = services(ctx)
            .update_user_sync(
                caller(ctx)?,
                id,
                UserSyncPatch {
                    primary_identifier: patch(input.primary_identifier),
                    every_seconds: input.every_seconds,
                    deactivate_after_missed_runs: patch(input.deactivate_after_missed_runs),
                },
            )
            .await;
        UserSyncSourcePayload::from_result(input.client_mutation_id, result, SyncSource)
    }

    /// Stops scheduled runs; users, links and history stay. Needs USER_SYNC FULL.
    async fn disable_user_sync(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The source.")] input: UserSyncSourceInput,
    ) -> async_graphql::Result<UserSyncSourcePayload> {
        let id: SyncSourceId = decode_typed(&input.source_id, SYNC_SOURCE)?;
        let result = services(ctx).disable_user_sync(caller(ctx)?, id).await;
        UserSyncSourcePayload::from_result(input.client_mutation_id, result, SyncSource)
    }

    /// Queues a run now and returns it; while another run holds the source (one at a time),
    /// that run is returned. Needs USER_SYNC FULL.
    async fn run_user_sync_now(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The source.")] input: UserSyncSourceInput,
    ) -> async_graphql::Result<UserSyncRunPayload> {
        queue(ctx, input, false).await
    }

    /// Queues a dry run: the same fetch and the same checks as a run, with the planned action
    /// per user in its items, and nothing changed. Needs USER_SYNC FULL.
    async fn preview_user_sync(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The source.")] input: UserSyncSourceInput,
    ) -> async_graphql::Result<UserSyncRunPayload> {
        queue(ctx, input, true).await
    }

    /// Lets a run held by the deletion safeguard apply its changes. Needs USER_SYNC FULL.
    async fn approve_user_sync_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run awaiting approval.")] input: UserSyncRunInput,
    ) -> async_graphql::Result<UserSyncRunPayload> {
        decide(ctx, input, true).await
    }

    /// Rejects a run held by the deletion safeguard: nothing is changed. Needs USER_SYNC FULL.
    async fn reject_user_sync_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run awaiting approval.")] input: UserSyncRunInput,
    ) -> async_graphql::Result<UserSyncRunPayload> {
        decide(ctx, input, false).await
    }
}
