//! Rate limits per IP, user and account, their recovery, the off switch, and the request timeout.

use std::time::Duration;

use serde_json::json;

use liaison::auth::principal::AccountUser;
use liaison::domain::permission::{Grants, ScopeSet};
use liaison::service::users::NewUserInput;

use crate::helpers::{Reply, TestAccount, TestApp};

const QUERY: &str = "{ viewer { user { username } } }";

async fn spawn_limited(ip: u32, user: u32, account: u32, window_seconds: u64) -> TestApp {
    TestApp::spawn_with(
        move |config| {
            config.rate_limit_enabled = true;
            config.rate_limit_per_ip_per_minute = ip;
            config.rate_limit_per_user_per_minute = user;
            config.rate_limit_per_account_per_minute = account;
            config.rate_limit_window_seconds = window_seconds;
        },
        None,
    )
    .await
}

fn assert_limited(reply: &Reply) {
    assert_eq!(reply.status, 429, "{}", reply.body);
    assert_eq!(reply.codes(), vec!["RATE_LIMITED"]);
    let retry_after: u64 = reply
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds");
    assert!(retry_after >= 1);
    assert_eq!(
        reply.errors()[0]["extensions"]["retryAfterSeconds"],
        retry_after
    );
}

async fn metrics(app: &TestApp) -> String {
    app.client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

#[tokio::test]
async fn an_address_over_its_limit_is_refused_even_with_garbage_tokens() {
    // Arrange: 5 requests a minute per address.
    let app = spawn_limited(5, 1000, 1000, 60).await;
    let acme = app.create_account("acme").await;

    // Act: guesses with garbage tokens count too.
    for _ in 0..3 {
        let guess = app.graphql(Some("not-a-token"), QUERY, json!({})).await;
        assert_eq!(guess.status, 401);
    }
    for _ in 0..2 {
        app.graphql(Some(&acme.admin_token), QUERY, json!({}))
            .await
            .ok();
    }
    let sixth = app.graphql(Some(&acme.admin_token), QUERY, json!({})).await;
    let guess = app.graphql(Some("not-a-token"), QUERY, json!({})).await;

    // Assert
    assert_limited(&sixth);
    assert_limited(&guess);
    assert!(
        metrics(&app)
            .await
            .contains(r#"liaison_rate_limited_requests_total{policy="ip"} 2"#)
    );
}

/// A login user created through the service layer (no request spent) and a token for them.
async fn quiet_user(app: &TestApp, account: &TestAccount, username: &str) -> String {
    let admin = AccountUser {
        account_id: account.id,
        user_id: account.admin_id,
        username: format!("{}-admin", account.slug),
        grants: Grants::full(),
        scopes: ScopeSet::unrestricted(),
    };
    let user = app
        .services
        .create_user(
            &admin,
            NewUserInput {
                username: Some(username.into()),
                ..NewUserInput::default()
            },
        )
        .await
        .expect("user created");
    app.token(account.id, user.id, None)
}

#[tokio::test]
async fn users_and_accounts_have_limits_of_their_own() {
    // Arrange: each user 3 requests, each account 5, addresses unlimited.
    let app = spawn_limited(1000, 3, 5, 60).await;
    let acme = app.create_account("acme").await;
    let beta = app.create_account("beta").await;
    let ann = quiet_user(&app, &acme, "ann").await;
    let bob = quiet_user(&app, &acme, "bob").await;

    // Act & Assert: ann's own limit stops her fourth request…
    for _ in 0..3 {
        app.graphql(Some(&ann), QUERY, json!({})).await.ok();
    }
    assert_limited(&app.graphql(Some(&ann), QUERY, json!({})).await);
    // …and bob, who shares acme's bucket (3 of 5 spent), is stopped by the account's limit on his
    // third request, before his own limit.
    for _ in 0..2 {
        app.graphql(Some(&bob), QUERY, json!({})).await.ok();
    }
    assert_limited(&app.graphql(Some(&bob), QUERY, json!({})).await);
    // Another account is unaffected.
    app.graphql(Some(&beta.admin_token), QUERY, json!({}))
        .await
        .ok();

    let text = metrics(&app).await;
    assert!(
        text.contains(r#"liaison_rate_limited_requests_total{policy="user"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"liaison_rate_limited_requests_total{policy="account"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_limit_recovers_as_its_window_passes() {
    // Arrange: 2 requests per second per address.
    let app = spawn_limited(2, 1000, 1000, 1).await;
    let acme = app.create_account("acme").await;
    for _ in 0..2 {
        app.graphql(Some(&acme.admin_token), QUERY, json!({}))
            .await
            .ok();
    }
    assert_limited(&app.graphql(Some(&acme.admin_token), QUERY, json!({})).await);

    // Act: poll, boundedly, until a request goes through again.
    let mut recovered = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if app
            .graphql(Some(&acme.admin_token), QUERY, json!({}))
            .await
            .status
            == 200
        {
            recovered = true;
            break;
        }
    }

    // Assert
    assert!(recovered, "the limit recovered within 5 s");
}

#[tokio::test]
async fn switched_off_limits_let_everything_through() {
    let app = TestApp::spawn_with(
        |config| {
            config.rate_limit_enabled = false;
            config.rate_limit_per_ip_per_minute = 1;
        },
        None,
    )
    .await;
    let acme = app.create_account("acme").await;
    for _ in 0..200 {
        app.graphql(Some(&acme.admin_token), QUERY, json!({}))
            .await
            .ok();
    }
}

#[tokio::test]
async fn a_request_over_the_timeout_is_answered_408_and_counted() {
    // Arrange: a 1 s timeout, and the account held locked by another writer for longer, so a
    // user creation (which locks the account to count seats) cannot finish in time.
    let app = TestApp::spawn_with(|config| config.request_timeout_seconds = 1, None).await;
    let acme = app.create_account("acme").await;
    let other_writer = liaison::store::begin_write(&app.db)
        .await
        .expect("transaction");
    liaison::store::accounts::lock(&other_writer, acme.id, chrono::Utc::now())
        .await
        .expect("account locked");

    // Act
    let reply = app
        .graphql(
            Some(&acme.admin_token),
            "mutation { createUser(input: { username: \"late\", displayName: \"Late\" }) { user { id } } }",
            json!({}),
        )
        .await;
    other_writer.rollback().await.expect("lock released");

    // Assert
    assert_eq!(reply.status, 408, "{}", reply.body);
    let text = metrics(&app).await;
    assert!(
        text.contains("liaison_timed_out_requests_total 1"),
        "{text}"
    );
}
