use sea_orm_migration::{prelude::*, schema::*};

use crate::tenant::{
    account_fk, account_id_unique, create_table_with_indexes, drop_table, index, one_of,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    AccountId,
    Kind,
    Status,
    Username,
    UsernameKey,
    DisplayName,
    FirstName,
    LastName,
    Email,
    EmailKey,
    Phone,
    PreferredLanguage,
    UserType,
    Country,
    TelephonyRegion,
    LicenceType,
    AgentId,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(Users::Table)
            .col(pk_uuid(Users::Id))
            .col(uuid(Users::AccountId))
            .col(string_len(Users::Kind, 16))
            .col(string_len(Users::Status, 16))
            .col(string_len_null(Users::Username, 100))
            .col(string_len_null(Users::UsernameKey, 100))
            .col(string_len_null(Users::DisplayName, 200))
            .col(string_len_null(Users::FirstName, 100))
            .col(string_len_null(Users::LastName, 100))
            .col(string_len_null(Users::Email, 254))
            .col(string_len_null(Users::EmailKey, 254))
            .col(string_len_null(Users::Phone, 32))
            .col(string_len_null(Users::PreferredLanguage, 35))
            .col(string_len_null(Users::UserType, 32))
            .col(string_len_null(Users::Country, 2))
            .col(string_len_null(Users::TelephonyRegion, 64))
            .col(string_len_null(Users::LicenceType, 64))
            .col(big_integer_null(Users::AgentId))
            .col(timestamp_with_time_zone(Users::CreatedAt))
            .col(timestamp_with_time_zone(Users::UpdatedAt))
            .foreign_key(&mut account_fk("users"))
            .check(one_of("users", "kind", &["LOGIN", "NON_LOGIN"]))
            .check(one_of(
                "users",
                "status",
                &["ACTIVE", "PENDING", "DEACTIVATED"],
            ))
            .check(Check::named(
                "ck_users_login_username",
                Expr::cust("kind <> 'LOGIN' OR username_key IS NOT NULL"),
            ))
            .check(Check::named(
                "ck_users_agent_id",
                Expr::cust("agent_id IS NULL OR agent_id > 0"),
            ))
            .to_owned();
        create_table_with_indexes(
            manager,
            table,
            vec![
                account_id_unique("users"),
                index("users", "username", &["account_id", "username_key"], true),
                index("users", "agent_id", &["account_id", "agent_id"], true),
                index("users", "email", &["account_id", "email_key"], false),
                index("users", "status", &["account_id", "status"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "users").await
    }
}
