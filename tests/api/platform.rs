//! Accounts and platform operators: operators manage accounts' metadata and never read account
//! data, account users never reach operator operations, operator scopes narrow operator tokens,
//! accounts are created with their first admin, limits never drop below the seats in use,
//! suspension refuses tokens and reactivation restores them with nothing lost, licence usage is
//! counted, every operator change is audited, and the `liaison account` command does the same.

use chrono::Duration;
use liaison::auth::tokens::{MintRequest, TokenKind, Tokens};
use liaison::clock::{Clock, SystemClock};
use liaison::domain::ids::{AccountId, UserId};
use liaison::domain::permission::ScopeSet;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{
    Reply, TestAccount, TestApp, create_user, decode_gid, gid, operator_token, test_config,
    user_with_grants,
};

const ACCOUNTS: &str = "query($filter: ManagedAccountFilterInput, $first: Int, $after: String) { \
    accounts(filter: $filter, first: $first, after: $after) { totalCount \
    edges { cursor node { id slug name status createdAt seatsUsed licenceLimit } } \
    pageInfo { hasNextPage hasPreviousPage endCursor } } }";
const CREATE_ACCOUNT: &str = "mutation($input: CreateAccountInput!) { createAccount(input: $input) \
    { clientMutationId account { id slug name status seatsUsed licenceLimit createdAt } \
    admin { id username } userErrors { field code message } } }";
const UPDATE_ACCOUNT: &str = "mutation($input: UpdateAccountInput!) { updateAccount(input: $input) \
    { clientMutationId account { id slug name status seatsUsed licenceLimit } \
    userErrors { field code message } } }";
const SUSPEND_ACCOUNT: &str = "mutation($input: SuspendAccountInput!) { \
    suspendAccount(input: $input) { account { id slug status } userErrors { field code message } } }";
const REACTIVATE_ACCOUNT: &str = "mutation($input: ReactivateAccountInput!) { \
    reactivateAccount(input: $input) { account { id slug status } userErrors { field code message } } }";
const LICENCE_USAGE: &str =
    "{ account { slug licenceUsage { limit used available pending nonLogin } } }";
const AUDIT_LOG: &str = "query($filter: AuditFilterInput) { auditLog(filter: $filter, first: 50) \
    { nodes { action actorKind actorId actorLabel targetType targetId details } } }";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Tokens signed like the test server's (same secret, issuer and audience).
fn tokens() -> Tokens {
    Tokens::from_config(&test_config("sqlite::memory:"), None).expect("test tokens")
}

async fn mutate(app: &TestApp, token: &str, mutation: &str, input: Value) -> Reply {
    app.graphql(Some(token), mutation, json!({ "input": input }))
        .await
}

/// The `(field, code)` pairs of a payload's `userErrors`, sorted; each has a message.
fn rejections(reply: &Reply, mutation: &str) -> Vec<(Value, String)> {
    assert!(reply.errors().is_empty(), "{}", reply.body);
    let mut pairs: Vec<(Value, String)> = reply.data(mutation)["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no userErrors in {}", reply.body))
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

fn expected(pairs: &[(&[&str], &str)]) -> Vec<(Value, String)> {
    let mut pairs: Vec<(Value, String)> = pairs
        .iter()
        .map(|(field, code)| (json!(field), (*code).to_owned()))
        .collect();
    pairs.sort_by_key(|(field, code)| (field.to_string(), code.clone()));
    pairs
}

#[track_caller]
fn assert_succeeded(reply: &Reply, mutation: &str) {
    assert!(reply.errors().is_empty(), "{}", reply.body);
    assert_eq!(
        reply.user_error_codes(mutation),
        Vec::<String>::new(),
        "{}",
        reply.body
    );
}

/// Exactly one top-level error with `code` at `field`, and no data for it.
#[track_caller]
fn assert_refused(reply: &Reply, field: &str, code: &str) {
    assert_eq!(reply.codes(), vec![code], "{}", reply.body);
    assert_eq!(reply.errors()[0]["path"], json!([field]), "{}", reply.body);
    assert!(reply.body["data"].is_null() || reply.data(field).is_null());
}

/// Rows in a table, straight from the database.
async fn rows(app: &TestApp, table: &str) -> i64 {
    let backend = app.db.get_database_backend();
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .expect("count")
        .expect("a row");
    row.try_get::<i64>("", "n").expect("n")
}

/// Accounts, users and audit events: what a refused change must leave as it was.
async fn all_rows(app: &TestApp) -> (i64, i64, i64) {
    (
        rows(app, "accounts").await,
        rows(app, "users").await,
        rows(app, "audit_events").await,
    )
}

fn create_input(slug: &str) -> Value {
    json!({
        "clientMutationId": "c-1",
        "slug": slug,
        "name": format!("{slug} Corporation"),
        "licenceLimit": 5,
        "admin": {
            "username": "first.admin",
            "email": format!("first.admin@{slug}.example.com"),
            "name": "First Admin",
            "preferredLanguage": "de-CH",
        },
    })
}

/// The account's audit events with `actions`, newest first, as its admin reads them.
async fn audit_events(app: &TestApp, token: &str, actions: &[&str]) -> Vec<Value> {
    app.graphql(
        Some(token),
        AUDIT_LOG,
        json!({ "filter": { "actions": actions } }),
    )
    .await
    .ok()
    .data("auditLog/nodes")
    .as_array()
    .cloned()
    .unwrap_or_default()
}

fn account_gid(account: &TestAccount) -> String {
    gid("Account", account.id)
}

// ---------------------------------------------------------------------------------------------
// Boundaries
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn operators_are_refused_every_field_of_account_data() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let operator = operator_token("ops-alice", None);
    let admin_gid = gid("User", acme.admin_id);

    for (field, query) in [
        ("viewer", "{ viewer { user { id } } }".to_owned()),
        ("account", "{ account { id slug } }".to_owned()),
        ("users", "{ users(first: 5) { totalCount } }".to_owned()),
        ("user", format!("{{ user(id: \"{admin_gid}\") {{ id }} }}")),
        ("node", format!("{{ node(id: \"{admin_gid}\") {{ id }} }}")),
        ("roles", "{ roles(first: 5) { totalCount } }".to_owned()),
        ("groups", "{ groups(first: 5) { totalCount } }".to_owned()),
        (
            "auditLog",
            "{ auditLog(first: 5) { totalCount } }".to_owned(),
        ),
        ("contactTopics", "{ contactTopics { topic } }".to_owned()),
        ("contactSetup", "{ contactSetup { complete } }".to_owned()),
        (
            "createUser",
            "mutation { createUser(input: { username: \"intruder\" }) { user { id } } }".to_owned(),
        ),
    ] {
        let reply = app.graphql(Some(&operator), &query, json!({})).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_refused(&reply, field, "FORBIDDEN");
    }
    // Nothing was created by the refused mutation.
    let users = app
        .graphql(
            Some(&acme.admin_token),
            "{ users(first: 5) { totalCount } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(users.data("users/totalCount"), 1);
}

#[tokio::test]
async fn account_users_are_refused_every_operator_operation() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let id = account_gid(&acme);
    let before = all_rows(&app).await;

    let cases = [
        ("accounts", ACCOUNTS, json!({})),
        (
            "createAccount",
            CREATE_ACCOUNT,
            json!({ "input": create_input("sneaky") }),
        ),
        (
            "updateAccount",
            UPDATE_ACCOUNT,
            json!({ "input": { "id": id, "licenceLimit": 1000 } }),
        ),
        (
            "suspendAccount",
            SUSPEND_ACCOUNT,
            json!({ "input": { "id": id } }),
        ),
        (
            "reactivateAccount",
            REACTIVATE_ACCOUNT,
            json!({ "input": { "id": id } }),
        ),
    ];
    for (field, query, variables) in &cases {
        let reply = app
            .graphql(Some(&acme.admin_token), query, variables.clone())
            .await;
        assert_refused(&reply, field, "FORBIDDEN");
        // Without a token at all: 401.
        let anonymous = app.graphql(None, query, variables.clone()).await;
        assert_eq!(anonymous.status, 401, "{}", anonymous.body);
        assert_eq!(anonymous.codes(), vec!["UNAUTHENTICATED"]);
    }
    assert_eq!(all_rows(&app).await, before, "nothing was written");
    let account = app
        .graphql(
            Some(&acme.admin_token),
            "{ account { licenceLimit suspended } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(
        account.data("account"),
        &json!({ "licenceLimit": 10, "suspended": false })
    );
}

#[tokio::test]
async fn operator_scopes_narrow_operator_tokens() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let id = account_gid(&acme);
    let before = all_rows(&app).await;

    // accounts:read may list, not change.
    let reader = operator_token("ops-reader", Some("accounts:read"));
    let listed = app.graphql(Some(&reader), ACCOUNTS, json!({})).await.ok();
    assert_eq!(listed.data("accounts/totalCount"), 2, "demo and acme");
    for (field, query, variables) in [
        (
            "createAccount",
            CREATE_ACCOUNT,
            json!({ "input": create_input("globex") }),
        ),
        (
            "updateAccount",
            UPDATE_ACCOUNT,
            json!({ "input": { "id": id, "name": "Renamed" } }),
        ),
        (
            "suspendAccount",
            SUSPEND_ACCOUNT,
            json!({ "input": { "id": id } }),
        ),
        (
            "reactivateAccount",
            REACTIVATE_ACCOUNT,
            json!({ "input": { "id": id } }),
        ),
    ] {
        let reply = app.graphql(Some(&reader), query, variables).await;
        assert_refused(&reply, field, "INSUFFICIENT_SCOPES");
        let extensions = &reply.errors()[0]["extensions"];
        assert_eq!(extensions["requiredScopes"], json!(["accounts:write"]));
        assert_eq!(extensions["grantedScopes"], json!(["accounts:read"]));
    }
    assert_eq!(all_rows(&app).await, before, "nothing was written");

    // A token with an empty scope list may do nothing, and is told every missing scope.
    let empty = operator_token("ops-nobody", Some(""));
    let reply = app.graphql(Some(&empty), ACCOUNTS, json!({})).await;
    assert_refused(&reply, "accounts", "INSUFFICIENT_SCOPES");
    assert_eq!(
        reply.errors()[0]["extensions"]["requiredScopes"],
        json!(["accounts:read"])
    );
    assert_eq!(reply.errors()[0]["extensions"]["grantedScopes"], json!([]));

    // accounts:write includes reading.
    let writer = operator_token("ops-writer", Some("accounts:write"));
    app.graphql(Some(&writer), ACCOUNTS, json!({})).await.ok();
    let created = mutate(&app, &writer, CREATE_ACCOUNT, create_input("globex")).await;
    assert_succeeded(&created, "createAccount");

    // Account scopes mean nothing on an operator token: the token is refused outright.
    let confused = tokens()
        .mint(
            &MintRequest {
                kind: TokenKind::Operator,
                subject: "ops-confused".into(),
                account_id: None,
                scopes: ScopeSet::parse("users:read").expect("scopes"),
                ttl: Duration::hours(1),
            },
            SystemClock.now(),
        )
        .expect("token");
    let reply = app.graphql(Some(&confused), ACCOUNTS, json!({})).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(reply.codes(), vec!["UNAUTHENTICATED"]);
}

// ---------------------------------------------------------------------------------------------
// Creating accounts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_account_makes_the_account_and_its_first_admin_who_can_sign_in() {
    let app = TestApp::spawn().await;
    let operator = operator_token("ops-alice", None);

    let reply = mutate(&app, &operator, CREATE_ACCOUNT, create_input("initech")).await;
    assert_succeeded(&reply, "createAccount");
    assert_eq!(reply.data("createAccount/clientMutationId"), "c-1");
    let account = reply.data("createAccount/account").clone();
    assert_eq!(account["slug"], "initech");
    assert_eq!(account["name"], "initech Corporation");
    assert_eq!(account["status"], "ACTIVE");
    assert_eq!(account["seatsUsed"], 1);
    assert_eq!(account["licenceLimit"], 5);
    assert_eq!(reply.data("createAccount/admin/username"), "first.admin");

    // The first admin signs in and sees the new account, as an active Account Admin.
    let account_id: AccountId = decode_gid(account["id"].as_str().expect("id"))
        .parse()
        .expect("account uuid");
    let admin_gid = reply.data("createAccount/admin/id").as_str().expect("id");
    let admin_id: UserId = decode_gid(admin_gid).parse().expect("user uuid");
    let token = app.token(account_id, admin_id, None);
    let viewer = app
        .graphql(
            Some(&token),
            "{ viewer { user { id username displayName email preferredLanguage kind status \
             userType roles { name isAccountAdmin } } account { id slug name licenceLimit suspended \
             licenceUsage { limit used pending nonLogin } } } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(
        viewer.data("viewer"),
        &json!({
            "user": {
                "id": admin_gid,
                "username": "first.admin",
                "displayName": "First Admin",
                "email": "first.admin@initech.example.com",
                "preferredLanguage": "de-CH",
                "kind": "LOGIN",
                "status": "ACTIVE",
                "userType": "ADMIN",
                "roles": [{ "name": "Account Admin", "isAccountAdmin": true }],
            },
            "account": {
                "id": account["id"],
                "slug": "initech",
                "name": "initech Corporation",
                "licenceLimit": 5,
                "suspended": false,
                "licenceUsage": { "limit": 5, "used": 1, "pending": 0, "nonLogin": 0 },
            },
        })
    );

    // The creation is in the new account's own log, by the operator.
    let events = audit_events(&app, &token, &["account.created"]).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actorKind"], "OPERATOR");
    assert_eq!(events[0]["actorId"], "ops-alice");
    assert_eq!(events[0]["actorLabel"], "ops-alice");
    assert_eq!(events[0]["targetType"], "Account");
    assert_eq!(events[0]["targetId"], account_id.to_string());
    assert_eq!(events[0]["details"]["slug"], "initech");
}

#[tokio::test]
async fn create_account_rejects_bad_input_and_writes_nothing() {
    let app = TestApp::spawn().await;
    app.create_account("acme").await;
    let operator = operator_token("ops-alice", None);
    let before = all_rows(&app).await;

    let with = |change: &dyn Fn(&mut Value)| {
        let mut input = create_input("globex");
        change(&mut input);
        input
    };
    let cases: Vec<(Value, Vec<(Value, String)>)> = vec![
        (
            with(&|i| i["slug"] = json!("Globex Corp")),
            expected(&[(&["input", "slug"], "INVALID_SLUG")]),
        ),
        (
            with(&|i| i["slug"] = json!("gx")),
            expected(&[(&["input", "slug"], "INVALID_SLUG")]),
        ),
        (
            with(&|i| i["slug"] = json!("g".repeat(41))),
            expected(&[(&["input", "slug"], "INVALID_SLUG")]),
        ),
        (
            with(&|i| i["slug"] = json!("acme")),
            expected(&[(&["input", "slug"], "SLUG_TAKEN")]),
        ),
        (
            with(&|i| i["admin"]["email"] = json!("not-an-email")),
            expected(&[(&["input", "admin", "email"], "INVALID_EMAIL")]),
        ),
        (
            with(&|i| i["licenceLimit"] = json!(0)),
            expected(&[(&["input", "licenceLimit"], "INVALID_LICENCE_LIMIT")]),
        ),
        (
            with(&|i| i["licenceLimit"] = json!(-3)),
            expected(&[(&["input", "licenceLimit"], "INVALID_LICENCE_LIMIT")]),
        ),
        (
            with(&|i| i["name"] = json!("   ")),
            expected(&[(&["input", "name"], "INVALID_NAME")]),
        ),
        (
            with(&|i| i["admin"]["username"] = json!("first admin")),
            expected(&[(&["input", "admin", "username"], "INVALID_USERNAME")]),
        ),
        (
            with(&|i| i["admin"]["preferredLanguage"] = json!("english please")),
            expected(&[(&["input", "admin", "preferredLanguage"], "INVALID_LANGUAGE")]),
        ),
        // Every rejected field is reported at once.
        (
            with(&|i| {
                i["slug"] = json!("acme");
                i["licenceLimit"] = json!(0);
                i["admin"]["email"] = json!("nope");
            }),
            expected(&[
                (&["input", "slug"], "SLUG_TAKEN"),
                (&["input", "licenceLimit"], "INVALID_LICENCE_LIMIT"),
                (&["input", "admin", "email"], "INVALID_EMAIL"),
            ]),
        ),
    ];
    for (input, wanted) in cases {
        let reply = mutate(&app, &operator, CREATE_ACCOUNT, input.clone()).await;
        assert_eq!(rejections(&reply, "createAccount"), wanted, "{input}");
        assert!(reply.data("createAccount/account").is_null());
        assert!(reply.data("createAccount/admin").is_null());
        assert_eq!(reply.data("createAccount/clientMutationId"), "c-1");
        assert_eq!(all_rows(&app).await, before, "nothing written for {input}");
    }

    // The same input with a free slug goes through.
    let reply = mutate(&app, &operator, CREATE_ACCOUNT, create_input("globex")).await;
    assert_succeeded(&reply, "createAccount");
}

// ---------------------------------------------------------------------------------------------
// Updating, suspending, listing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn update_account_renames_and_never_limits_below_the_seats_in_use() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let id = account_gid(&acme);
    let operator = operator_token("ops-alice", None);
    // Three seats in use; a pending user and a contact hold none.
    for username in ["ann", "bob"] {
        create_user(&app, &acme.admin_token, json!({ "username": username })).await;
    }
    create_user(
        &app,
        &acme.admin_token,
        json!({ "username": "pat", "status": "PENDING" }),
    )
    .await;
    create_user(
        &app,
        &acme.admin_token,
        json!({ "kind": "NON_LOGIN", "displayName": "Contact" }),
    )
    .await;

    let before = all_rows(&app).await;
    let below = mutate(
        &app,
        &operator,
        UPDATE_ACCOUNT,
        json!({ "id": id, "name": "Acme Two", "licenceLimit": 2 }),
    )
    .await;
    assert_eq!(
        rejections(&below, "updateAccount"),
        expected(&[(&["input", "licenceLimit"], "LICENCE_BELOW_USAGE")])
    );
    let zero = mutate(
        &app,
        &operator,
        UPDATE_ACCOUNT,
        json!({ "id": id, "licenceLimit": 0, "name": "" }),
    )
    .await;
    assert_eq!(
        rejections(&zero, "updateAccount"),
        expected(&[
            (&["input", "licenceLimit"], "INVALID_LICENCE_LIMIT"),
            (&["input", "name"], "INVALID_NAME"),
        ])
    );
    assert_eq!(all_rows(&app).await, before, "nothing written");

    // Exactly the seats in use is allowed, and the name changes with it.
    let reply = mutate(
        &app,
        &operator,
        UPDATE_ACCOUNT,
        json!({ "clientMutationId": "u-1", "id": id, "name": "Acme Two", "licenceLimit": 3 }),
    )
    .await;
    assert_succeeded(&reply, "updateAccount");
    assert_eq!(
        reply.data("updateAccount"),
        &json!({
            "clientMutationId": "u-1",
            "account": { "id": id, "slug": "acme", "name": "Acme Two", "status": "ACTIVE",
                         "seatsUsed": 3, "licenceLimit": 3 },
            "userErrors": [],
        })
    );
    // The account sees the new limit at once: no seat is left.
    let full = mutate(
        &app,
        &acme.admin_token,
        "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } \
         userErrors { code } } }",
        json!({ "username": "carl" }),
    )
    .await;
    assert_eq!(full.user_error_codes("createUser"), vec!["LICENCE_LIMIT"]);

    let events = audit_events(&app, &acme.admin_token, &["account.updated"]).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actorKind"], "OPERATOR");
    assert_eq!(events[0]["actorLabel"], "ops-alice");
    assert_eq!(
        events[0]["details"],
        json!({
            "before": { "name": "acme Inc.", "licenceLimit": 10 },
            "after": { "name": "Acme Two", "licenceLimit": 3 },
        })
    );

    // An unknown account, or an id of another type, is NOT_FOUND.
    for bad in [gid("Account", AccountId::new()), gid("User", acme.admin_id)] {
        let reply = mutate(
            &app,
            &operator,
            UPDATE_ACCOUNT,
            json!({ "id": bad, "name": "Ghost" }),
        )
        .await;
        assert_refused(&reply, "updateAccount", "NOT_FOUND");
    }
}

#[tokio::test]
async fn concurrent_seat_changes_never_exceed_a_lowered_limit() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let id = account_gid(&acme);
    let operator = operator_token("ops-alice", None);

    let creates = (0..6).map(|n| {
        mutate(
            &app,
            &acme.admin_token,
            "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } \
             userErrors { code } } }",
            json!({ "username": format!("racer{n}") }),
        )
    });
    let lower = mutate(
        &app,
        &operator,
        UPDATE_ACCOUNT,
        json!({ "id": id, "licenceLimit": 3 }),
    );
    let (created, lowered) = tokio::join!(futures_util::future::join_all(creates), lower);
    for reply in &created {
        assert!(reply.errors().is_empty(), "{}", reply.body);
    }
    assert!(lowered.errors().is_empty(), "{}", lowered.body);

    let listed = app
        .graphql(
            Some(&operator),
            ACCOUNTS,
            json!({ "filter": { "text": "acme" } }),
        )
        .await
        .ok();
    let node = &listed.data("accounts/edges/0/node");
    let (seats, limit) = (
        node["seatsUsed"].as_i64().expect("seats"),
        node["licenceLimit"].as_i64().expect("limit"),
    );
    assert!(
        seats <= limit,
        "{seats} seats in use under a limit of {limit}"
    );
    if lowered.user_error_codes("updateAccount").is_empty() {
        assert_eq!(limit, 3);
    } else {
        assert_eq!(
            lowered.user_error_codes("updateAccount"),
            vec!["LICENCE_BELOW_USAGE"]
        );
        assert_eq!(limit, 10);
    }
}

#[tokio::test]
async fn suspension_refuses_an_accounts_tokens_and_reactivation_restores_them() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let globex = app.create_account("globex").await;
    let (_, agent_token) = user_with_grants(&app, &acme, "agent", &[("USERS", "READ")], None).await;
    let operator = operator_token("ops-alice", None);
    let id = account_gid(&acme);
    let directory = "{ users(first: 10, orderBy: USERNAME) { totalCount nodes { id username \
                     roles { name } } } roles(first: 10) { nodes { id name } } }";
    let before = app
        .graphql(Some(&acme.admin_token), directory, json!({}))
        .await
        .ok();

    let suspended = mutate(
        &app,
        &operator,
        SUSPEND_ACCOUNT,
        json!({ "id": id, "reason": "invoice 42 unpaid" }),
    )
    .await;
    assert_succeeded(&suspended, "suspendAccount");
    assert_eq!(suspended.data("suspendAccount/account/status"), "SUSPENDED");

    for token in [&acme.admin_token, &agent_token] {
        let reply = app
            .graphql(Some(token), "{ viewer { user { id } } }", json!({}))
            .await;
        assert_eq!(reply.status, 403, "{}", reply.body);
        assert_eq!(reply.codes(), vec!["ACCOUNT_SUSPENDED"]);
        assert!(reply.body.get("data").is_none_or(Value::is_null));
    }
    // A mutation through a suspended account's token is refused before it runs.
    let refused = mutate(
        &app,
        &acme.admin_token,
        "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }",
        json!({ "username": "late" }),
    )
    .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.codes(), vec!["ACCOUNT_SUSPENDED"]);
    // Other accounts work as before.
    let other = app
        .graphql(
            Some(&globex.admin_token),
            "{ account { slug suspended } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(
        other.data("account"),
        &json!({ "slug": "globex", "suspended": false })
    );
    // Operators see the suspension in the list.
    let listed = app
        .graphql(
            Some(&operator),
            ACCOUNTS,
            json!({ "filter": { "statuses": ["SUSPENDED"] } }),
        )
        .await
        .ok();
    assert_eq!(listed.data("accounts/totalCount"), 1);
    assert_eq!(listed.data("accounts/edges/0/node/slug"), "acme");
    // Suspending again changes nothing.
    let again = mutate(&app, &operator, SUSPEND_ACCOUNT, json!({ "id": id })).await;
    assert_succeeded(&again, "suspendAccount");
    assert_eq!(again.data("suspendAccount/account/status"), "SUSPENDED");

    let reactivated = mutate(&app, &operator, REACTIVATE_ACCOUNT, json!({ "id": id })).await;
    assert_succeeded(&reactivated, "reactivateAccount");
    assert_eq!(
        reactivated.data("reactivateAccount/account/status"),
        "ACTIVE"
    );

    // The same tokens work again, and everything is as it was.
    let after = app
        .graphql(Some(&acme.admin_token), directory, json!({}))
        .await
        .ok();
    assert_eq!(after.body, before.body);
    app.graphql(
        Some(&agent_token),
        "{ viewer { user { username } } }",
        json!({}),
    )
    .await
    .ok();

    // One event each, by the operator, in the account's log; none in another account's.
    let events = audit_events(
        &app,
        &acme.admin_token,
        &["account.suspended", "account.reactivated"],
    )
    .await;
    let summary: Vec<(Value, Value, Value)> = events
        .iter()
        .map(|e| {
            (
                e["action"].clone(),
                e["actorKind"].clone(),
                e["actorLabel"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                json!("account.reactivated"),
                json!("OPERATOR"),
                json!("ops-alice")
            ),
            (
                json!("account.suspended"),
                json!("OPERATOR"),
                json!("ops-alice")
            ),
        ]
    );
    assert_eq!(events[1]["details"]["reason"], "invoice 42 unpaid");
    assert!(
        audit_events(
            &app,
            &globex.admin_token,
            &["account.suspended", "account.reactivated"]
        )
        .await
        .is_empty()
    );

    // A blank reason is refused, and changes nothing.
    let blank = mutate(
        &app,
        &operator,
        SUSPEND_ACCOUNT,
        json!({ "id": id, "reason": "  " }),
    )
    .await;
    assert_eq!(
        rejections(&blank, "suspendAccount"),
        expected(&[(&["input", "reason"], "INVALID_REASON")])
    );
    app.graphql(
        Some(&acme.admin_token),
        "{ viewer { user { id } } }",
        json!({}),
    )
    .await
    .ok();
}

#[tokio::test]
async fn accounts_lists_filters_and_pages_with_seats_used() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    app.create_account("acme-labs").await;
    app.create_account("globex").await;
    create_user(&app, &acme.admin_token, json!({ "username": "ann" })).await;
    create_user(
        &app,
        &acme.admin_token,
        json!({ "username": "pat", "status": "PENDING" }),
    )
    .await;
    let operator = operator_token("ops-alice", Some("accounts:read"));

    let all = app
        .graphql(Some(&operator), ACCOUNTS, json!({ "first": 10 }))
        .await
        .ok();
    let slugs: Vec<&str> = all
        .data("accounts/edges")
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["slug"].as_str().expect("slug"))
        .collect();
    assert_eq!(slugs, ["acme", "acme-labs", "demo", "globex"], "by slug");
    assert_eq!(all.data("accounts/totalCount"), 4);
    let acme_node = all.data("accounts/edges/0/node");
    assert_eq!(acme_node["id"], account_gid(&acme));
    assert_eq!(acme_node["name"], "acme Inc.");
    assert_eq!(acme_node["status"], "ACTIVE");
    assert_eq!(acme_node["seatsUsed"], 2, "the pending user holds no seat");
    assert_eq!(acme_node["licenceLimit"], 10);
    assert!(acme_node["createdAt"].as_str().is_some());

    // Text matches slug or name in any case; pages follow the cursor.
    let first = app
        .graphql(
            Some(&operator),
            ACCOUNTS,
            json!({ "filter": { "text": "ACME" }, "first": 1 }),
        )
        .await
        .ok();
    assert_eq!(first.data("accounts/totalCount"), 2);
    assert_eq!(first.data("accounts/edges/0/node/slug"), "acme");
    assert_eq!(first.data("accounts/pageInfo/hasNextPage"), true);
    let cursor = first.data("accounts/pageInfo/endCursor").clone();
    let second = app
        .graphql(
            Some(&operator),
            ACCOUNTS,
            json!({ "filter": { "text": "ACME" }, "first": 1, "after": cursor }),
        )
        .await
        .ok();
    assert_eq!(second.data("accounts/edges/0/node/slug"), "acme-labs");
    assert_eq!(second.data("accounts/pageInfo/hasNextPage"), false);
    assert_eq!(second.data("accounts/pageInfo/hasPreviousPage"), true);
    // A cursor is bound to its filter.
    let foreign = app
        .graphql(
            Some(&operator),
            ACCOUNTS,
            json!({ "filter": { "text": "glob" }, "first": 1, "after": cursor }),
        )
        .await;
    assert_eq!(foreign.codes(), vec!["BAD_USER_INPUT"], "{}", foreign.body);
    // Name text, and a LIKE wildcard taken literally.
    let by_name = app
        .graphql(
            Some(&operator),
            ACCOUNTS,
            json!({ "filter": { "text": "demo comp" } }),
        )
        .await
        .ok();
    assert_eq!(by_name.data("accounts/edges/0/node/slug"), "demo");
    let wildcard = app
        .graphql(
            Some(&operator),
            ACCOUNTS,
            json!({ "filter": { "text": "%" } }),
        )
        .await
        .ok();
    assert_eq!(wildcard.data("accounts/totalCount"), 0);
    let active = app
        .graphql(
            Some(&operator),
            ACCOUNTS,
            json!({ "filter": { "statuses": ["ACTIVE"] } }),
        )
        .await
        .ok();
    assert_eq!(active.data("accounts/totalCount"), 4);
    let too_many = app
        .graphql(
            Some(&operator),
            "{ accounts(first: 101) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        too_many.codes(),
        vec!["BAD_USER_INPUT"],
        "{}",
        too_many.body
    );
}

// ---------------------------------------------------------------------------------------------
// Licence usage (account side)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn licence_usage_counts_seats_pending_and_non_login_users() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    create_user(&app, &acme.admin_token, json!({ "username": "ann" })).await;
    let gone = create_user(&app, &acme.admin_token, json!({ "username": "gus" })).await;
    create_user(
        &app,
        &acme.admin_token,
        json!({ "username": "pat", "status": "PENDING" }),
    )
    .await;
    create_user(
        &app,
        &acme.admin_token,
        json!({ "kind": "NON_LOGIN", "displayName": "Finance Contact" }),
    )
    .await;
    create_user(
        &app,
        &acme.admin_token,
        json!({ "kind": "NON_LOGIN", "status": "PENDING", "displayName": "Imported" }),
    )
    .await;
    let deactivated = mutate(
        &app,
        &acme.admin_token,
        "mutation($input: UserIdInput!) { deactivateUser(input: $input) { user { status } \
         userErrors { code } } }",
        json!({ "id": gone }),
    )
    .await;
    assert_succeeded(&deactivated, "deactivateUser");

    let usage = app
        .graphql(Some(&acme.admin_token), LICENCE_USAGE, json!({}))
        .await
        .ok();
    assert_eq!(
        usage.data("account/licenceUsage"),
        &json!({ "limit": 10, "used": 2, "available": 8, "pending": 1, "nonLogin": 2 })
    );

    // USERS READ is enough.
    let (_, reader) = user_with_grants(&app, &acme, "reader", &[("USERS", "READ")], None).await;
    let granted = app
        .graphql(Some(&reader), LICENCE_USAGE, json!({}))
        .await
        .ok();
    assert_eq!(granted.data("account/licenceUsage/used"), 3);

    // Without it: the field is null with FORBIDDEN at its path, the rest stands.
    let (_, outsider) = user_with_grants(&app, &acme, "outsider", &[("ROLES", "READ")], None).await;
    let denied = app.graphql(Some(&outsider), LICENCE_USAGE, json!({})).await;
    assert_eq!(denied.codes(), vec!["FORBIDDEN"], "{}", denied.body);
    assert_eq!(
        denied.errors()[0]["path"],
        json!(["account", "licenceUsage"])
    );
    assert_eq!(denied.data("account/slug"), "acme");
    assert!(denied.data("account/licenceUsage").is_null());

    // Roles would allow it, the token's scopes do not.
    let scoped = app.token(acme.id, acme.admin_id, Some("roles:read"));
    let narrowed = app.graphql(Some(&scoped), LICENCE_USAGE, json!({})).await;
    assert_eq!(narrowed.codes(), vec!["INSUFFICIENT_SCOPES"]);
    assert_eq!(
        narrowed.errors()[0]["extensions"]["requiredScopes"],
        json!(["users:read"])
    );
    assert_eq!(narrowed.data("account/slug"), "acme");
    assert!(narrowed.data("account/licenceUsage").is_null());
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

/// Runs `liaison <args>` against the test's database with a clean `LIAISON_*` environment.
fn liaison(app: &TestApp, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    app.cli(dir.path(), args).output().expect("liaison runs")
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn the_cli_creates_lists_suspends_and_reactivates_accounts() {
    let app = TestApp::spawn().await;

    let created = liaison(
        &app,
        &[
            "account",
            "create",
            "--slug",
            "umbrella",
            "--name",
            "Umbrella Corp",
            "--admin-username",
            "alice",
            "--admin-email",
            "alice@umbrella.example.com",
            "--admin-name",
            "Alice Abernathy",
            "--licence-limit",
            "7",
        ],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let out = stdout(&created);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let account_id: AccountId = lines[0]
        .strip_prefix("account ")
        .expect("account line")
        .parse()
        .expect("account id");
    let admin_id: UserId = lines[1]
        .strip_prefix("admin ")
        .expect("admin line")
        .parse()
        .expect("admin id");

    // The printed ids are a working admin of the new account.
    let token = app.token(account_id, admin_id, None);
    let viewer = app
        .graphql(
            Some(&token),
            "{ viewer { user { username displayName } account { slug name licenceLimit } } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(
        viewer.data("viewer"),
        &json!({
            "user": { "username": "alice", "displayName": "Alice Abernathy" },
            "account": { "slug": "umbrella", "name": "Umbrella Corp", "licenceLimit": 7 },
        })
    );

    let listed = liaison(&app, &["account", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let out = stdout(&listed);
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows[0],
        [
            "SLUG",
            "STATUS",
            "SEATS_USED",
            "LICENCE_LIMIT",
            "CREATED_AT",
            "NAME"
        ]
    );
    let slugs: Vec<&str> = rows[1..].iter().map(|r| r[0]).collect();
    assert_eq!(slugs, ["demo", "umbrella"]);
    assert_eq!(rows[2][1..4], ["ACTIVE", "1", "7"]);
    assert_eq!(rows[2][5], "Umbrella Corp");

    let suspended = liaison(
        &app,
        &["account", "suspend", "umbrella", "--reason", "audit"],
    );
    assert!(suspended.status.success(), "{}", stderr(&suspended));
    assert_eq!(stdout(&suspended).trim(), "umbrella SUSPENDED");
    let refused = app
        .graphql(Some(&token), "{ viewer { user { id } } }", json!({}))
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.codes(), vec!["ACCOUNT_SUSPENDED"]);
    let only_suspended = liaison(&app, &["account", "list", "--status", "suspended"]);
    let out = stdout(&only_suspended);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("umbrella\tSUSPENDED"))
    );

    let reactivated = liaison(&app, &["account", "reactivate", "umbrella"]);
    assert!(reactivated.status.success(), "{}", stderr(&reactivated));
    assert_eq!(stdout(&reactivated).trim(), "umbrella ACTIVE");

    // The CLI's changes are audited as the system actor `cli`.
    let events = audit_events(
        &app,
        &token,
        &[
            "account.created",
            "account.suspended",
            "account.reactivated",
        ],
    )
    .await;
    let summary: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or(""),
                e["actorKind"].as_str().unwrap_or(""),
                e["actorLabel"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("account.reactivated", "SYSTEM", "cli"),
            ("account.suspended", "SYSTEM", "cli"),
            ("account.created", "SYSTEM", "cli"),
        ]
    );
}

#[tokio::test]
async fn the_cli_refuses_bad_account_input_with_exit_code_2_and_writes_nothing() {
    let app = TestApp::spawn().await;
    app.create_account("acme").await;
    let before = all_rows(&app).await;
    let create = |slug: &'static str, email: &'static str, limit: &'static str| {
        vec![
            "account",
            "create",
            "--slug",
            slug,
            "--name",
            "Some Company",
            "--admin-username",
            "boss",
            "--admin-email",
            email,
            "--licence-limit",
            limit,
        ]
    };
    for (args, says) in [
        (
            create("Bad Slug", "boss@example.com", "5"),
            "--slug: a slug has 3 to 40 characters",
        ),
        (
            create("acme", "boss@example.com", "5"),
            "--slug: an account with this slug already exists",
        ),
        (
            create("fresh", "not-an-email", "5"),
            "--admin-email: `not-an-email` is not a valid email address",
        ),
        (
            create("fresh", "boss@example.com", "0"),
            "--licence-limit: the licence limit is at least 1",
        ),
        (
            create("fresh", "boss@example.com", "-1"),
            "--licence-limit: the licence limit is at least 1",
        ),
        (
            vec!["account", "suspend", "no-such-account"],
            "no account `no-such-account`",
        ),
        (
            vec!["account", "reactivate", "no-such-account"],
            "no account `no-such-account`",
        ),
        (
            vec!["account", "create", "--slug", "fresh"],
            "required arguments were not provided",
        ),
    ] {
        let output = liaison(&app, &args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(says),
            "{args:?} says {says:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{args:?}: {}", stdout(&output));
        assert_eq!(all_rows(&app).await, before, "nothing written by {args:?}");
    }
}

#[tokio::test]
async fn the_cli_mints_operator_tokens_the_server_accepts() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    let minted = liaison(
        &app,
        &[
            "token",
            "--operator",
            "ops-carol",
            "--scope",
            "accounts:read",
            "--ttl",
            "10m",
        ],
    );
    assert!(minted.status.success(), "{}", stderr(&minted));
    let out = stdout(&minted);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "only the token is printed: {out}");
    let token = lines[0];

    let listed = app.graphql(Some(token), ACCOUNTS, json!({})).await.ok();
    assert_eq!(listed.data("accounts/totalCount"), 2);
    let viewer = app
        .graphql(Some(token), "{ viewer { user { id } } }", json!({}))
        .await;
    assert_refused(&viewer, "viewer", "FORBIDDEN");
    let suspend = mutate(
        &app,
        token,
        SUSPEND_ACCOUNT,
        json!({ "id": account_gid(&acme) }),
    )
    .await;
    assert_refused(&suspend, "suspendAccount", "INSUFFICIENT_SCOPES");

    // Without --scope: every operator right.
    let unscoped = liaison(&app, &["token", "--operator", "ops-carol"]);
    let token = stdout(&unscoped).trim().to_owned();
    let suspended = mutate(
        &app,
        &token,
        SUSPEND_ACCOUNT,
        json!({ "id": account_gid(&acme) }),
    )
    .await;
    assert_succeeded(&suspended, "suspendAccount");
    let refused = app
        .graphql(
            Some(&acme.admin_token),
            "{ viewer { user { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(refused.codes(), vec!["ACCOUNT_SUSPENDED"]);

    for (args, says) in [
        (
            vec!["token", "--operator", "ops carol"],
            "an operator name has",
        ),
        (
            vec!["token", "--operator", "ops", "--scope", "users:read"],
            "unknown operator scope `users:read`",
        ),
        (
            vec!["token", "--operator", "ops", "--account", "acme"],
            "cannot be used with",
        ),
    ] {
        let output = liaison(&app, &args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(says),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}
