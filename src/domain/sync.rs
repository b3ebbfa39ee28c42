//! User sync: how an upstream record is matched to a user of the account and what a run does
//! to it. Pure: the service gathers what the database knows about a chunk of records
//! ([`RecordFacts`]) and asks [`plan`]; the preview and the real run both go through it, so they
//! cannot disagree for the same data.

use sea_orm::entity::prelude::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

use super::ids::UserId;
use super::values::{Email, Name, Username};

/// Hours between runs unless the source says otherwise, counted from the end of the last run.
pub const DEFAULT_EVERY_SECONDS: i64 = 6 * 3600;
/// The shortest interval a source may ask for.
pub const MIN_EVERY_SECONDS: i64 = 15 * 60;
/// Flags and deactivations one run may make without an admin's approval: more than
/// max(10, 20 % of the linked users) stops the run until someone approves it.
pub const APPROVAL_FLOOR: u64 = 10;
pub const APPROVAL_SHARE_PERCENT: u64 = 20;

/// Whether a run that would flag or deactivate `affected` of `linked` users needs approval.
pub fn needs_approval(affected: u64, linked: u64) -> bool {
    affected > APPROVAL_FLOOR.max(linked * APPROVAL_SHARE_PERCENT / 100)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum SourceStatus {
    /// The last run could read the upstream.
    #[sea_orm(string_value = "OK")]
    Ok,
    /// The upstream refused the credentials: runs stop until the connection is fixed.
    #[sea_orm(string_value = "AUTH_FAILED")]
    AuthFailed,
    /// The last runs failed for another reason; the schedule slows down.
    #[sea_orm(string_value = "FAILING")]
    Failing,
}

/// Which attribute matches an unlinked upstream record to an existing user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PrimaryIdentifier {
    #[sea_orm(string_value = "USERNAME")]
    Username,
    #[sea_orm(string_value = "EMAIL")]
    Email,
    /// Only a link made earlier matches: every unlinked record is a new user.
    #[sea_orm(string_value = "EXTERNAL_ID")]
    ExternalId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum RunTrigger {
    /// The first run, right after enabling.
    #[sea_orm(string_value = "ENABLE")]
    Enable,
    #[sea_orm(string_value = "SCHEDULE")]
    Schedule,
    #[sea_orm(string_value = "MANUAL")]
    Manual,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum RunStatus {
    #[sea_orm(string_value = "QUEUED")]
    Queued,
    #[sea_orm(string_value = "RUNNING")]
    Running,
    /// More users would be flagged or deactivated than the safeguard allows.
    #[sea_orm(string_value = "AWAITING_APPROVAL")]
    AwaitingApproval,
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    /// The fetch was complete but some users' changes failed.
    #[sea_orm(string_value = "PARTIAL")]
    Partial,
    /// The fetch was incomplete or empty: nothing was changed.
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// An admin rejected a run awaiting approval: nothing was changed.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}

impl RunStatus {
    /// A worker may carry the run on (it is neither finished nor waiting for a decision).
    pub fn is_under_way(self) -> bool {
        matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

/// What a run does (or, in a preview, would do) for one upstream record or linked user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
pub enum ItemAction {
    /// A new PENDING user.
    #[sea_orm(string_value = "CREATE")]
    Create,
    /// An unlinked user matched by the primary identifier: linked from now on (and updated).
    #[sea_orm(string_value = "LINK")]
    Link,
    /// A linked user whose names or email changed upstream.
    #[sea_orm(string_value = "UPDATE")]
    Update,
    /// A user flagged as gone upstream is back.
    #[sea_orm(string_value = "RETURNED")]
    Returned,
    /// A linked user gone upstream: flagged, never deleted.
    #[sea_orm(string_value = "FLAG_MISSING")]
    FlagMissing,
    /// Gone upstream for as many complete runs as the source's policy allows.
    #[sea_orm(string_value = "DEACTIVATE")]
    Deactivate,
    /// More than one user could be meant, or the one found is linked to another record.
    #[sea_orm(string_value = "CONFLICT")]
    Conflict,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ItemStatus {
    /// Previewed (or not applied yet).
    #[sea_orm(string_value = "PLANNED")]
    Planned,
    #[sea_orm(string_value = "APPLIED")]
    Applied,
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// Nothing was done: a conflict waits for an admin.
    #[sea_orm(string_value = "SKIPPED")]
    Skipped,
}

/// One user as the upstream directory has it (what the providers in `connectors` read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamUser {
    pub external_id: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// A field the upstream owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SyncedField {
    DisplayName,
    FirstName,
    LastName,
    Email,
}

impl SyncedField {
    /// Email is personal data (USER_PII); names are not.
    pub fn is_pii(self) -> bool {
        self == SyncedField::Email
    }
}

/// One field's value before and after a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: SyncedField,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A user of the account as matching sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalUser {
    pub id: UserId,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

/// What the database says about one upstream record.
#[derive(Clone, Debug, Default)]
pub struct RecordFacts {
    /// The user linked to this record, and whether that link is flagged as gone upstream.
    pub linked: Option<(LocalUser, bool)>,
    /// Login users whose username equals the record's (any letter case).
    pub by_username: Vec<LocalUser>,
    /// Login users whose email equals the record's (any letter case).
    pub by_email: Vec<LocalUser>,
    /// Users among the candidates that are already linked to another record of this source, or
    /// that an earlier record of this run claimed.
    pub claimed: Vec<UserId>,
    /// The username a new user would get is held by someone (any letter case).
    pub new_username_taken: bool,
}

/// What to do for one upstream record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Linked and nothing changed.
    Unchanged {
        user: UserId,
    },
    Create {
        username: String,
    },
    Link {
        user: UserId,
        changes: Vec<FieldChange>,
    },
    Update {
        user: UserId,
        changes: Vec<FieldChange>,
        returned: bool,
    },
    Conflict {
        candidates: Vec<UserId>,
        reason: &'static str,
    },
}

impl Plan {
    pub fn action(&self) -> Option<ItemAction> {
        match self {
            Plan::Unchanged { .. } => None,
            Plan::Create { .. } => Some(ItemAction::Create),
            Plan::Link { .. } => Some(ItemAction::Link),
            Plan::Update { changes, .. } if changes.is_empty() => Some(ItemAction::Returned),
            Plan::Update { .. } => Some(ItemAction::Update),
            Plan::Conflict { .. } => Some(ItemAction::Conflict),
        }
    }
}

/// The fields `record` owns that differ from `user`. A field the upstream leaves empty is left
/// as it is: Intercom, for one, has no first and last names.
pub fn changes(user: &LocalUser, record: &UpstreamUser) -> Vec<FieldChange> {
    let fields = [
        (
            SyncedField::DisplayName,
            &user.display_name,
            &record.display_name,
        ),
        (SyncedField::FirstName, &user.first_name, &record.first_name),
        (SyncedField::LastName, &user.last_name, &record.last_name),
        (SyncedField::Email, &user.email, &record.email),
    ];
    fields
        .into_iter()
        .filter_map(|(field, before, after)| {
            let after = after.as_ref()?;
            (before.as_ref() != Some(after)).then(|| FieldChange {
                field,
                before: before.clone(),
                after: Some(after.clone()),
            })
        })
        .collect()
}

/// The username a new user gets: the upstream's, or else its email.
pub fn new_username(record: &UpstreamUser) -> Option<String> {
    record
        .username
        .clone()
        .or_else(|| record.email.clone())
        .filter(|name| !name.trim().is_empty())
}

/// Why the values a plan would write break our rules (an upstream may allow what we do not);
/// the record's change then fails and the run ends PARTIAL.
pub fn invalid_value(record: &UpstreamUser, plan: &Plan) -> Option<&'static str> {
    let changes = match plan {
        Plan::Create { username } => {
            if Username::parse(username).is_err() {
                return Some("the username a new user would get is not valid");
            }
            return [
                (&record.display_name, 200),
                (&record.first_name, 100),
                (&record.last_name, 100),
            ]
            .into_iter()
            .any(|(name, max)| {
                name.as_ref()
                    .is_some_and(|n| Name::parse(n, "name", max).is_err())
            })
            .then_some("a name is empty or too long")
            .or_else(|| {
                record
                    .email
                    .as_ref()
                    .is_some_and(|e| Email::parse(e).is_err())
                    .then_some("the email is not a valid address")
            });
        }
        Plan::Link { changes, .. } | Plan::Update { changes, .. } => changes,
        Plan::Unchanged { .. } | Plan::Conflict { .. } => return None,
    };
    changes.iter().find_map(|change| {
        let value = change.after.as_deref()?;
        let valid = match change.field {
            SyncedField::DisplayName => Name::parse(value, "display name", 200).is_ok(),
            SyncedField::FirstName | SyncedField::LastName => {
                Name::parse(value, "name", 100).is_ok()
            }
            SyncedField::Email => Email::parse(value).is_ok(),
        };
        (!valid).then_some(if change.field.is_pii() {
            "the email is not a valid address"
        } else {
            "a name is empty or too long"
        })
    })
}

/// Matches one record: its link first, then the primary identifier (blank: username where the
/// upstream has usernames, then email). More than one candidate is a conflict, never a guess.
pub fn plan(
    record: &UpstreamUser,
    facts: &RecordFacts,
    identifier: Option<PrimaryIdentifier>,
    has_usernames: bool,
) -> Plan {
    if let Some((user, flagged)) = &facts.linked {
        let changes = changes(user, record);
        return if changes.is_empty() && !flagged {
            Plan::Unchanged { user: user.id }
        } else {
            Plan::Update {
                user: user.id,
                changes,
                returned: *flagged,
            }
        };
    }
    let by_username = || (has_usernames && record.username.is_some()).then_some(&facts.by_username);
    let by_email = || record.email.is_some().then_some(&facts.by_email);
    let candidates = match identifier {
        Some(PrimaryIdentifier::Username) => by_username(),
        Some(PrimaryIdentifier::Email) => by_email(),
        Some(PrimaryIdentifier::ExternalId) => None,
        None => by_username()
            .filter(|found| !found.is_empty())
            .or_else(by_email),
    };
    match candidates.map(Vec::as_slice).unwrap_or_default() {
        [] => match new_username(record) {
            _ if facts.new_username_taken => Plan::Conflict {
                candidates: Vec::new(),
                reason: "the username a new user would get is taken by another user",
            },
            Some(username) => Plan::Create { username },
            None => Plan::Conflict {
                candidates: Vec::new(),
                reason: "the record has neither a username nor an email",
            },
        },
        [user] if facts.claimed.contains(&user.id) => Plan::Conflict {
            candidates: vec![user.id],
            reason: "the matching user is linked to another upstream record",
        },
        [user] => Plan::Link {
            user: user.id,
            changes: changes(user, record),
        },
        several => Plan::Conflict {
            candidates: several.iter().map(|u| u.id).collect(),
            reason: "more than one user matches",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(username: Option<&str>, email: Option<&str>, name: &str) -> UpstreamUser {
        UpstreamUser {
            external_id: "42".into(),
            username: username.map(str::to_owned),
            email: email.map(str::to_owned),
            display_name: Some(name.into()),
            first_name: None,
            last_name: None,
        }
    }

    fn local(name: &str, email: &str) -> LocalUser {
        LocalUser {
            id: UserId::new(),
            username: Some(name.to_lowercase()),
            display_name: Some(name.into()),
            first_name: None,
            last_name: None,
            email: Some(email.into()),
        }
    }

    #[test]
    fn a_linked_user_is_updated_only_where_the_upstream_changed() {
        let user = local("Ann Lee", "ann@example.com");
        let facts = RecordFacts {
            linked: Some((user.clone(), false)),
            ..Default::default()
        };
        let same = record(None, Some("ann@example.com"), "Ann Lee");
        assert_eq!(
            plan(&same, &facts, None, false),
            Plan::Unchanged { user: user.id }
        );
        let married = record(None, Some("ann@example.com"), "Ann Smith");
        let Plan::Update { changes, .. } = plan(&married, &facts, None, false) else {
            panic!("expected an update");
        };
        assert_eq!(
            changes,
            vec![FieldChange {
                field: SyncedField::DisplayName,
                before: Some("Ann Lee".into()),
                after: Some("Ann Smith".into()),
            }]
        );
    }

    #[test]
    fn two_candidates_are_a_conflict_and_none_is_a_new_user() {
        let (a, b) = (local("a", "x@example.com"), local("b", "x@example.com"));
        let facts = RecordFacts {
            by_email: vec![a.clone(), b.clone()],
            ..Default::default()
        };
        let upstream = record(None, Some("x@example.com"), "X");
        assert!(matches!(
            plan(&upstream, &facts, None, false),
            Plan::Conflict { candidates, .. } if candidates == vec![a.id, b.id]
        ));
        assert_eq!(
            plan(&upstream, &RecordFacts::default(), None, false),
            Plan::Create {
                username: "x@example.com".into()
            }
        );
    }

    #[test]
    fn the_primary_identifier_decides_which_attribute_matches() {
        let by_name = local("jdoe", "old@example.com");
        let facts = RecordFacts {
            by_username: vec![by_name.clone()],
            ..Default::default()
        };
        let upstream = record(Some("jdoe"), Some("new@example.com"), "J Doe");
        assert!(matches!(
            plan(&upstream, &facts, None, true),
            Plan::Link { user, .. } if user == by_name.id
        ));
        assert!(matches!(
            plan(&upstream, &facts, Some(PrimaryIdentifier::Email), true),
            Plan::Create { .. }
        ));
        assert!(matches!(
            plan(&upstream, &facts, Some(PrimaryIdentifier::ExternalId), true),
            Plan::Create { .. }
        ));
        let claimed = RecordFacts {
            claimed: vec![by_name.id],
            ..facts
        };
        assert!(matches!(
            plan(&upstream, &claimed, None, true),
            Plan::Conflict { .. }
        ));
    }

    #[test]
    fn the_safeguard_allows_ten_or_a_fifth_of_the_linked_users() {
        assert!(!needs_approval(10, 12));
        assert!(needs_approval(11, 12));
        assert!(!needs_approval(200, 1000));
        assert!(needs_approval(201, 1000));
    }
}
