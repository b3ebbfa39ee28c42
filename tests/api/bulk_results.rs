//! Following a bulk user job from outside: the `bulkUserJobProgress` subscription (read from the
//! database, so any replica may run the job) and the results file download.

use std::time::Duration;

use serde_json::{Value, json};

use crate::bulk_users::record_job;
use crate::helpers::{TestAccount, TestApp, create_user, user_with_grants};
use crate::http::{Incoming, init, open_socket, receive, send};

/// A queued job of an agent template: `ada` will be created, `bob` fails for want of a phone.
async fn queued_job(app: &TestApp, account: &TestAccount) -> String {
    let token = account.admin_token.as_str();
    let template = create_user(
        app,
        token,
        json!({ "username": "template.agent", "displayName": "Template", "userType": "AGENT", "phone": "+41445550100", "agentId": 1 }),
    )
    .await;
    record_job(
        app,
        token,
        json!({ "templateUserId": template, "generateAgentIds": { "startingId": 100 }, "rows": [
            { "username": "ada", "displayName": "=HYPERLINK(\"x\")", "email": "ada@acme.example.com", "phone": "+41445550101" },
            { "username": "bob", "displayName": "Bob", "email": "bob@acme.example.com" },
        ] }),
    )
    .await
}

const PROGRESS: &str = "subscription($id: ID!) { bulkUserJobProgress(id: $id) { status progress { processed created failed } } }";

async fn subscribe(app: &TestApp, token: &str, job: &str) -> crate::http::Socket {
    let mut socket = open_socket(app).await;
    let ack = init(&mut socket, token).await;
    assert!(
        matches!(&ack, Incoming::Json(m) if m["type"] == "connection_ack"),
        "{ack:?}"
    );
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": PROGRESS, "variables": { "id": job } } }),
    )
    .await;
    socket
}

/// The messages of a subscription until it completes, errs or stays silent for 5 s.
async fn messages_until_done(socket: &mut crate::http::Socket) -> Vec<Value> {
    let mut messages = Vec::new();
    while let Incoming::Json(message) = receive(socket, Duration::from_secs(5)).await {
        let done = message["type"] != "next" || message["payload"].get("errors").is_some();
        messages.push(message);
        if done {
            break;
        }
    }
    messages
}

fn error_codes(message: &Value) -> Vec<String> {
    let errors = match message["type"].as_str() {
        Some("error") => &message["payload"],
        _ => &message["payload"]["errors"],
    };
    errors
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_progress_subscription_follows_a_job_until_it_finishes_and_refuses_outsiders() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let other = app.create_account("other").await;
    let job = queued_job(&app, &acme).await;
    let (_, reader) =
        user_with_grants(&app, &acme, "reader", &[("BULK_USERS", "READ")], None).await;
    let (_, outsider) = user_with_grants(&app, &acme, "outsider", &[("USERS", "READ")], None).await;

    // Act: subscribe while the job waits, then run it.
    let mut watching = subscribe(&app, &reader, &job).await;
    let first = receive(&mut watching, Duration::from_secs(5)).await;
    app.worker.run_pending_jobs().await.expect("worker");
    let rest = messages_until_done(&mut watching).await;
    let mut refused = subscribe(&app, &outsider, &job).await;
    let forbidden = receive(&mut refused, Duration::from_secs(5)).await;
    let mut foreign = subscribe(&app, &other.admin_token, &job).await;
    let not_found = receive(&mut foreign, Duration::from_secs(5)).await;

    // Assert
    let Incoming::Json(first) = first else {
        panic!("no first event: {first:?}");
    };
    assert_eq!(
        first["payload"]["data"]["bulkUserJobProgress"],
        json!({ "status": "QUEUED", "progress": { "processed": 0, "created": 0, "failed": 0 } }),
        "{first}"
    );
    let (last, events) = rest.split_last().expect("more messages");
    assert_eq!(
        last["type"], "complete",
        "the stream ends with the job: {rest:?}"
    );
    let finished = &events.last().expect("a final event")["payload"]["data"]["bulkUserJobProgress"];
    assert_eq!(
        finished,
        &json!({ "status": "COMPLETED_WITH_ERRORS", "progress": { "processed": 2, "created": 1, "failed": 1 } }),
        "{rest:?}"
    );
    let Incoming::Json(forbidden) = forbidden else {
        panic!("no answer: {forbidden:?}");
    };
    assert_eq!(error_codes(&forbidden), vec!["FORBIDDEN"], "{forbidden}");
    let Incoming::Json(not_found) = not_found else {
        panic!("no answer: {not_found:?}");
    };
    assert_eq!(error_codes(&not_found), vec!["NOT_FOUND"], "{not_found}");
}

async fn download(app: &TestApp, token: Option<&str>, job: &str) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url(&format!("/bulk-jobs/{job}/results.csv")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request sent")
}

/// A downloaded file as a header and records.
async fn records(response: reqwest::Response) -> (Vec<String>, Vec<Vec<String>>) {
    let body = response.text().await.expect("a body");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("a record").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

async fn refusal_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON refusal");
    (
        status,
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn the_results_file_lists_every_row_and_shows_personal_data_only_to_pii_readers() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let other = app.create_account("other").await;
    let job = queued_job(&app, &acme).await;
    app.worker.run_pending_jobs().await.expect("worker");
    let (_, reader) =
        user_with_grants(&app, &acme, "reader", &[("BULK_USERS", "READ")], None).await;
    let (_, outsider) = user_with_grants(&app, &acme, "outsider", &[("USERS", "READ")], None).await;

    // Act
    let by_admin = download(&app, Some(&acme.admin_token), &job).await;
    let content_type = by_admin.headers()[reqwest::header::CONTENT_TYPE].clone();
    let (admin_header, admin_rows) = records(by_admin).await;
    let (reader_header, reader_rows) = records(download(&app, Some(&reader), &job).await).await;
    let by_outsider = refusal_code(download(&app, Some(&outsider), &job).await).await;
    let anonymous = refusal_code(download(&app, None, &job).await).await;
    let from_other = refusal_code(download(&app, Some(&other.admin_token), &job).await).await;
    let unknown = refusal_code(download(&app, Some(&acme.admin_token), "not-a-job").await).await;

    // Assert
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let column = |header: &[String], name: &str| {
        header
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no {name} column in {header:?}"))
    };
    assert_eq!(admin_rows.len(), 2);
    let (status, errors, email, display) = (
        column(&admin_header, "status"),
        column(&admin_header, "errors"),
        column(&admin_header, "email"),
        column(&admin_header, "displayName"),
    );
    assert_eq!(admin_rows[0][status], "CREATED");
    assert_eq!(admin_rows[0][column(&admin_header, "resultAgentId")], "100");
    assert!(admin_rows[0][column(&admin_header, "userId")].len() > 10);
    assert_eq!(
        admin_rows[0][display], "'=HYPERLINK(\"x\")",
        "a formula typed into a row cannot run in a spreadsheet"
    );
    assert_eq!(admin_rows[0][email], "ada@acme.example.com");
    assert_eq!(admin_rows[1][status], "FAILED");
    assert!(
        admin_rows[1][errors].starts_with("NO_PHONE"),
        "{}",
        admin_rows[1][errors]
    );
    assert_eq!(reader_rows.len(), 2);
    assert!(
        !reader_header.iter().any(|c| c == "email" || c == "phone"),
        "{reader_header:?}"
    );
    assert!(!reader_rows.concat().iter().any(|cell| cell.contains('@')));
    assert_eq!(by_outsider, (403, "FORBIDDEN".to_owned()));
    assert_eq!(anonymous, (401, "UNAUTHENTICATED".to_owned()));
    assert_eq!(from_other, (404, "NOT_FOUND".to_owned()));
    assert_eq!(unknown, (404, "NOT_FOUND".to_owned()));
}
