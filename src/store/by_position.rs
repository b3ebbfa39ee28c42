//! Rows read by column position: the wide rows that lists read by the hundred (users,
//! connections, roles, groups), and the sign-in row every request reads.
//!
//! SeaORM's derived models read each column by name (a hash look-up) and turn each NULL of an
//! optional column into a formatted error before answering `None`; for wide rows such as users,
//! that was 15 % of listing contacts under load. sqlx then checks each value's type against the
//! column's (a copy of the column's type information and a comparison with each accepted type),
//! which was another 8 % of that listing's instructions. A reader of this kind reads a select
//! that lists an entity's columns first, in declaration order (`Entity::find()`, with any extra
//! columns after them), and on PostgreSQL decodes each value without the type check: the select
//! fixes the columns' types, and debug builds, so the test suites, read every row by name as well
//! and compare ([`ByPosition::checked`]).

use chrono::{DateTime, Utc};
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, Row, ValueRef};
use sea_orm::{ActiveEnum, DbErr, QueryResult, TryGetable};
use uuid::Uuid;

use crate::domain::ids::{AccountId, ConnectionId, ConnectionRequestId, GroupId, RoleId, UserId};
use crate::domain::user::{UserKind, UserStatus, UserType};
use crate::store::entities::account::AccountStatus;
use crate::store::entities::connection::ConnectionStatus;

/// Declares a reader of an entity's rows by column position ([`ByPosition`]): each field of the
/// model is read with `value` (a [`Positional`] type) or `get` (any other), from its column's
/// position.
macro_rules! read_by_position {
    ($(#[$doc:meta])* $vis:vis struct $name:ident($entity:ident) {
        $($field:ident: $read:ident($column:ident)),* $(,)?
    }) => {
        $(#[$doc])*
        $vis struct $name(pub $entity::Model);

        impl sea_orm::FromQueryResult for $name {
            fn from_query_result(
                row: &sea_orm::QueryResult,
                pre: &str,
            ) -> Result<Self, sea_orm::DbErr> {
                debug_assert!(pre.is_empty(), "a record is read from an unprefixed row");
                let at = $crate::store::ByPosition(row);
                let model = $entity::Model {
                    $($field: at.$read($entity::Column::$column as usize)?),*
                };
                at.checked(model).map(Self)
            }
        }
    };
}
pub(crate) use read_by_position;

/// A row's columns read by position.
pub struct ByPosition<'r>(pub &'r QueryResult);

impl ByPosition<'_> {
    /// The value at `index` (a column's position: `Column::Name as usize`), through SeaORM.
    pub fn get<T: TryGetable>(&self, index: usize) -> Result<T, DbErr> {
        self.0.try_get_by_index(index)
    }

    /// The value at `index`, on PostgreSQL decoded without sqlx's type check.
    pub fn value<T: Positional>(&self, index: usize) -> Result<T, DbErr> {
        match self.0.try_as_pg_row() {
            Some(row) => T::from_pg(row, index).map_err(|error| DbErr::Type(error.to_string())),
            None => T::from_other(self, index),
        }
    }

    /// `model`, read by position from this row; debug builds, and so the test suites, read the
    /// row by name as well and compare, so that a column out of place cannot go unseen.
    pub fn checked<M>(&self, model: M) -> Result<M, DbErr>
    where
        M: sea_orm::FromQueryResult + PartialEq + std::fmt::Debug,
    {
        #[cfg(debug_assertions)]
        assert_eq!(
            model,
            M::from_query_result(self.0, "")?,
            "a row read by position differs from the one read by name"
        );
        Ok(model)
    }

    /// Whether the value at `index` of a SQLite row is NULL (PostgreSQL's rows are read in
    /// [`Positional::from_pg`]).
    fn is_null_on_sqlite(&self, index: usize) -> bool {
        self.0
            .try_as_sqlite_row()
            .is_some_and(|row| row.try_get_raw(index).is_ok_and(|value| value.is_null()))
    }
}

/// A column type [`ByPosition::value`] decodes on PostgreSQL without sqlx's type check.
pub trait Positional: TryGetable {
    fn from_pg(row: &PgRow, index: usize) -> Result<Self, sqlx::Error>;

    /// On the other backends (SQLite), through SeaORM.
    fn from_other(at: &ByPosition<'_>, index: usize) -> Result<Self, DbErr> {
        at.get(index)
    }
}

impl<T: Positional> Positional for Option<T> {
    fn from_pg(row: &PgRow, index: usize) -> Result<Self, sqlx::Error> {
        if row.try_get_raw(index)?.is_null() {
            return Ok(None);
        }
        T::from_pg(row, index).map(Some)
    }

    /// NULL answered at once, without the error SeaORM formats before it answers `None`.
    fn from_other(at: &ByPosition<'_>, index: usize) -> Result<Self, DbErr> {
        if at.is_null_on_sqlite(index) {
            return Ok(None);
        }
        at.get(index).map(Some)
    }
}

/// Types sqlx decodes as they are.
macro_rules! positional_as_decoded {
    ($($type:ty),*) => {$(
        impl Positional for $type {
            fn from_pg(row: &PgRow, index: usize) -> Result<Self, sqlx::Error> {
                row.try_get_unchecked(index)
            }
        }
    )*};
}

positional_as_decoded!(bool, i64, String, DateTime<Utc>);

/// Identifiers: a UUID column.
macro_rules! positional_id {
    ($($type:ident),*) => {$(
        impl Positional for $type {
            fn from_pg(row: &PgRow, index: usize) -> Result<Self, sqlx::Error> {
                row.try_get_unchecked::<Uuid, _>(index).map($type)
            }
        }
    )*};
}

positional_id!(
    AccountId,
    UserId,
    RoleId,
    GroupId,
    ConnectionId,
    ConnectionRequestId
);

/// Enumerations stored as their string values.
macro_rules! positional_enum {
    ($($type:ty),*) => {$(
        impl Positional for $type {
            fn from_pg(row: &PgRow, index: usize) -> Result<Self, sqlx::Error> {
                let text: &str = row.try_get_unchecked(index)?;
                <$type as ActiveEnum>::try_from_value(&text.to_owned())
                    .map_err(|error| sqlx::Error::Decode(Box::new(error)))
            }
        }
    )*};
}

positional_enum!(
    UserKind,
    UserStatus,
    UserType,
    AccountStatus,
    ConnectionStatus
);
