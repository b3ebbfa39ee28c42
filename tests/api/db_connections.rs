//! A request's statements share one database connection: taken at its first statement, given
//! back when the request ends, and given back before the request begins a write, so that a
//! request never waits for a second connection while it holds one.

use std::time::Duration;

use liaison::store::Db;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::TestApp;

fn statement(app: &TestApp, sql: &str) -> Statement {
    Statement::from_string(app.db.get_database_backend(), sql)
}

/// Connections of the pools in use now (open, not idle).
fn in_use(app: &TestApp) -> usize {
    let (open, idle) = liaison::store::pool_stats(&app.db);
    open as usize - idle
}

/// Waits until the pools have `wanted` connections in use: on SQLite a connection goes back to
/// the pool in a task of its own, after the driver's ping.
async fn settles_at(app: &TestApp, wanted: usize) -> usize {
    for _ in 0..100 {
        if in_use(app) == wanted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    in_use(app)
}

/// A test server whose pool is idle, and the handle of a request to it.
async fn a_request_on_an_idle_pool() -> (TestApp, Db) {
    let app = TestApp::spawn().await;
    assert_eq!(settles_at(&app, 0).await, 0, "the pool starts idle");
    let request = app.db.for_request();
    (app, request)
}

#[tokio::test]
async fn a_request_runs_its_statements_on_one_connection_until_it_ends() {
    let (app, request) = a_request_on_an_idle_pool().await;
    // A temporary table lives in the session that made it: only the same connection sees it.
    request
        .execute_raw(statement(
            &app,
            "CREATE TEMPORARY TABLE held_here (x INTEGER)",
        ))
        .await
        .expect("temporary table created");
    request
        .execute_raw(statement(&app, "INSERT INTO held_here (x) VALUES (1)"))
        .await
        .expect("a later statement sees the table");
    let rows = request
        .query_all_raw(statement(&app, "SELECT x FROM held_here"))
        .await
        .expect("a later query sees the row");
    assert_eq!(rows.len(), 1);

    // Between statements the connection stays with the request (a pool handle would have given
    // it back by now).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(in_use(&app), 1, "the request holds its connection");

    // A clone (a DataLoader's, say) shares the same connection.
    let clone = request.clone();
    clone
        .query_all_raw(statement(&app, "SELECT x FROM held_here"))
        .await
        .expect("a clone uses the same connection");
    assert_eq!(in_use(&app), 1);

    drop(request);
    assert_eq!(in_use(&app), 1, "a clone still holds it");
    drop(clone);
    assert_eq!(settles_at(&app, 0).await, 0, "the connection went back");
}

#[tokio::test]
async fn a_request_gives_its_connection_back_before_it_writes() {
    let (app, request) = a_request_on_an_idle_pool().await;
    request
        .query_all_raw(statement(&app, "SELECT 1"))
        .await
        .expect("first statement");
    assert_eq!(in_use(&app), 1);

    let transaction = liaison::store::begin_write(&request)
        .await
        .expect("transaction begun");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        settles_at(&app, 1).await,
        1,
        "only the transaction's connection is in use"
    );
    transaction.commit().await.expect("committed");
    assert_eq!(
        settles_at(&app, 0).await,
        0,
        "the transaction's connection went back"
    );

    request
        .query_all_raw(statement(&app, "SELECT 1"))
        .await
        .expect("a statement after the write takes a connection again");
    assert_eq!(in_use(&app), 1);
}

#[tokio::test]
async fn a_request_that_signs_in_and_writes_needs_only_one_connection() {
    // One connection in the pool: the sign-in's connection has to go back before the mutation's
    // transaction can begin, or the request would wait for the pool until it timed out.
    let app = TestApp::spawn_with(|config| config.database_max_connections = 1, None).await;
    let account = app.create_account("one-connection").await;

    let reply = app
        .post_json(
            Some(&account.admin_token),
            &json!([
                { "query": "{ viewer { user { username } } }" },
                { "query": "mutation { createRole(input: { name: \"Auditor\", grants: [{ area: USERS, level: READ }] }) { role { name } userErrors { code } } }" },
                { "query": "{ roles(first: 10) { nodes { name } } }" },
            ]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answers = reply.body.as_array().expect("a batch answers with a list");
    for answer in answers {
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    assert_eq!(answers[1]["data"]["createRole"]["role"]["name"], "Auditor");
    let roles = answers[2]["data"]["roles"]["nodes"]
        .as_array()
        .expect("roles");
    assert!(
        roles.iter().any(|role| role["name"] == "Auditor"),
        "{roles:?}"
    );
}

/// What `SELECT <number> AS x` answers on `db`.
async fn selected_number(app: &TestApp, db: &Db, number: i32) -> i32 {
    let rows = db
        .query_all_raw(statement(app, &format!("SELECT {number} AS x")))
        .await
        .expect("the statement runs");
    assert_eq!(rows.len(), 1);
    rows[0].try_get::<i32>("", "x").expect("x")
}

/// A statement that takes about a second on either database.
fn slow_statement(app: &TestApp) -> Statement {
    match app.db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => statement(
            app,
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000000) \
             SELECT count(*) AS x FROM n",
        ),
        _ => statement(app, "SELECT 7 AS x FROM pg_sleep(1)"),
    }
}

#[tokio::test]
async fn a_connection_whose_statement_was_cut_off_serves_the_next_request_correctly() {
    // One connection: the next request must get the one the cut-off statement left behind.
    let app = TestApp::spawn_with(|config| config.database_max_connections = 1, None).await;
    let request = app.db.for_request();
    let cut_off = tokio::time::timeout(
        Duration::from_millis(50),
        request.query_all_raw(slow_statement(&app)),
    )
    .await;
    assert!(cut_off.is_err(), "the slow statement was cut off");
    drop(request);

    // The connection comes back to this request with the cut-off exchange drained: it answers
    // its own statement, not the rest of the last one.
    assert_eq!(selected_number(&app, &app.db.for_request(), 42).await, 42);
}

#[tokio::test]
async fn a_failed_statement_leaves_the_connection_usable() {
    let app = TestApp::spawn_with(|config| config.database_max_connections = 1, None).await;
    let request = app.db.for_request();
    request
        .query_all_raw(statement(&app, "SELECT no_such_column FROM users"))
        .await
        .expect_err("the statement fails");
    assert_eq!(
        selected_number(&app, &request, 5).await,
        5,
        "the same request goes on"
    );
    drop(request);
    assert_eq!(
        selected_number(&app, &app.db.for_request(), 6).await,
        6,
        "the next request too"
    );
}
