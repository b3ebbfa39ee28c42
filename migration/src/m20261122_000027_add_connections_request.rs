//! Per connection: the connection request it was made through, and whether the connector's
//! identity is verified (an invitee of a shareable link gives an email nobody checked).

use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{add_columns, drop_columns};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Connections {
    ConnectedByRequestId,
    ConnectedByVerified,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            "connections",
            vec![
                uuid_null(Connections::ConnectedByRequestId),
                boolean(Connections::ConnectedByVerified)
                    .default(true)
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            manager,
            "connections",
            &["connected_by_request_id", "connected_by_verified"],
        )
        .await
    }
}
