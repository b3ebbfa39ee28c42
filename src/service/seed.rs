//! A deterministic dataset for load tests (`liaison dev seed`): accounts with thousands of users
//! holding roles, groups and skills, connected integrations with their contacts, and shareable
//! invitations. The same plan always gives the same rows, ids included: names, ties and ids are
//! derived from positions, never drawn at random. Only the invitations' link tokens are random
//! (they are secrets, issued by the connection-request engine like any other).
//!
//! Rows are written with multi-row inserts, one transaction per account, bypassing the per-user
//! checks of the API: what is written is valid by construction (unique names, consistent ties).

use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use super::Services;
use super::connection_requests::NewConnectionRequest;
use crate::domain::ids::{AccountId, ConnectionId, GroupId, RoleId, SkillId, UserId};
use crate::domain::permission::{Area, Level};
use crate::domain::user::{UserKind, UserStatus, UserType};
use crate::error::{AppError, AppResult};
use crate::store::entities::connection::ConnectionStatus;
use crate::store::entities::{
    account, connection, group, group_member, integration_contact, role, role_grant, skill, user,
    user_role, user_skill,
};
use crate::store::named::{Named, NamedRecord};
use crate::store::{self, insert_batched};

/// What to seed.
#[derive(Clone, Copy, Debug)]
pub struct SeedPlan {
    pub accounts: usize,
    pub users_per_account: usize,
    /// Integrations each account connects, in catalog order (at most the catalog's size).
    pub connections_per_account: usize,
    /// Shareable invitation links each account issues (one integration each).
    pub invitations_per_account: usize,
}

/// Users per account who hold the Account Admin role: what a load generator signs in as.
pub const ADMINS_PER_ACCOUNT: usize = 5;
/// Every how many users one is a non-login contact.
const NON_LOGIN_EVERY: usize = 50;
/// The last fifth of an account's users is never made an integration contact: a benchmark adds
/// and removes them.
const SPARE_SHARE: usize = 5;

const ROLES: [(&str, &[(Area, Level)]); 7] = [
    (
        "Supervisor",
        &[(Area::Users, Level::Read), (Area::UserPii, Level::Read)],
    ),
    ("Agent", &[(Area::Users, Level::Read)]),
    (
        "Team Lead",
        &[(Area::Users, Level::Full), (Area::UserPii, Level::Read)],
    ),
    ("Billing", &[(Area::AccountContacts, Level::Full)]),
    (
        "Integrator",
        &[
            (Area::Integrations, Level::Full),
            (Area::IntegrationContacts, Level::Full),
        ],
    ),
    ("Auditor", &[(Area::AuditLog, Level::Read)]),
    (
        "Support",
        &[
            (Area::Users, Level::Read),
            (Area::IntegrationContacts, Level::Read),
        ],
    ),
];
const TEAMS: [&str; 8] = [
    "Sales",
    "Support",
    "Billing",
    "Onboarding",
    "Retention",
    "Partners",
    "Escalations",
    "VIP",
];
const REGIONS: [&str; 3] = ["EMEA", "Americas", "APAC"];
const SKILLS: [&str; 16] = [
    "English",
    "German",
    "French",
    "Spanish",
    "Italian",
    "Dutch",
    "Portuguese",
    "Japanese",
    "Billing",
    "Hardware",
    "Networking",
    "Onboarding",
    "Retention",
    "Escalation",
    "Chat",
    "Voice",
];
const FIRST_NAMES: [&str; 20] = [
    "Ada", "Ben", "Chloe", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Kira",
    "Liam", "Mara", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Sven", "Tara",
];
const LAST_NAMES: [&str; 25] = [
    "Adams", "Berg", "Costa", "Dietrich", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jansen",
    "Keller", "Lopez", "Meyer", "Novak", "Olsen", "Petrov", "Quist", "Rossi", "Schmidt", "Tanaka",
    "Ulrich", "Vogel", "Weber", "Young", "Zimmer",
];

/// What was seeded in one account: what a load generator needs to address it.
#[derive(Clone, Debug)]
pub struct SeededAccount {
    pub id: AccountId,
    pub slug: String,
    /// Users holding the Account Admin role, the account's first admin first.
    pub admins: Vec<UserId>,
    /// Every user, in seeding order.
    pub users: Vec<UserId>,
    /// The connected integrations' keys.
    pub integrations: Vec<String>,
    /// Login users who are no integration's contact.
    pub spare_contacts: Vec<UserId>,
    /// The raw tokens of the shareable invitation links (the last part of each link).
    pub invitation_tokens: Vec<String>,
}

/// A seeded row's id: the kind of row, the account and the position, so a plan always yields
/// the same ids.
fn seeded_id(kind: u8, account: usize, index: usize) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(b"seed");
    bytes[4] = kind;
    bytes[6..8].copy_from_slice(&(account as u16).to_be_bytes());
    bytes[8..16].copy_from_slice(&(index as u64).to_be_bytes());
    Uuid::from_bytes(bytes)
}

/// The slug of the `index`-th seeded account: `load-01`, `load-02`, …
pub fn account_slug(index: usize) -> String {
    format!("load-{:02}", index + 1)
}

/// The time every seeded row was created at, a second apart by position.
fn seeded_at(index: usize) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::seconds(index as i64)
}

/// The user at `index` of an account: names, kind and type follow from the position.
fn seeded_user(account: AccountId, slug: &str, a: usize, index: usize) -> user::ActiveModel {
    let first = FIRST_NAMES[index % FIRST_NAMES.len()];
    let last = LAST_NAMES[(index / FIRST_NAMES.len()) % LAST_NAMES.len()];
    let non_login = index % NON_LOGIN_EVERY == NON_LOGIN_EVERY - 1;
    let username = format!("{}.{}.{index:05}", first, last).to_lowercase();
    let email = format!("{username}@{slug}.example.com");
    let now = seeded_at(index);
    user::ActiveModel {
        id: Set(UserId(seeded_id(1, a, index))),
        account_id: Set(account),
        kind: Set(if non_login {
            UserKind::NonLogin
        } else {
            UserKind::Login
        }),
        status: Set(UserStatus::Active),
        username: Set((!non_login).then(|| username.clone())),
        username_key: Set((!non_login).then(|| username.clone())),
        display_name: Set(Some(format!("{first} {last}"))),
        first_name: Set(Some(first.to_owned())),
        last_name: Set(Some(last.to_owned())),
        email_key: Set(Some(email.to_lowercase())),
        email: Set(Some(email)),
        phone: Set(None),
        preferred_language: Set(Some(["en", "de", "fr", "es"][index % 4].to_owned())),
        user_type: Set((!non_login).then_some(match index {
            i if i < ADMINS_PER_ACCOUNT => UserType::Admin,
            i if i.is_multiple_of(10) => UserType::Supervisor,
            _ => UserType::Agent,
        })),
        country: Set(None),
        telephony_region: Set(None),
        licence_type: Set(None),
        agent_id: Set(None),
        email_invalid_at: Set(None),
        title: Set(None),
        is_distribution_list: Set(false),
        may_contact_for_interviews: Set(false),
        may_contact_for_product_updates: Set(index.is_multiple_of(3)),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// The rows of one account, built before anything is written.
#[derive(Default)]
struct AccountRows {
    roles: Vec<role::ActiveModel>,
    grants: Vec<role_grant::ActiveModel>,
    groups: Vec<group::ActiveModel>,
    skills: Vec<skill::ActiveModel>,
    users: Vec<user::ActiveModel>,
    user_roles: Vec<user_role::ActiveModel>,
    members: Vec<group_member::ActiveModel>,
    user_skills: Vec<user_skill::ActiveModel>,
    connections: Vec<connection::ActiveModel>,
    contacts: Vec<integration_contact::ActiveModel>,
    /// Login users outside the contact pool.
    spare_contacts: Vec<UserId>,
}

/// Groups or skills (row kind `kind`) of account `a`, one per name.
fn named_records(kind: u8, a: usize, names: impl IntoIterator<Item = String>) -> Vec<NamedRecord> {
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| NamedRecord {
            id: seeded_id(kind, a, i),
            name,
            description: None,
            created_at: seeded_at(0),
        })
        .collect()
}

fn account_rows(
    plan: &SeedPlan,
    account: AccountId,
    slug: &str,
    a: usize,
    integrations: &[String],
) -> AccountRows {
    let mut rows = AccountRows::default();
    let role_names = std::iter::once(super::roles::ACCOUNT_ADMIN.to_owned())
        .chain(ROLES.iter().map(|(name, _)| (*name).to_owned()));
    rows.roles = role_names
        .enumerate()
        .map(|(i, name)| role::ActiveModel {
            id: Set(RoleId(seeded_id(2, a, i))),
            account_id: Set(account),
            name_key: Set(name.to_lowercase()),
            name: Set(name),
            description: Set(None),
            is_account_admin: Set(i == 0),
            created_at: Set(seeded_at(0)),
            updated_at: Set(seeded_at(0)),
        })
        .collect();
    for (i, (_, grants)) in ROLES.iter().enumerate() {
        for (area, level) in *grants {
            rows.grants.push(role_grant::ActiveModel {
                account_id: Set(account),
                role_id: Set(RoleId(seeded_id(2, a, i + 1))),
                area: Set(area.as_str().to_owned()),
                level: Set(level.as_str().to_owned()),
            });
        }
    }
    let group_names = REGIONS
        .iter()
        .flat_map(|region| TEAMS.iter().map(move |team| format!("{team} {region}")));
    rows.groups = named_records(3, a, group_names)
        .iter()
        .map(|record| group::Entity::active(account, record))
        .collect();
    rows.skills = named_records(4, a, SKILLS.iter().map(|s| (*s).to_owned()))
        .iter()
        .map(|record| skill::Entity::active(account, record))
        .collect();
    let groups = rows.groups.len();
    // Contacts come from the first four fifths of the users, login and non-login alike.
    let pool = (plan.users_per_account - plan.users_per_account / SPARE_SHARE).max(1);
    for index in 0..plan.users_per_account {
        let model = seeded_user(account, slug, a, index);
        let user_id = UserId(seeded_id(1, a, index));
        let is_login = model.kind.as_ref() == &UserKind::Login;
        rows.users.push(model);
        if !is_login {
            continue;
        }
        if index >= pool {
            rows.spare_contacts.push(user_id);
        }
        let mut roles = vec![if index < ADMINS_PER_ACCOUNT {
            0
        } else {
            1 + index % ROLES.len()
        }];
        if index >= ADMINS_PER_ACCOUNT && index.is_multiple_of(3) {
            roles.push(1 + (index / 3 + 1) % ROLES.len());
        }
        roles.dedup();
        for r in roles {
            rows.user_roles.push(user_role::ActiveModel {
                account_id: Set(account),
                user_id: Set(user_id),
                role_id: Set(RoleId(seeded_id(2, a, r))),
            });
        }
        let mut in_groups = vec![index % groups];
        if index.is_multiple_of(2) {
            in_groups.push((index / 2 + 7) % groups);
        }
        in_groups.dedup();
        for g in in_groups {
            rows.members.push(group_member::ActiveModel {
                account_id: Set(account),
                group_id: Set(GroupId(seeded_id(3, a, g))),
                user_id: Set(user_id),
            });
        }
        for k in 0..2 + index % 3 {
            rows.user_skills.push(user_skill::ActiveModel {
                account_id: Set(account),
                user_id: Set(user_id),
                skill_id: Set(SkillId(seeded_id(4, a, (index + k * 5) % SKILLS.len()))),
                level: Set(1 + ((index + k) % 10) as i32),
            });
        }
    }
    for (c, key) in integrations.iter().enumerate() {
        let now = seeded_at(c);
        rows.connections.push(connection::ActiveModel {
            id: Set(ConnectionId(seeded_id(5, a, c))),
            account_id: Set(account),
            integration_key: Set(key.clone()),
            status: Set(ConnectionStatus::Connected),
            settings: Set(serde_json::json!({})),
            secrets: Set(None),
            connected_by_user_id: Set(Some(UserId(seeded_id(1, a, 0)))),
            connected_by_label: Set(None),
            connected_at: Set(Some(now)),
            connected_by_request_id: Set(None),
            connected_by_verified: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        });
        let mut chosen: Vec<usize> = (0..2 + c % 3)
            .map(|k| (c * 37 + k * 101 + 1) % pool)
            .collect();
        chosen.sort_unstable();
        chosen.dedup();
        for index in chosen {
            rows.contacts.push(integration_contact::ActiveModel {
                account_id: Set(account),
                user_id: Set(UserId(seeded_id(1, a, index))),
                integration_key: Set(key.clone()),
                created_at: Set(now),
            });
        }
    }
    rows
}

impl Services {
    /// Seeds `plan` into the database, one transaction per account. Refuses when an account of
    /// the plan's slugs exists already (seed a fresh database).
    pub async fn seed(&self, plan: SeedPlan) -> AppResult<Vec<SeededAccount>> {
        if plan.users_per_account < ADMINS_PER_ACCOUNT {
            return Err(AppError::BadInput(format!(
                "seed at least {ADMINS_PER_ACCOUNT} users per account"
            )));
        }
        if plan.accounts == 0 || plan.accounts > 99 {
            return Err(AppError::BadInput("seed 1 to 99 accounts".into()));
        }
        let integrations: Vec<String> = self
            .catalog
            .all()
            .take(plan.connections_per_account)
            .map(|i| i.key.clone())
            .collect();
        for a in 0..plan.accounts {
            let slug = account_slug(a);
            if store::accounts::find_by_slug(&self.db, &slug)
                .await?
                .is_some()
            {
                return Err(AppError::BadInput(format!(
                    "the database already holds the seeded account `{slug}`; seed a fresh database"
                )));
            }
        }
        let mut seeded = Vec::with_capacity(plan.accounts);
        for a in 0..plan.accounts {
            let slug = account_slug(a);
            let account = AccountId(seeded_id(0, a, 0));
            let rows = account_rows(&plan, account, &slug, a, &integrations);
            let txn = store::begin_write(&self.db).await?;
            insert_batched(
                &txn,
                &[account::ActiveModel {
                    id: Set(account),
                    slug: Set(slug.clone()),
                    name: Set(format!("Load Test {:02}", a + 1)),
                    licence_limit: Set(plan.users_per_account as i32 + 10),
                    status: Set(account::AccountStatus::Active),
                    created_at: Set(seeded_at(0)),
                    updated_at: Set(seeded_at(0)),
                    contacts_reviewed_at: Set(None),
                    allowed_contact_domains: Set(None),
                    contact_reminder_period: Set(None),
                }],
            )
            .await?;
            insert_batched(&txn, &rows.roles).await?;
            insert_batched(&txn, &rows.grants).await?;
            insert_batched(&txn, &rows.groups).await?;
            insert_batched(&txn, &rows.skills).await?;
            insert_batched(&txn, &rows.users).await?;
            insert_batched(&txn, &rows.user_roles).await?;
            insert_batched(&txn, &rows.members).await?;
            insert_batched(&txn, &rows.user_skills).await?;
            insert_batched(&txn, &rows.connections).await?;
            insert_batched(&txn, &rows.contacts).await?;
            txn.commit().await?;

            let users: Vec<UserId> = (0..plan.users_per_account)
                .map(|i| UserId(seeded_id(1, a, i)))
                .collect();
            let caller = self.acting_user(account, None).await?;
            let mut invitation_tokens = Vec::with_capacity(plan.invitations_per_account);
            for i in 0..plan.invitations_per_account {
                let Some(key) = integrations.get(i % integrations.len().max(1)) else {
                    break;
                };
                let issued = self
                    .create_connection_request(
                        &caller,
                        NewConnectionRequest {
                            integration_keys: vec![key.clone()],
                            reconnect: true,
                            ..NewConnectionRequest::default()
                        },
                    )
                    .await?;
                let token = issued.invite_url.rsplit('/').next().unwrap_or_default();
                invitation_tokens.push(token.to_owned());
            }
            seeded.push(SeededAccount {
                id: account,
                slug,
                admins: users[..ADMINS_PER_ACCOUNT].to_vec(),
                users,
                integrations: integrations.clone(),
                spare_contacts: rows.spare_contacts,
                invitation_tokens,
            });
        }
        Ok(seeded)
    }
}
