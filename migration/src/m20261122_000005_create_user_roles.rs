use sea_orm_migration::prelude::*;

use crate::tenant::{create_link_table, drop_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_link_table(
            manager,
            "user_roles",
            ("user_id", "users"),
            ("role_id", "roles"),
            vec![],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "user_roles").await
    }
}
