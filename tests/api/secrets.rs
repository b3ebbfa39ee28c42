//! Secrets at rest: connection secrets are validated, encrypted and bound to their row, never
//! returned, and survive key rotation.

use std::sync::Arc;

use base64::Engine;
use liaison::crypto::keyring::KeyRing;
use liaison::service::Services;
use sea_orm::{ConnectionTrait, Statement};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestAccount, TestApp, user_with_grants};

const CONNECT: &str = "mutation($input: ConnectIntegrationInput!) {
  connectIntegration(input: $input) {
    integration { key status connection { status settings secretsSet connectedByLabel } }
    userErrors { field code message }
  }
}";

const SECRET: &str = "tok_live_0123456789_never_shown";

fn ring_spec(ids: &[(&str, u8)]) -> String {
    ids.iter()
        .map(|(id, byte)| {
            format!(
                "{id}:{}",
                base64::engine::general_purpose::STANDARD.encode([*byte; 32])
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

async fn spawn_with_ring(spec: &str) -> TestApp {
    let spec = spec.to_owned();
    TestApp::spawn_with(
        move |config| config.secret_keys = Some(SecretString::from(spec)),
        None,
    )
    .await
}

async fn connect(app: &TestApp, token: &str, key: &str, settings: Value) -> Reply {
    app.graphql(
        Some(token),
        CONNECT,
        json!({ "input": { "integrationKey": key, "settings": settings } }),
    )
    .await
}

async fn raw_secrets(app: &TestApp) -> Vec<Option<String>> {
    let backend = app.db.get_database_backend();
    app.db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT secrets FROM connections ORDER BY created_at",
        ))
        .await
        .expect("raw rows")
        .iter()
        .map(|row| {
            row.try_get::<Option<String>>("", "secrets")
                .expect("secrets column")
        })
        .collect()
}

async fn admin(app: &TestApp, slug: &str) -> TestAccount {
    app.create_account(slug).await
}

#[tokio::test]
async fn a_connection_keeps_its_secret_encrypted_and_never_returns_it() {
    // Arrange
    let app = spawn_with_ring(&ring_spec(&[("k1", 1)])).await;
    let acme = admin(&app, "acme").await;

    // Act
    let reply = connect(
        &app,
        &acme.admin_token,
        "intercom",
        json!({ "access_token": SECRET, "region": "eu" }),
    )
    .await
    .ok();
    let log = app
        .graphql(
            Some(&acme.admin_token),
            "{ auditLog(first: 5) { nodes { action details personalDetails } } }",
            json!({}),
        )
        .await
        .ok();

    // Assert
    assert_eq!(
        reply.user_error_codes("connectIntegration"),
        Vec::<String>::new(),
        "{}",
        reply.body
    );
    let connection = reply.data("connectIntegration/integration/connection");
    assert_eq!(connection["status"], "CONNECTED");
    assert_eq!(connection["settings"], json!({ "region": "eu" }));
    assert_eq!(connection["secretsSet"], json!(["access_token"]));
    assert_eq!(connection["connectedByLabel"], "acme-admin");
    assert!(
        !reply.body.to_string().contains(SECRET),
        "the secret is never returned"
    );
    assert!(
        !log.body.to_string().contains(SECRET),
        "nor written to the audit log"
    );
    let stored = raw_secrets(&app).await;
    let stored = stored[0].as_deref().expect("a stored secret");
    assert!(stored.starts_with("v1.k1."), "{stored}");
    assert!(
        !stored.contains(SECRET) && !stored.contains("tok_live"),
        "not in plaintext at rest"
    );
}

#[tokio::test]
async fn settings_are_checked_against_the_schema_and_nothing_is_written_on_error() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = admin(&app, "acme").await;

    // Act
    let missing = connect(
        &app,
        &acme.admin_token,
        "intercom",
        json!({ "region": "eu" }),
    )
    .await
    .ok();
    let bad = connect(
        &app,
        &acme.admin_token,
        "intercom",
        json!({ "access_token": SECRET, "region": "mars", "colour": "blue" }),
    )
    .await
    .ok();
    let unknown = connect(&app, &acme.admin_token, "no-such-thing", json!({}))
        .await
        .ok();

    // Assert
    assert_eq!(
        missing.user_error_codes("connectIntegration"),
        vec!["REQUIRED"]
    );
    assert_eq!(
        missing.data("connectIntegration/userErrors/0/field"),
        &json!(["input", "settings", "access_token"])
    );
    let mut codes = bad.user_error_codes("connectIntegration");
    codes.sort();
    assert_eq!(codes, vec!["INVALID_SETTING", "UNKNOWN_SETTING"]);
    assert_eq!(
        unknown.user_error_codes("connectIntegration"),
        vec!["UNKNOWN_INTEGRATION"]
    );
    assert!(
        raw_secrets(&app).await.is_empty(),
        "no connection row was written"
    );
    let status = app
        .graphql(
            Some(&acme.admin_token),
            r#"{ integration(key: "intercom") { status } }"#,
            json!({}),
        )
        .await
        .ok();
    assert_eq!(status.data("integration/status"), "NOT_CONNECTED");
}

#[tokio::test]
async fn reconnecting_without_a_secret_keeps_the_stored_one() {
    let app = TestApp::spawn().await;
    let acme = admin(&app, "acme").await;
    connect(
        &app,
        &acme.admin_token,
        "intercom",
        json!({ "access_token": SECRET, "region": "eu" }),
    )
    .await
    .ok();

    let reply = connect(
        &app,
        &acme.admin_token,
        "intercom",
        json!({ "region": "au" }),
    )
    .await
    .ok();

    assert_eq!(
        reply.user_error_codes("connectIntegration"),
        Vec::<String>::new(),
        "{}",
        reply.body
    );
    let connection = reply.data("connectIntegration/integration/connection");
    assert_eq!(connection["settings"], json!({ "region": "au" }));
    assert_eq!(connection["secretsSet"], json!(["access_token"]));
}

#[tokio::test]
async fn a_secret_moved_to_another_row_does_not_decrypt() {
    // Arrange: two accounts connect Intercom with different secrets.
    let app = TestApp::spawn().await;
    let acme = admin(&app, "acme").await;
    let beta = admin(&app, "beta").await;
    connect(
        &app,
        &acme.admin_token,
        "intercom",
        json!({ "access_token": SECRET, "region": "eu" }),
    )
    .await
    .ok();
    connect(
        &app,
        &beta.admin_token,
        "intercom",
        json!({ "access_token": "beta-token", "region": "us" }),
    )
    .await
    .ok();

    // Act: copy acme's ciphertext onto beta's row.
    let stored = raw_secrets(&app).await;
    let acme_secret = stored[0].clone().expect("acme's secret");
    let backend = app.db.get_database_backend();
    app.db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DbBackend::Postgres => {
                    "UPDATE connections SET secrets = $1 WHERE secrets <> $1"
                }
                _ => "UPDATE connections SET secrets = ?1 WHERE secrets <> ?1",
            },
            [acme_secret.into()],
        ))
        .await
        .expect("copied");
    let reply = app
        .graphql(
            Some(&beta.admin_token),
            r#"{ integration(key: "intercom") { connection { secretsSet } } }"#,
            json!({}),
        )
        .await;

    // Assert: the value is refused, and neither secret leaks into the error.
    assert_eq!(reply.codes(), vec!["INTERNAL"], "{}", reply.body);
    assert!(!reply.body.to_string().contains(SECRET));
    assert!(!reply.body.to_string().contains("beta-token"));
}

#[tokio::test]
async fn rotation_re_encrypts_every_secret_under_the_new_key() {
    // Arrange: secrets written under k1.
    let app = spawn_with_ring(&ring_spec(&[("k1", 1)])).await;
    let acme = admin(&app, "acme").await;
    let beta = admin(&app, "beta").await;
    connect(
        &app,
        &acme.admin_token,
        "intercom",
        json!({ "access_token": SECRET, "region": "eu" }),
    )
    .await
    .ok();
    let stripe = connect(
        &app,
        &beta.admin_token,
        "stripe",
        json!({ "secret_key": "sk_beta", "webhook_signing_secret": "whsec_beta" }),
    )
    .await
    .ok();
    assert_eq!(
        stripe.user_error_codes("connectIntegration"),
        Vec::<String>::new(),
        "{}",
        stripe.body
    );
    let rotated_ring = KeyRing::parse(
        &SecretString::from(ring_spec(&[("k1", 1), ("k2", 2)])),
        Some("k2"),
    )
    .expect("ring");
    let rotating = Services {
        keyring: Arc::new(rotated_ring),
        ..app.services.clone()
    };

    // Act
    let rewritten = rotating.rotate_secrets().await.expect("rotation");
    let again = rotating.rotate_secrets().await.expect("rotation");

    // Assert: every value is now under k2, readable with a ring that has only k2.
    let connections = raw_secrets(&app).await;
    let stored: Vec<&str> = connections.iter().flatten().map(String::as_str).collect();
    assert_eq!(rewritten, 2);
    assert_eq!(stored.len(), 2);
    assert_eq!(again, 0, "nothing left to rotate");
    assert!(stored.iter().all(|s| s.starts_with("v1.k2.")), "{stored:?}");
    let k2_only = KeyRing::parse(&SecretString::from(ring_spec(&[("k2", 2)])), None).expect("ring");
    let reader = Services {
        keyring: Arc::new(k2_only),
        ..app.services.clone()
    };
    let acme_connection = liaison::store::connections::find(&app.db, acme.id, "intercom")
        .await
        .expect("find")
        .expect("connection");
    let secrets = reader
        .connection_secrets(&acme_connection)
        .expect("decrypts with k2");
    assert_eq!(
        secrets.get("access_token").map(String::as_str),
        Some(SECRET)
    );
}

#[tokio::test]
async fn disconnecting_erases_the_secrets() {
    let app = TestApp::spawn().await;
    let acme = admin(&app, "acme").await;
    connect(
        &app,
        &acme.admin_token,
        "intercom",
        json!({ "access_token": SECRET, "region": "eu" }),
    )
    .await
    .ok();
    let disconnect = "mutation($input: DisconnectIntegrationInput!) { disconnectIntegration(input: $input) { integration { status connection { secretsSet } } userErrors { code } } }";

    let reply = app
        .graphql(
            Some(&acme.admin_token),
            disconnect,
            json!({ "input": { "integrationKey": "intercom" } }),
        )
        .await
        .ok();
    let twice = app
        .graphql(
            Some(&acme.admin_token),
            disconnect,
            json!({ "input": { "integrationKey": "intercom" } }),
        )
        .await
        .ok();

    assert_eq!(
        reply.data("disconnectIntegration/integration/status"),
        "NOT_CONNECTED"
    );
    assert_eq!(
        reply.data("disconnectIntegration/integration/connection/secretsSet"),
        &json!([])
    );
    assert_eq!(raw_secrets(&app).await, vec![None]);
    assert_eq!(
        twice.user_error_codes("disconnectIntegration"),
        vec!["NOT_CONNECTED"]
    );
}

#[tokio::test]
async fn connecting_needs_integrations_full() {
    let app = TestApp::spawn().await;
    let acme = admin(&app, "acme").await;
    let (_, reader) =
        user_with_grants(&app, &acme, "reader", &[("INTEGRATIONS", "READ")], None).await;
    let (_, manager) =
        user_with_grants(&app, &acme, "manager", &[("INTEGRATIONS", "FULL")], None).await;

    let denied = connect(
        &app,
        &reader,
        "intercom",
        json!({ "access_token": SECRET, "region": "eu" }),
    )
    .await;
    let granted = connect(
        &app,
        &manager,
        "intercom",
        json!({ "access_token": SECRET, "region": "eu" }),
    )
    .await
    .ok();

    assert_eq!(denied.codes(), vec!["FORBIDDEN"]);
    assert_eq!(
        granted.data("connectIntegration/integration/status"),
        "CONNECTED"
    );
    assert_eq!(
        raw_secrets(&app).await.len(),
        1,
        "only the granted call wrote"
    );
}

#[tokio::test]
async fn the_rotate_command_re_encrypts_under_the_active_key() {
    // Arrange: a secret written under k1; the operator adds k2 and makes it active.
    let app = spawn_with_ring(&ring_spec(&[("k1", 1)])).await;
    let acme = admin(&app, "acme").await;
    connect(
        &app,
        &acme.admin_token,
        "intercom",
        json!({ "access_token": SECRET, "region": "eu" }),
    )
    .await
    .ok();
    let dir = tempfile::tempdir().expect("temp dir");

    // Act
    let output = app
        .cli(dir.path(), &["secrets", "rotate"])
        .env("LIAISON_SECRET_KEYS", ring_spec(&[("k1", 1), ("k2", 2)]))
        .env("LIAISON_SECRET_ACTIVE_KEY", "k2")
        .output()
        .expect("liaison runs");

    // Assert
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("re-encrypted 1 secret value(s) under key `k2`"),
        "{stdout}"
    );
    assert!(!stdout.contains(SECRET));
    let stored = raw_secrets(&app).await;
    assert!(
        stored[0]
            .as_deref()
            .is_some_and(|s| s.starts_with("v1.k2.")),
        "{stored:?}"
    );
}
