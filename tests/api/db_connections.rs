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

/// Connections of the pool in use now (open, not idle).
fn in_use(app: &TestApp) -> usize {
    let (open, idle) = liaison::store::pool_stats(&app.db);
    open as usize - idle
}

/// Waits until the pool has `wanted` connections in use: a connection goes back to the pool in a
/// task of its own, after the driver's ping.
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
