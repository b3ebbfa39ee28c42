//! Bulk creation from a template: the source rows, the checks each row must pass and the verdict
//! they lead to. Pure: the service gathers what the database knows about a chunk of rows
//! ([`RowFacts`]) and asks [`judge`]; the preview and the real run both go through it, so their
//! verdicts cannot differ for the same data.

use std::collections::HashMap;

use sea_orm::entity::prelude::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

use super::ids::UserId;
use super::values::{AgentId, Email, Name, Phone, Username};

/// Rows a job may hold (the CSV upload's limit); inline rows stay within the API's list cap.
pub const MAX_ROWS: usize = 50_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum JobStatus {
    #[sea_orm(string_value = "QUEUED")]
    Queued,
    #[sea_orm(string_value = "RUNNING")]
    Running,
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
    #[sea_orm(string_value = "COMPLETED_WITH_ERRORS")]
    CompletedWithErrors,
    #[sea_orm(string_value = "FAILED")]
    Failed,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

impl JobStatus {
    pub fn is_finished(self) -> bool {
        !matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

/// Where a job's rows came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum JobSource {
    /// Rows given in the request.
    #[sea_orm(string_value = "ROWS")]
    Rows,
    /// The users of a saved user view.
    #[sea_orm(string_value = "USER_VIEW")]
    UserView,
    /// Chosen pending users, activated.
    #[sea_orm(string_value = "PENDING_USERS")]
    PendingUsers,
    /// An uploaded CSV file.
    #[sea_orm(string_value = "CSV")]
    Csv,
    /// The failed rows of an earlier job.
    #[sea_orm(string_value = "RETRY")]
    Retry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum RowStatus {
    /// Not processed yet.
    #[sea_orm(string_value = "QUEUED")]
    Queued,
    #[sea_orm(string_value = "CREATED")]
    Created,
    /// The source already has a user.
    #[sea_orm(string_value = "SKIPPED")]
    Skipped,
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// Not processed: the job was cancelled first.
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

/// One source row as given (inline, from a CSV line, or a pending user's record when the job was
/// recorded). Stored with the job, so a restarted or retried job reads exactly what was asked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<i64>,
    /// With `external_id`: the record of another platform the new user is linked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The pending user this row activates (pending-user and user-view sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_user_id: Option<UserId>,
}

impl SourceRow {
    /// The folded username, for "exists in any letter case" checks.
    pub fn username_key(&self) -> Option<String> {
        self.username
            .as_deref()
            .and_then(|raw| Username::parse(raw).ok())
            .map(|u| u.key())
    }

    /// The source record the row's user is linked to, as one key: the pending user it activates
    /// or the external record it names.
    pub fn link_key(&self) -> Option<String> {
        match (self.pending_user_id, self.external()) {
            (Some(pending), _) => Some(format!("pending:{pending}")),
            (None, Some((source, id))) => Some(format!("external:{source}:{id}")),
            (None, None) => None,
        }
    }

    /// The external record this row links to, when it names one.
    pub fn external(&self) -> Option<(&str, &str)> {
        match (self.external_source.as_deref(), self.external_id.as_deref()) {
            (Some(source), Some(id)) if !source.trim().is_empty() && !id.trim().is_empty() => {
                Some((source.trim(), id.trim()))
            }
            _ => None,
        }
    }
}

/// Why a row failed or was skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub code: String,
    pub message: String,
}

impl RowError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn username_exists() -> Self {
        Self::new(
            "USERNAME_EXISTS",
            "a user with this username already exists in the account (in any letter case)",
        )
    }

    pub fn agent_id_in_use(agent_id: i64) -> Self {
        Self::new(
            "AGENT_ID_IN_USE",
            format!("agent ID {agent_id} is already in use"),
        )
    }

    pub fn licence_limit() -> Self {
        Self::new(
            "LICENCE_LIMIT",
            "no licence seat is free for this row; free seats or raise the licence limit",
        )
    }

    pub fn already_linked() -> Self {
        Self::new("ALREADY_LINKED", "the source already has a user: skipped")
    }
}

/// What the template asks of every row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateNeeds {
    /// Agents and voice supervisors take calls: a phone and an agent ID.
    pub phone_and_agent_id: bool,
    /// Agent IDs are generated for rows without one.
    pub generates_agent_ids: bool,
}

/// A row whose own values are valid.
#[derive(Clone, Debug)]
pub struct ValidRow {
    pub username: Username,
    pub first_name: Option<Name>,
    pub last_name: Option<Name>,
    pub display_name: Option<Name>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub agent_id: Option<AgentId>,
}

/// What the database (and the rows before it in the batch) say about one row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowFacts {
    /// The source already has a user (its external record is linked, or the pending user was
    /// activated or is gone).
    pub already_linked: bool,
    /// A user of the account has this username, in any letter case.
    pub username_in_account: bool,
    /// An earlier row of the batch has this username, in any letter case.
    pub username_earlier_in_batch: bool,
    /// A user of the account has the given agent ID.
    pub agent_id_in_account: bool,
    /// An earlier row of the batch gives the same agent ID.
    pub agent_id_earlier_in_batch: bool,
    /// An earlier row of the batch links to the same source record.
    pub link_earlier_in_batch: bool,
}

/// The first position of each username key, given agent ID and link key in a batch: a later row
/// with the same value duplicates an earlier one. Built from the whole input for a preview, and
/// read from the stored rows chunk by chunk for a run.
#[derive(Clone, Debug, Default)]
pub struct FirstSeen {
    pub usernames: HashMap<String, i32>,
    pub agent_ids: HashMap<i64, i32>,
    pub links: HashMap<String, i32>,
}

impl FirstSeen {
    /// Indexes rows given in order with their positions.
    pub fn of<'a>(rows: impl IntoIterator<Item = (i32, &'a SourceRow)>) -> Self {
        let mut seen = Self::default();
        for (position, row) in rows {
            if let Some(key) = row.username_key() {
                seen.usernames.entry(key).or_insert(position);
            }
            if let Some(agent_id) = row.agent_id {
                seen.agent_ids.entry(agent_id).or_insert(position);
            }
            if let Some(link) = row.link_key() {
                seen.links.entry(link).or_insert(position);
            }
        }
        seen
    }

    /// Whether the row at `position` repeats an earlier row's username, agent ID and link.
    pub fn earlier(&self, position: i32, row: &SourceRow) -> (bool, bool, bool) {
        let before = |first: Option<&i32>| first.is_some_and(|first| *first < position);
        (
            before(
                row.username_key()
                    .as_ref()
                    .and_then(|k| self.usernames.get(k)),
            ),
            before(row.agent_id.as_ref().and_then(|a| self.agent_ids.get(a))),
            before(row.link_key().as_ref().and_then(|l| self.links.get(l))),
        )
    }
}

/// Which agent ID a row to create gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentChoice {
    Given(i64),
    /// The next free one from the job's starting ID.
    Generate,
    None,
}

#[derive(Clone, Debug)]
pub enum Verdict {
    Create(ValidRow, AgentChoice),
    Skip(RowError),
    Fail(Vec<RowError>),
}

/// Checks a row's own values: every problem, not only the first.
pub fn check_values(row: &SourceRow, needs: TemplateNeeds) -> Result<ValidRow, Vec<RowError>> {
    let mut errors = Vec::new();
    let username = row
        .username
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .and_then(|raw| keep(&mut errors, Username::parse(raw)));
    let mut name = |raw: Option<&str>, what| {
        raw.filter(|r| !r.trim().is_empty())
            .and_then(|r| keep(&mut errors, Name::parse(r, what, 200)))
    };
    let first_name = name(row.first_name.as_deref(), "first name");
    let last_name = name(row.last_name.as_deref(), "last name");
    let display_name = name(row.display_name.as_deref(), "display name");
    let email = row
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .and_then(|raw| keep(&mut errors, Email::parse(raw)));
    let phone = row
        .phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .and_then(|raw| keep(&mut errors, Phone::parse(raw)));
    let agent_id = row
        .agent_id
        .and_then(|raw| keep(&mut errors, AgentId::parse(raw)));
    if row.username.as_deref().is_none_or(|u| u.trim().is_empty()) {
        errors.push(RowError::new("REQUIRED", "a username is required"));
    }
    let named = row
        .display_name
        .as_deref()
        .is_some_and(|n| !n.trim().is_empty())
        || (row
            .first_name
            .as_deref()
            .is_some_and(|n| !n.trim().is_empty())
            && row
                .last_name
                .as_deref()
                .is_some_and(|n| !n.trim().is_empty()));
    if !named {
        errors.push(RowError::new(
            "NAME_REQUIRED",
            "give a first and a last name, or a display name",
        ));
    }
    if needs.phone_and_agent_id && row.phone.as_deref().is_none_or(|p| p.trim().is_empty()) {
        errors.push(RowError::new(
            "NO_PHONE",
            "the template's user type takes calls: a phone number is required",
        ));
    }
    if needs.phone_and_agent_id && row.agent_id.is_none() && !needs.generates_agent_ids {
        errors.push(RowError::new(
            "MISSING_AGENT_ID",
            "the template's user type takes calls: give an agent ID or generate them",
        ));
    }
    match username {
        Some(username) if errors.is_empty() => Ok(ValidRow {
            username,
            first_name,
            last_name,
            display_name,
            email,
            phone,
            agent_id,
        }),
        _ => Err(errors),
    }
}

/// The value, or its error recorded.
fn keep<T>(errors: &mut Vec<RowError>, parsed: Result<T, super::values::ValueError>) -> Option<T> {
    parsed
        .map_err(|error| errors.push(RowError::new(error.code(), error.to_string())))
        .ok()
}

/// The verdict for one row. `seats_left` counts the account's free seats; a row to create takes
/// one. A row that is already linked is skipped without further checks.
pub fn judge(
    row: &SourceRow,
    needs: TemplateNeeds,
    facts: RowFacts,
    seats_left: &mut u64,
) -> Verdict {
    if facts.already_linked || facts.link_earlier_in_batch {
        return Verdict::Skip(RowError::already_linked());
    }
    let checked = check_values(row, needs);
    let mut errors = checked.as_ref().err().cloned().unwrap_or_default();
    if facts.username_in_account || facts.username_earlier_in_batch {
        errors.push(if facts.username_in_account {
            RowError::username_exists()
        } else {
            RowError::new(
                "USERNAME_EXISTS",
                "an earlier row of this batch has the same username (in any letter case)",
            )
        });
    }
    if let Some(agent_id) = row.agent_id {
        if facts.agent_id_in_account {
            errors.push(RowError::agent_id_in_use(agent_id));
        }
        if facts.agent_id_earlier_in_batch {
            errors.push(RowError::new(
                "AGENT_ID_DUPLICATE_IN_BATCH",
                format!("an earlier row of this batch gives agent ID {agent_id} too"),
            ));
        }
    }
    if *seats_left == 0 {
        errors.push(RowError::licence_limit());
    }
    let valid = match checked {
        Ok(valid) if errors.is_empty() => valid,
        _ => return Verdict::Fail(errors),
    };
    *seats_left -= 1;
    let choice = match valid.agent_id {
        Some(given) => AgentChoice::Given(given.get()),
        None if needs.generates_agent_ids => AgentChoice::Generate,
        None => AgentChoice::None,
    };
    Verdict::Create(valid, choice)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENT: TemplateNeeds = TemplateNeeds {
        phone_and_agent_id: true,
        generates_agent_ids: false,
    };
    const SUPERVISOR: TemplateNeeds = TemplateNeeds {
        phone_and_agent_id: false,
        generates_agent_ids: false,
    };

    fn row() -> SourceRow {
        SourceRow {
            username: Some("ada".into()),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            phone: Some("+41 44 555 01 01".into()),
            agent_id: Some(1001),
            ..SourceRow::default()
        }
    }

    fn codes(verdict: &Verdict) -> Vec<&str> {
        match verdict {
            Verdict::Fail(errors) => errors.iter().map(|e| e.code.as_str()).collect(),
            Verdict::Skip(error) => vec![error.code.as_str()],
            Verdict::Create(..) => vec![],
        }
    }

    #[test]
    fn every_reason_is_reported_not_only_the_first() {
        let bad = SourceRow {
            username: Some("ada lovelace".into()),
            email: Some("not-an-email".into()),
            phone: None,
            agent_id: None,
            ..row()
        };
        let facts = RowFacts {
            username_in_account: true,
            ..RowFacts::default()
        };
        let verdict = judge(&bad, AGENT, facts, &mut 0);
        assert_eq!(
            codes(&verdict),
            vec![
                "INVALID_USERNAME",
                "INVALID_EMAIL",
                "NO_PHONE",
                "MISSING_AGENT_ID",
                "USERNAME_EXISTS",
                "LICENCE_LIMIT"
            ]
        );
    }

    #[test]
    fn plain_supervisors_need_neither_phone_nor_agent_id() {
        let supervisor = SourceRow {
            phone: None,
            agent_id: None,
            ..row()
        };
        let mut seats = 1;
        assert!(matches!(
            judge(&supervisor, SUPERVISOR, RowFacts::default(), &mut seats),
            Verdict::Create(_, AgentChoice::None)
        ));
        assert_eq!(seats, 0, "a created row takes a seat");
    }

    #[test]
    fn rows_without_an_id_get_a_generated_one_when_asked() {
        let needs = TemplateNeeds {
            generates_agent_ids: true,
            ..AGENT
        };
        let without = SourceRow {
            agent_id: None,
            ..row()
        };
        assert!(matches!(
            judge(&without, needs, RowFacts::default(), &mut 5),
            Verdict::Create(_, AgentChoice::Generate)
        ));
        assert!(matches!(
            judge(&row(), needs, RowFacts::default(), &mut 5),
            Verdict::Create(_, AgentChoice::Given(1001))
        ));
    }

    #[test]
    fn batch_duplicates_and_linked_sources() {
        let facts = RowFacts {
            username_earlier_in_batch: true,
            agent_id_earlier_in_batch: true,
            agent_id_in_account: true,
            ..RowFacts::default()
        };
        assert_eq!(
            codes(&judge(&row(), AGENT, facts, &mut 3)),
            vec![
                "USERNAME_EXISTS",
                "AGENT_ID_IN_USE",
                "AGENT_ID_DUPLICATE_IN_BATCH"
            ]
        );
        let linked = RowFacts {
            already_linked: true,
            username_in_account: true,
            ..RowFacts::default()
        };
        let mut seats = 3;
        assert_eq!(
            codes(&judge(&row(), AGENT, linked, &mut seats)),
            vec!["ALREADY_LINKED"]
        );
        assert_eq!(seats, 3, "a skipped row takes no seat");
    }
}
