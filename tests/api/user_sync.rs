//! User sync over the API: enabling, scheduled and manual runs against the Intercom double and
//! a real SCIM 2.0 server, matching, renames, conflicts, the deletion safeguard, failed fetches,
//! previews, permissions and tenant isolation.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::fake_intercom::{AdminsFailure, FakeIntercom};
use crate::helpers::{
    TestAccount, TestApp, competing_user, create_user, decode_gid, gid, run_jobs_while_open,
    user_with_grants,
};
use crate::scim_server::ScimServer;

const TOKEN: &str = "dG9rOnN5bmNfdG9rZW4=";

const ENABLE: &str = "mutation($input: EnableUserSyncInput!) { enableUserSync(input: $input) { userSyncSource { id integrationKey enabled status everySeconds } userErrors { field code message } } }";
const RUN_NOW: &str = "mutation($id: ID!) { runUserSyncNow(input: { sourceId: $id }) { userSyncRun { id status dryRun } userErrors { code message } } }";
const PREVIEW: &str = "mutation($id: ID!) { previewUserSync(input: { sourceId: $id }) { userSyncRun { id status dryRun } userErrors { code message } } }";
const RUN: &str = "query($id: ID!) { userSyncRun(id: $id) { status dryRun error counts { fetched created updated unchanged missingUpstream deactivated conflicts failed } items(first: 50) { totalCount nodes { position externalId action status error changes { field before after } user { username status } } } } }";
const RUNS: &str = "query($id: ID!) { userSyncRuns(sourceId: $id, first: 20) { totalCount nodes { id status trigger dryRun counts { fetched created updated unchanged missingUpstream conflicts failed } } } }";
const USERS: &str = "query { users(first: 100) { nodes { username displayName firstName lastName email status } } }";

/// A server whose Intercom lists `admins`, and the account `acme` connected to it.
async fn connected(admins: &[(&str, &str, &str)]) -> (FakeIntercom, TestApp, TestAccount) {
    let intercom = FakeIntercom::accepting_any().await;
    intercom.set_admins(admins);
    let app = app_with(&intercom).await;
    let acme = app.create_account("acme").await;
    connect_intercom(&app, &acme).await;
    (intercom, app, acme)
}

/// A server whose Intercom is `intercom`, with quick retries.
async fn app_with(intercom: &FakeIntercom) -> TestApp {
    let url = intercom.url.clone();
    TestApp::spawn_with(
        move |config| {
            config.intercom_api_url = Some(url);
            config.sync_retry_attempts = 2;
            config.sync_retry_base_millis = 10;
        },
        None,
    )
    .await
}

async fn connect_intercom(app: &TestApp, account: &TestAccount) {
    app.graphql(
        Some(&account.admin_token),
        "mutation($token: String!) { connectIntegration(input: { integrationKey: \"intercom\", settings: { access_token: $token, region: \"eu\" } }) { userErrors { code message } } }",
        json!({ "token": TOKEN }),
    )
    .await
    .ok();
}

/// Enables sync from `key` and returns the source's id.
async fn enable(app: &TestApp, token: &str, input: Value) -> String {
    let reply = app
        .graphql(Some(token), ENABLE, json!({ "input": input }))
        .await
        .ok();
    assert_eq!(
        reply.user_error_codes("enableUserSync"),
        Vec::<String>::new()
    );
    reply
        .data("enableUserSync/userSyncSource/id")
        .as_str()
        .expect("source id")
        .to_owned()
}

async fn runs(app: &TestApp, token: &str, source: &str) -> Vec<Value> {
    app.graphql(Some(token), RUNS, json!({ "id": source }))
        .await
        .ok()
        .data("userSyncRuns/nodes")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn run(app: &TestApp, token: &str, id: &str) -> Value {
    app.graphql(Some(token), RUN, json!({ "id": id }))
        .await
        .ok()
        .data("userSyncRun")
        .clone()
}

/// Queues a run now, lets the worker carry it out, and returns it.
async fn run_now(app: &TestApp, token: &str, source: &str, dry_run: bool) -> Value {
    let reply = app
        .graphql(
            Some(token),
            if dry_run { PREVIEW } else { RUN_NOW },
            json!({ "id": source }),
        )
        .await
        .ok();
    let field = if dry_run {
        "previewUserSync"
    } else {
        "runUserSyncNow"
    };
    let id = reply
        .data(&format!("{field}/userSyncRun/id"))
        .as_str()
        .expect("run id")
        .to_owned();
    app.worker.run_pending_jobs().await.expect("worker");
    run(app, token, &id).await
}

async fn users(app: &TestApp, token: &str) -> Vec<Value> {
    app.graphql(Some(token), USERS, json!({}))
        .await
        .ok()
        .data("users/nodes")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn user<'a>(users: &'a [Value], username: &str) -> Option<&'a Value> {
    users.iter().find(|u| u["username"] == username)
}

async fn seats_used(app: &TestApp, account: &TestAccount) -> u64 {
    liaison::store::accounts::seats_used(&app.db, account.id)
        .await
        .expect("seats")
}

#[tokio::test]
async fn the_first_import_creates_pending_users_a_rename_updates_and_no_change_writes_nothing() {
    // Arrange: three admins and a team entry upstream.
    let (intercom, app, acme) = connected(&[
        ("101", "Ann Lee", "ann@example.com"),
        ("102", "Bo Chan", "bo@example.com"),
        ("103", "Cy Diaz", "cy@example.com"),
    ])
    .await;
    intercom.add_team("900", "Support", &["101", "102"]);
    let seats_before = seats_used(&app, &acme).await;

    // Act: enabling schedules the first run at once; the worker carries it out.
    let source = enable(
        &app,
        &acme.admin_token,
        json!({ "integrationKey": "intercom" }),
    )
    .await;
    app.worker.run_pending_jobs().await.expect("worker");

    // Assert: three PENDING users, no team, no seat taken.
    let first = runs(&app, &acme.admin_token, &source).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["status"], "SUCCEEDED");
    assert_eq!(first[0]["trigger"], "ENABLE");
    assert_eq!(first[0]["counts"]["fetched"], 3);
    assert_eq!(first[0]["counts"]["created"], 3);
    let listed = users(&app, &acme.admin_token).await;
    let ann = user(&listed, "ann@example.com").expect("Ann imported");
    assert_eq!(ann["status"], "PENDING");
    assert_eq!(ann["displayName"], "Ann Lee");
    assert!(user(&listed, "Support").is_none());
    assert_eq!(seats_used(&app, &acme).await, seats_before);
    // The next run is planned six hours (plus up to ten minutes of jitter) after this one ended.
    let ended = finished_at(&app, &decode_gid(first[0]["id"].as_str().expect("id"))).await;
    let next = next_run_at(&app, &source).await;
    assert!(
        next >= ended + chrono::Duration::hours(6)
            && next <= ended + chrono::Duration::hours(6) + chrono::Duration::minutes(10),
        "{ended} → {next}"
    );
    let headers = intercom.admins_requests();
    assert_eq!(headers[0]["intercom-version"], "2.14");
    assert_eq!(headers[0]["authorization"], format!("Bearer {TOKEN}"));

    // Act: a second run with no upstream change.
    let users_before = count_where(&app, "users", "1 = 1").await;
    let user_events_before = count_where(&app, "audit_events", "action LIKE 'user.%'").await;
    let unchanged = run_now(&app, &acme.admin_token, &source, false).await;

    // Assert: nothing written.
    assert_eq!(unchanged["status"], "SUCCEEDED");
    assert_eq!(unchanged["counts"]["unchanged"], 3);
    assert_eq!(unchanged["counts"]["created"], 0);
    assert_eq!(unchanged["counts"]["updated"], 0);
    assert_eq!(unchanged["items"]["totalCount"], 0);
    assert_eq!(count_where(&app, "users", "1 = 1").await, users_before);
    assert_eq!(
        count_where(&app, "audit_events", "action LIKE 'user.%'").await,
        user_events_before,
        "no user was touched"
    );

    // Act: Ann married; the upstream renames her.
    intercom.rename_admin("101", "Ann Smith");
    let renamed = run_now(&app, &acme.admin_token, &source, false).await;

    // Assert
    assert_eq!(renamed["counts"]["updated"], 1, "{renamed}");
    let item = &renamed["items"]["nodes"][0];
    assert_eq!(item["action"], "UPDATE");
    assert_eq!(item["status"], "APPLIED");
    assert_eq!(
        item["changes"],
        json!([{ "field": "displayName", "before": "Ann Lee", "after": "Ann Smith" }])
    );
    let listed = users(&app, &acme.admin_token).await;
    assert_eq!(
        user(&listed, "ann@example.com").expect("Ann")["displayName"],
        "Ann Smith"
    );
}

#[tokio::test]
async fn matching_links_an_existing_user_by_email_and_reports_two_candidates_as_a_conflict() {
    // Arrange: Dee exists already; two local users share Eve's address.
    let (_intercom, app, acme) = connected(&[
        ("201", "Dee Upstream", "DEE@example.com"),
        ("202", "Eve Upstream", "eve@example.com"),
    ])
    .await;
    for (username, email) in [
        ("dee", "dee@example.com"),
        ("eve1", "eve@example.com"),
        ("eve2", "eve@example.com"),
    ] {
        create_user(
            &app,
            &acme.admin_token,
            json!({ "username": username, "displayName": username, "email": email }),
        )
        .await;
    }

    // Act: a preview first, then the run.
    let source = enable(
        &app,
        &acme.admin_token,
        json!({ "integrationKey": "intercom" }),
    )
    .await;
    app.graphql(
        Some(&acme.admin_token),
        "mutation($id: ID!) { disableUserSync(input: { sourceId: $id }) { userErrors { code } } }",
        json!({ "id": source }),
    )
    .await
    .ok();
    let preview = run_now(&app, &acme.admin_token, &source, true).await;
    let users_after_preview = users(&app, &acme.admin_token).await;
    enable(
        &app,
        &acme.admin_token,
        json!({ "integrationKey": "intercom" }),
    )
    .await;
    app.worker.run_pending_jobs().await.expect("worker");
    let all = runs(&app, &acme.admin_token, &source).await;
    let real = run(&app, &acme.admin_token, all[0]["id"].as_str().expect("id")).await;

    // Assert: the preview changed nothing and foresaw exactly what the run did.
    assert_eq!(preview["dryRun"], true);
    assert_eq!(
        user(&users_after_preview, "dee").expect("dee")["displayName"],
        "dee"
    );
    let actions = |run: &Value| -> Vec<(Value, Value)> {
        run["items"]["nodes"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| (i["externalId"].clone(), i["action"].clone()))
            .collect()
    };
    assert_eq!(actions(&preview), actions(&real));
    assert_eq!(
        actions(&real),
        vec![
            (json!("201"), json!("LINK")),
            (json!("202"), json!("CONFLICT"))
        ]
    );
    assert_eq!(real["counts"]["conflicts"], 1);
    assert_eq!(real["status"], "SUCCEEDED");
    let listed = users(&app, &acme.admin_token).await;
    assert_eq!(
        user(&listed, "dee").expect("dee")["displayName"],
        "Dee Upstream"
    );
    assert!(
        user(&listed, "eve@example.com").is_none(),
        "no guess, no new user"
    );
}

/// `count` admins as Intercom lists them: ids 1 to `count`.
fn agents(count: usize) -> Vec<(String, String, String)> {
    (1..=count)
        .map(|i| {
            (
                format!("{i}"),
                format!("Agent {i}"),
                format!("agent{i}@example.com"),
            )
        })
        .collect()
}

/// Sets Intercom's admins to the first `count` of [`agents`].
fn list_agents(intercom: &FakeIntercom, count: usize) {
    let agents = agents(count);
    let triples: Vec<(&str, &str, &str)> = agents
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    intercom.set_admins(&triples);
}

/// Twelve admins imported, then eleven gone upstream (more than max(10, 20 % of 12)): a run
/// the safeguard holds. The Intercom double, the server, the account, the source and the run.
async fn held_run() -> (FakeIntercom, TestApp, TestAccount, String, Value) {
    let (intercom, app, acme) = connected(&[]).await;
    list_agents(&intercom, 12);
    let source = enable(
        &app,
        &acme.admin_token,
        json!({ "integrationKey": "intercom" }),
    )
    .await;
    app.worker.run_pending_jobs().await.expect("worker");
    list_agents(&intercom, 1);
    let held = run_now(&app, &acme.admin_token, &source, false).await;
    (intercom, app, acme, source, held)
}

#[tokio::test]
async fn a_run_that_would_flag_too_many_users_waits_for_approval_and_nothing_changes_before() {
    // Arrange / Act: twelve linked users, eleven of whom leave upstream at once.
    let (intercom, app, acme, source, held) = held_run().await;

    // Assert: held, nothing flagged yet.
    assert_eq!(held["status"], "AWAITING_APPROVAL", "{held}");
    assert_eq!(held["items"]["totalCount"], 0);
    assert_eq!(flagged(&app).await, 0);

    // Act: an admin approves.
    let id = runs(&app, &acme.admin_token, &source).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let approved = app
        .graphql(
            Some(&acme.admin_token),
            "mutation($id: ID!) { approveUserSyncRun(input: { runId: $id }) { userSyncRun { status } userErrors { code } } }",
            json!({ "id": id }),
        )
        .await
        .ok();
    assert_eq!(
        approved.data("approveUserSyncRun/userSyncRun/status"),
        "QUEUED"
    );
    app.worker.run_pending_jobs().await.expect("worker");
    let done = run(&app, &acme.admin_token, &id).await;

    // Assert: eleven flagged, none deleted or deactivated.
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(done["counts"]["missingUpstream"], 11);
    assert_eq!(flagged(&app).await, 11);
    let listed = users(&app, &acme.admin_token).await;
    assert_eq!(
        listed.iter().filter(|u| u["status"] == "PENDING").count(),
        12
    );

    // Act: a run with a small drop (two users) passes the safeguard on its own.
    list_agents(&intercom, 10);
    let back = run_now(&app, &acme.admin_token, &source, false).await;
    assert_eq!(back["status"], "SUCCEEDED");
    assert_eq!(flagged(&app).await, 2, "nine are back: {back}");
}

async fn flagged(app: &TestApp) -> i64 {
    count_where(app, "external_identities", "missing_since IS NOT NULL").await
}

#[tokio::test]
async fn an_incomplete_or_refused_fetch_changes_nothing_and_refused_credentials_tell_the_admins() {
    // Arrange: imported once.
    let (intercom, app, acme) = connected(&[("1", "Ann Lee", "ann@example.com")]).await;
    let source = enable(
        &app,
        &acme.admin_token,
        json!({ "integrationKey": "intercom" }),
    )
    .await;
    app.worker.run_pending_jobs().await.expect("worker");
    intercom.rename_admin("1", "Ann Smith");

    // Act: the upstream fails every try.
    intercom.fail_admins(AdminsFailure::ServerError, 5);
    let failed = run_now(&app, &acme.admin_token, &source, false).await;

    // Assert: FAILED, the rename not applied.
    assert_eq!(failed["status"], "FAILED", "{failed}");
    assert!(failed["error"].as_str().is_some_and(|e| !e.contains(TOKEN)));
    let listed = users(&app, &acme.admin_token).await;
    assert_eq!(
        user(&listed, "ann@example.com").expect("Ann")["displayName"],
        "Ann Lee"
    );

    // Act: the token is refused.
    intercom.revoke_tokens();
    let refused = run_now(&app, &acme.admin_token, &source, false).await;

    // Assert: FAILED, the source AUTH_FAILED, one email queued per reachable admin.
    assert_eq!(refused["status"], "FAILED");
    let sources = app
        .graphql(
            Some(&acme.admin_token),
            "{ userSyncSources { status consecutiveFailures } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(sources.data("userSyncSources/0/status"), "AUTH_FAILED");
    assert_eq!(sources.data("userSyncSources/0/consecutiveFailures"), 2);
    assert_eq!(
        count_where(
            &app,
            "outbox_messages",
            "template = 'user-sync-auth-failed'"
        )
        .await,
        1
    );
    // Two failures in a row: the next scheduled run waits four intervals (6 h each).
    let later = chrono::Utc::now() + chrono::Duration::hours(23);
    let planned = next_run_at(&app, &source).await;
    assert!(planned > later, "slowed down: {planned}");

    // Act: an empty listing.
    intercom.set_admins(&[]);
    let empty = run_now(&app, &acme.admin_token, &source, false).await;

    // Assert: an empty directory is a fault, nobody flagged.
    assert_eq!(empty["status"], "FAILED");
    assert_eq!(flagged(&app).await, 0);
}

async fn count_where(app: &TestApp, table: &str, condition: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table} WHERE {condition}"),
        ))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

#[tokio::test]
async fn a_scim_directory_is_matched_by_username_and_imports_the_rest_as_pending_users() {
    // Arrange: a real SCIM 2.0 server with two users; one exists here by username.
    let scim = ScimServer::start("scim-secret").await;
    scim.add_user("jdoe", "Jane", "Doe", "jane@example.com", true)
        .await;
    scim.add_user("rroe", "Rick", "Roe", "rick@example.com", true)
        .await;
    scim.add_user("gone", "Old", "Leaver", "old@example.com", false)
        .await;
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    create_user(
        &app,
        &acme.admin_token,
        json!({ "username": "JDoe", "displayName": "J" }),
    )
    .await;
    let connected = app
        .graphql(
            Some(&acme.admin_token),
            "mutation($input: ConnectIntegrationInput!) { connectIntegration(input: $input) { userErrors { code message } } }",
            json!({ "input": { "integrationKey": "scim", "settings": { "base_url": scim.base_url, "bearer_token": "scim-secret" } } }),
        )
        .await
        .ok();
    assert_eq!(
        connected.user_error_codes("connectIntegration"),
        Vec::<String>::new()
    );

    // Act
    let source = enable(&app, &acme.admin_token, json!({ "integrationKey": "scim" })).await;
    app.worker.run_pending_jobs().await.expect("worker");

    // Assert: JDoe linked and renamed, rroe new and pending, the inactive user not imported.
    let first = &runs(&app, &acme.admin_token, &source).await[0];
    assert_eq!(first["status"], "SUCCEEDED", "{first}");
    assert_eq!(first["counts"]["fetched"], 2);
    assert_eq!(first["counts"]["created"], 1);
    assert_eq!(first["counts"]["updated"], 1);
    let listed = users(&app, &acme.admin_token).await;
    let jdoe = user(&listed, "JDoe").expect("JDoe");
    assert_eq!(
        (&jdoe["firstName"], &jdoe["lastName"]),
        (&json!("Jane"), &json!("Doe"))
    );
    assert_eq!(
        jdoe["displayName"], "J",
        "a field the upstream leaves empty stays"
    );
    assert_eq!(jdoe["status"], "ACTIVE", "status stays local");
    assert_eq!(user(&listed, "rroe").expect("rroe")["status"], "PENDING");
    assert!(user(&listed, "gone").is_none());
}

#[tokio::test]
async fn user_sync_levels_are_enforced_and_another_account_sees_nothing() {
    // Arrange
    let intercom = FakeIntercom::accepting_any().await;
    intercom.set_admins(&[("1", "Ann Lee", "ann@example.com")]);
    let app = app_with(&intercom).await;
    let acme = app.create_account("acme").await;
    let globex = app.create_account("globex").await;
    connect_intercom(&app, &acme).await;
    let (_, reader) = user_with_grants(
        &app,
        &acme,
        "reader",
        &[("USER_SYNC", "READ"), ("USERS", "READ")],
        None,
    )
    .await;
    let (_, outsider) = user_with_grants(&app, &acme, "outsider", &[("USERS", "READ")], None).await;

    // Act / Assert: READ may not enable.
    let denied = app
        .graphql(
            Some(&reader),
            ENABLE,
            json!({ "input": { "integrationKey": "intercom" } }),
        )
        .await;
    assert_eq!(denied.codes(), vec!["FORBIDDEN"]);
    let source = enable(
        &app,
        &acme.admin_token,
        json!({ "integrationKey": "intercom" }),
    )
    .await;
    app.worker.run_pending_jobs().await.expect("worker");

    // READ sees runs, may not run; NONE sees nothing.
    assert_eq!(runs(&app, &reader, &source).await.len(), 1);
    let run_denied = app
        .graphql(Some(&reader), RUN_NOW, json!({ "id": source }))
        .await;
    assert_eq!(run_denied.codes(), vec!["FORBIDDEN"]);
    let none = app
        .graphql(Some(&outsider), "{ userSyncSources { id } }", json!({}))
        .await;
    assert_eq!(none.codes(), vec!["FORBIDDEN"]);

    // Another account's admin cannot see or run acme's source.
    let foreign = app
        .graphql(Some(&globex.admin_token), RUNS, json!({ "id": source }))
        .await
        .ok();
    assert_eq!(foreign.data("userSyncRuns/totalCount"), 0);
    let foreign_run = app
        .graphql(Some(&globex.admin_token), RUN_NOW, json!({ "id": source }))
        .await;
    assert_eq!(foreign_run.codes(), vec!["NOT_FOUND"]);
    let globex_sources = app
        .graphql(
            Some(&globex.admin_token),
            "{ userSyncSources { id } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(globex_sources.data("userSyncSources"), &json!([]));

    // An email change is personal data: a reader without USER_PII sees the item without it.
    intercom.set_admins(&[("1", "Ann Lee", "ann.lee@example.com")]);
    let changed = run_now(&app, &acme.admin_token, &source, false).await;
    assert_eq!(
        changed["items"]["nodes"][0]["changes"],
        json!([{ "field": "email", "before": "ann@example.com", "after": "ann.lee@example.com" }])
    );
    let id = runs(&app, &acme.admin_token, &source).await[0]["id"].clone();
    let as_reader = app.graphql(Some(&reader), RUN, json!({ "id": id })).await;
    assert_eq!(as_reader.codes(), vec!["FORBIDDEN"]);
    assert_eq!(
        as_reader.data("userSyncRun/items/nodes/0/changes"),
        &json!([])
    );

    // Enabling needs a connection.
    let unconnected = app
        .graphql(
            Some(&globex.admin_token),
            ENABLE,
            json!({ "input": { "integrationKey": "intercom" } }),
        )
        .await
        .ok();
    assert_eq!(
        unconnected.user_error_codes("enableUserSync"),
        vec!["NOT_CONNECTED"]
    );
}

#[tokio::test]
async fn pending_users_are_activated_with_roles_within_the_licence() {
    // Arrange: two imported users; the licence has one free seat.
    let (_intercom, app, acme) = connected(&[
        ("1", "Ann Lee", "ann@example.com"),
        ("2", "Bo Chan", "bo@example.com"),
    ])
    .await;
    enable(
        &app,
        &acme.admin_token,
        json!({ "integrationKey": "intercom" }),
    )
    .await;
    app.worker.run_pending_jobs().await.expect("worker");
    let used = seats_used(&app, &acme).await;
    app.db
        .execute_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!(
                "UPDATE accounts SET licence_limit = {} WHERE slug = 'acme'",
                used + 1
            ),
        ))
        .await
        .expect("limit");
    let pending = app
        .graphql(
            Some(&acme.admin_token),
            "{ users(first: 10, filter: { statuses: [PENDING] }) { nodes { id username } } }",
            json!({}),
        )
        .await
        .ok();
    let ids: Vec<Value> = pending
        .data("users/nodes")
        .as_array()
        .expect("nodes")
        .iter()
        .map(|u| u["id"].clone())
        .collect();
    assert_eq!(ids.len(), 2);
    let activate = "mutation($ids: [ID!]!) { activateUsers(input: { userIds: $ids, roleIds: [] }) { users { username status } userErrors { code } } }";

    // Act / Assert: both need two seats: refused, nothing activated.
    let refused = app
        .graphql(Some(&acme.admin_token), activate, json!({ "ids": ids }))
        .await
        .ok();
    assert_eq!(
        refused.user_error_codes("activateUsers"),
        vec!["LICENCE_LIMIT"]
    );
    assert_eq!(seats_used(&app, &acme).await, used);

    // One fits.
    let one = app
        .graphql(
            Some(&acme.admin_token),
            activate,
            json!({ "ids": [ids[0]] }),
        )
        .await
        .ok();
    assert_eq!(one.data("activateUsers/users/0/status"), "ACTIVE");
    assert_eq!(seats_used(&app, &acme).await, used + 1);
}

#[tokio::test]
async fn the_policy_deactivates_a_user_gone_upstream_but_never_an_account_admin() {
    // Arrange: the account admin and an agent are linked by email; the agent is active.
    let intercom = FakeIntercom::accepting_any().await;
    let app = app_with(&intercom).await;
    let acme = app.create_account("acme").await;
    let admin_email = app
        .graphql(
            Some(&acme.admin_token),
            "{ viewer { user { email } } }",
            json!({}),
        )
        .await
        .ok()
        .data("viewer/user/email")
        .as_str()
        .expect("the admin has an email")
        .to_owned();
    create_user(
        &app,
        &acme.admin_token,
        json!({ "username": "agent", "displayName": "Agent", "email": "agent@example.com" }),
    )
    .await;
    intercom.set_admins(&[
        ("1", "Boss", admin_email.as_str()),
        ("2", "Agent", "agent@example.com"),
        ("3", "Third", "third@example.com"),
    ]);
    connect_intercom(&app, &acme).await;
    let source = enable(
        &app,
        &acme.admin_token,
        json!({ "integrationKey": "intercom", "deactivateAfterMissedRuns": 1 }),
    )
    .await;
    app.worker.run_pending_jobs().await.expect("worker");

    // Act: both leave upstream.
    intercom.set_admins(&[("3", "Third", "third@example.com")]);
    let gone = run_now(&app, &acme.admin_token, &source, false).await;

    // Assert: the agent deactivated, the admin only flagged; nobody deleted.
    assert_eq!(gone["status"], "SUCCEEDED", "{gone}");
    assert_eq!(gone["counts"]["deactivated"], 1);
    assert_eq!(gone["counts"]["missingUpstream"], 2);
    let listed = users(&app, &acme.admin_token).await;
    assert_eq!(
        user(&listed, "agent").expect("agent")["status"],
        "DEACTIVATED"
    );
    let admin = listed
        .iter()
        .find(|u| u["email"] == admin_email.as_str())
        .expect("admin");
    assert_eq!(admin["status"], "ACTIVE");
    let flagged_users = app
        .graphql(
            Some(&acme.admin_token),
            "{ users(first: 50) { nodes { username missingUpstreamSince } } }",
            json!({}),
        )
        .await
        .ok();
    let missing: Vec<&Value> = flagged_users
        .data("users/nodes")
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|u| !u["missingUpstreamSince"].is_null())
        .collect();
    assert_eq!(missing.len(), 2, "{missing:?}");
}

#[tokio::test]
async fn a_rate_limited_upstream_is_waited_for_and_synced_users_can_be_activated_from_a_template() {
    // Arrange: Intercom answers 429 for about a second, with its rate-limit headers.
    let (intercom, app, acme) = connected(&[("1", "Ann Lee", "ann@example.com")]).await;
    intercom.rate_limit_admins_for(std::time::Duration::from_millis(500));

    // Act
    let source = enable(
        &app,
        &acme.admin_token,
        json!({ "integrationKey": "intercom" }),
    )
    .await;
    app.worker.run_pending_jobs().await.expect("worker");

    // Assert: the run waited for the window and succeeded.
    let first = &runs(&app, &acme.admin_token, &source).await[0];
    assert_eq!(first["status"], "SUCCEEDED", "{first}");
    assert!(intercom.admins_request_count() >= 2, "a 429 came first");

    // Act: the pending user is activated through the bulk engine, from a template.
    let template = create_user(
        &app,
        &acme.admin_token,
        json!({ "username": "template.supervisor", "displayName": "Template", "userType": "SUPERVISOR" }),
    )
    .await;
    let pending = app
        .graphql(
            Some(&acme.admin_token),
            "{ users(first: 10, filter: { statuses: [PENDING] }) { nodes { id } } }",
            json!({}),
        )
        .await
        .ok();
    let ann = pending.data("users/nodes/0/id").clone();
    let job = app
        .graphql(
            Some(&acme.admin_token),
            "mutation($input: UsersFromTemplateInput!) { createUsersFromTemplate(input: $input) { bulkUserJob { id } userErrors { code message } } }",
            json!({ "input": { "templateUserId": template, "pendingUserIds": [ann] } }),
        )
        .await
        .ok();
    assert_eq!(
        job.user_error_codes("createUsersFromTemplate"),
        Vec::<String>::new()
    );
    app.worker.run_pending_jobs().await.expect("worker");

    // Assert
    let listed = users(&app, &acme.admin_token).await;
    assert_eq!(
        user(&listed, "ann@example.com").expect("Ann")["status"],
        "ACTIVE"
    );
}

#[tokio::test]
async fn two_server_processes_on_one_database_run_a_scheduled_sync_once() {
    // Arrange: an account with sync enabled (its first run due now), no worker of its own.
    let intercom = FakeIntercom::accepting_any().await;
    intercom.set_admins(&[
        ("1", "Ann Lee", "ann@example.com"),
        ("2", "Bo Chan", "bo@example.com"),
    ]);
    let ring = format!(
        "k1:{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32])
    );
    let url = intercom.url.clone();
    let keys = ring.clone();
    let app = TestApp::spawn_with(
        move |config| {
            config.intercom_api_url = Some(url);
            config.secret_keys = Some(secrecy::SecretString::from(keys));
        },
        None,
    )
    .await;
    let acme = app.create_account("acme").await;
    connect_intercom(&app, &acme).await;
    let source = enable(
        &app,
        &acme.admin_token,
        json!({ "integrationKey": "intercom" }),
    )
    .await;
    let data = tempfile::tempdir().expect("temp dir");
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_liaison"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("LIAISON_DATABASE_URL", &app.database_url)
            .env("LIAISON_BIND", "127.0.0.1:0")
            .env("LIAISON_DATA_DIR", data.path())
            .env("LIAISON_SECRET_KEYS", &ring)
            .env("LIAISON_INTERCOM_API_URL", &intercom.url)
            .env("LIAISON_WORKER_POLL_MILLIS", "50")
            .env("LIAISON_CONTACT_REMINDERS_ENABLED", "false")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("server starts")
    };
    let mut servers = [spawn(), spawn()];

    // Act: wait until a run has finished, then a little more.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while count_where(&app, "sync_runs", "status = 'SUCCEEDED'").await == 0
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    for server in &mut servers {
        std::process::Command::new("kill")
            .args(["-TERM", &server.id().to_string()])
            .status()
            .expect("kill");
    }
    for server in &mut servers {
        assert!(server.wait().expect("exits").success(), "a clean shutdown");
    }

    // Assert: one run, one fetch, each user imported once.
    let all = runs(&app, &acme.admin_token, &source).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["status"], "SUCCEEDED");
    assert_eq!(intercom.admins_request_count(), 1);
    assert_eq!(count_where(&app, "users", "status = 'PENDING'").await, 2);
}

#[tokio::test]
async fn a_directory_url_into_the_servers_own_network_is_refused_unless_allowed() {
    // Arrange: a server that refuses private addresses (production's default) and a SCIM
    // directory on loopback.
    let scim = ScimServer::start("scim-secret").await;
    scim.add_user("jdoe", "Jane", "Doe", "jane@example.com", true)
        .await;
    let app = TestApp::spawn_with(
        |config| config.sync_allow_private_addresses = Some(false),
        None,
    )
    .await;
    let acme = app.create_account("acme").await;
    app.graphql(
        Some(&acme.admin_token),
        "mutation($input: ConnectIntegrationInput!) { connectIntegration(input: $input) { userErrors { code } } }",
        json!({ "input": { "integrationKey": "scim", "settings": { "base_url": scim.base_url, "bearer_token": "scim-secret" } } }),
    )
    .await
    .ok();

    // Act
    let source = enable(&app, &acme.admin_token, json!({ "integrationKey": "scim" })).await;
    app.worker.run_pending_jobs().await.expect("worker");

    // Assert: the run failed before any request, and imported nobody.
    let first = &runs(&app, &acme.admin_token, &source).await[0];
    let run = run(&app, &acme.admin_token, first["id"].as_str().expect("id")).await;
    assert_eq!(run["status"], "FAILED");
    assert!(
        run["error"]
            .as_str()
            .is_some_and(|e| e.contains("private network")),
        "{run}"
    );
    assert_eq!(count_where(&app, "users", "status = 'PENDING'").await, 0);
}

#[tokio::test]
async fn a_username_another_writer_takes_during_an_import_costs_only_that_user() {
    // Arrange: three new admins upstream; another writer, still uncommitted, takes the
    // username the second one would get.
    use sea_orm::{ActiveModelTrait, TransactionTrait};
    let (_intercom, app, acme) = connected(&[
        ("1", "Ann Lee", "ann@example.com"),
        ("2", "Bo Chan", "bo@example.com"),
        ("3", "Cy Diaz", "cy@example.com"),
    ])
    .await;
    let source = enable(
        &app,
        &acme.admin_token,
        json!({ "integrationKey": "intercom" }),
    )
    .await;
    let other = app.db.pool().begin().await.expect("competing transaction");
    competing_user(&acme, "BO@example.com", None)
        .insert(&other)
        .await
        .expect("competing insert");

    // Act: the run goes while the other writer is open (PostgreSQL: the chunk's checks pass and
    // its insert waits on the unique index; SQLite: the run waits for the write lock).
    let postgres = app.database_url.starts_with("postgres");
    run_jobs_while_open(&app, other).await;

    // Assert: Ann and Cy imported; Bo alone failed (PostgreSQL, a conflict at the insert) or was
    // reported as a conflict (SQLite, whose checks saw the other writer's user).
    let first = &runs(&app, &acme.admin_token, &source).await[0];
    let done = run(&app, &acme.admin_token, first["id"].as_str().expect("id")).await;
    assert_eq!(done["counts"]["created"], 2, "{done}");
    let bo: Vec<&Value> = done["items"]["nodes"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["externalId"] == "2")
        .collect();
    if postgres {
        assert_eq!(done["status"], "PARTIAL");
        assert_eq!(bo[0]["status"], "FAILED");
    } else {
        assert_eq!(done["status"], "SUCCEEDED");
        assert_eq!(bo[0]["action"], "CONFLICT");
    }
    let listed = users(&app, &acme.admin_token).await;
    assert!(user(&listed, "ann@example.com").is_some());
    assert!(user(&listed, "cy@example.com").is_some());
}

/// When the source's schedule fires next.
async fn next_run_at(app: &TestApp, source: &str) -> chrono::DateTime<chrono::Utc> {
    let name = format!("user_sync:{}", decode_gid(source));
    liaison::store::schedules::find(&app.db, &name)
        .await
        .expect("schedule")
        .and_then(|schedule| schedule.next_run_at)
        .expect("a next run")
}

/// When a run ended, as recorded.
async fn finished_at(app: &TestApp, run: &str) -> chrono::DateTime<chrono::Utc> {
    use sea_orm::EntityTrait;
    let id: uuid::Uuid = run.parse().expect("run uuid");
    liaison::store::entities::sync_run::Entity::find_by_id(liaison::domain::ids::SyncRunId(id))
        .one(&app.db)
        .await
        .expect("run")
        .and_then(|run| run.finished_at)
        .expect("finished")
}

const DECIDE: &str = "mutation($id: ID!, $approve: Boolean!) { approveUserSyncRun(input: { runId: $id }) @include(if: $approve) { userSyncRun { status } userErrors { code } } rejectUserSyncRun(input: { runId: $id }) @skip(if: $approve) { userSyncRun { status } userErrors { code } } }";

#[tokio::test]
async fn a_rejected_run_changes_nothing_frees_its_source_and_cannot_be_decided_again() {
    // Arrange: a run the safeguard holds.
    let (_intercom, app, acme, source, held) = held_run().await;
    assert_eq!(held["status"], "AWAITING_APPROVAL", "{held}");
    let id = runs(&app, &acme.admin_token, &source).await[0]["id"].clone();
    let token = Some(acme.admin_token.as_str());

    // Act: an admin rejects it.
    let rejected = app
        .graphql(token, DECIDE, json!({ "id": id, "approve": false }))
        .await
        .ok();

    // Assert: REJECTED, nobody flagged, and the source takes a new run.
    assert_eq!(
        rejected.data("rejectUserSyncRun/userSyncRun/status"),
        "REJECTED"
    );
    assert_eq!(flagged(&app).await, 0);
    let again = app
        .graphql(token, RUN_NOW, json!({ "id": source }))
        .await
        .ok();
    assert_ne!(again.data("runUserSyncNow/userSyncRun/id"), &id);
    for approve in [true, false] {
        let field = if approve {
            "approveUserSyncRun"
        } else {
            "rejectUserSyncRun"
        };
        let decided = app
            .graphql(token, DECIDE, json!({ "id": id, "approve": approve }))
            .await
            .ok();
        assert_eq!(
            decided.user_error_codes(field),
            vec!["NOT_AWAITING_APPROVAL"]
        );
    }
}

#[tokio::test]
async fn bad_sync_settings_are_refused_with_a_code_and_change_nothing() {
    // Arrange
    let (_intercom, app, acme) = connected(&[("1", "Ann Lee", "ann@example.com")]).await;
    let token = Some(acme.admin_token.as_str());
    let refused = async |input: Value| {
        app.graphql(token, ENABLE, json!({ "input": input }))
            .await
            .ok()
            .user_error_codes("enableUserSync")
    };

    // Act / Assert: an integration that is no directory, too short an interval, a policy of
    // zero runs; no source was recorded.
    assert_eq!(
        refused(json!({ "integrationKey": "salesforce" })).await,
        vec!["NOT_A_DIRECTORY"]
    );
    assert_eq!(
        refused(json!({ "integrationKey": "intercom", "everySeconds": 60 })).await,
        vec!["INVALID_SCHEDULE"]
    );
    assert_eq!(
        refused(json!({ "integrationKey": "intercom", "deactivateAfterMissedRuns": 0 })).await,
        vec!["INVALID_POLICY"]
    );
    assert_eq!(count_where(&app, "sync_sources", "1 = 1").await, 0);

    // A valid interval is kept; a disabled source takes no run.
    let source = enable(
        &app,
        &acme.admin_token,
        json!({ "integrationKey": "intercom", "everySeconds": 3600 }),
    )
    .await;
    let updated = app
        .graphql(
            token,
            "mutation($id: ID!) { updateUserSync(input: { sourceId: $id, everySeconds: 7200, primaryIdentifier: EMAIL }) { userSyncSource { everySeconds } userErrors { code } } }",
            json!({ "id": source }),
        )
        .await
        .ok();
    assert_eq!(
        updated.data("updateUserSync/userSyncSource/everySeconds"),
        7200
    );
    app.graphql(
        token,
        "mutation($id: ID!) { disableUserSync(input: { sourceId: $id }) { userErrors { code } } }",
        json!({ "id": source }),
    )
    .await
    .ok();
    let disabled = app
        .graphql(token, RUN_NOW, json!({ "id": source }))
        .await
        .ok();
    assert_eq!(
        disabled.user_error_codes("runUserSyncNow"),
        vec!["SYNC_DISABLED"]
    );
}

#[tokio::test]
async fn activating_needs_pending_users_known_roles_and_no_more_rights_than_the_callers() {
    // Arrange: one imported pending user; a user manager without ROLES FULL; a role manager
    // whose own rights are narrower than the admin role's.
    let (_intercom, app, acme) = connected(&[("1", "Ann Lee", "ann@example.com")]).await;
    enable(
        &app,
        &acme.admin_token,
        json!({ "integrationKey": "intercom" }),
    )
    .await;
    app.worker.run_pending_jobs().await.expect("worker");
    let pending = app
        .graphql(
            Some(&acme.admin_token),
            "{ users(first: 10, filter: { statuses: [PENDING] }) { nodes { id } } }",
            json!({}),
        )
        .await
        .ok()
        .data("users/nodes/0/id")
        .clone();
    let admin = gid("User", acme.admin_id);
    let (_, manager) = user_with_grants(&app, &acme, "manager", &[("USERS", "FULL")], None).await;
    let (_, roles_manager) = user_with_grants(
        &app,
        &acme,
        "roles.manager",
        &[("USERS", "FULL"), ("ROLES", "FULL")],
        None,
    )
    .await;
    let admin_role = app
        .graphql(
            Some(&acme.admin_token),
            "{ roles(first: 20) { nodes { id isAccountAdmin } } }",
            json!({}),
        )
        .await
        .ok()
        .data("roles/nodes")
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["isAccountAdmin"] == true)
        .expect("the admin role")["id"]
        .clone();
    let activate = "mutation($users: [ID!]!, $roles: [ID!]!) { activateUsers(input: { userIds: $users, roleIds: $roles }) { users { status } userErrors { code } } }";
    let ask = async |token: &str, users: Value, roles: Value| {
        app.graphql(
            Some(token),
            activate,
            json!({ "users": users, "roles": roles }),
        )
        .await
    };

    // Act / Assert
    let without_roles_full = ask(&manager, json!([pending]), json!([])).await;
    assert_eq!(without_roles_full.codes(), vec!["FORBIDDEN"]);
    let escalating = ask(&roles_manager, json!([pending]), json!([admin_role])).await;
    assert_eq!(escalating.codes(), vec!["FORBIDDEN"]);
    let not_pending = ask(&acme.admin_token, json!([admin]), json!([])).await.ok();
    assert_eq!(
        not_pending.user_error_codes("activateUsers"),
        vec!["NOT_PENDING"]
    );
    let unknown_role = ask(
        &acme.admin_token,
        json!([pending]),
        json!([gid("Role", uuid::Uuid::new_v4())]),
    )
    .await
    .ok();
    assert_eq!(
        unknown_role.user_error_codes("activateUsers"),
        vec!["UNKNOWN_ROLE"]
    );
    assert_eq!(count_where(&app, "users", "status = 'PENDING'").await, 1);

    // The admin may.
    let activated = ask(&acme.admin_token, json!([pending]), json!([]))
        .await
        .ok();
    assert_eq!(activated.data("activateUsers/users/0/status"), "ACTIVE");
}
