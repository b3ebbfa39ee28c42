//! Per account: when its admins last confirmed the contacts, the email domains contacts must use
//! (none: any), and the review period a reminder was last sent for (once per period).

use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{add_columns, drop_columns};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    ContactsReviewedAt,
    AllowedContactDomains,
    ContactReminderPeriod,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            "accounts",
            vec![
                timestamp_with_time_zone_null(Accounts::ContactsReviewedAt),
                json_binary_null(Accounts::AllowedContactDomains),
                timestamp_with_time_zone_null(Accounts::ContactReminderPeriod),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            manager,
            "accounts",
            &[
                "contacts_reviewed_at",
                "allowed_contact_domains",
                "contact_reminder_period",
            ],
        )
        .await
    }
}
