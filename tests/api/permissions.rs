//! Who may do what, over HTTP: the permission matrix (every area × level against every read and
//! write probe the API has), scope narrowing, privilege escalation through roles, and field-level
//! denial that keeps partial data.

use std::collections::BTreeMap;

use liaison::service::accounts::NewAccount;
use liaison::service::audit::Actor;
use liaison::service::users::NewUserInput;
use serde_json::{Value, json};

use crate::helpers::{
    Reply, TestAccount, TestApp, assign_roles, create_role, create_user, user_with_grants,
};

const AREAS: [&str; 10] = [
    "USERS",
    "USER_PII",
    "ROLES",
    "INTEGRATIONS",
    "INTEGRATION_CONTACTS",
    "ACCOUNT_CONTACTS",
    "CONNECTION_REQUESTS",
    "USER_SYNC",
    "BULK_USERS",
    "AUDIT_LOG",
];
const LEVELS: [&str; 3] = ["NONE", "READ", "FULL"];

const CREATE_USER: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { user { username } userErrors { code field } } }";
const CREATE_ROLE: &str = "mutation($input: CreateRoleInput!) { createRole(input: $input) { role { id name } userErrors { code field } } }";
const UPDATE_ROLE: &str = "mutation($input: UpdateRoleInput!) { updateRole(input: $input) { role { id name } userErrors { code field } } }";
const DELETE_ROLE: &str = "mutation($input: DeleteRoleInput!) { deleteRole(input: $input) { deletedRoleId userErrors { code field } } }";
const FIND_USERS: &str = "query($text: String) { users(first: 100, filter: { text: $text }) { nodes { username email } } }";
const ALL_ROLES: &str = "{ roles(first: 60) { totalCount pageInfo { hasNextPage } nodes { id name isAccountAdmin grants { area level } } } }";
const VIEWER_PERMISSIONS: &str = "{ viewer { permissions { area level } scopes } }";

fn rank(level: &str) -> u8 {
    match level {
        "READ" => 1,
        "FULL" => 2,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Arrangement helpers
// ---------------------------------------------------------------------------------------------

/// An account like `TestApp::create_account`'s, with room for more login users than its ten seats.
async fn create_account_with_seats(app: &TestApp, slug: &str, licence_limit: i32) -> TestAccount {
    let (account, admin) = app
        .services
        .create_account(
            NewAccount {
                slug: slug.into(),
                name: format!("{slug} Inc."),
                licence_limit,
                admin: NewUserInput {
                    username: Some(format!("{slug}-admin")),
                    display_name: Some(format!("{slug} Admin")),
                    email: Some(format!("admin@{slug}.example.com")),
                    preferred_language: Some("en".into()),
                    ..NewUserInput::default()
                },
            },
            &Actor::system("test"),
        )
        .await
        .expect("account created");
    let admin_token = app.token(account.id, admin.id, None);
    TestAccount {
        id: account.id,
        slug: account.slug,
        admin_id: admin.id,
        admin_token,
    }
}

/// The user with this username as the admin sees it (`username` and `email`), if any.
async fn find_user(app: &TestApp, admin: &str, username: &str) -> Option<Value> {
    let reply = app
        .graphql(Some(admin), FIND_USERS, json!({ "text": username }))
        .await
        .ok();
    reply
        .data("users/nodes")
        .as_array()
        .expect("user nodes")
        .iter()
        .find(|node| {
            node["username"]
                .as_str()
                .is_some_and(|name| name.eq_ignore_ascii_case(username))
        })
        .cloned()
}

/// Every role of the account as the admin sees it.
async fn all_roles(app: &TestApp, admin: &str) -> Vec<Value> {
    let reply = app.graphql(Some(admin), ALL_ROLES, json!({})).await.ok();
    assert_eq!(
        reply.data("roles/pageInfo/hasNextPage"),
        false,
        "more than 60 roles"
    );
    reply
        .data("roles/nodes")
        .as_array()
        .expect("role nodes")
        .clone()
}

async fn role_named(app: &TestApp, admin: &str, name: &str) -> Option<Value> {
    all_roles(app, admin)
        .await
        .into_iter()
        .find(|role| role["name"] == name)
}

async fn account_admin_role_id(app: &TestApp, admin: &str) -> String {
    all_roles(app, admin)
        .await
        .into_iter()
        .find(|role| role["isAccountAdmin"] == true)
        .and_then(|role| role["id"].as_str().map(str::to_owned))
        .expect("the Account Admin role")
}

/// The names of a user's roles, as the admin sees them.
async fn role_names_of(app: &TestApp, admin: &str, user: &str) -> Vec<String> {
    let reply = app
        .graphql(
            Some(admin),
            "query($id: ID!) { user(id: $id) { roles { name } } }",
            json!({ "id": user }),
        )
        .await
        .ok();
    let mut names: Vec<String> = reply
        .data("user/roles")
        .as_array()
        .expect("roles")
        .iter()
        .map(|role| role["name"].as_str().expect("role name").to_owned())
        .collect();
    names.sort();
    names
}

/// `viewer.permissions` as a map from area to level; panics if an area is listed twice.
fn permission_map(reply: &Reply) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for grant in reply
        .data("viewer/permissions")
        .as_array()
        .expect("permissions")
    {
        let area = grant["area"].as_str().expect("area").to_owned();
        let level = grant["level"].as_str().expect("level").to_owned();
        assert!(
            map.insert(area.clone(), level).is_none(),
            "{area} listed twice: {}",
            reply.body
        );
    }
    map
}

fn expected_permissions(levels: &[(&str, &str)]) -> BTreeMap<String, String> {
    AREAS
        .iter()
        .map(|area| {
            let level = levels
                .iter()
                .find(|(a, _)| a == area)
                .map_or("NONE", |(_, level)| *level);
            ((*area).to_owned(), level.to_owned())
        })
        .collect()
}

fn sorted_strings(value: &Value) -> Vec<String> {
    let mut strings: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("expected a list of strings, got {value}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect();
    strings.sort();
    strings
}

/// The one INSUFFICIENT_SCOPES error's `(requiredScopes, grantedScopes)`, each sorted.
#[track_caller]
fn insufficient_scopes(reply: &Reply) -> (Vec<String>, Vec<String>) {
    assert_eq!(reply.codes(), vec!["INSUFFICIENT_SCOPES"], "{}", reply.body);
    let extensions = &reply.errors()[0]["extensions"];
    (
        sorted_strings(&extensions["requiredScopes"]),
        sorted_strings(&extensions["grantedScopes"]),
    )
}

// ---------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------

/// `(AREA, LEVEL)` pairs; areas not listed are NONE.
type GrantList = Vec<(&'static str, &'static str)>;

/// One caller of the matrix: a login user whose only role holds `grants`.
struct Row {
    label: String,
    username: String,
    grants: GrantList,
    token: String,
}

impl Row {
    fn level(&self, area: &str) -> &'static str {
        self.grants
            .iter()
            .find(|(a, _)| *a == area)
            .map_or("NONE", |(_, level)| *level)
    }

    fn has(&self, area: &str, level: &str) -> bool {
        rank(self.level(area)) >= rank(level)
    }
}

/// What every row is tried against. Each probe knows the rule it checks, so every row runs every
/// probe: the area's own probes prove the level works, the others prove NONE elsewhere.
#[derive(Clone, Copy, Debug)]
enum Probe {
    ListUsers,
    CreateUser,
    ReadEmails,
    CreateUserWithEmail,
    ListRoles,
    CreateRole,
    OwnRoles,
    IntegrationStatus,
    ConnectedIntegrations,
    AuditLog,
}

impl Probe {
    const ALL: [Probe; 10] = [
        Probe::ListUsers,
        Probe::CreateUser,
        Probe::ReadEmails,
        Probe::CreateUserWithEmail,
        Probe::ListRoles,
        Probe::CreateRole,
        Probe::OwnRoles,
        Probe::IntegrationStatus,
        Probe::ConnectedIntegrations,
        Probe::AuditLog,
    ];

    fn describe(self) -> &'static str {
        match self {
            Probe::ListUsers => "USERS read: users(first: 5) { totalCount }",
            Probe::CreateUser => "USERS write: createUser without email",
            Probe::ReadEmails => "USER_PII read: users { nodes { username email } }",
            Probe::CreateUserWithEmail => "USER_PII write: createUser with an email",
            Probe::ListRoles => "ROLES read: roles(first: 20) { totalCount }",
            Probe::CreateRole => "ROLES write: createRole granting nothing",
            Probe::OwnRoles => "ROLES read: viewer.user.roles",
            Probe::IntegrationStatus => {
                "INTEGRATIONS read: integration(key: intercom) { name status }"
            }
            Probe::ConnectedIntegrations => "INTEGRATIONS read: integrations(connected: true)",
            Probe::AuditLog => "AUDIT_LOG read: auditLog(first: 5) { totalCount }",
        }
    }
}

/// The seeded contacts that `users(orderBy: USERNAME)` lists first, with their emails.
const SEEDS: [(&str, &str); 5] = [
    ("a-seed-1", "seed1@matrix.example.com"),
    ("a-seed-2", "seed2@matrix.example.com"),
    ("a-seed-3", "seed3@matrix.example.com"),
    ("a-seed-4", "seed4@matrix.example.com"),
    ("a-seed-5", "seed5@matrix.example.com"),
];

struct Matrix<'a> {
    app: &'a TestApp,
    admin: &'a str,
}

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

fn no_errors(reply: &Reply) -> Result<(), String> {
    ensure(reply.errors().is_empty(), || {
        format!("expected success, got {}", reply.body)
    })
}

/// The whole operation refused: one FORBIDDEN error at the root field, no data.
fn refused(reply: &Reply, field: &str) -> Result<(), String> {
    let errors = reply.errors();
    ensure(
        errors.len() == 1
            && errors[0]["extensions"]["code"] == "FORBIDDEN"
            && errors[0]["path"] == json!([field])
            && reply.body["data"].is_null(),
        || {
            format!(
                "expected FORBIDDEN at [\"{field}\"] and no data, got {}",
                reply.body
            )
        },
    )
}

/// Field-level denial: exactly these paths carry a FORBIDDEN error (data stays).
fn denied_at(reply: &Reply, paths: &[Value]) -> Result<(), String> {
    let mut got: Vec<String> = reply
        .errors()
        .iter()
        .map(|e| format!("{} {}", e["extensions"]["code"], e["path"]))
        .collect();
    let mut want: Vec<String> = paths
        .iter()
        .map(|path| format!("\"FORBIDDEN\" {path}"))
        .collect();
    got.sort();
    want.sort();
    ensure(got == want, || {
        format!("expected FORBIDDEN errors at {want:?}, got {}", reply.body)
    })
}

fn equal(actual: &Value, expected: &Value, what: &str, reply: &Reply) -> Result<(), String> {
    ensure(actual == expected, || {
        format!(
            "{what}: expected {expected}, got {actual} in {}",
            reply.body
        )
    })
}

impl Matrix<'_> {
    async fn admin_value(&self, query: &str, path: &str) -> Value {
        self.app
            .graphql(Some(self.admin), query, json!({}))
            .await
            .ok()
            .data(path)
            .clone()
    }

    async fn viewer(&self, row: &Row) -> Result<(), String> {
        let reply = self
            .app
            .graphql(Some(&row.token), VIEWER_PERMISSIONS, json!({}))
            .await;
        no_errors(&reply)?;
        let got = permission_map(&reply);
        let want = expected_permissions(&row.grants);
        ensure(got == want, || {
            format!("viewer.permissions: expected {want:?}, got {got:?}")
        })?;
        equal(
            reply.data("viewer/scopes"),
            &json!([]),
            "viewer.scopes",
            &reply,
        )
    }

    async fn run(&self, row: &Row, probe: Probe) -> Result<(), String> {
        let app = self.app;
        let token = Some(row.token.as_str());
        match probe {
            Probe::ListUsers => {
                let query = "{ users(first: 5) { totalCount } }";
                let reply = app.graphql(token, query, json!({})).await;
                if row.has("USERS", "READ") {
                    no_errors(&reply)?;
                    let total = self.admin_value(query, "users/totalCount").await;
                    equal(
                        reply.data("users/totalCount"),
                        &total,
                        "users.totalCount",
                        &reply,
                    )
                } else {
                    refused(&reply, "users")
                }
            }
            Probe::CreateUser => {
                let username = format!("new-{}", row.username);
                let input = json!({ "username": username, "displayName": username });
                let reply = app
                    .graphql(token, CREATE_USER, json!({ "input": input }))
                    .await;
                if row.has("USERS", "FULL") {
                    no_errors(&reply)?;
                    equal(
                        reply.data("createUser/userErrors"),
                        &json!([]),
                        "userErrors",
                        &reply,
                    )?;
                    equal(
                        reply.data("createUser/user/username"),
                        &json!(username),
                        "created username",
                        &reply,
                    )?;
                    ensure(
                        find_user(app, self.admin, &username).await.is_some(),
                        || format!("{username} was reported created but the admin cannot find it"),
                    )
                } else {
                    refused(&reply, "createUser")?;
                    ensure(
                        find_user(app, self.admin, &username).await.is_none(),
                        || format!("createUser was refused but {username} exists"),
                    )
                }
            }
            Probe::ReadEmails => {
                let query = "{ users(first: 5, orderBy: USERNAME) { nodes { username email } } }";
                let reply = app.graphql(token, query, json!({})).await;
                if !row.has("USERS", "READ") {
                    return refused(&reply, "users");
                }
                let usernames: Vec<Value> = SEEDS.iter().map(|(name, _)| json!(name)).collect();
                let got_usernames: Vec<Value> = reply
                    .data("users/nodes")
                    .as_array()
                    .map(|nodes| nodes.iter().map(|n| n["username"].clone()).collect())
                    .unwrap_or_default();
                equal(
                    &json!(got_usernames),
                    &json!(usernames),
                    "usernames",
                    &reply,
                )?;
                let nodes = reply
                    .data("users/nodes")
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if row.has("USER_PII", "READ") {
                    no_errors(&reply)?;
                    for (node, (_, email)) in nodes.iter().zip(SEEDS) {
                        equal(&node["email"], &json!(email), "email", &reply)?;
                    }
                    Ok(())
                } else {
                    for node in &nodes {
                        ensure(
                            node.as_object().is_some_and(|n| n.contains_key("email"))
                                && node["email"].is_null(),
                            || format!("email should be present and null: {}", reply.body),
                        )?;
                    }
                    let paths: Vec<Value> = (0..SEEDS.len())
                        .map(|i| json!(["users", "nodes", i, "email"]))
                        .collect();
                    denied_at(&reply, &paths)
                }
            }
            Probe::CreateUserWithEmail => {
                let username = format!("pii-{}", row.username);
                let email = format!("{username}@matrix.example.com");
                let input =
                    json!({ "username": username, "displayName": username, "email": email });
                let reply = app
                    .graphql(token, CREATE_USER, json!({ "input": input }))
                    .await;
                if row.has("USERS", "FULL") && row.has("USER_PII", "FULL") {
                    no_errors(&reply)?;
                    equal(
                        reply.data("createUser/userErrors"),
                        &json!([]),
                        "userErrors",
                        &reply,
                    )?;
                    let stored = find_user(app, self.admin, &username).await;
                    ensure(
                        stored
                            .as_ref()
                            .is_some_and(|user| user["email"] == json!(email)),
                        || {
                            format!(
                                "expected {username} with email {email}, the admin sees {stored:?}"
                            )
                        },
                    )
                } else {
                    refused(&reply, "createUser")?;
                    ensure(
                        find_user(app, self.admin, &username).await.is_none(),
                        || format!("createUser was refused but {username} exists"),
                    )
                }
            }
            Probe::ListRoles => {
                let query = "{ roles(first: 20) { totalCount } }";
                let reply = app.graphql(token, query, json!({})).await;
                if row.has("ROLES", "READ") {
                    no_errors(&reply)?;
                    let total = self.admin_value(query, "roles/totalCount").await;
                    equal(
                        reply.data("roles/totalCount"),
                        &total,
                        "roles.totalCount",
                        &reply,
                    )
                } else {
                    refused(&reply, "roles")
                }
            }
            Probe::CreateRole => {
                let name = format!("probe {}", row.username);
                let input = json!({ "name": name, "grants": [] });
                let reply = app
                    .graphql(token, CREATE_ROLE, json!({ "input": input }))
                    .await;
                if row.has("ROLES", "FULL") {
                    no_errors(&reply)?;
                    equal(
                        reply.data("createRole/userErrors"),
                        &json!([]),
                        "userErrors",
                        &reply,
                    )?;
                    equal(
                        reply.data("createRole/role/name"),
                        &json!(name),
                        "role name",
                        &reply,
                    )?;
                    ensure(role_named(app, self.admin, &name).await.is_some(), || {
                        format!("role {name} was reported created but the admin cannot find it")
                    })
                } else {
                    refused(&reply, "createRole")?;
                    ensure(role_named(app, self.admin, &name).await.is_none(), || {
                        format!("createRole was refused but role {name} exists")
                    })
                }
            }
            Probe::OwnRoles => {
                let query = "{ viewer { user { username roles { name } } } }";
                let reply = app.graphql(token, query, json!({})).await;
                equal(
                    reply.data("viewer/user/username"),
                    &json!(row.username),
                    "username",
                    &reply,
                )?;
                if row.has("ROLES", "READ") {
                    no_errors(&reply)?;
                    let role = format!("{} role", row.username);
                    equal(
                        reply.data("viewer/user/roles"),
                        &json!([{ "name": role }]),
                        "roles",
                        &reply,
                    )
                } else {
                    equal(
                        reply.data("viewer/user/roles"),
                        &Value::Null,
                        "roles",
                        &reply,
                    )?;
                    denied_at(&reply, &[json!(["viewer", "user", "roles"])])
                }
            }
            Probe::IntegrationStatus => {
                let query = r#"{ integration(key: "intercom") { name status } }"#;
                let reply = app.graphql(token, query, json!({})).await;
                equal(
                    reply.data("integration/name"),
                    &json!("Intercom"),
                    "name",
                    &reply,
                )?;
                if row.has("INTEGRATIONS", "READ") {
                    no_errors(&reply)?;
                    equal(
                        reply.data("integration/status"),
                        &json!("NOT_CONNECTED"),
                        "status",
                        &reply,
                    )
                } else {
                    equal(
                        reply.data("integration/status"),
                        &Value::Null,
                        "status",
                        &reply,
                    )?;
                    denied_at(&reply, &[json!(["integration", "status"])])
                }
            }
            Probe::ConnectedIntegrations => {
                let query = "{ integrations(connected: true) { totalCount } }";
                let reply = app.graphql(token, query, json!({})).await;
                if row.has("INTEGRATIONS", "READ") {
                    no_errors(&reply)?;
                    equal(
                        reply.data("integrations/totalCount"),
                        &json!(0),
                        "totalCount",
                        &reply,
                    )
                } else {
                    refused(&reply, "integrations")
                }
            }
            Probe::AuditLog => {
                let query = "{ auditLog(first: 5) { totalCount } }";
                let reply = app.graphql(token, query, json!({})).await;
                if row.has("AUDIT_LOG", "READ") {
                    no_errors(&reply)?;
                    let total = self.admin_value(query, "auditLog/totalCount").await;
                    equal(
                        reply.data("auditLog/totalCount"),
                        &total,
                        "auditLog.totalCount",
                        &reply,
                    )
                } else {
                    refused(&reply, "auditLog")
                }
            }
        }
    }
}

#[tokio::test]
async fn every_area_and_level_allows_exactly_what_it_grants() {
    // Arrange: one account; contacts with emails listed first; one user per area × level (the
    // level NONE is a role granting nothing), plus USER_PII at each level beside USERS FULL, since
    // personal data is only reachable through the user list and createUser.
    let app = TestApp::spawn().await;
    let account = create_account_with_seats(&app, "matrix", 100).await;
    let admin = account.admin_token.as_str();
    for (username, email) in SEEDS {
        create_user(
            &app,
            admin,
            json!({ "kind": "NON_LOGIN", "username": username, "displayName": username, "email": email }),
        )
        .await;
    }
    let mut specs: Vec<(String, String, GrantList)> = Vec::new();
    for area in AREAS {
        for level in LEVELS {
            let grants = if level == "NONE" {
                vec![]
            } else {
                vec![(area, level)]
            };
            let username = format!(
                "m-{}-{}",
                area.to_lowercase().replace('_', "-"),
                level.to_lowercase()
            );
            specs.push((format!("{area}={level}"), username, grants));
        }
    }
    for level in LEVELS {
        let mut grants = vec![("USERS", "FULL")];
        if level != "NONE" {
            grants.push(("USER_PII", level));
        }
        let username = format!("c-user-pii-{}", level.to_lowercase());
        specs.push((
            format!("USER_PII={level} with USERS=FULL"),
            username,
            grants,
        ));
    }
    let mut rows = Vec::new();
    for (label, username, grants) in specs {
        let (_, token) = user_with_grants(&app, &account, &username, &grants, None).await;
        rows.push(Row {
            label,
            username,
            grants,
            token,
        });
    }
    let matrix = Matrix { app: &app, admin };

    // Act and assert: every row against the viewer and every probe; failures are collected so
    // one run names them all.
    let mut failures = Vec::new();
    let mut checks = 0;
    for row in &rows {
        checks += 1;
        if let Err(error) = matrix.viewer(row).await {
            failures.push(format!("[{}] viewer.permissions: {error}", row.label));
        }
        for probe in Probe::ALL {
            checks += 1;
            if let Err(error) = matrix.run(row, probe).await {
                failures.push(format!("[{}] {}: {error}", row.label, probe.describe()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checks} matrix checks failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// Scope narrowing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_scoped_to_read_users_lists_them_but_cannot_create_one() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = app.token(acme.id, acme.admin_id, Some("users:read"));

    // Act
    let listed = app
        .graphql(
            Some(&token),
            "{ users(first: 5) { totalCount nodes { username } } }",
            json!({}),
        )
        .await;
    let created = app
        .graphql(
            Some(&token),
            CREATE_USER,
            json!({ "input": { "username": "scoped-new", "displayName": "Scoped New" } }),
        )
        .await;

    // Assert
    let listed = listed.ok();
    assert_eq!(listed.data("users/totalCount"), 1);
    assert_eq!(listed.data("users/nodes/0/username"), "acme-admin");
    let (required, granted) = insufficient_scopes(&created);
    assert_eq!(required, vec!["users:write"]);
    assert_eq!(granted, vec!["users:read"]);
    assert!(created.body["data"].is_null(), "{}", created.body);
    assert!(
        find_user(&app, &acme.admin_token, "scoped-new")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn creating_a_user_with_an_email_also_needs_the_user_pii_write_scope() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let users_only = app.token(acme.id, acme.admin_id, Some("users:write"));
    let users_and_pii = app.token(acme.id, acme.admin_id, Some("users:write user_pii:write"));
    let input = |name: &str| json!({ "input": { "username": name, "displayName": name, "email": format!("{name}@acme.example.com") } });

    // Act
    let refused = app
        .graphql(Some(&users_only), CREATE_USER, input("ann"))
        .await;
    let allowed = app
        .graphql(Some(&users_and_pii), CREATE_USER, input("bob"))
        .await;

    // Assert
    let (required, granted) = insufficient_scopes(&refused);
    assert_eq!(required, vec!["user_pii:write"]);
    assert_eq!(granted, vec!["users:write"]);
    assert!(find_user(&app, &acme.admin_token, "ann").await.is_none());
    let allowed = allowed.ok();
    assert_eq!(allowed.user_error_codes("createUser"), Vec::<String>::new());
    assert_eq!(allowed.data("createUser/user/username"), "bob");
    let bob = find_user(&app, &acme.admin_token, "bob")
        .await
        .expect("bob created");
    assert_eq!(bob["email"], "bob@acme.example.com");
}

#[tokio::test]
async fn insufficient_scopes_names_every_missing_scope_at_once() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = app.token(acme.id, acme.admin_id, Some("audit_log:read"));

    // Act
    let reply = app
        .graphql(
            Some(&token),
            CREATE_USER,
            json!({ "input": { "username": "ann", "email": "ann@acme.example.com" } }),
        )
        .await;
    let audit = app
        .graphql(
            Some(&token),
            "{ auditLog(first: 5) { totalCount } }",
            json!({}),
        )
        .await;

    // Assert
    let (required, granted) = insufficient_scopes(&reply);
    assert_eq!(required, vec!["user_pii:write", "users:write"]);
    assert_eq!(granted, vec!["audit_log:read"]);
    assert!(find_user(&app, &acme.admin_token, "ann").await.is_none());
    assert!(audit.ok().data("auditLog/totalCount").as_i64().is_some());
}

#[tokio::test]
async fn a_scoped_token_never_exceeds_its_user() {
    // Arrange: a user whose roles only read users, with a token that would allow writing.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let (_, token) = user_with_grants(
        &app,
        &acme,
        "reader",
        &[("USERS", "READ")],
        Some("users:write"),
    )
    .await;

    // Act
    let created = app
        .graphql(
            Some(&token),
            CREATE_USER,
            json!({ "input": { "username": "escalated", "displayName": "Escalated" } }),
        )
        .await;
    let listed = app
        .graphql(
            Some(&token),
            "{ users(first: 5) { totalCount } }",
            json!({}),
        )
        .await;
    let viewer = app
        .graphql(Some(&token), VIEWER_PERMISSIONS, json!({}))
        .await;

    // Assert
    assert_eq!(created.codes(), vec!["FORBIDDEN"], "{}", created.body);
    assert!(
        find_user(&app, &acme.admin_token, "escalated")
            .await
            .is_none()
    );
    assert_eq!(listed.ok().data("users/totalCount"), 2);
    let viewer = viewer.ok();
    assert_eq!(
        permission_map(&viewer),
        expected_permissions(&[("USERS", "READ")])
    );
    assert_eq!(viewer.data("viewer/scopes"), &json!(["users:write"]));
}

#[tokio::test]
async fn viewer_permissions_are_the_lower_of_roles_and_scopes() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let grants = [("USERS", "FULL"), ("ROLES", "READ"), ("AUDIT_LOG", "READ")];
    let (user, scoped) = user_with_grants(
        &app,
        &acme,
        "partner",
        &grants,
        Some("users:read roles:write user_pii:read"),
    )
    .await;
    let user_id = crate::helpers::decode_gid(&user)
        .parse()
        .expect("user uuid");
    let unscoped = app.token(acme.id, user_id, None);

    // Act
    let narrowed = app
        .graphql(Some(&scoped), VIEWER_PERMISSIONS, json!({}))
        .await
        .ok();
    let full = app
        .graphql(Some(&unscoped), VIEWER_PERMISSIONS, json!({}))
        .await
        .ok();

    // Assert: USERS capped by its scope, ROLES capped by the role, USER_PII lacking in the roles,
    // AUDIT_LOG lacking in the scopes.
    assert_eq!(
        permission_map(&narrowed),
        expected_permissions(&[("USERS", "READ"), ("ROLES", "READ")])
    );
    assert_eq!(
        sorted_strings(narrowed.data("viewer/scopes")),
        vec!["roles:write", "user_pii:read", "users:read"]
    );
    assert_eq!(permission_map(&full), expected_permissions(&grants));
    assert_eq!(full.data("viewer/scopes"), &json!([]));
}

// ---------------------------------------------------------------------------------------------
// No privilege escalation through roles
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_role_manager_cannot_create_a_role_that_grants_more_than_they_hold() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let (_, lead) = user_with_grants(
        &app,
        &acme,
        "lead",
        &[("ROLES", "FULL"), ("USERS", "READ")],
        None,
    )
    .await;
    let role = |name: &str, grants: Value| json!({ "input": { "name": name, "grants": grants } });

    // Act
    let auditors = app
        .graphql(
            Some(&lead),
            CREATE_ROLE,
            role(
                "Auditors",
                json!([{ "area": "AUDIT_LOG", "level": "READ" }]),
            ),
        )
        .await;
    let writers = app
        .graphql(
            Some(&lead),
            CREATE_ROLE,
            role("Writers", json!([{ "area": "USERS", "level": "FULL" }])),
        )
        .await;
    let readers = app
        .graphql(
            Some(&lead),
            CREATE_ROLE,
            role("Readers", json!([{ "area": "USERS", "level": "READ" }])),
        )
        .await;
    let deputies = app
        .graphql(
            Some(&lead),
            CREATE_ROLE,
            role(
                "Deputies",
                json!([{ "area": "ROLES", "level": "FULL" }, { "area": "USERS", "level": "READ" }]),
            ),
        )
        .await;

    // Assert
    assert_eq!(auditors.codes(), vec!["FORBIDDEN"], "{}", auditors.body);
    assert_eq!(writers.codes(), vec!["FORBIDDEN"], "{}", writers.body);
    assert!(
        role_named(&app, &acme.admin_token, "Auditors")
            .await
            .is_none()
    );
    assert!(
        role_named(&app, &acme.admin_token, "Writers")
            .await
            .is_none()
    );
    assert_eq!(
        readers.ok().user_error_codes("createRole"),
        Vec::<String>::new()
    );
    assert_eq!(
        deputies.ok().user_error_codes("createRole"),
        Vec::<String>::new()
    );
    let stored = role_named(&app, &acme.admin_token, "Readers")
        .await
        .expect("Readers created");
    let levels: Vec<(String, String)> = stored["grants"]
        .as_array()
        .expect("grants")
        .iter()
        .map(|g| {
            (
                g["area"].as_str().unwrap().to_owned(),
                g["level"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        levels.into_iter().collect::<BTreeMap<_, _>>(),
        expected_permissions(&[("USERS", "READ")])
    );
    assert!(
        role_named(&app, &acme.admin_token, "Deputies")
            .await
            .is_some()
    );
}

#[tokio::test]
async fn a_role_manager_cannot_hand_out_the_account_admin_role() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let admin = acme.admin_token.as_str();
    let (lead_id, lead) = user_with_grants(
        &app,
        &acme,
        "lead",
        &[("ROLES", "FULL"), ("USERS", "READ")],
        None,
    )
    .await;
    let agent = create_user(
        &app,
        admin,
        json!({ "username": "agent", "displayName": "Agent" }),
    )
    .await;
    let helper = create_user(
        &app,
        admin,
        json!({ "username": "helper", "displayName": "Helper" }),
    )
    .await;
    let account_admin = account_admin_role_id(&app, admin).await;
    let readers = create_role(&app, admin, "Readers", &[("USERS", "READ")]).await;

    // Act
    let to_agent = assign_roles(&app, &lead, &agent, &[&account_admin]).await;
    let to_self = assign_roles(&app, &lead, &lead_id, &[&account_admin]).await;
    let within = assign_roles(&app, &lead, &helper, &[&readers]).await;

    // Assert
    assert_eq!(to_agent.codes(), vec!["FORBIDDEN"], "{}", to_agent.body);
    assert_eq!(to_self.codes(), vec!["FORBIDDEN"], "{}", to_self.body);
    assert_eq!(
        role_names_of(&app, admin, &agent).await,
        Vec::<String>::new()
    );
    assert_eq!(
        role_names_of(&app, admin, &lead_id).await,
        vec!["lead role"]
    );
    let within = within.ok();
    assert_eq!(within.user_error_codes("assignRoles"), Vec::<String>::new());
    assert_eq!(within.data("assignRoles/user/id"), &json!(helper));
    assert_eq!(role_names_of(&app, admin, &helper).await, vec!["Readers"]);
}

#[tokio::test]
async fn the_account_admin_role_cannot_be_changed_or_deleted_even_by_an_admin() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let admin = acme.admin_token.as_str();
    let account_admin = account_admin_role_id(&app, admin).await;
    let temp = create_role(&app, admin, "Temp", &[("USERS", "READ")]).await;

    // Act
    let renamed = app
        .graphql(
            Some(admin),
            UPDATE_ROLE,
            json!({ "input": { "id": account_admin, "name": "Boss" } }),
        )
        .await
        .ok();
    let narrowed = app
        .graphql(
            Some(admin),
            UPDATE_ROLE,
            json!({ "input": { "id": account_admin, "grants": [] } }),
        )
        .await
        .ok();
    let deleted = app
        .graphql(
            Some(admin),
            DELETE_ROLE,
            json!({ "input": { "id": account_admin } }),
        )
        .await
        .ok();
    let temp_renamed = app
        .graphql(
            Some(admin),
            UPDATE_ROLE,
            json!({ "input": { "id": temp, "name": "Temporary" } }),
        )
        .await
        .ok();
    let temp_deleted = app
        .graphql(Some(admin), DELETE_ROLE, json!({ "input": { "id": temp } }))
        .await
        .ok();

    // Assert
    assert_eq!(
        renamed.user_error_codes("updateRole"),
        vec!["BUILT_IN_ROLE"]
    );
    assert_eq!(renamed.data("updateRole/role"), &Value::Null);
    assert_eq!(
        narrowed.user_error_codes("updateRole"),
        vec!["BUILT_IN_ROLE"]
    );
    assert_eq!(
        deleted.user_error_codes("deleteRole"),
        vec!["BUILT_IN_ROLE"]
    );
    assert_eq!(deleted.data("deleteRole/deletedRoleId"), &Value::Null);
    let stored = role_named(&app, admin, "Account Admin")
        .await
        .expect("Account Admin kept");
    assert_eq!(stored["id"], json!(account_admin));
    let all_full: Vec<(&str, &str)> = AREAS.iter().map(|area| (*area, "FULL")).collect();
    let levels: BTreeMap<String, String> = stored["grants"]
        .as_array()
        .expect("grants")
        .iter()
        .map(|g| {
            (
                g["area"].as_str().unwrap().to_owned(),
                g["level"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(levels, expected_permissions(&all_full));
    assert!(role_named(&app, admin, "Boss").await.is_none());
    assert_eq!(
        temp_renamed.user_error_codes("updateRole"),
        Vec::<String>::new()
    );
    assert_eq!(temp_renamed.data("updateRole/role/name"), "Temporary");
    assert_eq!(
        temp_deleted.user_error_codes("deleteRole"),
        Vec::<String>::new()
    );
    assert_eq!(temp_deleted.data("deleteRole/deletedRoleId"), &json!(temp));
    assert!(role_named(&app, admin, "Temporary").await.is_none());
}

#[tokio::test]
async fn role_names_are_unique_in_any_letter_case() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let admin = acme.admin_token.as_str();
    create_role(&app, admin, "Support Lead", &[]).await;
    let other = create_role(&app, admin, "Other", &[]).await;
    let create = |name: &str| json!({ "input": { "name": name, "grants": [] } });

    // Act
    let same_name_other_case = app
        .graphql(Some(admin), CREATE_ROLE, create("SUPPORT lead"))
        .await
        .ok();
    let built_in_name = app
        .graphql(Some(admin), CREATE_ROLE, create("account admin"))
        .await
        .ok();
    let renamed_onto = app
        .graphql(
            Some(admin),
            UPDATE_ROLE,
            json!({ "input": { "id": other, "name": "support LEAD" } }),
        )
        .await
        .ok();
    let distinct = app
        .graphql(Some(admin), CREATE_ROLE, create("Support Leads"))
        .await
        .ok();

    // Assert
    assert_eq!(
        same_name_other_case.user_error_codes("createRole"),
        vec!["NAME_TAKEN"]
    );
    assert_eq!(
        same_name_other_case.data("createRole/userErrors/0/field"),
        &json!(["input", "name"])
    );
    assert_eq!(same_name_other_case.data("createRole/role"), &Value::Null);
    assert_eq!(
        built_in_name.user_error_codes("createRole"),
        vec!["NAME_TAKEN"]
    );
    assert_eq!(
        renamed_onto.user_error_codes("updateRole"),
        vec!["NAME_TAKEN"]
    );
    assert_eq!(
        distinct.user_error_codes("createRole"),
        Vec::<String>::new()
    );
    let mut names: Vec<String> = all_roles(&app, admin)
        .await
        .iter()
        .map(|role| role["name"].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["Account Admin", "Other", "Support Lead", "Support Leads"]
    );
}

// ---------------------------------------------------------------------------------------------
// Field-level denial
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_field_denied_deep_in_the_response_is_null_while_its_siblings_keep_their_data() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let (_, nobody) = user_with_grants(&app, &acme, "nobody", &[], None).await;
    let query = "{ viewer { user { username email roles { name } } account { slug } } }";

    // Act
    let denied = app.graphql(Some(&nobody), query, json!({})).await;
    let allowed = app.graphql(Some(&acme.admin_token), query, json!({})).await;

    // Assert
    assert_eq!(denied.data("viewer/user/username"), "nobody");
    assert_eq!(denied.data("viewer/account/slug"), "acme");
    let user = denied.data("viewer/user").as_object().expect("user object");
    assert_eq!(user.get("email"), Some(&Value::Null), "{}", denied.body);
    assert_eq!(user.get("roles"), Some(&Value::Null), "{}", denied.body);
    denied_at(
        &denied,
        &[
            json!(["viewer", "user", "email"]),
            json!(["viewer", "user", "roles"]),
        ],
    )
    .unwrap();
    let allowed = allowed.ok();
    assert_eq!(allowed.data("viewer/user/email"), "admin@acme.example.com");
    assert_eq!(
        allowed.data("viewer/user/roles"),
        &json!([{ "name": "Account Admin" }])
    );
    assert_eq!(allowed.data("viewer/account/slug"), "acme");
}
