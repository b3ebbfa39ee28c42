//! Account contacts by topic: who at an account the vendor contacts about product updates,
//! security and legal matters, finance, and integrations and APIs.

use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{account_fk, create_table_with_indexes, drop_table, index, one_of, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TopicContacts {
    Table,
    AccountId,
    Topic,
    UserId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(TopicContacts::Table)
            .col(uuid(TopicContacts::AccountId))
            .col(string_len(TopicContacts::Topic, 32))
            .col(uuid(TopicContacts::UserId))
            .col(timestamp_with_time_zone(TopicContacts::CreatedAt))
            .primary_key(
                Index::create()
                    .name("pk_topic_contacts")
                    .col(TopicContacts::UserId)
                    .col(TopicContacts::Topic),
            )
            .foreign_key(&mut account_fk("topic_contacts"))
            .foreign_key(&mut tenant_fk(
                "topic_contacts",
                "user_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .check(one_of(
                "topic_contacts",
                "topic",
                &[
                    "PRODUCT_UPDATES",
                    "SECURITY_LEGAL",
                    "FINANCE",
                    "INTEGRATIONS_APIS",
                ],
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            table,
            vec![index(
                "topic_contacts",
                "topic",
                &["account_id", "topic"],
                false,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "topic_contacts").await
    }
}
