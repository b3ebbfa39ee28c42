use sea_orm_migration::prelude::*;

use crate::tenant::{create_link_table, drop_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_link_table(
            manager,
            "user_skills",
            ("user_id", "users"),
            ("skill_id", "skills"),
            vec![
                ColumnDef::new(Alias::new("level"))
                    .integer()
                    .not_null()
                    .check(Expr::cust("level BETWEEN 1 AND 10"))
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "user_skills").await
    }
}
