//! People of an account: login users and non-login contacts, their lifecycle and seats.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveEnum, ActiveValue::Set, DatabaseTransaction, IntoActiveModel};
use serde_json::json;

use super::audit::{Actor, Event};
use super::{Patch, Rejections, Services};
use crate::auth::principal::AccountUser;
use crate::domain::ids::{AccountId, GroupId, RoleId, SkillId, TelephonyResourceId, UserId};
use crate::domain::permission::{Area, Level};
use crate::domain::telephony::AccessLevel;
use crate::domain::user::{UserKind, UserStatus, UserType, holds_seat};
use crate::domain::values::{AgentId, CountryCode, Email, LanguageTag, Name, Phone, Username};
use crate::error::{AppError, AppResult, UserError};
use crate::store::constraint::{Violation, classify};
use crate::store::entities::{group, skill, user};
use crate::store::user_links::{Groups, ResourceAccess, Roles, Skills};
use crate::store::users::{UserFilter, UserOrder};
use crate::store::{self, Conn, begin_write};

/// A new user, as entered (raw strings are parsed by the service).
#[derive(Clone, Debug, Default)]
pub struct NewUserInput {
    pub kind: Option<UserKind>,
    pub status: Option<UserStatus>,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub preferred_language: Option<String>,
    pub user_type: Option<UserType>,
    pub country: Option<String>,
    pub telephony_region: Option<String>,
    pub licence_type: Option<String>,
    pub agent_id: Option<i64>,
    pub title: Option<String>,
    pub is_distribution_list: bool,
}

/// Changes to a user; `Keep` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub username: Patch<String>,
    pub display_name: Patch<String>,
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub email: Patch<String>,
    pub phone: Patch<String>,
    pub preferred_language: Patch<String>,
    pub user_type: Patch<UserType>,
    pub country: Patch<String>,
    pub telephony_region: Patch<String>,
    pub licence_type: Patch<String>,
    pub agent_id: Patch<i64>,
    pub group_ids: Option<Vec<GroupId>>,
    pub skills: Option<Vec<(SkillId, i32)>>,
    /// Replaces the user's queue and line access.
    pub resource_access: Option<Vec<(TelephonyResourceId, AccessLevel)>>,
}

impl UserPatch {
    fn touches_pii(&self) -> bool {
        !self.email.is_keep() || !self.phone.is_keep()
    }
}

fn field(name: &'static str) -> [&'static str; 2] {
    ["input", name]
}

fn optional<T>(
    rejections: &mut Rejections,
    name: &'static str,
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, crate::domain::values::ValueError>,
) -> Option<T> {
    raw.and_then(|raw| rejections.check(&field(name), parse(raw)))
}

/// A parsed, valid new user.
pub(super) struct ValidUser {
    kind: UserKind,
    status: UserStatus,
    username: Option<Username>,
    display_name: Option<Name>,
    first_name: Option<Name>,
    last_name: Option<Name>,
    email: Option<Email>,
    phone: Option<Phone>,
    preferred_language: Option<LanguageTag>,
    user_type: Option<UserType>,
    country: Option<CountryCode>,
    telephony_region: Option<String>,
    licence_type: Option<String>,
    agent_id: Option<AgentId>,
    title: Option<String>,
    is_distribution_list: bool,
}

pub(super) fn validate_new(input: &NewUserInput) -> Result<ValidUser, AppError> {
    let mut rejections = Rejections::default();
    let kind = input.kind.unwrap_or(UserKind::Login);
    if input.status == Some(UserStatus::Deactivated) {
        rejections.push(UserError::new(
            &field("status"),
            "INVALID_STATUS",
            "a new user is ACTIVE or PENDING",
        ));
    }
    let username = optional(
        &mut rejections,
        "username",
        input.username.as_deref(),
        Username::parse,
    );
    if kind == UserKind::Login && input.username.is_none() {
        rejections.push(UserError::new(
            &field("username"),
            "REQUIRED",
            "a login user needs a username",
        ));
    }
    let name = |raw: Option<&str>, what| raw.map(|raw| Name::parse(raw, what, 200));
    let valid = ValidUser {
        kind,
        status: input.status.unwrap_or(UserStatus::Active),
        display_name: name(input.display_name.as_deref(), "display name")
            .and_then(|p| rejections.check(&field("displayName"), p)),
        first_name: name(input.first_name.as_deref(), "first name")
            .and_then(|p| rejections.check(&field("firstName"), p)),
        last_name: name(input.last_name.as_deref(), "last name")
            .and_then(|p| rejections.check(&field("lastName"), p)),
        email: optional(
            &mut rejections,
            "email",
            input.email.as_deref(),
            Email::parse,
        ),
        phone: optional(
            &mut rejections,
            "phone",
            input.phone.as_deref(),
            Phone::parse,
        ),
        preferred_language: optional(
            &mut rejections,
            "preferredLanguage",
            input.preferred_language.as_deref(),
            LanguageTag::parse,
        ),
        user_type: input.user_type,
        country: optional(
            &mut rejections,
            "country",
            input.country.as_deref(),
            CountryCode::parse,
        ),
        telephony_region: input.telephony_region.clone(),
        licence_type: input.licence_type.clone(),
        agent_id: input
            .agent_id
            .and_then(|raw| rejections.check(&field("agentId"), AgentId::parse(raw))),
        title: input
            .title
            .as_deref()
            .and_then(|raw| rejections.check(&field("title"), Name::parse(raw, "title", 200)))
            .map(Name::into_inner),
        is_distribution_list: input.is_distribution_list,
        username,
    };
    rejections.finish()?;
    Ok(valid)
}

impl ValidUser {
    /// A new active login user from a bulk row, with the template's type, country, telephony
    /// region and licence type.
    pub(super) fn from_template(
        row: crate::domain::bulk::ValidRow,
        template: &user::Model,
        agent_id: Option<AgentId>,
    ) -> Self {
        Self {
            kind: UserKind::Login,
            status: UserStatus::Active,
            username: Some(row.username),
            display_name: row.display_name,
            first_name: row.first_name,
            last_name: row.last_name,
            email: row.email,
            phone: row.phone,
            preferred_language: None,
            user_type: template.user_type,
            country: template
                .country
                .as_deref()
                .and_then(|c| CountryCode::parse(c).ok()),
            telephony_region: template.telephony_region.clone(),
            licence_type: template.licence_type.clone(),
            agent_id,
            title: None,
            is_distribution_list: false,
        }
    }

    pub(super) fn into_model(self, account: AccountId, now: DateTime<Utc>) -> user::ActiveModel {
        user::ActiveModel {
            id: Set(UserId::new()),
            account_id: Set(account),
            kind: Set(self.kind),
            status: Set(self.status),
            username_key: Set(self.username.as_ref().map(Username::key)),
            username: Set(self.username.map(Username::into_inner)),
            display_name: Set(self.display_name.map(Name::into_inner)),
            first_name: Set(self.first_name.map(Name::into_inner)),
            last_name: Set(self.last_name.map(Name::into_inner)),
            email_key: Set(self.email.as_ref().map(Email::key)),
            email: Set(self.email.map(Email::into_inner)),
            phone: Set(self.phone.map(Phone::into_inner)),
            preferred_language: Set(self.preferred_language.map(LanguageTag::into_inner)),
            user_type: Set(self.user_type),
            country: Set(self.country.map(CountryCode::into_inner)),
            telephony_region: Set(self.telephony_region),
            licence_type: Set(self.licence_type),
            agent_id: Set(self.agent_id.map(AgentId::get)),
            email_invalid_at: Set(None),
            title: Set(self.title),
            is_distribution_list: Set(self.is_distribution_list),
            may_contact_for_interviews: Set(true),
            may_contact_for_product_updates: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        }
    }
}

/// Maps a refused insert or update to the input field it concerns.
pub(super) fn constraint_rejection(error: sea_orm::DbErr) -> AppError {
    match classify(&error) {
        Some(Violation::UsernameTaken) => AppError::rejected(UserError::new(
            &field("username"),
            "USERNAME_EXISTS",
            "this username is already taken in the account (in any letter case)",
        )),
        Some(Violation::AgentIdTaken) => AppError::rejected(UserError::new(
            &field("agentId"),
            "AGENT_ID_IN_USE",
            "this agent ID is already in use in the account",
        )),
        _ => AppError::Database(error),
    }
}

impl Services {
    /// Inserts a user inside `txn`: seats are checked under the account lock.
    pub(super) async fn insert_user(
        &self,
        txn: &DatabaseTransaction,
        account: AccountId,
        valid: ValidUser,
    ) -> AppResult<user::Model> {
        let now = self.clock.now();
        if holds_seat(valid.kind, valid.status) {
            self.check_seat_free(txn, account).await?;
        }
        let model = valid.into_model(account, now);
        store::users::insert(txn, model)
            .await
            .map_err(constraint_rejection)
    }

    /// Takes the account lock and refuses when every seat is taken.
    pub(super) async fn check_seat_free(
        &self,
        txn: &impl Conn,
        account: AccountId,
    ) -> AppResult<()> {
        store::accounts::lock(txn, account, self.clock.now()).await?;
        let (limit, free) = self.seats(txn, account).await?;
        if free == 0 {
            return Err(AppError::rejected(UserError::new(
                &["input"],
                "LICENCE_LIMIT",
                format!("all {limit} licence seats of the account are in use"),
            )));
        }
        Ok(())
    }

    /// The account's licence limit and how many seats are free under it now.
    pub(super) async fn seats(
        &self,
        conn: &impl Conn,
        account: AccountId,
    ) -> AppResult<(i32, u64)> {
        let limit = store::accounts::find(conn, account)
            .await?
            .ok_or(AppError::NotFound)?
            .licence_limit;
        let used = store::accounts::seats_used(conn, account).await?;
        Ok((
            limit,
            u64::try_from(limit).unwrap_or(0).saturating_sub(used),
        ))
    }

    /// Creates an account's first user inside the account's creation transaction.
    pub(super) async fn insert_first_admin(
        &self,
        txn: &DatabaseTransaction,
        account: AccountId,
        input: &NewUserInput,
    ) -> AppResult<user::Model> {
        let valid = validate_new(input)?;
        self.insert_user(txn, account, valid).await
    }

    pub async fn create_user(
        &self,
        caller: &AccountUser,
        input: NewUserInput,
    ) -> AppResult<user::Model> {
        let mut needs = vec![(Area::Users, Level::Full)];
        if input.email.is_some() || input.phone.is_some() {
            needs.push((Area::UserPii, Level::Full));
        }
        caller.require_all(&needs)?;
        let valid = validate_new(&input)?;
        let txn = begin_write(&self.db).await?;
        let created = self.insert_user(&txn, caller.account_id, valid).await?;
        self.record(
            &txn,
            Some(caller.account_id),
            &Actor::user(caller),
            Event {
                action: "user.created",
                target_type: "User",
                target_id: Some(created.id.to_string()),
                details: json!({ "kind": created.kind.to_value(), "status": created.status.to_value(), "username": created.username }),
                pii: Some(json!({ "email": created.email, "phone": created.phone })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(created)
    }

    pub async fn user(&self, caller: &AccountUser, id: UserId) -> AppResult<user::Model> {
        caller.require(Area::Users, Level::Read)?;
        store::users::find(&self.db, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// A page of users. Text search covers emails only for callers who may read USER_PII.
    pub async fn users(
        &self,
        caller: &AccountUser,
        mut filter: UserFilter,
        order: UserOrder,
        offset: u64,
        limit: u64,
    ) -> AppResult<Vec<user::Model>> {
        caller.require(Area::Users, Level::Read)?;
        filter.text_matches_email = caller.can(Area::UserPii, Level::Read);
        Ok(store::users::page(&self.db, caller.account_id, &filter, order, offset, limit).await?)
    }

    pub async fn users_count(
        &self,
        caller: &AccountUser,
        mut filter: UserFilter,
    ) -> AppResult<u64> {
        caller.require(Area::Users, Level::Read)?;
        filter.text_matches_email = caller.can(Area::UserPii, Level::Read);
        Ok(store::users::count(&self.db, caller.account_id, &filter).await?)
    }

    pub async fn update_user(
        &self,
        caller: &AccountUser,
        id: UserId,
        patch: UserPatch,
    ) -> AppResult<user::Model> {
        let mut needs = vec![(Area::Users, Level::Full)];
        if patch.touches_pii() {
            needs.push((Area::UserPii, Level::Full));
        }
        caller.require_all(&needs)?;
        let account = caller.account_id;
        let touches_pii = patch.touches_pii();
        let txn = begin_write(&self.db).await?;
        let existing = store::users::find(&txn, account, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut rejections = Rejections::default();
        let mut model = existing.clone().into_active_model();
        let name = |what| move |raw: String| Name::parse(&raw, what, 200).map(Name::into_inner);

        if let Some(username) = rejections.check(
            &field("username"),
            patch.username.try_map(|raw| Username::parse(&raw)),
        ) {
            match username {
                Patch::Keep => {}
                Patch::Clear if existing.kind == UserKind::Login => {
                    rejections.push(UserError::new(
                        &field("username"),
                        "REQUIRED",
                        "a login user needs a username",
                    ))
                }
                Patch::Clear => {
                    model.username = Set(None);
                    model.username_key = Set(None);
                }
                Patch::Set(username) => {
                    model.username_key = Set(Some(username.key()));
                    model.username = Set(Some(username.into_inner()));
                }
            }
        }
        if let Some(email) = rejections.check(
            &field("email"),
            patch.email.try_map(|raw| Email::parse(&raw)),
        ) {
            match email {
                Patch::Keep => {}
                Patch::Clear => {
                    model.email = Set(None);
                    model.email_key = Set(None);
                }
                Patch::Set(email) => {
                    if existing.email_key.as_deref() != Some(email.key().as_str()) {
                        model.email_invalid_at = Set(None);
                    }
                    model.email_key = Set(Some(email.key()));
                    model.email = Set(Some(email.into_inner()));
                }
            }
        }
        let patches = [
            (
                "displayName",
                patch.display_name.try_map(name("display name")),
                &mut model.display_name,
            ),
            (
                "firstName",
                patch.first_name.try_map(name("first name")),
                &mut model.first_name,
            ),
            (
                "lastName",
                patch.last_name.try_map(name("last name")),
                &mut model.last_name,
            ),
            (
                "phone",
                patch
                    .phone
                    .try_map(|raw| Phone::parse(&raw).map(Phone::into_inner)),
                &mut model.phone,
            ),
            (
                "preferredLanguage",
                patch
                    .preferred_language
                    .try_map(|raw| LanguageTag::parse(&raw).map(LanguageTag::into_inner)),
                &mut model.preferred_language,
            ),
            (
                "country",
                patch
                    .country
                    .try_map(|raw| CountryCode::parse(&raw).map(CountryCode::into_inner)),
                &mut model.country,
            ),
        ];
        for (name, parsed, column) in patches {
            apply(&mut rejections, name, parsed, column);
        }
        apply(
            &mut rejections,
            "telephonyRegion",
            Ok(patch.telephony_region),
            &mut model.telephony_region,
        );
        apply(
            &mut rejections,
            "licenceType",
            Ok(patch.licence_type),
            &mut model.licence_type,
        );
        apply(
            &mut rejections,
            "userType",
            Ok(patch.user_type),
            &mut model.user_type,
        );
        apply(
            &mut rejections,
            "agentId",
            patch
                .agent_id
                .try_map(|raw| AgentId::parse(raw).map(AgentId::get)),
            &mut model.agent_id,
        );
        if let Some(groups) = &patch.group_ids {
            let ids: Vec<_> = groups.iter().map(|g| g.0).collect();
            let found = store::named::existing::<group::Entity>(&txn, account, &ids).await?;
            if found.len() != dedup_len(&ids) {
                rejections.push(UserError::new(
                    &field("groupIds"),
                    "UNKNOWN_GROUP",
                    "a group does not exist in the account",
                ));
            }
        }
        if let Some(skills) = &patch.skills {
            let ids: Vec<_> = skills.iter().map(|(s, _)| s.0).collect();
            let found = store::named::existing::<skill::Entity>(&txn, account, &ids).await?;
            if found.len() != dedup_len(&ids) || ids.len() != dedup_len(&ids) {
                rejections.push(UserError::new(
                    &field("skills"),
                    "UNKNOWN_SKILL",
                    "a skill does not exist in the account or is listed twice",
                ));
            }
            if skills.iter().any(|(_, level)| !(1..=10).contains(level)) {
                rejections.push(UserError::new(
                    &field("skills"),
                    "INVALID_SKILL_LEVEL",
                    "a skill level is a whole number from 1 to 10",
                ));
            }
        }
        if let Some(access) = &patch.resource_access {
            let ids: Vec<_> = access.iter().map(|(r, _)| *r).collect();
            let found = store::telephony::count_existing(&txn, account, &ids).await?;
            if found != ids.len() || dedup_len(&ids) != ids.len() {
                rejections.push(UserError::new(
                    &field("resourceAccess"),
                    "UNKNOWN_RESOURCE",
                    "a queue or line does not exist in the account or is listed twice",
                ));
            }
        }
        rejections.finish()?;

        model.updated_at = Set(self.clock.now());
        let updated = store::users::update(&txn, model)
            .await
            .map_err(constraint_rejection)?;
        if let Some(groups) = &patch.group_ids {
            let mut groups = groups.clone();
            groups.sort();
            groups.dedup();
            store::user_links::replace::<Groups>(&txn, account, id, &groups).await?;
        }
        if let Some(skills) = &patch.skills {
            store::user_links::replace::<Skills>(&txn, account, id, skills).await?;
        }
        if let Some(access) = &patch.resource_access {
            store::user_links::replace::<ResourceAccess>(&txn, account, id, access).await?;
        }
        self.record(
            &txn,
            Some(account),
            &Actor::user(caller),
            Event {
                action: "user.updated",
                target_type: "User",
                target_id: Some(id.to_string()),
                details: json!({ "username": updated.username }),
                pii: touches_pii.then(|| json!({ "email": updated.email, "phone": updated.phone })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// DEACTIVATED users keep their record but cannot sign in and hold no seat. The account's last
    /// active admin cannot be deactivated.
    pub async fn set_user_active(
        &self,
        caller: &AccountUser,
        id: UserId,
        active: bool,
    ) -> AppResult<user::Model> {
        caller.require(Area::Users, Level::Full)?;
        let account = caller.account_id;
        let txn = begin_write(&self.db).await?;
        store::accounts::lock(&txn, account, self.clock.now()).await?;
        let existing = store::users::find(&txn, account, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let status = if active {
            UserStatus::Active
        } else {
            UserStatus::Deactivated
        };
        if existing.status == status {
            txn.rollback().await?;
            return Ok(existing);
        }
        if active && holds_seat(existing.kind, status) {
            self.check_seat_free(&txn, account).await?;
        }
        let mut model = existing.into_active_model();
        model.status = Set(status);
        model.updated_at = Set(self.clock.now());
        let updated = store::users::update(&txn, model).await?;
        if !active {
            self.ensure_an_admin_remains(&txn, account).await?;
        }
        self.record(
            &txn,
            Some(account),
            &Actor::user(caller),
            Event {
                action: if active {
                    "user.reactivated"
                } else {
                    "user.deactivated"
                },
                target_type: "User",
                target_id: Some(id.to_string()),
                details: json!({ "username": updated.username }),
                pii: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(updated)
    }

    /// Fails the transaction when the change left the account without an active admin. Callers
    /// hold the account lock, so two concurrent demotions cannot both pass.
    pub(super) async fn ensure_an_admin_remains(
        &self,
        txn: &impl Conn,
        account: AccountId,
    ) -> AppResult<()> {
        if store::roles::count_active_admins(txn, account).await? == 0 {
            return Err(AppError::rejected(UserError::new(
                &["input"],
                "LAST_ADMIN",
                "the account must keep at least one active Account Admin",
            )));
        }
        Ok(())
    }

    /// Replaces a user's roles. The caller cannot hand out more than they hold themselves.
    pub async fn assign_roles(
        &self,
        caller: &AccountUser,
        id: UserId,
        roles: Vec<RoleId>,
    ) -> AppResult<user::Model> {
        caller.require_all(&[(Area::Roles, Level::Full), (Area::Users, Level::Read)])?;
        let account = caller.account_id;
        let mut roles = roles;
        roles.sort();
        roles.dedup();
        let txn = begin_write(&self.db).await?;
        store::accounts::lock(&txn, account, self.clock.now()).await?;
        let user = store::users::find(&txn, account, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let found = store::roles::by_ids(&txn, account, &roles).await?;
        if found.len() != roles.len() {
            return Err(AppError::rejected(UserError::new(
                &field("roleIds"),
                "UNKNOWN_ROLE",
                "a role does not exist in the account",
            )));
        }
        let grants = store::roles::grants_by_roles(&txn, account, &found).await?;
        if grants
            .values()
            .any(|grants| !grants.is_within(&caller.grants))
        {
            return Err(AppError::ForbiddenBecause(
                "you cannot assign a role that grants more than your own roles do",
            ));
        }
        store::user_links::replace::<Roles>(&txn, account, id, &roles).await?;
        self.ensure_an_admin_remains(&txn, account).await?;
        self.record(
            &txn,
            Some(account),
            &Actor::user(caller),
            Event {
                action: "user.roles_assigned",
                target_type: "User",
                target_id: Some(id.to_string()),
                details: json!({ "roleIds": roles.iter().map(ToString::to_string).collect::<Vec<_>>() }),
                pii: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(user)
    }

    /// Activates PENDING users (say, imported by user sync) with `roles`, all or none: each
    /// takes a seat, so together they must fit the licence. The caller cannot hand out more
    /// than they hold themselves.
    pub async fn activate_users(
        &self,
        caller: &AccountUser,
        ids: Vec<UserId>,
        roles: Vec<RoleId>,
    ) -> AppResult<Vec<user::Model>> {
        caller.require_all(&[(Area::Users, Level::Full), (Area::Roles, Level::Full)])?;
        let account = caller.account_id;
        let (mut ids, mut roles) = (ids, roles);
        ids.sort();
        ids.dedup();
        roles.sort();
        roles.dedup();
        if ids.is_empty() {
            return Err(AppError::rejected(UserError::new(
                &field("userIds"),
                "REQUIRED",
                "name at least one pending user",
            )));
        }
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        // The account lock serialises seat counting with every other activation.
        store::accounts::lock(&txn, account, now).await?;
        let found = store::users::by_ids(&txn, account, &ids).await?;
        let not_pending = ids.iter().any(|id| {
            found
                .get(id)
                .is_none_or(|u| u.status != UserStatus::Pending || u.kind != UserKind::Login)
        });
        if not_pending {
            return Err(AppError::rejected(UserError::new(
                &field("userIds"),
                "NOT_PENDING",
                "every user must be a pending login user of the account",
            )));
        }
        let role_models = store::roles::by_ids(&txn, account, &roles).await?;
        if role_models.len() != roles.len() {
            return Err(AppError::rejected(UserError::new(
                &field("roleIds"),
                "UNKNOWN_ROLE",
                "a role does not exist in the account",
            )));
        }
        let grants = store::roles::grants_by_roles(&txn, account, &role_models).await?;
        if grants
            .values()
            .any(|grants| !grants.is_within(&caller.grants))
        {
            return Err(AppError::ForbiddenBecause(
                "you cannot assign a role that grants more than your own roles do",
            ));
        }
        let (_, free) = self.seats(&txn, account).await?;
        if (ids.len() as u64) > free {
            return Err(AppError::rejected(UserError::new(
                &field("userIds"),
                "LICENCE_LIMIT",
                format!(
                    "{} users need a seat and {free} are free: raise the licence limit or \
                     activate fewer users",
                    ids.len()
                ),
            )));
        }
        let mut activated = Vec::with_capacity(ids.len());
        let mut events = Vec::with_capacity(ids.len());
        for id in &ids {
            store::users::set_status(&txn, account, *id, UserStatus::Active, now).await?;
            store::user_links::replace::<Roles>(&txn, account, *id, &roles).await?;
            events.push(Event {
                action: "user.activated",
                target_type: "User",
                target_id: Some(id.to_string()),
                details: json!({ "roleIds": roles.iter().map(ToString::to_string).collect::<Vec<_>>() }),
                pii: None,
            });
        }
        self.record_all(&txn, Some(account), &Actor::user(caller), events)
            .await?;
        for id in &ids {
            if let Some(user) = store::users::find(&txn, account, *id).await? {
                activated.push(user);
            }
        }
        txn.commit().await?;
        Ok(activated)
    }
}

fn dedup_len<T: Ord + Clone>(items: &[T]) -> usize {
    let mut items = items.to_vec();
    items.sort();
    items.dedup();
    items.len()
}

/// Applies a parsed patch to a nullable column, or records why it was refused.
fn apply<T: Into<sea_orm::Value> + Clone>(
    rejections: &mut Rejections,
    name: &'static str,
    parsed: Result<Patch<T>, crate::domain::values::ValueError>,
    column: &mut sea_orm::ActiveValue<Option<T>>,
) where
    Option<T>: Into<sea_orm::Value>,
{
    match rejections.check(&field(name), parsed) {
        Some(Patch::Set(value)) => *column = Set(Some(value)),
        Some(Patch::Clear) => *column = Set(None),
        Some(Patch::Keep) | None => {}
    }
}
