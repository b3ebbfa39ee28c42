//! Building blocks shared by the tenant tables' migrations: the account column, the
//! UNIQUE (account_id, id) that composite foreign keys point at, and those foreign keys.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
pub enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
pub enum Tenant {
    AccountId,
    Id,
}

/// `account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE`, named `fk_<table>_account`.
pub fn account_fk(table: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_account"))
        .from(Alias::new(table), Tenant::AccountId)
        .to(Accounts::Table, Accounts::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// The UNIQUE (account_id, id) index every tenant table has, named `uq_<table>_account_id_id`.
pub fn account_id_unique(table: &str) -> IndexCreateStatement {
    Index::create()
        .name(format!("uq_{table}_account_id_id"))
        .table(Alias::new(table))
        .col(Tenant::AccountId)
        .col(Tenant::Id)
        .unique()
        .to_owned()
}

/// A composite foreign key `(account_id, <column>) → <target>(account_id, id)`, so a row can only
/// point at a row of its own account.
pub fn tenant_fk(
    table: &str,
    column: &str,
    target: &str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(Alias::new(table), (Tenant::AccountId, Alias::new(column)))
        .to(Alias::new(target), (Tenant::AccountId, Tenant::Id))
        .on_delete(on_delete)
        .to_owned()
}

/// A (possibly unique) index over the given columns, named `<prefix>_<table>_<name>`.
pub fn index(table: &str, name: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    let prefix = if unique { "uq" } else { "ix" };
    index
        .name(format!("{prefix}_{table}_{name}"))
        .table(Alias::new(table));
    for column in columns {
        index.col(Alias::new(*column));
    }
    if unique {
        index.unique();
    }
    index.to_owned()
}

/// Creates `table` and then its indexes, in one migration step.
pub async fn create_table_with_indexes(
    manager: &SchemaManager<'_>,
    table: TableCreateStatement,
    indexes: Vec<IndexCreateStatement>,
) -> Result<(), DbErr> {
    manager.create_table(table).await?;
    for index in indexes {
        manager.create_index(index).await?;
    }
    Ok(())
}

/// A CHECK that `column` holds one of `values`, named `ck_<table>_<column>`.
pub fn one_of(table: &str, column: &str, values: &[&str]) -> Check {
    let list = values
        .iter()
        .map(|value| format!("'{value}'"))
        .collect::<Vec<_>>()
        .join(", ");
    Check::named(
        Alias::new(format!("ck_{table}_{column}")),
        Expr::cust(format!("{column} IN ({list})")),
    )
}

/// A link table between two tenant tables: `account_id`, the two reference columns (primary key
/// together, each a composite foreign key that cascades), any extra columns, and an index on the
/// second column for reverse look-ups.
pub async fn create_link_table(
    manager: &SchemaManager<'_>,
    table: &str,
    (left_column, left_target): (&str, &str),
    (right_column, right_target): (&str, &str),
    extra_columns: Vec<ColumnDef>,
) -> Result<(), DbErr> {
    let mut create = Table::create();
    create
        .table(Alias::new(table))
        .col(ColumnDef::new(Tenant::AccountId).uuid().not_null())
        .col(ColumnDef::new(Alias::new(left_column)).uuid().not_null())
        .col(ColumnDef::new(Alias::new(right_column)).uuid().not_null());
    for column in extra_columns {
        create.col(column);
    }
    create
        .primary_key(
            Index::create()
                .name(format!("pk_{table}"))
                .col(Alias::new(left_column))
                .col(Alias::new(right_column)),
        )
        .foreign_key(&mut account_fk(table))
        .foreign_key(&mut tenant_fk(
            table,
            left_column,
            left_target,
            ForeignKeyAction::Cascade,
        ))
        .foreign_key(&mut tenant_fk(
            table,
            right_column,
            right_target,
            ForeignKeyAction::Cascade,
        ));
    create_table_with_indexes(
        manager,
        create.to_owned(),
        vec![index(
            table,
            right_column,
            &["account_id", right_column],
            false,
        )],
    )
    .await
}

/// Drops a table; every `down` of a create-table migration is this.
pub async fn drop_table(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    manager
        .drop_table(Table::drop().table(Alias::new(table)).to_owned())
        .await
}

/// A simple named tenant resource (skills, groups): id, account, a name unique per account in any
/// letter case (`name_key` holds the folded form), an optional description, timestamps.
pub async fn create_named_table(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let create = Table::create()
        .table(Alias::new(table))
        .col(ColumnDef::new(Tenant::Id).uuid().not_null().primary_key())
        .col(ColumnDef::new(Tenant::AccountId).uuid().not_null())
        .col(
            ColumnDef::new(Alias::new("name"))
                .string_len(100)
                .not_null(),
        )
        .col(
            ColumnDef::new(Alias::new("name_key"))
                .string_len(100)
                .not_null(),
        )
        .col(
            ColumnDef::new(Alias::new("description"))
                .string_len(500)
                .null(),
        )
        .col(
            ColumnDef::new(Alias::new("created_at"))
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(
            ColumnDef::new(Alias::new("updated_at"))
                .timestamp_with_time_zone()
                .not_null(),
        )
        .foreign_key(&mut account_fk(table))
        .to_owned();
    create_table_with_indexes(
        manager,
        create,
        vec![
            account_id_unique(table),
            index(table, "name", &["account_id", "name_key"], true),
        ],
    )
    .await
}

/// Adds columns to an existing table, one ALTER each (SQLite adds one column per statement).
pub async fn add_columns(
    manager: &SchemaManager<'_>,
    table: &str,
    columns: Vec<ColumnDef>,
) -> Result<(), DbErr> {
    for mut column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new(table))
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// Drops columns, one ALTER each; every `down` of an add-columns migration is this.
pub async fn drop_columns(
    manager: &SchemaManager<'_>,
    table: &str,
    columns: &[&str],
) -> Result<(), DbErr> {
    for column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new(table))
                    .drop_column(Alias::new(*column))
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}
