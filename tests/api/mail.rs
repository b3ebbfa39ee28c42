//! Email through the outbox: recorded with the change, delivered by the worker to a real SMTP
//! server on loopback, retried on temporary failures, never lost when a worker dies, and marking
//! an address invalid on a permanent refusal.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use liaison::clock::{Clock, ManualClock};
use liaison::mail::outbox::{DELIVER, Email};
use liaison::store::entities::outbox_message::OutboxStatus;
use liaison::store::{self, begin_write};
use sea_orm::TransactionTrait;
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{Reply, TestApp, decode_gid, user_with_grants};
use crate::smtp::TestSmtp;

const SEND: &str = "mutation($input: SendTestEmailInput!) { sendTestEmail(input: $input) { outboxMessageId userErrors { field code } } }";
const WAIT: StdDuration = StdDuration::from_secs(10);

async fn with_smtp() -> (TestApp, TestSmtp, Arc<ManualClock>) {
    let smtp = TestSmtp::start();
    let url = smtp.url();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        move |config| config.smtp_url = Some(SecretString::from(url)),
        Some(clock.clone()),
    )
    .await;
    (app, smtp, clock)
}

fn operator_token(scope: Option<&str>) -> String {
    let now = Utc::now().timestamp();
    let mut claims = json!({ "iss": "liaison", "aud": "liaison", "sub": "ops-ann", "kind": "operator", "iat": now, "nbf": now, "exp": now + 600 });
    if let Some(scope) = scope {
        claims["scope"] = json!(scope);
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(crate::helpers::TEST_SECRET.as_bytes()),
    )
    .expect("token")
}

async fn send_test_email(app: &TestApp, token: &str, to: &str, language: Option<&str>) -> Reply {
    app.graphql(
        Some(token),
        SEND,
        json!({ "input": { "to": to, "language": language } }),
    )
    .await
}

async fn outbox_status(app: &TestApp, id: uuid::Uuid) -> (OutboxStatus, i32, Option<String>) {
    let message = store::outbox::find(&app.db, id)
        .await
        .expect("find")
        .expect("message");
    (message.status, message.attempts, message.last_reply)
}

#[tokio::test]
async fn a_test_email_is_recorded_then_delivered_by_the_worker() {
    // Arrange
    let (app, smtp, _) = with_smtp().await;
    let token = operator_token(None);

    // Act
    let reply = send_test_email(&app, &token, "ann@example.com", Some("de-CH"))
        .await
        .ok();
    let before = smtp.messages().len();
    let ran = app.worker.run_pending_jobs().await.expect("worker");

    // Assert: nothing is sent from inside the request; the worker delivers it, once.
    assert_eq!(before, 0);
    assert_eq!(ran, 1);
    let received = smtp.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.to, vec!["ann@example.com"]);
    assert_eq!(mail.from, "no-reply@localhost", "from LIAISON_MAIL_FROM");
    assert_eq!(
        mail.subject(),
        "Test-E-Mail von Liaison",
        "German for de-CH"
    );
    assert_eq!(mail.header("Content-Language").as_deref(), Some("de"));
    let id: uuid::Uuid = decode_gid(
        reply
            .data("sendTestEmail/outboxMessageId")
            .as_str()
            .expect("id"),
    )
    .parse()
    .expect("uuid");
    let stored = store::outbox::find(&app.db, id)
        .await
        .expect("find")
        .expect("message");
    assert_eq!(
        mail.header("Message-ID").as_deref(),
        Some(stored.message_id.as_str())
    );
    assert_eq!(stored.status, OutboxStatus::Delivered);
    assert!(stored.delivered_at.is_some());
}

#[tokio::test]
async fn the_outbox_is_listed_for_operators_with_mail_read_only() {
    let (app, _smtp, _) = with_smtp().await;
    send_test_email(&app, &operator_token(None), "ann@example.com", None)
        .await
        .ok();
    app.worker.run_pending_jobs().await.expect("worker");
    let query = "{ outboxMessages(first: 5) { totalCount nodes { toAddress template language subject status attempts lastReply } } }";

    let granted = app
        .graphql(Some(&operator_token(Some("mail:read"))), query, json!({}))
        .await
        .ok();
    let narrowed = app
        .graphql(
            Some(&operator_token(Some("accounts:read"))),
            query,
            json!({}),
        )
        .await;
    let acme = app.create_account("acme").await;
    let account_user = app.graphql(Some(&acme.admin_token), query, json!({})).await;

    assert_eq!(granted.data("outboxMessages/totalCount"), 1);
    let node = granted.data("outboxMessages/nodes/0");
    assert_eq!(node["toAddress"], "ann@example.com");
    assert_eq!(node["language"], "en");
    assert_eq!(node["status"], "DELIVERED");
    assert_eq!(node["attempts"], 1);
    assert_eq!(narrowed.codes(), vec!["INSUFFICIENT_SCOPES"]);
    assert_eq!(account_user.codes(), vec!["FORBIDDEN"]);
}

#[tokio::test]
async fn sending_needs_an_operator_with_mail_write_and_a_valid_address() {
    let (app, _smtp, _) = with_smtp().await;
    let acme = app.create_account("acme").await;

    let by_account_user = send_test_email(&app, &acme.admin_token, "ann@example.com", None).await;
    let narrowed = send_test_email(
        &app,
        &operator_token(Some("mail:read")),
        "ann@example.com",
        None,
    )
    .await;
    let bad = send_test_email(
        &app,
        &operator_token(None),
        "not-an-address",
        Some("english"),
    )
    .await
    .ok();

    assert_eq!(by_account_user.codes(), vec!["FORBIDDEN"]);
    assert_eq!(narrowed.codes(), vec!["INSUFFICIENT_SCOPES"]);
    assert_eq!(
        narrowed.errors()[0]["extensions"]["requiredScopes"],
        json!(["mail:write"])
    );
    assert_eq!(
        bad.user_error_codes("sendTestEmail"),
        vec!["INVALID_EMAIL", "INVALID_LANGUAGE"]
    );
    assert!(
        store::jobs::by_kind(&app.db, DELIVER)
            .await
            .expect("jobs")
            .is_empty(),
        "nothing recorded"
    );
}

#[tokio::test]
async fn an_email_of_a_rolled_back_change_is_never_sent() {
    let (app, smtp, _) = with_smtp().await;
    let txn = app.db.begin().await.expect("txn");
    app.services
        .send_email(
            &txn,
            Email {
                account_id: None,
                recipient_user_id: None,
                to_address: "ann@example.com",
                to_name: None,
                template: "test-email",
                language: None,
                context: json!({ "operator": "t", "product": "Liaison" }),
            },
        )
        .await
        .expect("recorded");
    txn.rollback().await.expect("rollback");

    assert_eq!(app.worker.run_pending_jobs().await.expect("worker"), 0);
    assert!(smtp.messages().is_empty());
}

/// Records an email to a user of an account, in its own transaction.
async fn email_to_user(
    app: &TestApp,
    account: liaison::domain::ids::AccountId,
    user: liaison::domain::ids::UserId,
    address: &str,
) -> uuid::Uuid {
    let txn = begin_write(&app.db).await.expect("txn");
    let id = app
        .services
        .send_email(
            &txn,
            Email {
                account_id: Some(account),
                recipient_user_id: Some(user),
                to_address: address,
                to_name: Some("Bob"),
                template: "test-email",
                language: Some("fr"),
                context: json!({ "operator": "t", "product": "Liaison" }),
            },
        )
        .await
        .expect("recorded");
    txn.commit().await.expect("commit");
    id
}

#[tokio::test]
async fn a_permanent_refusal_fails_the_message_and_marks_the_address_invalid() {
    // Arrange
    let (app, smtp, _) = with_smtp().await;
    let acme = app.create_account("acme").await;
    let (bob, _) = user_with_grants(&app, &acme, "bob", &[], None).await;
    let bob_id = decode_gid(&bob).parse().expect("uuid");
    app.graphql(
        Some(&acme.admin_token),
        "mutation($input: UpdateUserInput!) { updateUser(input: $input) { userErrors { code } } }",
        json!({ "input": { "id": bob, "email": "bob@example.com" } }),
    )
    .await
    .ok();
    smtp.refuse_permanently("bob@example.com");
    let id = email_to_user(&app, acme.id, bob_id, "bob@example.com").await;

    // Act
    app.worker.run_pending_jobs().await.expect("worker");

    // Assert: failed for good, with the server's reply; no retry is planned.
    let (status, attempts, reply) = outbox_status(&app, id).await;
    assert_eq!(status, OutboxStatus::Failed);
    assert_eq!(attempts, 1);
    assert!(
        reply.as_deref().unwrap_or_default().contains("550"),
        "{reply:?}"
    );
    let jobs = store::jobs::by_kind(&app.db, DELIVER).await.expect("jobs");
    assert_eq!(
        jobs[0].status,
        liaison::store::entities::job::JobStatus::Failed
    );
    let user = store::users::find(&app.db, acme.id, bob_id)
        .await
        .expect("find")
        .expect("bob");
    assert!(
        user.email_invalid_at.is_some(),
        "the address is marked invalid"
    );
    assert!(smtp.messages().is_empty());
}

#[tokio::test]
async fn a_temporary_refusal_is_retried_and_then_delivered_once() {
    // Arrange
    let (app, smtp, clock) = with_smtp().await;
    let acme = app.create_account("acme").await;
    let id = email_to_user(&app, acme.id, acme.admin_id, "admin@acme.example.com").await;
    smtp.refuse_temporarily("admin@acme.example.com");

    // Act & Assert: the first attempt is refused and kept for later…
    app.worker.run_pending_jobs().await.expect("worker");
    let (status, attempts, reply) = outbox_status(&app, id).await;
    assert_eq!((status, attempts), (OutboxStatus::Pending, 1));
    assert!(
        reply.as_deref().unwrap_or_default().contains("451"),
        "{reply:?}"
    );
    // …and delivered once the server accepts again and the backoff has passed.
    smtp.accept("admin@acme.example.com");
    assert_eq!(
        app.worker.run_pending_jobs().await.expect("worker"),
        0,
        "still backing off"
    );
    clock.advance(Duration::seconds(15));
    app.worker.run_pending_jobs().await.expect("worker");
    let received = smtp.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].subject(),
        "Test email from Liaison",
        "no French version: English"
    );
    assert_eq!(outbox_status(&app, id).await.0, OutboxStatus::Delivered);
}

#[tokio::test]
async fn a_worker_killed_between_claim_and_delivery_loses_nothing_and_sends_once() {
    // Arrange: a worker claims the delivery job and dies.
    let (app, smtp, clock) = with_smtp().await;
    let acme = app.create_account("acme").await;
    let id = email_to_user(&app, acme.id, acme.admin_id, "admin@acme.example.com").await;
    let claimed =
        store::jobs::claim_next(&app.db, "dead-worker", clock.now(), Duration::seconds(60))
            .await
            .expect("claim")
            .expect("the delivery job");
    assert_eq!(claimed.kind, DELIVER);

    // Act & Assert: nothing is sent while the lease holds; afterwards, exactly once.
    assert_eq!(app.worker.run_pending_jobs().await.expect("worker"), 0);
    clock.advance(Duration::seconds(61));
    assert_eq!(app.worker.run_pending_jobs().await.expect("worker"), 1);
    assert_eq!(app.worker.run_pending_jobs().await.expect("worker"), 0);
    let received = smtp.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1);
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert_eq!(smtp.messages().len(), 1, "delivered once");
    assert_eq!(outbox_status(&app, id).await.0, OutboxStatus::Delivered);
}

#[tokio::test]
async fn without_smtp_development_writes_eml_files() {
    // Arrange
    let mail_dir = tempfile::tempdir().expect("temp dir");
    let dir = mail_dir.path().to_path_buf();
    let app = TestApp::spawn_with(move |config| config.mail_dir = Some(dir), None).await;

    // Act
    send_test_email(&app, &operator_token(None), "ann@example.com", None)
        .await
        .ok();
    app.worker.run_pending_jobs().await.expect("worker");

    // Assert
    let files: Vec<_> = std::fs::read_dir(mail_dir.path())
        .expect("mail folder")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "eml"))
        .collect();
    assert_eq!(files.len(), 1);
    let content = std::fs::read_to_string(files[0].path()).expect("eml");
    assert!(
        content.contains("Subject: Test email from Liaison"),
        "{content}"
    );
    assert!(content.contains("To: ann@example.com"));
}
