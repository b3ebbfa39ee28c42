use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{account_fk, create_table_with_indexes, drop_table, index, one_of};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Who did what to which record, when. `account_id` is null only for platform-level events.
/// Personal data in the details lives in `pii_details`, so it can be withheld per USER_PII.
#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    AccountId,
    ActorKind,
    ActorId,
    ActorLabel,
    Action,
    TargetType,
    TargetId,
    Details,
    PiiDetails,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(AuditEvents::Table)
            .col(pk_uuid(AuditEvents::Id))
            .col(uuid_null(AuditEvents::AccountId))
            .col(string_len(AuditEvents::ActorKind, 16))
            .col(string_len_null(AuditEvents::ActorId, 100))
            .col(string_len_null(AuditEvents::ActorLabel, 200))
            .col(string_len(AuditEvents::Action, 64))
            .col(string_len(AuditEvents::TargetType, 32))
            .col(string_len_null(AuditEvents::TargetId, 100))
            .col(json_binary(AuditEvents::Details))
            .col(json_binary_null(AuditEvents::PiiDetails))
            .col(timestamp_with_time_zone(AuditEvents::CreatedAt))
            .foreign_key(&mut account_fk("audit_events"))
            .check(one_of(
                "audit_events",
                "actor_kind",
                &["USER", "INVITEE", "OPERATOR", "SYSTEM"],
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            table,
            vec![index(
                "audit_events",
                "account_created",
                &["account_id", "created_at", "id"],
                false,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "audit_events").await
    }
}
