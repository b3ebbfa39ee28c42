//! Tenancy and the user directory's rules: no account reads or changes another's records, rejected
//! input writes nothing, seats and the last admin are protected (also under concurrency), every
//! change is audited, and the users list filters, orders and pages as documented.

use std::collections::HashSet;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    Reply, TestAccount, TestApp, assign_roles, create_role, create_user, decode_gid, gid,
    user_with_grants,
};

const CREATE_USER: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { \
    user { id username status kind holdsSeat } userErrors { field code message } } }";
const UPDATE_USER: &str = "mutation($input: UpdateUserInput!) { updateUser(input: $input) { \
    user { id username displayName firstName lastName country agentId \
    groups { name } skills { name level } } userErrors { field code message } } }";
const DEACTIVATE_USER: &str = "mutation($input: UserIdInput!) { deactivateUser(input: $input) { \
    user { id status holdsSeat } userErrors { field code message } } }";
const REACTIVATE_USER: &str = "mutation($input: UserIdInput!) { reactivateUser(input: $input) { \
    user { id status holdsSeat } userErrors { field code message } } }";
const ASSIGN_ROLES: &str = "mutation($input: AssignRolesInput!) { assignRoles(input: $input) { \
    user { id } userErrors { field code message } } }";
const UPDATE_ROLE: &str = "mutation($input: UpdateRoleInput!) { updateRole(input: $input) { \
    role { id name } userErrors { field code message } } }";
const DELETE_ROLE: &str = "mutation($input: DeleteRoleInput!) { deleteRole(input: $input) { \
    deletedRoleId userErrors { field code message } } }";
const UPDATE_GROUP: &str = "mutation($input: UpdateNamedInput!) { updateGroup(input: $input) { \
    group { id name } userErrors { field code message } } }";
const UPDATE_SKILL: &str = "mutation($input: UpdateNamedInput!) { updateSkill(input: $input) { \
    skill { id name } userErrors { field code message } } }";
const USER_BY_ID: &str = "query($id: ID!) { user(id: $id) { id username displayName firstName \
    lastName country agentId status holdsSeat groups { name } skills { name level } } }";
const USERS_PAGE: &str = "query($filter: UserFilterInput, $orderBy: UserOrderBy, $first: Int, \
    $after: String, $last: Int, $before: String) { users(filter: $filter, orderBy: $orderBy, \
    first: $first, after: $after, last: $last, before: $before) { totalCount \
    edges { cursor node { id username } } \
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
/// A lighter page, so that 100 users stay within the complexity limit.
const USERS_BIG_PAGE: &str = "query($orderBy: UserOrderBy, $first: Int, $last: Int) { \
    users(orderBy: $orderBy, first: $first, last: $last) { totalCount \
    edges { cursor node { id username } } } }";
const AUDIT_EVENTS: &str = "query($filter: AuditFilterInput) { auditLog(filter: $filter, first: 20) \
    { totalCount nodes { id action actorKind actorId actorLabel targetType targetId personalDetails } } }";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Runs a mutation with `$input`.
async fn mutate(app: &TestApp, token: &str, mutation: &str, input: Value) -> Reply {
    app.graphql(Some(token), mutation, json!({ "input": input }))
        .await
}

/// The `(field, code)` pairs of a payload's `userErrors`, in a stable order; each has a message.
fn rejections(reply: &Reply, mutation: &str) -> Vec<(Value, String)> {
    let errors = reply.data(mutation)["userErrors"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no userErrors in {}", reply.body));
    let mut pairs: Vec<(Value, String)> = errors
        .iter()
        .map(|error| {
            assert!(
                error["message"].as_str().is_some_and(|m| !m.is_empty()),
                "a user error without a message: {error}"
            );
            (
                error["field"].clone(),
                error["code"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    pairs.sort_by_key(|(field, code)| (field.to_string(), code.clone()));
    pairs
}

/// The expected `(field, code)` pairs, in the order [`rejections`] uses.
fn expected(pairs: &[(&[&str], &str)]) -> Vec<(Value, String)> {
    let mut pairs: Vec<(Value, String)> = pairs
        .iter()
        .map(|(field, code)| (json!(field), (*code).to_owned()))
        .collect();
    pairs.sort_by_key(|(field, code)| (field.to_string(), code.clone()));
    pairs
}

/// The codes of a payload's `userErrors`, asserting the reply has no top-level error.
fn user_error_codes(reply: &Reply, mutation: &str) -> Vec<String> {
    assert!(
        reply.errors().is_empty(),
        "unexpected errors: {}",
        reply.body
    );
    reply.user_error_codes(mutation)
}

/// Asserts that a mutation succeeded: no top-level errors and no user errors.
#[track_caller]
fn assert_succeeded(reply: &Reply, mutation: &str) {
    assert!(
        reply.errors().is_empty(),
        "unexpected errors: {}",
        reply.body
    );
    assert_eq!(
        reply.user_error_codes(mutation),
        Vec::<String>::new(),
        "{}",
        reply.body
    );
}

/// Asserts that a request failed with exactly one top-level NOT_FOUND error and no data.
#[track_caller]
fn assert_not_found(reply: &Reply, field: &str) {
    assert_eq!(reply.codes(), vec!["NOT_FOUND"], "{}", reply.body);
    assert_eq!(reply.errors()[0]["path"], json!([field]), "{}", reply.body);
    assert_eq!(reply.data(field), &Value::Null, "{}", reply.body);
}

/// Creates a group (`createGroup`) or a skill (`createSkill`) and returns its global id.
async fn create_named(app: &TestApp, token: &str, mutation: &str, name: &str) -> String {
    let object = if mutation == "createGroup" {
        "group"
    } else {
        "skill"
    };
    let reply = app
        .graphql(
            Some(token),
            &format!(
                "mutation($input: CreateNamedInput!) {{ {mutation}(input: $input) {{ \
                 {object} {{ id }} userErrors {{ code }} }} }}"
            ),
            json!({ "input": { "name": name } }),
        )
        .await;
    assert_succeeded(&reply, mutation);
    reply
        .data(&format!("{mutation}/{object}/id"))
        .as_str()
        .expect("id")
        .to_owned()
}

/// How many users and audit events the caller's account has.
async fn counts(app: &TestApp, token: &str) -> (i64, i64) {
    let reply = app
        .graphql(
            Some(token),
            "{ users(first: 1) { totalCount } auditLog(first: 1) { totalCount } }",
            json!({}),
        )
        .await
        .ok();
    (
        reply.data("users/totalCount").as_i64().expect("users"),
        reply.data("auditLog/totalCount").as_i64().expect("events"),
    )
}

/// Everything an account's admin can see of its directory, to compare before and after.
async fn snapshot(app: &TestApp, token: &str) -> Value {
    let reply = app
        .graphql(
            Some(token),
            "{ users(first: 20, orderBy: CREATED_AT) { totalCount nodes { id username displayName \
             status agentId updatedAt roles { id } groups { id } skills { name level } } } \
             roles(first: 20) { totalCount nodes { id name description grants { area level } } } \
             groups(first: 20) { nodes { id name description } } \
             skills(first: 20) { nodes { id name description } } \
             auditLog(first: 5) { totalCount nodes { id action } } }",
            json!({}),
        )
        .await
        .ok();
    reply.body["data"].clone()
}

/// One user as `user(id:)` shows it.
async fn user_state(app: &TestApp, token: &str, id: &str) -> Value {
    app.graphql(Some(token), USER_BY_ID, json!({ "id": id }))
        .await
        .ok()
        .data("user")
        .clone()
}

/// The ids of a `nodes { id }` list at `path`.
fn ids_at(reply: &Reply, path: &str) -> Vec<String> {
    reply
        .data(path)
        .as_array()
        .unwrap_or_else(|| panic!("no list at {path}: {}", reply.body))
        .iter()
        .map(|node| node["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The usernames of a users page.
fn usernames(reply: &Reply) -> Vec<String> {
    reply
        .data("users/edges")
        .as_array()
        .unwrap_or_else(|| panic!("no users page: {}", reply.body))
        .iter()
        .map(|edge| edge["node"]["username"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// The users matching `filter` (default order, by username), as usernames, and the total count.
async fn filtered_usernames(app: &TestApp, token: &str, filter: Value) -> (Vec<String>, i64) {
    let reply = app
        .graphql(
            Some(token),
            USERS_PAGE,
            json!({ "filter": filter, "first": 50 }),
        )
        .await
        .ok();
    let total = reply.data("users/totalCount").as_i64().expect("totalCount");
    (usernames(&reply), total)
}

/// The global id of the account's built-in Account Admin role.
async fn admin_role(app: &TestApp, token: &str) -> String {
    let reply = app
        .graphql(
            Some(token),
            "{ roles(first: 50) { nodes { id isAccountAdmin } } }",
            json!({}),
        )
        .await
        .ok();
    reply
        .data("roles/nodes")
        .as_array()
        .expect("roles")
        .iter()
        .find(|role| role["isAccountAdmin"] == json!(true))
        .and_then(|role| role["id"].as_str())
        .expect("an Account Admin role")
        .to_owned()
}

/// The ids of the account's ACTIVE LOGIN users holding the Account Admin role.
async fn active_admins(app: &TestApp, token: &str) -> Vec<String> {
    let reply = app
        .graphql(
            Some(token),
            "{ users(first: 50, filter: { statuses: [ACTIVE], kinds: [LOGIN] }) \
             { nodes { id roles { isAccountAdmin } } } }",
            json!({}),
        )
        .await
        .ok();
    reply
        .data("users/nodes")
        .as_array()
        .expect("users")
        .iter()
        .filter(|user| {
            user["roles"]
                .as_array()
                .expect("roles")
                .iter()
                .any(|role| role["isAccountAdmin"] == json!(true))
        })
        .map(|user| user["id"].as_str().expect("id").to_owned())
        .collect()
}

/// A second admin of the account and a token for them.
async fn second_admin(app: &TestApp, account: &TestAccount, username: &str) -> (String, String) {
    let role = admin_role(app, &account.admin_token).await;
    let user = create_user(
        app,
        &account.admin_token,
        json!({ "username": username, "displayName": username }),
    )
    .await;
    let reply = assign_roles(app, &account.admin_token, &user, &[&role]).await;
    assert_succeeded(&reply, "assignRoles");
    let token = app.token(account.id, decode_gid(&user).parse().expect("uuid"), None);
    (user, token)
}

/// Creates a login user and deactivates it; returns its id.
async fn deactivated_user(app: &TestApp, token: &str, username: &str) -> String {
    let user = create_user(app, token, json!({ "username": username })).await;
    let reply = mutate(app, token, DEACTIVATE_USER, json!({ "id": user })).await;
    assert_succeeded(&reply, "deactivateUser");
    user
}

/// An account with an agent (role, group, skill assigned) and a deactivated user.
struct Tenant {
    account: TestAccount,
    user: String,
    deactivated: String,
    role: String,
    group: String,
    skill: String,
}

async fn tenant(app: &TestApp, slug: &str) -> Tenant {
    let account = app.create_account(slug).await;
    let token = account.admin_token.clone();
    let group = create_named(app, &token, "createGroup", &format!("{slug} group")).await;
    let skill = create_named(app, &token, "createSkill", &format!("{slug} skill")).await;
    let role = create_role(app, &token, &format!("{slug} agents"), &[("USERS", "READ")]).await;
    let user = create_user(
        app,
        &token,
        json!({ "username": format!("{slug}-agent"), "displayName": format!("{slug} Agent"), "agentId": 100 }),
    )
    .await;
    assert_succeeded(
        &assign_roles(app, &token, &user, &[&role]).await,
        "assignRoles",
    );
    let reply = mutate(
        app,
        &token,
        UPDATE_USER,
        json!({ "id": user, "groupIds": [group], "skills": [{ "skillId": skill, "level": 4 }] }),
    )
    .await;
    assert_succeeded(&reply, "updateUser");
    let deactivated = deactivated_user(app, &token, &format!("{slug}-leaver")).await;
    Tenant {
        account,
        user,
        deactivated,
        role,
        group,
        skill,
    }
}

/// The global ids of an account's audit events.
async fn audit_event_ids(app: &TestApp, token: &str) -> Vec<String> {
    let reply = app
        .graphql(
            Some(token),
            "{ auditLog(first: 50) { nodes { id } } }",
            json!({}),
        )
        .await
        .ok();
    ids_at(&reply, "auditLog/nodes")
}

// ---------------------------------------------------------------------------------------------
// 1. Tenant isolation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn another_accounts_ids_are_not_found_through_node_exactly_like_unknown_ids() {
    // Arrange
    let app = TestApp::spawn().await;
    let a = tenant(&app, "alpha").await;
    let b = tenant(&app, "beta").await;
    let b_event = audit_event_ids(&app, &b.account.admin_token).await[0].clone();
    let node = "query($id: ID!) { node(id: $id) { id } }";
    let targets = [
        ("User", b.user.clone()),
        ("Role", b.role.clone()),
        ("Group", b.group.clone()),
        ("Skill", b.skill.clone()),
        ("AuditEvent", b_event),
        ("Account", gid("Account", b.account.id)),
    ];

    for (type_name, id) in targets {
        // Act
        let theirs = app
            .graphql(Some(&a.account.admin_token), node, json!({ "id": id }))
            .await;
        let unknown = app
            .graphql(
                Some(&a.account.admin_token),
                node,
                json!({ "id": gid(type_name, Uuid::new_v4()) }),
            )
            .await;
        let owner = app
            .graphql(Some(&b.account.admin_token), node, json!({ "id": id }))
            .await;

        // Assert
        assert_not_found(&theirs, "node");
        assert_not_found(&unknown, "node");
        assert_eq!(
            theirs.errors(),
            unknown.errors(),
            "a {type_name} of another account must answer like an unknown id"
        );
        assert_eq!(owner.ok().data("node/id"), &json!(id), "{type_name}");
    }
}

#[tokio::test]
async fn another_accounts_user_is_not_found_through_user_exactly_like_an_unknown_id() {
    // Arrange
    let app = TestApp::spawn().await;
    let a = tenant(&app, "alpha").await;
    let b = tenant(&app, "beta").await;
    let query = "query($id: ID!) { user(id: $id) { id username } }";

    // Act
    let theirs = app
        .graphql(Some(&a.account.admin_token), query, json!({ "id": b.user }))
        .await;
    let unknown = app
        .graphql(
            Some(&a.account.admin_token),
            query,
            json!({ "id": gid("User", Uuid::new_v4()) }),
        )
        .await;
    let own = app
        .graphql(Some(&a.account.admin_token), query, json!({ "id": a.user }))
        .await;
    let owner = app
        .graphql(Some(&b.account.admin_token), query, json!({ "id": b.user }))
        .await;

    // Assert
    assert_not_found(&theirs, "user");
    assert_not_found(&unknown, "user");
    assert_eq!(theirs.errors(), unknown.errors());
    assert_eq!(own.ok().data("user/username"), &json!("alpha-agent"));
    assert_eq!(owner.ok().data("user/username"), &json!("beta-agent"));
}

#[tokio::test]
async fn an_accounts_lists_never_contain_another_accounts_records() {
    // Arrange
    let app = TestApp::spawn().await;
    let a = tenant(&app, "alpha").await;
    let b = tenant(&app, "beta").await;
    let lists = "{ users(first: 50) { totalCount nodes { id } } \
                 roles(first: 50) { totalCount nodes { id } } \
                 groups(first: 50) { totalCount nodes { id } } \
                 skills(first: 50) { totalCount nodes { id } } \
                 auditLog(first: 50) { totalCount nodes { id actorId targetId } } }";

    // Act
    let a_lists = app
        .graphql(Some(&a.account.admin_token), lists, json!({}))
        .await
        .ok();
    let b_lists = app
        .graphql(Some(&b.account.admin_token), lists, json!({}))
        .await
        .ok();

    // Assert: each account sees exactly its own records.
    for (tenant, lists, other) in [(&a, &a_lists, &b_lists), (&b, &b_lists, &a_lists)] {
        let users: HashSet<String> = ids_at(lists, "users/nodes").into_iter().collect();
        let expected_users: HashSet<String> = [
            gid("User", tenant.account.admin_id),
            tenant.user.clone(),
            tenant.deactivated.clone(),
        ]
        .into_iter()
        .collect();
        assert_eq!(users, expected_users);
        assert_eq!(lists.data("users/totalCount"), &json!(3));
        let roles = ids_at(lists, "roles/nodes");
        assert_eq!(roles.len(), 2, "Account Admin and the agents' role");
        assert!(roles.contains(&tenant.role));
        assert_eq!(lists.data("roles/totalCount"), &json!(2));
        assert_eq!(ids_at(lists, "groups/nodes"), vec![tenant.group.clone()]);
        assert_eq!(lists.data("groups/totalCount"), &json!(1));
        assert_eq!(ids_at(lists, "skills/nodes"), vec![tenant.skill.clone()]);
        assert_eq!(lists.data("skills/totalCount"), &json!(1));

        let own_events: HashSet<String> = ids_at(lists, "auditLog/nodes").into_iter().collect();
        let other_events: HashSet<String> = ids_at(other, "auditLog/nodes").into_iter().collect();
        assert!(!own_events.is_empty());
        assert!(own_events.is_disjoint(&other_events));
        let own_raw: HashSet<String> = [
            tenant.account.id.to_string(),
            tenant.account.admin_id.to_string(),
            decode_gid(&tenant.user),
            decode_gid(&tenant.deactivated),
            decode_gid(&tenant.role),
            decode_gid(&tenant.group),
            decode_gid(&tenant.skill),
        ]
        .into_iter()
        .collect();
        for event in lists.data("auditLog/nodes").as_array().expect("events") {
            let target = event["targetId"].as_str().expect("targetId").to_owned();
            assert!(own_raw.contains(&target), "foreign target in {event}");
            if let Some(actor) = event["actorId"].as_str() {
                assert_eq!(actor, tenant.account.admin_id.to_string(), "{event}");
            }
        }
    }

    // Filters naming another account's records find nothing either.
    let about_b_user = json!({ "filter": { "targetId": b.user } });
    let seen_by_a = app
        .graphql(
            Some(&a.account.admin_token),
            AUDIT_EVENTS,
            about_b_user.clone(),
        )
        .await
        .ok();
    let seen_by_b = app
        .graphql(Some(&b.account.admin_token), AUDIT_EVENTS, about_b_user)
        .await
        .ok();
    assert_eq!(seen_by_a.data("auditLog/totalCount"), &json!(0));
    assert_eq!(
        seen_by_b.data("auditLog/totalCount"),
        &json!(3),
        "created, roles, updated"
    );
    let (found, total) =
        filtered_usernames(&app, &a.account.admin_token, json!({ "text": "beta" })).await;
    assert_eq!((found, total), (Vec::<String>::new(), 0));
    let (found, total) =
        filtered_usernames(&app, &a.account.admin_token, json!({ "groupId": b.group })).await;
    assert_eq!((found, total), (Vec::<String>::new(), 0));
    let (found, _) =
        filtered_usernames(&app, &b.account.admin_token, json!({ "groupId": b.group })).await;
    assert_eq!(found, vec!["beta-agent"]);
}

/// What a mutation aimed at another account's records must answer.
enum Refusal {
    NotFound,
    UserError(&'static str, &'static [&'static str]),
}

#[tokio::test]
async fn mutations_on_another_accounts_records_fail_and_change_nothing() {
    // Arrange
    let app = TestApp::spawn().await;
    let a = tenant(&app, "alpha").await;
    let b = tenant(&app, "beta").await;
    let a_token = a.account.admin_token.clone();
    let b_before = snapshot(&app, &b.account.admin_token).await;
    let a_before = snapshot(&app, &a_token).await;
    let attempts: Vec<(&str, &str, Value, Refusal)> = vec![
        (
            "updateUser",
            UPDATE_USER,
            json!({ "id": b.user, "displayName": "Hijacked" }),
            Refusal::NotFound,
        ),
        (
            "deactivateUser",
            DEACTIVATE_USER,
            json!({ "id": b.user }),
            Refusal::NotFound,
        ),
        (
            "reactivateUser",
            REACTIVATE_USER,
            json!({ "id": b.deactivated }),
            Refusal::NotFound,
        ),
        (
            "assignRoles",
            ASSIGN_ROLES,
            json!({ "userId": a.user, "roleIds": [b.role] }),
            Refusal::UserError("UNKNOWN_ROLE", &["input", "roleIds"]),
        ),
        (
            "assignRoles",
            ASSIGN_ROLES,
            json!({ "userId": b.user, "roleIds": [a.role] }),
            Refusal::NotFound,
        ),
        (
            "assignRoles",
            ASSIGN_ROLES,
            json!({ "userId": b.user, "roleIds": [] }),
            Refusal::NotFound,
        ),
        (
            "updateRole",
            UPDATE_ROLE,
            json!({ "id": b.role, "name": "Hijacked", "grants": [] }),
            Refusal::NotFound,
        ),
        (
            "deleteRole",
            DELETE_ROLE,
            json!({ "id": b.role }),
            Refusal::NotFound,
        ),
        (
            "updateGroup",
            UPDATE_GROUP,
            json!({ "id": b.group, "name": "Hijacked" }),
            Refusal::NotFound,
        ),
        (
            "updateSkill",
            UPDATE_SKILL,
            json!({ "id": b.skill, "name": "Hijacked" }),
            Refusal::NotFound,
        ),
        (
            "updateUser",
            UPDATE_USER,
            json!({ "id": a.user, "groupIds": [b.group] }),
            Refusal::UserError("UNKNOWN_GROUP", &["input", "groupIds"]),
        ),
        (
            "updateUser",
            UPDATE_USER,
            json!({ "id": a.user, "skills": [{ "skillId": b.skill, "level": 5 }] }),
            Refusal::UserError("UNKNOWN_SKILL", &["input", "skills"]),
        ),
    ];

    // Act + Assert: each attempt is refused.
    for (mutation, document, input, refusal) in attempts {
        let reply = mutate(&app, &a_token, document, input.clone()).await;
        match refusal {
            Refusal::NotFound => assert_not_found(&reply, mutation),
            Refusal::UserError(code, field) => {
                assert!(
                    reply.errors().is_empty(),
                    "{mutation} {input}: {}",
                    reply.body
                );
                assert_eq!(
                    rejections(&reply, mutation),
                    expected(&[(field, code)]),
                    "{mutation} {input}"
                );
                let object = reply.data(mutation).as_object().expect("payload");
                let changed = object.iter().find(|(key, _)| *key != "userErrors");
                assert_eq!(
                    changed.map(|(_, value)| value),
                    Some(&Value::Null),
                    "{mutation}"
                );
            }
        }
    }

    // Assert: nothing changed in B (seen by B's admin), nor in A.
    assert_eq!(snapshot(&app, &b.account.admin_token).await, b_before);
    assert_eq!(snapshot(&app, &a_token).await, a_before);

    // The same mutations on A's own records succeed (the refusals were about the account).
    let controls: Vec<(&str, &str, Value)> = vec![
        (
            "updateUser",
            UPDATE_USER,
            json!({ "id": a.user, "displayName": "Renamed" }),
        ),
        ("deactivateUser", DEACTIVATE_USER, json!({ "id": a.user })),
        (
            "reactivateUser",
            REACTIVATE_USER,
            json!({ "id": a.deactivated }),
        ),
        (
            "assignRoles",
            ASSIGN_ROLES,
            json!({ "userId": a.user, "roleIds": [a.role] }),
        ),
        (
            "updateRole",
            UPDATE_ROLE,
            json!({ "id": a.role, "name": "Renamed", "grants": [] }),
        ),
        (
            "updateGroup",
            UPDATE_GROUP,
            json!({ "id": a.group, "name": "Renamed" }),
        ),
        (
            "updateSkill",
            UPDATE_SKILL,
            json!({ "id": a.skill, "name": "Renamed" }),
        ),
        (
            "updateUser",
            UPDATE_USER,
            json!({ "id": a.user, "groupIds": [a.group] }),
        ),
        (
            "updateUser",
            UPDATE_USER,
            json!({ "id": a.user, "skills": [{ "skillId": a.skill, "level": 5 }] }),
        ),
        ("deleteRole", DELETE_ROLE, json!({ "id": a.role })),
    ];
    for (mutation, document, input) in controls {
        let reply = mutate(&app, &a_token, document, input.clone()).await;
        assert_succeeded(&reply, mutation);
    }
    assert_eq!(snapshot(&app, &b.account.admin_token).await, b_before);
}

/// The end cursor of the first one-user page in `order`.
async fn first_page(app: &TestApp, token: &str, order: &str) -> String {
    let reply = app
        .graphql(
            Some(token),
            USERS_PAGE,
            json!({ "first": 1, "orderBy": order }),
        )
        .await
        .ok();
    reply
        .data("users/pageInfo/endCursor")
        .as_str()
        .expect("cursor")
        .to_owned()
}

/// The one-user page after `cursor` in `order`.
async fn page_after(app: &TestApp, token: &str, cursor: &str, order: &str) -> Reply {
    app.graphql(
        Some(token),
        USERS_PAGE,
        json!({ "first": 1, "after": cursor, "orderBy": order }),
    )
    .await
}

#[tokio::test]
async fn a_cursor_from_another_account_or_ordering_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;
    let a = tenant(&app, "alpha").await;
    let b = tenant(&app, "beta").await;
    let a_cursor = first_page(&app, &a.account.admin_token, "USERNAME").await;
    let b_cursor = first_page(&app, &b.account.admin_token, "USERNAME").await;
    let a_created_cursor = first_page(&app, &a.account.admin_token, "CREATED_AT").await;

    // Act
    let foreign = page_after(&app, &b.account.admin_token, &a_cursor, "USERNAME").await;
    let foreign_before = app
        .graphql(
            Some(&b.account.admin_token),
            USERS_PAGE,
            json!({ "last": 1, "before": a_cursor }),
        )
        .await;
    let other_order = page_after(&app, &a.account.admin_token, &a_cursor, "CREATED_AT").await;
    let other_order_back =
        page_after(&app, &a.account.admin_token, &a_created_cursor, "USERNAME").await;
    let own = page_after(&app, &a.account.admin_token, &a_cursor, "USERNAME").await;
    let own_b = page_after(&app, &b.account.admin_token, &b_cursor, "USERNAME").await;
    let own_created = page_after(
        &app,
        &a.account.admin_token,
        &a_created_cursor,
        "CREATED_AT",
    )
    .await;

    // Assert
    for refused in [&foreign, &foreign_before, &other_order, &other_order_back] {
        assert_eq!(refused.codes(), vec!["BAD_USER_INPUT"], "{}", refused.body);
        assert_eq!(refused.body["data"], Value::Null, "{}", refused.body);
    }
    // USERNAME order: alpha-admin, alpha-agent, alpha-leaver.
    assert_eq!(usernames(&own.ok()), vec!["alpha-agent"]);
    assert_eq!(usernames(&own_b.ok()), vec!["beta-agent"]);
    // CREATED_AT order: admin, agent, leaver.
    assert_eq!(usernames(&own_created.ok()), vec!["alpha-agent"]);
}

// ---------------------------------------------------------------------------------------------
// 2. Bad input writes nothing
// ---------------------------------------------------------------------------------------------

/// Asserts `createUser(input)` is refused with exactly `errors` and that no user and no audit
/// event was written.
async fn assert_create_refused(
    app: &TestApp,
    token: &str,
    input: Value,
    errors: &[(&[&str], &str)],
) {
    let before = counts(app, token).await;
    let reply = mutate(app, token, CREATE_USER, input.clone()).await;
    assert!(reply.errors().is_empty(), "{input}: {}", reply.body);
    assert_eq!(
        rejections(&reply, "createUser"),
        expected(errors),
        "{input}"
    );
    assert_eq!(reply.data("createUser/user"), &Value::Null, "{input}");
    assert_eq!(counts(app, token).await, before, "{input} wrote something");
}

/// Asserts `createUser(input)` succeeds and writes one user and one audit event.
async fn assert_created(app: &TestApp, token: &str, input: Value) -> Reply {
    let before = counts(app, token).await;
    let reply = mutate(app, token, CREATE_USER, input.clone()).await;
    assert_succeeded(&reply, "createUser");
    assert_eq!(
        counts(app, token).await,
        (before.0 + 1, before.1 + 1),
        "{input}"
    );
    reply
}

#[tokio::test]
async fn a_malformed_email_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;

    assert_create_refused(
        &app,
        token,
        json!({ "username": "ann", "email": "ann-at-example" }),
        &[(&["input", "email"], "INVALID_EMAIL")],
    )
    .await;
    assert_create_refused(
        &app,
        token,
        json!({ "username": "ann", "email": "ann@localhost" }),
        &[(&["input", "email"], "INVALID_EMAIL")],
    )
    .await;

    assert_created(
        &app,
        token,
        json!({ "username": "ann", "email": "ann@example.com" }),
    )
    .await;
}

#[tokio::test]
async fn a_malformed_language_tag_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;

    assert_create_refused(
        &app,
        token,
        json!({ "username": "ann", "preferredLanguage": "english" }),
        &[(&["input", "preferredLanguage"], "INVALID_LANGUAGE")],
    )
    .await;

    let reply = assert_created(
        &app,
        token,
        json!({ "username": "ann", "preferredLanguage": "de-ch" }),
    )
    .await;
    let id = reply
        .data("createUser/user/id")
        .as_str()
        .expect("id")
        .to_owned();
    let language = app
        .graphql(
            Some(token),
            "query($id: ID!) { user(id: $id) { preferredLanguage } }",
            json!({ "id": id }),
        )
        .await
        .ok();
    assert_eq!(language.data("user/preferredLanguage"), &json!("de-CH"));
}

#[tokio::test]
async fn a_phone_number_not_in_e164_form_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;

    for phone in ["0445551234", "+0445551234", "call me"] {
        assert_create_refused(
            &app,
            token,
            json!({ "username": "ann", "phone": phone }),
            &[(&["input", "phone"], "INVALID_PHONE")],
        )
        .await;
    }

    assert_created(
        &app,
        token,
        json!({ "username": "ann", "phone": "+41445551234" }),
    )
    .await;
}

#[tokio::test]
async fn every_bad_field_of_an_input_is_reported_at_once() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;

    assert_create_refused(
        &app,
        token,
        json!({
            "username": "ann",
            "email": "not-an-email",
            "preferredLanguage": "english",
            "phone": "12345",
            "country": "Switzerland"
        }),
        &[
            (&["input", "email"], "INVALID_EMAIL"),
            (&["input", "preferredLanguage"], "INVALID_LANGUAGE"),
            (&["input", "phone"], "INVALID_PHONE"),
            (&["input", "country"], "INVALID_COUNTRY"),
        ],
    )
    .await;
    assert_create_refused(
        &app,
        token,
        json!({ "email": "not-an-email", "preferredLanguage": "english" }),
        &[
            (&["input", "username"], "REQUIRED"),
            (&["input", "email"], "INVALID_EMAIL"),
            (&["input", "preferredLanguage"], "INVALID_LANGUAGE"),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_login_user_needs_a_username_but_a_contact_does_not() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;

    assert_create_refused(
        &app,
        token,
        json!({ "displayName": "No Name" }),
        &[(&["input", "username"], "REQUIRED")],
    )
    .await;
    assert_create_refused(
        &app,
        token,
        json!({ "kind": "LOGIN", "displayName": "No Name" }),
        &[(&["input", "username"], "REQUIRED")],
    )
    .await;

    let contact = assert_created(
        &app,
        token,
        json!({ "kind": "NON_LOGIN", "displayName": "No Name" }),
    )
    .await;
    assert_eq!(contact.data("createUser/user/username"), &Value::Null);
    assert_eq!(contact.data("createUser/user/kind"), &json!("NON_LOGIN"));

    // Clearing a login user's username is refused the same way.
    let ann = create_user(&app, token, json!({ "username": "ann" })).await;
    let before = counts(&app, token).await;
    let reply = mutate(
        &app,
        token,
        UPDATE_USER,
        json!({ "id": ann, "username": null }),
    )
    .await;
    assert!(reply.errors().is_empty(), "{}", reply.body);
    assert_eq!(
        rejections(&reply, "updateUser"),
        expected(&[(&["input", "username"], "REQUIRED")])
    );
    assert_eq!(counts(&app, token).await, before);
    assert_eq!(
        user_state(&app, token, &ann).await["username"],
        json!("ann")
    );
}

#[tokio::test]
async fn a_username_taken_in_another_letter_case_is_refused_on_create_and_update() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    create_user(&app, token, json!({ "username": "ann" })).await;
    let bea = create_user(
        &app,
        token,
        json!({ "username": "bea", "displayName": "Bea" }),
    )
    .await;
    let bea_before = user_state(&app, token, &bea).await;

    // Act + Assert: create.
    assert_create_refused(
        &app,
        token,
        json!({ "username": "Ann" }),
        &[(&["input", "username"], "USERNAME_EXISTS")],
    )
    .await;
    assert_create_refused(
        &app,
        token,
        json!({ "kind": "NON_LOGIN", "username": "ANN" }),
        &[(&["input", "username"], "USERNAME_EXISTS")],
    )
    .await;

    // Act + Assert: update.
    let before = counts(&app, token).await;
    let reply = mutate(
        &app,
        token,
        UPDATE_USER,
        json!({ "id": bea, "username": "aNN", "displayName": "Ann?" }),
    )
    .await;
    assert!(reply.errors().is_empty(), "{}", reply.body);
    assert_eq!(
        rejections(&reply, "updateUser"),
        expected(&[(&["input", "username"], "USERNAME_EXISTS")])
    );
    assert_eq!(reply.data("updateUser/user"), &Value::Null);
    assert_eq!(counts(&app, token).await, before);
    assert_eq!(user_state(&app, token, &bea).await, bea_before);

    // A free name is accepted, and a user may change the case of their own.
    assert_created(&app, token, json!({ "username": "Ann2" })).await;
    let reply = mutate(
        &app,
        token,
        UPDATE_USER,
        json!({ "id": bea, "username": "BEA" }),
    )
    .await;
    assert_succeeded(&reply, "updateUser");
    assert_eq!(reply.data("updateUser/user/username"), &json!("BEA"));
}

#[tokio::test]
async fn an_agent_id_in_use_is_refused_on_create_and_update() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    create_user(&app, token, json!({ "username": "ann", "agentId": 1001 })).await;
    let bea = create_user(&app, token, json!({ "username": "bea", "agentId": 1002 })).await;
    let bea_before = user_state(&app, token, &bea).await;

    // Act + Assert: create.
    assert_create_refused(
        &app,
        token,
        json!({ "username": "cid", "agentId": 1001 }),
        &[(&["input", "agentId"], "AGENT_ID_IN_USE")],
    )
    .await;

    // Act + Assert: update.
    let before = counts(&app, token).await;
    let reply = mutate(
        &app,
        token,
        UPDATE_USER,
        json!({ "id": bea, "agentId": 1001, "displayName": "Bea" }),
    )
    .await;
    assert!(reply.errors().is_empty(), "{}", reply.body);
    assert_eq!(
        rejections(&reply, "updateUser"),
        expected(&[(&["input", "agentId"], "AGENT_ID_IN_USE")])
    );
    assert_eq!(counts(&app, token).await, before);
    assert_eq!(user_state(&app, token, &bea).await, bea_before);

    // Free agent IDs are accepted.
    assert_created(&app, token, json!({ "username": "cid", "agentId": 1003 })).await;
    let reply = mutate(
        &app,
        token,
        UPDATE_USER,
        json!({ "id": bea, "agentId": 1004 }),
    )
    .await;
    assert_succeeded(&reply, "updateUser");
    assert_eq!(reply.data("updateUser/user/agentId"), &json!(1004));
}

#[tokio::test]
async fn update_user_refuses_bad_values_all_at_once_and_changes_nothing() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    let ann = create_user(
        &app,
        token,
        json!({ "username": "ann", "displayName": "Ann", "email": "ann@example.com" }),
    )
    .await;
    let ann_before = user_state(&app, token, &ann).await;
    let before = counts(&app, token).await;

    // Act
    let reply = mutate(
        &app,
        token,
        UPDATE_USER,
        json!({
            "id": ann,
            "displayName": "Ann Changed",
            "email": "ann(at)example",
            "preferredLanguage": "english",
            "phone": "555-1234"
        }),
    )
    .await;

    // Assert
    assert!(reply.errors().is_empty(), "{}", reply.body);
    assert_eq!(
        rejections(&reply, "updateUser"),
        expected(&[
            (&["input", "email"], "INVALID_EMAIL"),
            (&["input", "preferredLanguage"], "INVALID_LANGUAGE"),
            (&["input", "phone"], "INVALID_PHONE"),
        ])
    );
    assert_eq!(counts(&app, token).await, before);
    assert_eq!(user_state(&app, token, &ann).await, ann_before);

    let reply = mutate(
        &app,
        token,
        UPDATE_USER,
        json!({ "id": ann, "displayName": "Ann Changed", "preferredLanguage": "fr", "phone": "+41445551234" }),
    )
    .await;
    assert_succeeded(&reply, "updateUser");
    assert_eq!(counts(&app, token).await, (before.0, before.1 + 1));
}

/// Creates `n` ACTIVE login users named `{prefix}{i}` and returns their ids.
async fn fill_seats(app: &TestApp, token: &str, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 1..=n {
        let reply = assert_created(app, token, json!({ "username": format!("{prefix}{i}") })).await;
        assert_eq!(reply.data("createUser/user/holdsSeat"), &json!(true));
        ids.push(
            reply
                .data("createUser/user/id")
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    ids
}

#[tokio::test]
async fn the_licence_limit_refuses_an_eleventh_active_login_user_but_not_contacts_or_pending_users()
{
    // Arrange: the admin holds the first of 10 seats.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    let limit = app
        .graphql(Some(token), "{ account { licenceLimit } }", json!({}))
        .await
        .ok();
    assert_eq!(limit.data("account/licenceLimit"), &json!(10));

    // Act + Assert: nine more fit.
    fill_seats(&app, token, "seat", 9).await;

    // The next active login user does not.
    let before = counts(&app, token).await;
    let reply = mutate(&app, token, CREATE_USER, json!({ "username": "seat10" })).await;
    assert_eq!(
        user_error_codes(&reply, "createUser"),
        vec!["LICENCE_LIMIT"]
    );
    assert_eq!(reply.data("createUser/user"), &Value::Null);
    assert_eq!(counts(&app, token).await, before);

    // Contacts and pending users hold no seat, so they are still created.
    let contact = assert_created(
        &app,
        token,
        json!({ "kind": "NON_LOGIN", "username": "contact" }),
    )
    .await;
    assert_eq!(contact.data("createUser/user/holdsSeat"), &json!(false));
    let pending = assert_created(
        &app,
        token,
        json!({ "status": "PENDING", "username": "pending" }),
    )
    .await;
    assert_eq!(pending.data("createUser/user/status"), &json!("PENDING"));
    assert_eq!(pending.data("createUser/user/holdsSeat"), &json!(false));

    // And the account is still full.
    let reply = mutate(&app, token, CREATE_USER, json!({ "username": "seat10" })).await;
    assert_eq!(
        user_error_codes(&reply, "createUser"),
        vec!["LICENCE_LIMIT"]
    );
}

#[tokio::test]
async fn reactivating_a_user_when_every_seat_is_taken_is_refused() {
    // Arrange: fill 10 seats, free one by deactivating, take it again.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    let seats = fill_seats(&app, token, "seat", 9).await;
    let leaver = seats[0].clone();
    assert_succeeded(
        &mutate(&app, token, DEACTIVATE_USER, json!({ "id": leaver })).await,
        "deactivateUser",
    );
    let newcomer = assert_created(&app, token, json!({ "username": "newcomer" })).await;
    let newcomer = newcomer
        .data("createUser/user/id")
        .as_str()
        .expect("id")
        .to_owned();
    let before = counts(&app, token).await;

    // Act
    let reply = mutate(&app, token, REACTIVATE_USER, json!({ "id": leaver })).await;

    // Assert
    assert_eq!(
        user_error_codes(&reply, "reactivateUser"),
        vec!["LICENCE_LIMIT"]
    );
    assert_eq!(reply.data("reactivateUser/user"), &Value::Null);
    assert_eq!(
        user_state(&app, token, &leaver).await["status"],
        json!("DEACTIVATED")
    );
    assert_eq!(counts(&app, token).await, before);

    // Once a seat is free again, the same reactivation succeeds.
    assert_succeeded(
        &mutate(&app, token, DEACTIVATE_USER, json!({ "id": newcomer })).await,
        "deactivateUser",
    );
    let reply = mutate(&app, token, REACTIVATE_USER, json!({ "id": leaver })).await;
    assert_succeeded(&reply, "reactivateUser");
    assert_eq!(reply.data("reactivateUser/user/status"), &json!("ACTIVE"));
    assert_eq!(reply.data("reactivateUser/user/holdsSeat"), &json!(true));
}

// ---------------------------------------------------------------------------------------------
// 3. Last-admin protection
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_last_admin_cannot_be_deactivated() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    let admin = gid("User", acme.admin_id);
    let before = counts(&app, token).await;

    // Act
    let reply = mutate(&app, token, DEACTIVATE_USER, json!({ "id": admin })).await;

    // Assert
    assert_eq!(
        user_error_codes(&reply, "deactivateUser"),
        vec!["LAST_ADMIN"]
    );
    assert_eq!(reply.data("deactivateUser/user"), &Value::Null);
    let viewer = app
        .graphql(
            Some(token),
            "{ viewer { user { id status } } roles(first: 5) { totalCount } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(viewer.data("viewer/user/id"), &json!(admin));
    assert_eq!(viewer.data("viewer/user/status"), &json!("ACTIVE"));
    assert_eq!(counts(&app, token).await, before);
    assert_eq!(active_admins(&app, token).await, vec![admin.clone()]);
}

#[tokio::test]
async fn the_last_admin_cannot_lose_the_admin_role() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    let admin = gid("User", acme.admin_id);
    let admin_role = admin_role(&app, token).await;
    let other_role = create_role(&app, token, "Readers", &[("USERS", "READ")]).await;
    let roles_of_admin = "query($id: ID!) { user(id: $id) { roles { id } } }";
    let roles_before = app
        .graphql(Some(token), roles_of_admin, json!({ "id": admin }))
        .await
        .ok();
    assert_eq!(
        roles_before.data("user/roles"),
        &json!([{ "id": admin_role }])
    );
    let before = counts(&app, token).await;

    for roles in [json!([]), json!([other_role])] {
        // Act
        let reply = mutate(
            &app,
            token,
            ASSIGN_ROLES,
            json!({ "userId": admin, "roleIds": roles }),
        )
        .await;

        // Assert
        assert_eq!(
            user_error_codes(&reply, "assignRoles"),
            vec!["LAST_ADMIN"],
            "{roles}"
        );
        assert_eq!(reply.data("assignRoles/user"), &Value::Null);
        let roles_after = app
            .graphql(Some(token), roles_of_admin, json!({ "id": admin }))
            .await
            .ok();
        assert_eq!(roles_after.body, roles_before.body);
        assert_eq!(counts(&app, token).await, before);
    }
}

#[tokio::test]
async fn with_two_admins_one_can_be_demoted_or_deactivated_but_not_the_last() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let x = gid("User", acme.admin_id);
    let x_token = acme.admin_token.clone();
    let (y, y_token) = second_admin(&app, &acme, "yvonne").await;
    let admin_role = admin_role(&app, &x_token).await;
    assert_eq!(active_admins(&app, &x_token).await.len(), 2);

    // Act + Assert: Y demotes X.
    let reply = mutate(
        &app,
        &y_token,
        ASSIGN_ROLES,
        json!({ "userId": x, "roleIds": [] }),
    )
    .await;
    assert_succeeded(&reply, "assignRoles");
    assert_eq!(active_admins(&app, &y_token).await, vec![y.clone()]);
    // Now Y is the last one.
    let reply = mutate(
        &app,
        &y_token,
        ASSIGN_ROLES,
        json!({ "userId": y, "roleIds": [] }),
    )
    .await;
    assert_eq!(user_error_codes(&reply, "assignRoles"), vec!["LAST_ADMIN"]);
    let reply = mutate(&app, &y_token, DEACTIVATE_USER, json!({ "id": y })).await;
    assert_eq!(
        user_error_codes(&reply, "deactivateUser"),
        vec!["LAST_ADMIN"]
    );

    // Act + Assert: X is an admin again; then Y deactivates X.
    let reply = mutate(
        &app,
        &y_token,
        ASSIGN_ROLES,
        json!({ "userId": x, "roleIds": [admin_role] }),
    )
    .await;
    assert_succeeded(&reply, "assignRoles");
    let reply = mutate(&app, &y_token, DEACTIVATE_USER, json!({ "id": x })).await;
    assert_succeeded(&reply, "deactivateUser");
    assert_eq!(
        reply.data("deactivateUser/user/status"),
        &json!("DEACTIVATED")
    );
    assert_eq!(active_admins(&app, &y_token).await, vec![y]);
}

/// How one side of the race ended.
#[derive(Debug, PartialEq, Eq)]
enum RaceOutcome {
    Succeeded,
    LastAdmin,
    Forbidden,
}

fn race_outcome(reply: &Reply) -> RaceOutcome {
    if reply.codes() == vec!["FORBIDDEN"] {
        return RaceOutcome::Forbidden;
    }
    match user_error_codes(reply, "assignRoles").as_slice() {
        [] => RaceOutcome::Succeeded,
        [code] if code == "LAST_ADMIN" => RaceOutcome::LastAdmin,
        _ => panic!("unexpected outcome: {}", reply.body),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_demoting_each_other_at_once_leave_exactly_one_admin() {
    let app = TestApp::spawn().await;
    for round in 0..5 {
        // Arrange
        let account = app.create_account(&format!("race-{round}")).await;
        let x = gid("User", account.admin_id);
        let x_token = account.admin_token.clone();
        let (y, y_token) = second_admin(&app, &account, "yvonne").await;
        assert_eq!(active_admins(&app, &x_token).await.len(), 2);

        // Act
        let (x_demotes_y, y_demotes_x) = tokio::join!(
            assign_roles(&app, &x_token, &y, &[]),
            assign_roles(&app, &y_token, &x, &[]),
        );

        // Assert
        let outcomes = [race_outcome(&x_demotes_y), race_outcome(&y_demotes_x)];
        let winners = outcomes
            .iter()
            .filter(|o| **o == RaceOutcome::Succeeded)
            .count();
        assert_eq!(winners, 1, "round {round}: {outcomes:?}");
        let (winner, winner_token, loser_token) = if outcomes[0] == RaceOutcome::Succeeded {
            (&x, &x_token, &y_token)
        } else {
            (&y, &y_token, &x_token)
        };
        assert_eq!(
            active_admins(&app, winner_token).await,
            vec![winner.clone()],
            "round {round}"
        );
        let loser_view = app
            .graphql(
                Some(loser_token),
                "{ roles(first: 5) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(loser_view.codes(), vec!["FORBIDDEN"], "round {round}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Audit
// ---------------------------------------------------------------------------------------------

/// The audit events of `actions` about `target` (a global id), as `token` sees them.
async fn events_about(app: &TestApp, token: &str, actions: &[&str], target: &str) -> Reply {
    app.graphql(
        Some(token),
        AUDIT_EVENTS,
        json!({ "filter": { "actions": actions, "targetId": target } }),
    )
    .await
}

#[tokio::test]
async fn creating_a_user_records_who_created_whom_and_shows_the_email_only_to_pii_readers() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    let (_, auditor) =
        user_with_grants(&app, &acme, "auditor", &[("AUDIT_LOG", "READ")], None).await;
    let (_, pii_auditor) = user_with_grants(
        &app,
        &acme,
        "pii-auditor",
        &[("AUDIT_LOG", "READ"), ("USER_PII", "READ")],
        None,
    )
    .await;

    // Act
    let bob = create_user(
        &app,
        token,
        json!({ "username": "bob", "email": "bob@acme.example.com" }),
    )
    .await;

    // Assert: the event, as the admin sees it.
    let reply = events_about(&app, token, &["user.created"], &bob)
        .await
        .ok();
    assert_eq!(reply.data("auditLog/totalCount"), &json!(1));
    let event = reply.data("auditLog/nodes/0");
    assert_eq!(event["action"], json!("user.created"));
    assert_eq!(event["actorKind"], json!("USER"));
    assert_eq!(event["actorId"], json!(acme.admin_id.to_string()));
    assert_eq!(event["actorLabel"], json!("acme-admin"));
    assert_eq!(event["targetType"], json!("User"));
    assert_eq!(event["targetId"], json!(decode_gid(&bob)));
    assert_eq!(
        event["personalDetails"]["email"],
        json!("bob@acme.example.com")
    );

    // A reader of personal data sees the email too.
    let reply = events_about(&app, &pii_auditor, &["user.created"], &bob)
        .await
        .ok();
    assert_eq!(
        reply.data("auditLog/nodes/0/personalDetails/email"),
        &json!("bob@acme.example.com")
    );

    // An auditor without USER_PII gets the event without its personal details.
    let reply = events_about(&app, &auditor, &["user.created"], &bob).await;
    assert_eq!(reply.codes(), vec!["FORBIDDEN"], "{}", reply.body);
    assert_eq!(
        reply.errors()[0]["path"],
        json!(["auditLog", "nodes", 0, "personalDetails"])
    );
    assert_eq!(reply.data("auditLog/nodes/0/personalDetails"), &Value::Null);
    assert_eq!(
        reply.data("auditLog/nodes/0/action"),
        &json!("user.created")
    );
    assert_eq!(
        reply.data("auditLog/nodes/0/targetId"),
        &json!(decode_gid(&bob))
    );
    assert_eq!(reply.data("auditLog/totalCount"), &json!(1));
}

#[tokio::test]
async fn creating_a_role_assigning_roles_and_deactivating_are_audited() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    let bob = create_user(&app, token, json!({ "username": "bob" })).await;
    let actions = ["role.created", "user.roles_assigned", "user.deactivated"];
    let none = events_about(&app, token, &actions, &bob).await.ok();
    assert_eq!(none.data("auditLog/totalCount"), &json!(0));

    // Act
    let role = create_role(&app, token, "Readers", &[("USERS", "READ")]).await;
    assert_succeeded(
        &assign_roles(&app, token, &bob, &[&role]).await,
        "assignRoles",
    );
    assert_succeeded(
        &mutate(&app, token, DEACTIVATE_USER, json!({ "id": bob })).await,
        "deactivateUser",
    );

    // Assert
    for (action, target, target_type) in [
        ("role.created", &role, "Role"),
        ("user.roles_assigned", &bob, "User"),
        ("user.deactivated", &bob, "User"),
    ] {
        let reply = events_about(&app, token, &[action], target).await.ok();
        assert_eq!(reply.data("auditLog/totalCount"), &json!(1), "{action}");
        let event = reply.data("auditLog/nodes/0");
        assert_eq!(event["action"], json!(action));
        assert_eq!(event["actorKind"], json!("USER"));
        assert_eq!(
            event["actorId"],
            json!(acme.admin_id.to_string()),
            "{action}"
        );
        assert_eq!(event["actorLabel"], json!("acme-admin"), "{action}");
        assert_eq!(event["targetType"], json!(target_type), "{action}");
        assert_eq!(event["targetId"], json!(decode_gid(target)), "{action}");
    }
}

/// The audit log's count and newest event.
async fn newest_events(app: &TestApp, token: &str) -> Value {
    app.graphql(
        Some(token),
        "{ auditLog(first: 1) { totalCount nodes { id action } } }",
        json!({}),
    )
    .await
    .ok()
    .body["data"]
        .clone()
}

#[tokio::test]
async fn a_rejected_mutation_writes_no_audit_event() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    let admin = gid("User", acme.admin_id);
    let ann = create_user(&app, token, json!({ "username": "ann", "agentId": 7 })).await;
    let bea = create_user(&app, token, json!({ "username": "bea" })).await;
    let before = newest_events(&app, token).await;

    // Act
    let refused = [
        ("createUser", mutate(&app, token, CREATE_USER, json!({ "username": "x", "email": "nope" })).await),
        ("createUser", mutate(&app, token, CREATE_USER, json!({ "username": "ANN" })).await),
        ("updateUser", mutate(&app, token, UPDATE_USER, json!({ "id": bea, "agentId": 7 })).await),
        ("updateUser", mutate(&app, token, UPDATE_USER, json!({ "id": bea, "skills": [{ "skillId": gid("Skill", Uuid::new_v4()), "level": 3 }] })).await),
        ("assignRoles", mutate(&app, token, ASSIGN_ROLES, json!({ "userId": admin, "roleIds": [] })).await),
        ("deactivateUser", mutate(&app, token, DEACTIVATE_USER, json!({ "id": admin })).await),
        (
            "createRole",
            mutate(
                &app,
                token,
                "mutation($input: CreateRoleInput!) { createRole(input: $input) { role { id } userErrors { field code message } } }",
                json!({ "name": "  ", "grants": [] }),
            )
            .await,
        ),
    ];

    // Assert
    for (mutation, reply) in &refused {
        assert_eq!(user_error_codes(reply, mutation).len(), 1, "{}", reply.body);
    }
    assert_eq!(newest_events(&app, token).await, before);

    // A successful mutation writes exactly one.
    assert_succeeded(
        &mutate(
            &app,
            token,
            UPDATE_USER,
            json!({ "id": ann, "displayName": "Ann" }),
        )
        .await,
        "updateUser",
    );
    let after = newest_events(&app, token).await;
    assert_eq!(
        after["auditLog"]["totalCount"].as_i64(),
        before["auditLog"]["totalCount"].as_i64().map(|n| n + 1)
    );
    assert_eq!(
        after["auditLog"]["nodes"][0]["action"],
        json!("user.updated")
    );
}

// ---------------------------------------------------------------------------------------------
// 5. The users list
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn users_can_be_filtered_by_status_kind_and_user_type() {
    // Arrange: admin (ADMIN, ACTIVE, LOGIN) and four more.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    create_user(
        &app,
        token,
        json!({ "username": "alice", "userType": "AGENT" }),
    )
    .await;
    create_user(
        &app,
        token,
        json!({ "username": "pete", "status": "PENDING", "userType": "SUPERVISOR" }),
    )
    .await;
    create_user(
        &app,
        token,
        json!({ "username": "carl", "kind": "NON_LOGIN" }),
    )
    .await;
    let dave = create_user(
        &app,
        token,
        json!({ "username": "dave", "userType": "ANALYST" }),
    )
    .await;
    assert_succeeded(
        &mutate(&app, token, DEACTIVATE_USER, json!({ "id": dave })).await,
        "deactivateUser",
    );
    let cases = [
        (
            json!({}),
            vec!["acme-admin", "alice", "carl", "dave", "pete"],
        ),
        (
            json!({ "statuses": ["ACTIVE"] }),
            vec!["acme-admin", "alice", "carl"],
        ),
        (json!({ "statuses": ["PENDING"] }), vec!["pete"]),
        (json!({ "statuses": ["DEACTIVATED"] }), vec!["dave"]),
        (
            json!({ "statuses": ["PENDING", "DEACTIVATED"] }),
            vec!["dave", "pete"],
        ),
        (json!({ "kinds": ["NON_LOGIN"] }), vec!["carl"]),
        (
            json!({ "kinds": ["LOGIN"] }),
            vec!["acme-admin", "alice", "dave", "pete"],
        ),
        (json!({ "userTypes": ["AGENT"] }), vec!["alice"]),
        (
            json!({ "userTypes": ["SUPERVISOR", "ANALYST"] }),
            vec!["dave", "pete"],
        ),
        (json!({ "userTypes": ["ADMIN"] }), vec!["acme-admin"]),
        (json!({ "userTypes": ["VOICE_SUPERVISOR"] }), vec![]),
        (
            json!({ "statuses": ["ACTIVE"], "kinds": ["LOGIN"] }),
            vec!["acme-admin", "alice"],
        ),
    ];

    for (filter, names) in cases {
        // Act
        let (found, total) = filtered_usernames(&app, token, filter.clone()).await;

        // Assert
        assert_eq!(found, names, "{filter}");
        assert_eq!(total, names.len() as i64, "{filter}");
    }
}

#[tokio::test]
async fn users_can_be_filtered_by_group_after_update_user_sets_groups() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    let tier1 = create_named(&app, token, "createGroup", "Tier 1").await;
    let tier2 = create_named(&app, token, "createGroup", "Tier 2").await;
    let alice = create_user(&app, token, json!({ "username": "alice" })).await;
    let carl = create_user(
        &app,
        token,
        json!({ "username": "carl", "kind": "NON_LOGIN" }),
    )
    .await;
    let pete = create_user(&app, token, json!({ "username": "pete" })).await;
    assert_eq!(
        filtered_usernames(&app, token, json!({ "groupId": tier1 })).await,
        (vec![], 0)
    );

    // Act
    for (user, groups) in [
        (&alice, json!([tier1])),
        (&carl, json!([tier1, tier2])),
        (&pete, json!([tier2])),
    ] {
        assert_succeeded(
            &mutate(
                &app,
                token,
                UPDATE_USER,
                json!({ "id": user, "groupIds": groups }),
            )
            .await,
            "updateUser",
        );
    }

    // Assert
    let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        filtered_usernames(&app, token, json!({ "groupId": tier1 })).await,
        (names(&["alice", "carl"]), 2)
    );
    assert_eq!(
        filtered_usernames(&app, token, json!({ "groupId": tier2 })).await,
        (names(&["carl", "pete"]), 2)
    );
    assert_eq!(
        filtered_usernames(&app, token, json!({ "groupId": tier2, "kinds": ["LOGIN"] })).await,
        (names(&["pete"]), 1)
    );

    // Replacing a user's groups moves them.
    assert_succeeded(
        &mutate(
            &app,
            token,
            UPDATE_USER,
            json!({ "id": carl, "groupIds": [] }),
        )
        .await,
        "updateUser",
    );
    assert_eq!(
        filtered_usernames(&app, token, json!({ "groupId": tier1 })).await,
        (names(&["alice"]), 1)
    );
    assert_eq!(
        filtered_usernames(&app, token, json!({ "groupId": tier2 })).await,
        (names(&["pete"]), 1)
    );
}

#[tokio::test]
async fn text_search_matches_names_for_everyone_and_emails_only_for_pii_readers() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    create_user(
        &app,
        token,
        json!({ "username": "zed", "displayName": "Zed Zebra", "email": "hidden.mailbox@private.example.com" }),
    )
    .await;
    create_user(
        &app,
        token,
        json!({ "username": "amy", "firstName": "Amy", "lastName": "Quokka", "email": "amy@acme.example.com" }),
    )
    .await;
    let (_, reader) = user_with_grants(&app, &acme, "reader", &[("USERS", "READ")], None).await;
    let (_, pii_reader) = user_with_grants(
        &app,
        &acme,
        "pii-reader",
        &[("USERS", "READ"), ("USER_PII", "READ")],
        None,
    )
    .await;
    let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();

    for caller in [token.as_str(), reader.as_str(), pii_reader.as_str()] {
        // Act + Assert: usernames and names match, in any letter case.
        assert_eq!(
            filtered_usernames(&app, caller, json!({ "text": "zebra" })).await,
            (names(&["zed"]), 1)
        );
        assert_eq!(
            filtered_usernames(&app, caller, json!({ "text": "ZED" })).await,
            (names(&["zed"]), 1)
        );
        assert_eq!(
            filtered_usernames(&app, caller, json!({ "text": "quokka" })).await,
            (names(&["amy"]), 1)
        );
        assert_eq!(
            filtered_usernames(&app, caller, json!({ "text": "AMY" })).await,
            (names(&["amy"]), 1)
        );
    }

    // Emails match only for callers who may read personal data.
    assert_eq!(
        filtered_usernames(&app, token, json!({ "text": "mailbox" })).await,
        (names(&["zed"]), 1)
    );
    assert_eq!(
        filtered_usernames(&app, &pii_reader, json!({ "text": "MAILBOX" })).await,
        (names(&["zed"]), 1)
    );
    assert_eq!(
        filtered_usernames(&app, &reader, json!({ "text": "mailbox" })).await,
        (vec![], 0)
    );
    assert_eq!(
        filtered_usernames(&app, &reader, json!({ "text": "private.example" })).await,
        (vec![], 0)
    );
}

/// Every username (`""` for none) in `order_by`.
async fn usernames_in_order(app: &TestApp, token: &str, order_by: &str) -> Vec<String> {
    let reply = app
        .graphql(
            Some(token),
            USERS_PAGE,
            json!({ "orderBy": order_by, "first": 20 }),
        )
        .await
        .ok();
    usernames(&reply)
}

#[tokio::test]
async fn users_are_ordered_by_username_or_by_creation_time() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    create_user(
        &app,
        token,
        json!({ "kind": "NON_LOGIN", "displayName": "Nameless" }),
    )
    .await;
    for name in ["mike", "Bob", "zoe", "anna"] {
        create_user(&app, token, json!({ "username": name })).await;
    }
    // Act + Assert
    assert_eq!(
        usernames_in_order(&app, token, "USERNAME").await,
        vec!["acme-admin", "anna", "Bob", "mike", "zoe", ""]
    );
    assert_eq!(
        usernames_in_order(&app, token, "CREATED_AT").await,
        vec!["acme-admin", "", "mike", "Bob", "zoe", "anna"]
    );
}

/// Every user id, in order, by walking pages of `size` forwards.
async fn walk_forward(
    app: &TestApp,
    token: &str,
    order_by: &str,
    size: i32,
    total: i64,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    for page in 0.. {
        let reply = app
            .graphql(
                Some(token),
                USERS_PAGE,
                json!({ "orderBy": order_by, "first": size, "after": after }),
            )
            .await
            .ok();
        assert_eq!(reply.data("users/totalCount"), &json!(total));
        assert_eq!(
            reply.data("users/pageInfo/hasPreviousPage"),
            &json!(page > 0)
        );
        let edges = reply.data("users/edges").as_array().expect("edges").clone();
        ids.extend(
            edges
                .iter()
                .map(|e| e["node"]["id"].as_str().expect("id").to_owned()),
        );
        if reply.data("users/pageInfo/hasNextPage") == &json!(false) {
            break;
        }
        assert_eq!(edges.len(), size as usize);
        after = reply
            .data("users/pageInfo/endCursor")
            .as_str()
            .map(str::to_owned);
        assert!(page < 20, "paging does not end");
    }
    ids
}

#[tokio::test]
async fn paging_forward_visits_every_user_exactly_once_and_last_reads_the_end() {
    // Arrange: the admin and 14 contacts (contacts hold no seat).
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    for i in [7, 3, 12, 1, 9, 14, 5, 11, 2, 13, 8, 4, 10, 6] {
        create_user(
            &app,
            token,
            json!({ "kind": "NON_LOGIN", "username": format!("contact-{i:02}") }),
        )
        .await;
    }

    for order_by in ["USERNAME", "CREATED_AT"] {
        let all = app
            .graphql(
                Some(token),
                USERS_BIG_PAGE,
                json!({ "orderBy": order_by, "first": 100 }),
            )
            .await
            .ok();
        let all_ids: Vec<String> = all
            .data("users/edges")
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
            .collect();
        assert_eq!(all_ids.len(), 15);
        assert_eq!(all.data("users/totalCount"), &json!(15));

        // Act + Assert: forwards in pages of 4.
        let walked = walk_forward(&app, token, order_by, 4, 15).await;
        assert_eq!(walked, all_ids, "{order_by}");
        assert_eq!(walked.iter().collect::<HashSet<_>>().len(), 15);

        // `last` reads the end of the list.
        let tail = app
            .graphql(
                Some(token),
                USERS_PAGE,
                json!({ "orderBy": order_by, "last": 3 }),
            )
            .await
            .ok();
        let tail_ids: Vec<String> = tail
            .data("users/edges")
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
            .collect();
        assert_eq!(tail_ids, all_ids[12..].to_vec(), "{order_by}");
        assert_eq!(tail.data("users/pageInfo/hasPreviousPage"), &json!(true));
        assert_eq!(tail.data("users/pageInfo/hasNextPage"), &json!(false));
        assert_eq!(tail.data("users/totalCount"), &json!(15));

        // `last` with `before` reads the items just before the cursor.
        let before = all.data("users/edges/5/cursor").as_str().expect("cursor");
        let window = app
            .graphql(
                Some(token),
                USERS_PAGE,
                json!({ "orderBy": order_by, "last": 3, "before": before }),
            )
            .await
            .ok();
        let window_ids: Vec<String> = window
            .data("users/edges")
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
            .collect();
        assert_eq!(window_ids, all_ids[2..5].to_vec(), "{order_by}");
    }
    let names = app
        .graphql(Some(token), USERS_PAGE, json!({ "first": 3 }))
        .await
        .ok();
    assert_eq!(
        usernames(&names),
        vec!["acme-admin", "contact-01", "contact-02"]
    );
}

#[tokio::test]
async fn a_page_size_outside_one_to_one_hundred_is_refused() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;

    for args in [
        json!({ "first": 101 }),
        json!({ "last": 101 }),
        json!({ "first": 0 }),
    ] {
        let reply = app.graphql(Some(token), USERS_BIG_PAGE, args.clone()).await;
        assert_eq!(
            reply.codes(),
            vec!["BAD_USER_INPUT"],
            "{args}: {}",
            reply.body
        );
        assert_eq!(reply.body["data"], Value::Null, "{args}");
    }
    for args in [
        json!({ "first": 100 }),
        json!({ "last": 100 }),
        json!({ "first": 1 }),
    ] {
        let reply = app
            .graphql(Some(token), USERS_BIG_PAGE, args.clone())
            .await
            .ok();
        assert_eq!(reply.data("users/totalCount"), &json!(1), "{args}");
        assert_eq!(usernames(&reply), vec!["acme-admin"], "{args}");
    }
}

/// A user's skills as `(name, level)` and groups as names, sorted.
fn skills_and_groups(user: &Value) -> (Vec<(String, i64)>, Vec<String>) {
    let mut skills: Vec<(String, i64)> = user["skills"]
        .as_array()
        .expect("skills")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_owned(),
                s["level"].as_i64().expect("level"),
            )
        })
        .collect();
    skills.sort();
    let mut groups: Vec<String> = user["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["name"].as_str().expect("name").to_owned())
        .collect();
    groups.sort();
    (skills, groups)
}

#[tokio::test]
async fn update_user_sets_skill_levels_from_one_to_ten_and_groups() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    let french = create_named(&app, token, "createSkill", "French").await;
    let billing = create_named(&app, token, "createSkill", "Billing").await;
    let tier1 = create_named(&app, token, "createGroup", "Tier 1").await;
    let tier2 = create_named(&app, token, "createGroup", "Tier 2").await;
    let sam = create_user(&app, token, json!({ "username": "sam" })).await;
    let owned = |skills: &[(&str, i64)], groups: &[&str]| {
        (
            skills
                .iter()
                .map(|(n, l)| ((*n).to_owned(), *l))
                .collect::<Vec<_>>(),
            groups.iter().map(|g| (*g).to_owned()).collect::<Vec<_>>(),
        )
    };

    // Act
    let reply = mutate(
        &app,
        token,
        UPDATE_USER,
        json!({
            "id": sam,
            "skills": [{ "skillId": french, "level": 1 }, { "skillId": billing, "level": 10 }],
            "groupIds": [tier1, tier2]
        }),
    )
    .await;

    // Assert
    assert_succeeded(&reply, "updateUser");
    let set = owned(&[("Billing", 10), ("French", 1)], &["Tier 1", "Tier 2"]);
    assert_eq!(skills_and_groups(reply.data("updateUser/user")), set);
    assert_eq!(skills_and_groups(&user_state(&app, token, &sam).await), set);

    // Levels outside 1..=10 are refused and change nothing.
    for level in [11, 0, -1] {
        let before = counts(&app, token).await;
        let reply = mutate(
            &app,
            token,
            UPDATE_USER,
            json!({ "id": sam, "skills": [{ "skillId": french, "level": level }], "groupIds": [tier1] }),
        )
        .await;
        assert!(reply.errors().is_empty(), "{}", reply.body);
        assert_eq!(
            rejections(&reply, "updateUser"),
            expected(&[(&["input", "skills"], "INVALID_SKILL_LEVEL")]),
            "level {level}"
        );
        assert_eq!(skills_and_groups(&user_state(&app, token, &sam).await), set);
        assert_eq!(counts(&app, token).await, before);
    }

    // Replacing sets exactly the new lists; an update that omits them keeps them.
    let reply = mutate(
        &app,
        token,
        UPDATE_USER,
        json!({ "id": sam, "skills": [{ "skillId": french, "level": 7 }], "groupIds": [tier2] }),
    )
    .await;
    assert_succeeded(&reply, "updateUser");
    let replaced = owned(&[("French", 7)], &["Tier 2"]);
    assert_eq!(skills_and_groups(reply.data("updateUser/user")), replaced);
    assert_succeeded(
        &mutate(
            &app,
            token,
            UPDATE_USER,
            json!({ "id": sam, "displayName": "Sam" }),
        )
        .await,
        "updateUser",
    );
    assert_eq!(
        skills_and_groups(&user_state(&app, token, &sam).await),
        replaced
    );
}

#[tokio::test]
async fn null_clears_a_field_and_an_omitted_field_stays() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = &acme.admin_token;
    let nina = create_user(
        &app,
        token,
        json!({ "username": "nina", "displayName": "Nina N", "firstName": "Nina", "lastName": "Novak", "country": "ch", "agentId": 42 }),
    )
    .await;

    // Act
    let reply = mutate(
        &app,
        token,
        UPDATE_USER,
        json!({ "id": nina, "displayName": null, "agentId": null }),
    )
    .await;

    // Assert
    assert_succeeded(&reply, "updateUser");
    let user = user_state(&app, token, &nina).await;
    assert_eq!(user["displayName"], Value::Null);
    assert_eq!(user["agentId"], Value::Null);
    assert_eq!(user["username"], json!("nina"));
    assert_eq!(user["firstName"], json!("Nina"));
    assert_eq!(user["lastName"], json!("Novak"));
    assert_eq!(user["country"], json!("CH"));
}

#[tokio::test]
async fn a_new_user_cannot_start_deactivated() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    // Act
    let reply = app
        .graphql(
            Some(&acme.admin_token),
            "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code field } } }",
            json!({ "input": { "username": "ghost", "status": "DEACTIVATED" } }),
        )
        .await
        .ok();

    // Assert
    assert_eq!(reply.user_error_codes("createUser"), vec!["INVALID_STATUS"]);
    assert_eq!(
        reply.data("createUser/userErrors/0/field"),
        &json!(["input", "status"])
    );
    assert!(reply.data("createUser/user").is_null());
}
