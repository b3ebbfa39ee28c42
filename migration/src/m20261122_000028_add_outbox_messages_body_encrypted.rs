//! An email whose body carries a secret (an invite link) is stored encrypted with the key ring
//! and decrypted only to be delivered.

use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{add_columns, drop_columns};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxMessages {
    BodyEncrypted,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            "outbox_messages",
            vec![
                boolean(OutboxMessages::BodyEncrypted)
                    .default(false)
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(manager, "outbox_messages", &["body_encrypted"]).await
    }
}
