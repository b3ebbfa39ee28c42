//! Notices from the vendor: the notice itself (a platform record), one row per recipient (the
//! fan-out's exactly-once guard and the link to the outbox message), the accounts an integration
//! notice concerns (shown in the product), and who dismissed it there.

use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{account_fk, create_table_with_indexes, drop_table, index, one_of, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notices {
    Table,
    Id,
    Audience,
    IntegrationKey,
    Topic,
    Kind,
    Subject,
    Body,
    Translations,
    Status,
    AudienceSize,
    FanoutCursor,
    CreatedBy,
    CreatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum NoticeRecipients {
    Table,
    NoticeId,
    AccountId,
    UserId,
    Language,
    OutboxMessageId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum NoticeAccounts {
    Table,
    NoticeId,
    AccountId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum NoticeDismissals {
    Table,
    NoticeId,
    AccountId,
    UserId,
    DismissedAt,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Key,
}

fn notice_fk(table: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_notice"))
        .from(Alias::new(table), Alias::new("notice_id"))
        .to(Notices::Table, Notices::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let notices = Table::create()
            .table(Notices::Table)
            .col(pk_uuid(Notices::Id))
            .col(string_len(Notices::Audience, 32))
            .col(string_len_null(Notices::IntegrationKey, 64))
            .col(string_len_null(Notices::Topic, 32))
            .col(string_len(Notices::Kind, 32))
            .col(string_len(Notices::Subject, 300))
            .col(text(Notices::Body))
            .col(json_binary(Notices::Translations))
            .col(string_len(Notices::Status, 16))
            .col(integer(Notices::AudienceSize).default(0))
            .col(uuid_null(Notices::FanoutCursor))
            .col(string_len(Notices::CreatedBy, 100))
            .col(timestamp_with_time_zone(Notices::CreatedAt))
            .col(timestamp_with_time_zone_null(Notices::CompletedAt))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_notices_integration")
                    .from(Notices::Table, Notices::IntegrationKey)
                    .to(Integrations::Table, Integrations::Key),
            )
            .check(one_of(
                "notices",
                "audience",
                &["INTEGRATION_CONTACTS", "TOPIC_CONTACTS"],
            ))
            .check(one_of(
                "notices",
                "kind",
                &["ACTION_REQUIRED", "SUNSET", "MIGRATION", "INFORMATION"],
            ))
            .check(one_of("notices", "status", &["SENDING", "SENT"]))
            .to_owned();
        create_table_with_indexes(
            manager,
            notices,
            vec![index("notices", "created_at", &["created_at"], false)],
        )
        .await?;

        let recipients = Table::create()
            .table(NoticeRecipients::Table)
            .col(uuid(NoticeRecipients::NoticeId))
            .col(uuid(NoticeRecipients::AccountId))
            .col(uuid(NoticeRecipients::UserId))
            .col(string_len(NoticeRecipients::Language, 35))
            .col(uuid(NoticeRecipients::OutboxMessageId))
            .col(timestamp_with_time_zone(NoticeRecipients::CreatedAt))
            .primary_key(
                Index::create()
                    .name("pk_notice_recipients")
                    .col(NoticeRecipients::NoticeId)
                    .col(NoticeRecipients::UserId),
            )
            .foreign_key(&mut notice_fk("notice_recipients"))
            .foreign_key(&mut account_fk("notice_recipients"))
            .foreign_key(&mut tenant_fk(
                "notice_recipients",
                "user_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            recipients,
            vec![index(
                "notice_recipients",
                "account",
                &["account_id", "notice_id"],
                false,
            )],
        )
        .await?;

        let accounts = Table::create()
            .table(NoticeAccounts::Table)
            .col(uuid(NoticeAccounts::NoticeId))
            .col(uuid(NoticeAccounts::AccountId))
            .col(timestamp_with_time_zone(NoticeAccounts::CreatedAt))
            .primary_key(
                Index::create()
                    .name("pk_notice_accounts")
                    .col(NoticeAccounts::AccountId)
                    .col(NoticeAccounts::NoticeId),
            )
            .foreign_key(&mut notice_fk("notice_accounts"))
            .foreign_key(&mut account_fk("notice_accounts"))
            .to_owned();
        manager.create_table(accounts).await?;

        let dismissals = Table::create()
            .table(NoticeDismissals::Table)
            .col(uuid(NoticeDismissals::NoticeId))
            .col(uuid(NoticeDismissals::AccountId))
            .col(uuid(NoticeDismissals::UserId))
            .col(timestamp_with_time_zone(NoticeDismissals::DismissedAt))
            .primary_key(
                Index::create()
                    .name("pk_notice_dismissals")
                    .col(NoticeDismissals::UserId)
                    .col(NoticeDismissals::NoticeId),
            )
            .foreign_key(&mut notice_fk("notice_dismissals"))
            .foreign_key(&mut account_fk("notice_dismissals"))
            .foreign_key(&mut tenant_fk(
                "notice_dismissals",
                "user_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .to_owned();
        manager.create_table(dismissals).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "notice_dismissals",
            "notice_accounts",
            "notice_recipients",
            "notices",
        ] {
            drop_table(manager, table).await?;
        }
        Ok(())
    }
}
