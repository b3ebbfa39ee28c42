use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{account_fk, create_table_with_indexes, drop_table, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every email, recorded in the transaction of the change that causes it and delivered by a job.
/// The content is rendered at enqueue time; `message_id` is stable across retries.
#[derive(DeriveIden)]
enum OutboxMessages {
    Table,
    Id,
    AccountId,
    RecipientUserId,
    ToAddress,
    ToName,
    Template,
    Language,
    Subject,
    TextBody,
    HtmlBody,
    MessageId,
    Status,
    Attempts,
    LastReply,
    CreatedAt,
    UpdatedAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(OutboxMessages::Table)
            .col(pk_uuid(OutboxMessages::Id))
            .col(uuid_null(OutboxMessages::AccountId))
            .col(uuid_null(OutboxMessages::RecipientUserId))
            .col(string_len(OutboxMessages::ToAddress, 254))
            .col(string_len_null(OutboxMessages::ToName, 200))
            .col(string_len(OutboxMessages::Template, 64))
            .col(string_len(OutboxMessages::Language, 35))
            .col(string_len(OutboxMessages::Subject, 500))
            .col(text(OutboxMessages::TextBody))
            .col(text_null(OutboxMessages::HtmlBody))
            .col(string_len(OutboxMessages::MessageId, 200))
            .col(string_len(OutboxMessages::Status, 16))
            .col(integer(OutboxMessages::Attempts).default(0))
            .col(text_null(OutboxMessages::LastReply))
            .col(timestamp_with_time_zone(OutboxMessages::CreatedAt))
            .col(timestamp_with_time_zone(OutboxMessages::UpdatedAt))
            .col(timestamp_with_time_zone_null(OutboxMessages::DeliveredAt))
            .foreign_key(&mut account_fk("outbox_messages"))
            .check(one_of(
                "outbox_messages",
                "status",
                &["PENDING", "DELIVERED", "FAILED"],
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            table,
            vec![
                index("outbox_messages", "message_id", &["message_id"], true),
                index(
                    "outbox_messages",
                    "account_status",
                    &["account_id", "status"],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "outbox_messages").await
    }
}
