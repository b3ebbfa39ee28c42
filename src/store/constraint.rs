//! Classifies constraint violations by constraint name, the one tested place that turns a
//! database refusal into a domain answer. PostgreSQL reports the constraint's name; SQLite reports
//! the table and columns of a unique index, which map back to the same names here.

use std::ops::Deref;

use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// A named constraint the services react to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    AccountSlugTaken,
    UsernameTaken,
    AgentIdTaken,
    RoleNameTaken,
    GroupNameTaken,
    SkillNameTaken,
    TelephonyResourceNameTaken,
    UserViewNameTaken,
    ExternalIdentityTaken,
    ConnectionExists,
    /// A foreign key refused the row (a reference that does not exist in the account).
    MissingReference,
    /// A unique constraint this table does not name.
    OtherUnique,
}

/// Unique index names with the `table.column, …` list SQLite reports for them.
const UNIQUE_INDEXES: &[(&str, &str, Violation)] = &[
    (
        "uq_accounts_slug",
        "accounts.slug",
        Violation::AccountSlugTaken,
    ),
    (
        "uq_users_username",
        "users.account_id, users.username_key",
        Violation::UsernameTaken,
    ),
    (
        "uq_users_agent_id",
        "users.account_id, users.agent_id",
        Violation::AgentIdTaken,
    ),
    (
        "uq_roles_name",
        "roles.account_id, roles.name_key",
        Violation::RoleNameTaken,
    ),
    (
        "uq_groups_name",
        "groups.account_id, groups.name_key",
        Violation::GroupNameTaken,
    ),
    (
        "uq_skills_name",
        "skills.account_id, skills.name_key",
        Violation::SkillNameTaken,
    ),
    (
        "uq_telephony_resources_name",
        "telephony_resources.account_id, telephony_resources.kind, telephony_resources.name_key",
        Violation::TelephonyResourceNameTaken,
    ),
    (
        "uq_user_views_name",
        "user_views.account_id, user_views.name_key",
        Violation::UserViewNameTaken,
    ),
    (
        "uq_external_identities_source_external_id",
        "external_identities.account_id, external_identities.source, external_identities.external_id",
        Violation::ExternalIdentityTaken,
    ),
    (
        "uq_connections_integration",
        "connections.account_id, connections.integration_key",
        Violation::ConnectionExists,
    ),
];

/// What a database error says about our constraints, if it is a violation of one.
pub fn classify(error: &DbErr) -> Option<Violation> {
    match error.sql_err()? {
        SqlErr::ForeignKeyConstraintViolation(_) => Some(Violation::MissingReference),
        SqlErr::UniqueConstraintViolation(message) => Some(
            constraint_name(error)
                .and_then(|name| by_name(&name))
                .or_else(|| by_sqlite_columns(&message))
                .unwrap_or(Violation::OtherUnique),
        ),
        _ => None,
    }
}

fn by_name(name: &str) -> Option<Violation> {
    UNIQUE_INDEXES
        .iter()
        .find(|(index, _, _)| *index == name)
        .map(|(_, _, violation)| *violation)
}

fn by_sqlite_columns(message: &str) -> Option<Violation> {
    let columns = message.split("constraint failed: ").nth(1)?.trim();
    UNIQUE_INDEXES
        .iter()
        .find(|(_, sqlite_columns, _)| *sqlite_columns == columns)
        .map(|(_, _, violation)| *violation)
}

/// The constraint name PostgreSQL reports.
fn constraint_name(error: &DbErr) -> Option<String> {
    let (DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner))) =
        error
    else {
        return None;
    };
    match inner.deref() {
        sea_orm::sqlx::Error::Database(db_error) => db_error.constraint().map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_column_lists_map_to_constraints() {
        assert_eq!(
            by_sqlite_columns("UNIQUE constraint failed: users.account_id, users.username_key"),
            Some(Violation::UsernameTaken)
        );
        assert_eq!(
            by_sqlite_columns("UNIQUE constraint failed: users.account_id, users.agent_id"),
            Some(Violation::AgentIdTaken)
        );
        assert_eq!(by_sqlite_columns("UNIQUE constraint failed: x.y"), None);
    }

    #[test]
    fn postgres_names_map_to_constraints() {
        assert_eq!(by_name("uq_users_agent_id"), Some(Violation::AgentIdTaken));
        assert_eq!(
            by_name("uq_accounts_slug"),
            Some(Violation::AccountSlugTaken)
        );
    }
}
