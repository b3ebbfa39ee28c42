//! Email through the outbox: recorded with the change, delivered by the worker to a real SMTP
//! server on loopback, retried on temporary failures, never lost when a worker dies, and marking
//! an address invalid on a permanent refusal. Below, in `building_blocks`, the templates and the
//! transports on their own, through the library's API.

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
    crate::helpers::operator_token("ops-ann", scope)
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
    let txn = app.db.pool().begin().await.expect("txn");
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
    let job = jobs
        .iter()
        .find(|job| job.payload["outboxId"] == json!(id))
        .expect("the delivery job");
    assert_eq!(job.status, liaison::store::entities::job::JobStatus::Failed);
    let user = store::users::find(&app.db, acme.id, bob_id)
        .await
        .expect("find")
        .expect("bob");
    assert!(
        user.email_invalid_at.is_some(),
        "the address is marked invalid"
    );
    // The account's admin is told, once; nothing reached bob.
    let received = smtp.messages();
    assert_eq!(received.len(), 1, "only the admin's notification arrives");
    assert_eq!(received[0].to, vec!["admin@acme.example.com"]);
    assert!(
        received[0]
            .text()
            .unwrap_or_default()
            .contains("bob@example.com"),
        "{:?}",
        received[0].text()
    );
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

/// Templates and transports without a server: render, send to the loopback SMTP server or into a
/// folder, and read the result back as a mail client would.
mod building_blocks {
    use std::net::TcpListener;
    use std::time::Duration;

    use liaison::config::Config;
    use liaison::mail::templates::{RenderedEmail, Templates};
    use liaison::mail::transport::{MailTransport, OutgoingMessage, SMTP_TIMEOUT, SendError};
    use secrecy::SecretString;
    use serde_json::json;

    use crate::smtp::{ReceivedMail, TestSmtp};

    const MESSAGE_ID: &str = "<0f6c2b1e9d8a4c3b@liaison.test>";

    fn render(language: &str) -> RenderedEmail {
        Templates::built_in("en")
            .expect("templates")
            .render(
                "test-email",
                language,
                &json!({ "operator": "ops-ann", "product": "Liaison" }),
            )
            .expect("rendered")
    }

    fn outgoing(rendered: RenderedEmail, to: &str) -> OutgoingMessage {
        OutgoingMessage {
            from: "Liaison <no-reply@liaison.test>".into(),
            to_address: to.into(),
            to_name: Some("Jörg Müller".into()),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            message_id: MESSAGE_ID.into(),
            language: Some(rendered.language),
        }
    }

    fn transport_to(smtp: &TestSmtp) -> MailTransport {
        MailTransport::smtp(&SecretString::from(smtp.url()), SMTP_TIMEOUT).expect("transport")
    }

    /// A loopback port nobody listens on.
    fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    }

    #[tokio::test]
    async fn a_rendered_email_arrives_as_written_with_its_message_id() {
        // Arrange
        let smtp = TestSmtp::start();
        let rendered = render("de-CH");
        let message = outgoing(rendered.clone(), "joerg@example.com");

        // Act
        transport_to(&smtp).send(&message).await.expect("sent");

        // Assert
        let received = smtp.messages();
        assert_eq!(received.len(), 1);
        let mail = &received[0];
        assert_eq!(mail.from, "no-reply@liaison.test");
        assert_eq!(mail.to, vec!["joerg@example.com"]);
        assert_eq!(mail.subject(), "Test-E-Mail von Liaison");
        assert_eq!(mail.header("Content-Language").as_deref(), Some("de"));
        assert_eq!(mail.header("Message-ID").as_deref(), Some(MESSAGE_ID));
        assert_eq!(
            mail.decoded_header("To").as_deref(),
            Some("Jörg Müller <joerg@example.com>")
        );
        assert_eq!(
            mail.decoded_header("From").as_deref(),
            Some("Liaison <no-reply@liaison.test>")
        );
        assert_eq!(mail.content_type(), "multipart/alternative");
        assert_eq!(mail.part_types(), vec!["text/plain", "text/html"]);
        assert_eq!(mail.text(), Some(rendered.text));
        assert_eq!(mail.html(), rendered.html);
        assert!(
            mail.text().unwrap_or_default().contains("können"),
            "umlauts survive the transfer encoding"
        );
    }

    #[tokio::test]
    async fn a_recipient_without_a_translation_gets_the_default_language() {
        let smtp = TestSmtp::start();

        transport_to(&smtp)
            .send(&outgoing(render("fr-CA"), "ann@example.com"))
            .await
            .expect("sent");

        let mail = &smtp.messages()[0];
        assert_eq!(mail.subject(), "Test email from Liaison");
        assert_eq!(mail.header("Content-Language").as_deref(), Some("en"));
        assert!(
            mail.text()
                .unwrap_or_default()
                .contains("this is a test email sent by ops-ann from Liaison")
        );
    }

    #[tokio::test]
    async fn a_message_without_html_is_a_single_text_part() {
        let smtp = TestSmtp::start();
        let message = OutgoingMessage {
            html: None,
            subject: "Grüße aus Zürich".into(),
            // Mostly non-ASCII: lettre sends it as base64.
            text: "こんにちは、世界。\nテストメールです。".into(),
            ..outgoing(render("de"), "ann@example.com")
        };

        transport_to(&smtp).send(&message).await.expect("sent");

        let mail = &smtp.messages()[0];
        assert_eq!(mail.content_type(), "text/plain");
        assert_eq!(mail.part_types(), vec!["text/plain"]);
        assert_eq!(
            mail.header("Content-Transfer-Encoding").as_deref(),
            Some("base64")
        );
        assert_eq!(mail.html(), None);
        assert_eq!(mail.text(), Some(message.text.clone()));
        assert_eq!(mail.subject(), "Grüße aus Zürich");
    }

    #[tokio::test]
    async fn a_permanent_refusal_is_permanent_with_the_servers_reply() {
        // Arrange
        let smtp = TestSmtp::start();
        smtp.refuse_permanently("gone@example.com");
        let transport = transport_to(&smtp);

        // Act
        let refused = transport
            .send(&outgoing(render("en"), "gone@example.com"))
            .await;
        let next = transport
            .send(&outgoing(render("en"), "ann@example.com"))
            .await;

        // Assert: the reply is kept word for word; the transport goes on working.
        assert_eq!(
            refused,
            Err(SendError::Permanent {
                reply: "550 5.1.1 no such user".into()
            })
        );
        assert_eq!(next, Ok(()));
        let received = smtp.messages();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].to, vec!["ann@example.com"]);
    }

    #[tokio::test]
    async fn a_temporary_refusal_is_transient_and_a_retry_keeps_the_message_id() {
        // Arrange
        let smtp = TestSmtp::start();
        smtp.refuse_temporarily("busy@example.com");
        let transport = transport_to(&smtp);
        let message = outgoing(render("en"), "busy@example.com");

        // Act
        let first = transport.send(&message).await;
        smtp.accept("busy@example.com");
        let retry = transport.send(&message).await;

        // Assert
        assert_eq!(
            first,
            Err(SendError::Transient {
                reply: "451 4.3.0 try again later".into()
            })
        );
        assert_eq!(retry, Ok(()));
        let received = smtp.messages();
        assert_eq!(received.len(), 1);
        assert_eq!(
            received[0].header("Message-ID").as_deref(),
            Some(MESSAGE_ID)
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_transient_and_the_credentials_stay_secret() {
        let url = format!("smtp://ann.admin:s3cret-pass@127.0.0.1:{}", closed_port());
        let transport =
            MailTransport::smtp(&SecretString::from(url), SMTP_TIMEOUT).expect("transport");

        let result = transport
            .send(&outgoing(render("en"), "ann@example.com"))
            .await;

        let Err(SendError::Transient { reply }) = result else {
            panic!("expected a transient failure, got {result:?}");
        };
        assert!(reply.contains("Connection refused"), "{reply}");
        assert!(
            !reply.contains("s3cret") && !reply.contains("ann.admin"),
            "{reply}"
        );
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_transient_after_the_timeout() {
        // A listener that never accepts: the connection opens, the greeting never comes.
        let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "smtp://127.0.0.1:{}",
            silent.local_addr().expect("address").port()
        );
        let transport = MailTransport::smtp(&SecretString::from(url), Duration::from_millis(500))
            .expect("transport");

        let result = transport
            .send(&outgoing(render("en"), "ann@example.com"))
            .await;

        assert_eq!(
            result,
            Err(SendError::Transient {
                reply: "no answer from the SMTP server within 0.5 s".into()
            })
        );
    }

    #[test]
    fn an_unusable_smtp_url_is_refused_without_its_credentials() {
        for url in [
            "ftp://ann.admin:s3cret-pass@mail.example.com",
            "smtp://ann.admin:s3cret-pass@mail.example.com?tls=sometimes",
            "smtp://ann.admin:s3cret-pass@",
            "ann.admin:s3cret-pass",
        ] {
            let config = Config {
                smtp_url: Some(SecretString::from(url)),
                ..Config::default()
            };

            let error = MailTransport::from_config(&config).expect_err(url);

            assert!(error.starts_with("LIAISON_SMTP_URL"), "{error}");
            assert!(
                !error.contains("s3cret") && !error.contains("ann.admin"),
                "{error}"
            );
        }
    }

    #[tokio::test]
    async fn every_kind_of_smtp_url_is_accepted() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://user:pass@mail.example.com:587?tls=required",
            "smtp://mail.example.com?tls=opportunistic",
            "smtps://user:p%40ss@mail.example.com",
        ] {
            let config = Config {
                smtp_url: Some(SecretString::from(url)),
                ..Config::default()
            };

            let transport = MailTransport::from_config(&config);

            assert!(
                matches!(transport, Ok(MailTransport::Smtp { timeout, .. }) if timeout == SMTP_TIMEOUT),
                "{url}"
            );
        }
    }

    #[test]
    fn an_invalid_sender_is_refused_when_the_transport_is_built() {
        let config = Config {
            mail_from: "Liaison (no address)".into(),
            smtp_url: Some(SecretString::from("smtp://127.0.0.1:2525")),
            ..Config::default()
        };

        let error = MailTransport::from_config(&config).expect_err("refused");

        assert!(error.starts_with("LIAISON_MAIL_FROM"), "{error}");
    }

    #[tokio::test]
    async fn without_smtp_messages_are_written_as_eml_files_into_the_mail_folder() {
        // Arrange: a folder that does not exist yet.
        let root = tempfile::tempdir().expect("temp dir");
        let folder = root.path().join("mail").join("out");
        let config = Config {
            mail_dir: Some(folder.clone()),
            ..Config::default()
        };
        let transport = MailTransport::from_config(&config).expect("transport");
        let rendered = render("de");

        // Act
        transport
            .send(&outgoing(rendered.clone(), "ann@example.com"))
            .await
            .expect("written");

        // Assert: one readable message.
        assert!(matches!(&transport, MailTransport::Files(dir) if *dir == folder));
        let files: Vec<_> = std::fs::read_dir(&folder)
            .expect("mail folder")
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
        let mail = ReceivedMail::from_eml(std::fs::read_to_string(&files[0]).expect("eml"));
        assert_eq!(mail.subject(), "Test-E-Mail von Liaison");
        assert_eq!(mail.header("Message-ID").as_deref(), Some(MESSAGE_ID));
        assert_eq!(
            mail.decoded_header("To").as_deref(),
            Some("Jörg Müller <ann@example.com>")
        );
        assert_eq!(mail.text(), Some(rendered.text));
        assert_eq!(mail.html(), rendered.html);
    }

    #[test]
    fn without_a_mail_folder_files_go_to_the_outbox_of_the_data_dir() {
        let root = tempfile::tempdir().expect("temp dir");
        let config = Config {
            data_dir: Some(root.path().to_path_buf()),
            ..Config::default()
        };

        let transport = MailTransport::from_config(&config).expect("transport");

        let expected = root.path().join("outbox");
        assert!(matches!(&transport, MailTransport::Files(dir) if *dir == expected));
        assert!(expected.is_dir());
    }
}
