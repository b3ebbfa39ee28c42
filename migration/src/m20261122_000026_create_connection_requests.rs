//! Connection requests: a user asks someone else to connect integrations through an invite link.
//! The request, its integrations (each with its own status), and its links: only keyed hashes of
//! the tokens, the current one and the ones a resend replaced (so their holders can be told).

use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{
    account_fk, account_id_unique, create_table_with_indexes, drop_table, index, one_of, tenant_fk,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ConnectionRequests {
    Table,
    Id,
    AccountId,
    RequesterId,
    InviteeEmail,
    Message,
    Status,
    Reconnect,
    LifetimeSeconds,
    ExpiresAt,
    OpenedAt,
    CompletedAt,
    EndedAt,
    ResendWindowStart,
    ResendsInWindow,
    NewLinkAskedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ConnectionRequestItems {
    Table,
    AccountId,
    RequestId,
    IntegrationKey,
    Position,
    Status,
    ConnectedAt,
    ConnectedBy,
}

#[derive(DeriveIden)]
enum ConnectionRequestLinks {
    Table,
    Id,
    AccountId,
    RequestId,
    TokenHash,
    CreatedAt,
    ReplacedAt,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Key,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let requests = Table::create()
            .table(ConnectionRequests::Table)
            .col(pk_uuid(ConnectionRequests::Id))
            .col(uuid(ConnectionRequests::AccountId))
            .col(uuid(ConnectionRequests::RequesterId))
            .col(string_len_null(ConnectionRequests::InviteeEmail, 254))
            .col(text_null(ConnectionRequests::Message))
            .col(string_len(ConnectionRequests::Status, 16))
            .col(boolean(ConnectionRequests::Reconnect).default(false))
            .col(big_integer(ConnectionRequests::LifetimeSeconds))
            .col(timestamp_with_time_zone(ConnectionRequests::ExpiresAt))
            .col(timestamp_with_time_zone_null(ConnectionRequests::OpenedAt))
            .col(timestamp_with_time_zone_null(
                ConnectionRequests::CompletedAt,
            ))
            .col(timestamp_with_time_zone_null(ConnectionRequests::EndedAt))
            .col(timestamp_with_time_zone_null(
                ConnectionRequests::ResendWindowStart,
            ))
            .col(integer(ConnectionRequests::ResendsInWindow).default(0))
            .col(timestamp_with_time_zone_null(
                ConnectionRequests::NewLinkAskedAt,
            ))
            .col(timestamp_with_time_zone(ConnectionRequests::CreatedAt))
            .col(timestamp_with_time_zone(ConnectionRequests::UpdatedAt))
            .foreign_key(&mut account_fk("connection_requests"))
            .foreign_key(&mut tenant_fk(
                "connection_requests",
                "requester_id",
                "users",
                ForeignKeyAction::NoAction,
            ))
            .check(one_of(
                "connection_requests",
                "status",
                &["PENDING", "COMPLETED", "REVOKED", "EXPIRED"],
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            requests,
            vec![
                account_id_unique("connection_requests"),
                index(
                    "connection_requests",
                    "created",
                    &["account_id", "created_at"],
                    false,
                ),
                // The expiry sweep reads pending requests by expiry across accounts.
                index(
                    "connection_requests",
                    "expiry",
                    &["status", "expires_at"],
                    false,
                ),
            ],
        )
        .await?;

        let items = Table::create()
            .table(ConnectionRequestItems::Table)
            .col(uuid(ConnectionRequestItems::AccountId))
            .col(uuid(ConnectionRequestItems::RequestId))
            .col(string_len(ConnectionRequestItems::IntegrationKey, 64))
            .col(integer(ConnectionRequestItems::Position))
            .col(string_len(ConnectionRequestItems::Status, 16))
            .col(timestamp_with_time_zone_null(
                ConnectionRequestItems::ConnectedAt,
            ))
            .col(string_len_null(ConnectionRequestItems::ConnectedBy, 254))
            .primary_key(
                Index::create()
                    .name("pk_connection_request_items")
                    .col(ConnectionRequestItems::RequestId)
                    .col(ConnectionRequestItems::IntegrationKey),
            )
            .foreign_key(&mut account_fk("connection_request_items"))
            .foreign_key(&mut tenant_fk(
                "connection_request_items",
                "request_id",
                "connection_requests",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_connection_request_items_integration")
                    .from(
                        ConnectionRequestItems::Table,
                        ConnectionRequestItems::IntegrationKey,
                    )
                    .to(Integrations::Table, Integrations::Key),
            )
            .check(one_of(
                "connection_request_items",
                "status",
                &["PENDING", "CONNECTED"],
            ))
            .to_owned();
        create_table_with_indexes(manager, items, vec![]).await?;

        let links = Table::create()
            .table(ConnectionRequestLinks::Table)
            .col(pk_uuid(ConnectionRequestLinks::Id))
            .col(uuid(ConnectionRequestLinks::AccountId))
            .col(uuid(ConnectionRequestLinks::RequestId))
            .col(string_len(ConnectionRequestLinks::TokenHash, 128))
            .col(timestamp_with_time_zone(ConnectionRequestLinks::CreatedAt))
            .col(timestamp_with_time_zone_null(
                ConnectionRequestLinks::ReplacedAt,
            ))
            .foreign_key(&mut account_fk("connection_request_links"))
            .foreign_key(&mut tenant_fk(
                "connection_request_links",
                "request_id",
                "connection_requests",
                ForeignKeyAction::Cascade,
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            links,
            vec![
                account_id_unique("connection_request_links"),
                index(
                    "connection_request_links",
                    "token_hash",
                    &["token_hash"],
                    true,
                ),
                index(
                    "connection_request_links",
                    "request",
                    &["account_id", "request_id"],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "connection_request_links").await?;
        drop_table(manager, "connection_request_items").await?;
        drop_table(manager, "connection_requests").await
    }
}
