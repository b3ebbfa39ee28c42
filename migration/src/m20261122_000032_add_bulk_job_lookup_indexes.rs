//! Indexes a bulk job's chunks need to cost the same at row 10,000 as at row 1:
//! - among a job's rows, the first one with a username, a given agent ID or an external link;
//! - a user's skills, roles and queue and line access, looked up by account and user (their
//!   primary keys start with the user, but SQLite's planner preferred the `(account_id, …)`
//!   index and read every row of the account).

use sea_orm_migration::prelude::*;

use crate::tenant::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, index name, columns).
const INDEXES: [(&str, &str, [&str; 2]); 6] = [
    ("bulk_user_job_rows", "username", ["job_id", "username_key"]),
    (
        "bulk_user_job_rows",
        "given_agent_id",
        ["job_id", "given_agent_id"],
    ),
    ("bulk_user_job_rows", "link", ["job_id", "link_key"]),
    ("user_skills", "user", ["account_id", "user_id"]),
    ("user_roles", "user", ["account_id", "user_id"]),
    ("user_resource_access", "user", ["account_id", "user_id"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, columns) in INDEXES {
            manager
                .create_index(index(table, name, &columns, false))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, _) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(format!("ix_{table}_{name}"))
                        .table(Alias::new(table))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
