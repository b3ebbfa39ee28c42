//! Consent flags on each user, both on by default: may be invited to product-usage interviews;
//! may be told about product updates.

use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{add_columns, drop_columns};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    MayContactForInterviews,
    MayContactForProductUpdates,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            "users",
            vec![
                boolean(Users::MayContactForInterviews)
                    .default(true)
                    .to_owned(),
                boolean(Users::MayContactForProductUpdates)
                    .default(true)
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            manager,
            "users",
            &[
                "may_contact_for_interviews",
                "may_contact_for_product_updates",
            ],
        )
        .await
    }
}
