use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{account_fk, create_table_with_indexes, drop_table, index, tenant_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Who at an account receives technical notices about one integration of the catalog.
#[derive(DeriveIden)]
enum IntegrationContacts {
    Table,
    AccountId,
    IntegrationKey,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Key,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(IntegrationContacts::Table)
            .col(uuid(IntegrationContacts::AccountId))
            .col(string_len(IntegrationContacts::IntegrationKey, 64))
            .col(uuid(IntegrationContacts::UserId))
            .col(timestamp_with_time_zone(IntegrationContacts::CreatedAt))
            .primary_key(
                Index::create()
                    .name("pk_integration_contacts")
                    .col(IntegrationContacts::UserId)
                    .col(IntegrationContacts::IntegrationKey),
            )
            .foreign_key(&mut account_fk("integration_contacts"))
            .foreign_key(&mut tenant_fk(
                "integration_contacts",
                "user_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_integration_contacts_integration")
                    .from(
                        IntegrationContacts::Table,
                        IntegrationContacts::IntegrationKey,
                    )
                    .to(Integrations::Table, Integrations::Key),
            )
            .to_owned();
        create_table_with_indexes(
            manager,
            table,
            vec![index(
                "integration_contacts",
                "integration",
                &["account_id", "integration_key"],
                false,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "integration_contacts").await
    }
}
