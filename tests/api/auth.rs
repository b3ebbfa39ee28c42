//! Authentication over `POST /graphql`: the Authorization header, Liaison's own tokens (signature,
//! algorithm, lifetime with its 60 s leeway, issuer, audience, claims, scopes), the users a token
//! may name, external identity providers verified with a JWKS file or URL, the `token` CLI, and
//! roles re-read on every request.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::http::{StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use liaison::config::IdentityProvider;
use liaison::domain::ids::UserId;
use serde_json::{Value, json};

use crate::helpers::{
    Reply, TEST_SECRET, TestAccount, TestApp, assign_roles, create_user, decode_gid,
    user_with_grants,
};

const VIEWER: &str = "{ viewer { user { username } } }";
const IDP_ISSUER: &str = "https://idp.test";
const IDP_AUDIENCE: &str = "liaison-api";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims of a valid user token of Liaison's own, valid for an hour.
fn user_claims(account: &TestAccount, user: impl ToString) -> Value {
    let now = now();
    json!({
        "iss": "liaison",
        "aud": "liaison",
        "sub": user.to_string(),
        "acc": account.id.to_string(),
        "kind": "user",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    })
}

fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("token signed")
}

/// A token signed with the test server's own secret.
fn own_token(claims: &Value) -> String {
    sign_hs256(claims, TEST_SECRET.as_bytes())
}

/// An RS256 token signed with a fixture key, naming `kid` in its header.
fn rs256_token(key_file: &str, kid: &str, claims: &Value) -> String {
    let pem = std::fs::read(fixture(key_file)).expect("fixture key readable");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(&pem).expect("RSA private key"),
    )
    .expect("token signed")
}

/// The claims of a valid identity-provider token for the account's admin, with the provider's
/// claim names (`uid`, `tenant`).
fn idp_claims(account: &TestAccount) -> Value {
    let now = now();
    json!({
        "iss": IDP_ISSUER,
        "aud": IDP_AUDIENCE,
        "sub": "idp-user-42",
        "uid": account.admin_id.to_string(),
        "tenant": account.id.to_string(),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    })
}

fn provider(jwks_file: Option<PathBuf>, jwks_url: Option<String>) -> IdentityProvider {
    IdentityProvider {
        issuer: IDP_ISSUER.into(),
        audience: Some(IDP_AUDIENCE.into()),
        jwks_file,
        jwks_url,
        user_id_claim: "uid".into(),
        account_id_claim: "tenant".into(),
        jwks_min_refetch_seconds: 30,
    }
}

/// A server that trusts the test identity provider with its JWKS file (key-1 only).
async fn spawn_with_jwks_file() -> TestApp {
    TestApp::spawn_with(
        |config| config.identity_providers = vec![provider(Some(fixture("idp-jwks.json")), None)],
        None,
    )
    .await
}

async fn viewer(app: &TestApp, token: &str) -> Reply {
    app.graphql(Some(token), VIEWER, json!({})).await
}

/// The viewer query with a raw `Authorization` header value.
async fn viewer_with_authorization(app: &TestApp, authorization: &str) -> Reply {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(header::AUTHORIZATION, authorization)
        .json(&json!({ "query": VIEWER }))
        .send()
        .await
        .expect("request sent");
    TestApp::reply(response).await
}

#[track_caller]
fn assert_signed_in_as(reply: &Reply, username: &str) {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.errors().is_empty(),
        "unexpected errors: {}",
        reply.body
    );
    assert_eq!(
        reply.data("viewer/user/username"),
        username,
        "{}",
        reply.body
    );
}

/// HTTP 401, one UNAUTHENTICATED error giving `reason`, no data, and a Bearer challenge.
#[track_caller]
fn assert_refused(reply: &Reply, reason: &str) {
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(reply.codes(), vec!["UNAUTHENTICATED"], "{}", reply.body);
    assert_eq!(
        reply.errors()[0]["message"],
        format!("authentication required: {reason}"),
        "{}",
        reply.body
    );
    assert!(reply.body["data"].is_null(), "{}", reply.body);
    assert_eq!(
        reply
            .headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok()),
        Some("Bearer"),
        "{:?}",
        reply.headers
    );
}

fn user_id(global_id: &str) -> UserId {
    decode_gid(global_id).parse().expect("user uuid")
}

/// A JWKS endpoint on loopback that counts its fetches and can switch to the rotated key set or
/// start failing.
struct JwksServer {
    url: String,
    fetches: Arc<AtomicUsize>,
    rotated: Arc<AtomicBool>,
    failing: Arc<AtomicBool>,
}

impl JwksServer {
    async fn start() -> Self {
        let fetches = Arc::new(AtomicUsize::new(0));
        let rotated = Arc::new(AtomicBool::new(false));
        let failing = Arc::new(AtomicBool::new(false));
        let handler = {
            let (fetches, rotated, failing) = (fetches.clone(), rotated.clone(), failing.clone());
            move || {
                let (fetches, rotated, failing) =
                    (fetches.clone(), rotated.clone(), failing.clone());
                async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    if failing.load(Ordering::SeqCst) {
                        return (
                            StatusCode::SERVICE_UNAVAILABLE,
                            [(header::CACHE_CONTROL, "no-store")],
                            String::new(),
                        );
                    }
                    let file = if rotated.load(Ordering::SeqCst) {
                        "idp-jwks-rotated.json"
                    } else {
                        "idp-jwks.json"
                    };
                    let body = std::fs::read_to_string(fixture(file)).expect("JWKS fixture");
                    (
                        StatusCode::OK,
                        [(header::CACHE_CONTROL, "max-age=300")],
                        body,
                    )
                }
            }
        };
        let router = axum::Router::new().route("/jwks.json", axum::routing::get(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("JWKS server binds");
        let address = listener.local_addr().expect("JWKS server address");
        tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        Self {
            url: format!("http://{address}/jwks.json"),
            fetches,
            rotated,
            failing,
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn spawn_with_jwks_url(jwks: &JwksServer) -> TestApp {
    let url = jwks.url.clone();
    TestApp::spawn_with(
        move |config| config.identity_providers = vec![provider(None, Some(url))],
        None,
    )
    .await
}

/// Runs `liaison token …` against the app's database with a clean `LIAISON_*` environment.
async fn liaison_token(app: &TestApp, args: &[&str]) -> std::process::Output {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut command = tokio::process::Command::from(app.cli(data_dir.path(), &["token"]));
    command.args(args).output().await.expect("liaison runs")
}

// ---------------------------------------------------------------------------------------------
// The Authorization header
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_token_is_accepted() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let hand_made = own_token(&user_claims(&acme, acme.admin_id));

    // Act
    let minted_by_server = viewer(&app, &acme.admin_token).await;
    let minted_by_test = viewer(&app, &hand_made).await;

    // Assert
    assert_signed_in_as(&minted_by_server, "acme-admin");
    assert_signed_in_as(&minted_by_test, "acme-admin");
}

#[tokio::test]
async fn a_request_without_a_token_is_refused_with_a_bearer_challenge() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act
    let reply = app.graphql(None, VIEWER, json!({})).await;

    // Assert
    assert_refused(&reply, "a bearer token is required");
}

#[tokio::test]
async fn the_bearer_scheme_is_matched_in_any_letter_case() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    // Act
    let reply = viewer_with_authorization(&app, &format!("bearer {}", acme.admin_token)).await;

    // Assert
    assert_signed_in_as(&reply, "acme-admin");
}

#[tokio::test]
async fn a_basic_authorization_header_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;
    let credentials = URL_SAFE_NO_PAD.encode("acme-admin:secret");

    // Act
    let reply = viewer_with_authorization(&app, &format!("Basic {credentials}")).await;

    // Assert
    assert_refused(&reply, "use `Authorization: Bearer <token>`");
}

#[tokio::test]
async fn an_empty_bearer_token_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act
    let with_space = viewer_with_authorization(&app, "Bearer ").await;
    let bare_scheme = viewer_with_authorization(&app, "Bearer").await;

    // Assert
    assert_refused(&with_space, "use `Authorization: Bearer <token>`");
    assert_refused(&bare_scheme, "use `Authorization: Bearer <token>`");
}

// ---------------------------------------------------------------------------------------------
// Liaison's own tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_garbage_token_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;

    // Act
    let not_a_jwt = viewer(&app, "not-a-jwt").await;
    let three_garbage_parts = viewer(&app, "abc.def.ghi").await;

    // Assert
    assert_refused(&not_a_jwt, "the token is malformed");
    assert_refused(&three_garbage_parts, "the token is malformed");
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let claims = user_claims(&acme, acme.admin_id);
    let forged = sign_hs256(&claims, b"another-secret-another-secret-0123456789");

    // Act
    let reply = viewer(&app, &forged).await;

    // Assert
    assert_refused(&reply, "the token's signature is invalid");
    assert_signed_in_as(&viewer(&app, &own_token(&claims)).await, "acme-admin");
}

#[tokio::test]
async fn an_rs256_token_claiming_liaison_as_issuer_is_refused() {
    // Arrange: the server signs its own tokens with HS256 only.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = rs256_token("idp-rsa.pem", "key-1", &user_claims(&acme, acme.admin_id));

    // Act
    let reply = viewer(&app, &token).await;

    // Assert
    assert_refused(&reply, "the token's algorithm is not accepted");
}

#[tokio::test]
async fn a_token_expired_beyond_the_leeway_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let mut claims = user_claims(&acme, acme.admin_id);
    claims["iat"] = json!(now() - 3600);
    claims["nbf"] = json!(now() - 3600);
    claims["exp"] = json!(now() - 120);

    // Act
    let reply = viewer(&app, &own_token(&claims)).await;

    // Assert
    assert_refused(&reply, "the token has expired");
}

#[tokio::test]
async fn a_token_expired_within_the_leeway_is_accepted() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let mut claims = user_claims(&acme, acme.admin_id);
    claims["iat"] = json!(now() - 3600);
    claims["nbf"] = json!(now() - 3600);
    claims["exp"] = json!(now() - 30);

    // Act
    let reply = viewer(&app, &own_token(&claims)).await;

    // Assert
    assert_signed_in_as(&reply, "acme-admin");
}

#[tokio::test]
async fn a_token_accepted_before_its_expiry_is_refused_after_it() {
    // Arrange: no leeway, and a token that expires in two seconds. The server keeps the tokens
    // it verified; a kept one must still expire on time.
    let app = TestApp::spawn_with(|config| config.jwt_leeway_seconds = 0, None).await;
    let acme = app.create_account("acme").await;
    let mut claims = user_claims(&acme, acme.admin_id);
    let expires = now() + 2;
    claims["exp"] = json!(expires);
    let token = own_token(&claims);
    assert_signed_in_as(&viewer(&app, &token).await, "acme-admin");
    assert_signed_in_as(&viewer(&app, &token).await, "acme-admin");

    // Act: the same token once its expiry has passed.
    while now() <= expires {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let reply = viewer(&app, &token).await;

    // Assert
    assert_refused(&reply, "the token has expired");
}

#[tokio::test]
async fn a_token_not_valid_before_a_time_beyond_the_leeway_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let mut claims = user_claims(&acme, acme.admin_id);
    claims["nbf"] = json!(now() + 120);

    // Act
    let reply = viewer(&app, &own_token(&claims)).await;

    // Assert
    assert_refused(&reply, "the token is not valid yet");
}

#[tokio::test]
async fn a_token_valid_from_a_time_within_the_leeway_is_accepted() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let mut claims = user_claims(&acme, acme.admin_id);
    claims["nbf"] = json!(now() + 30);

    // Act
    let reply = viewer(&app, &own_token(&claims)).await;

    // Assert
    assert_signed_in_as(&reply, "acme-admin");
}

#[tokio::test]
async fn a_token_without_an_expiry_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let mut claims = user_claims(&acme, acme.admin_id);
    claims.as_object_mut().expect("claims").remove("exp");

    // Act
    let reply = viewer(&app, &own_token(&claims)).await;

    // Assert
    assert_refused(&reply, "a required claim is missing");
}

#[tokio::test]
async fn a_token_from_an_unknown_issuer_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let mut claims = user_claims(&acme, acme.admin_id);
    claims["iss"] = json!("someone-else");

    // Act
    let reply = viewer(&app, &own_token(&claims)).await;

    // Assert
    assert_refused(&reply, "the token's issuer is not trusted");
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let mut claims = user_claims(&acme, acme.admin_id);
    claims["aud"] = json!("another-service");

    // Act
    let reply = viewer(&app, &own_token(&claims)).await;

    // Assert
    assert_refused(&reply, "the token's audience is not accepted here");
}

#[tokio::test]
async fn a_token_without_a_subject_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let mut claims = user_claims(&acme, acme.admin_id);
    claims.as_object_mut().expect("claims").remove("sub");

    // Act
    let reply = viewer(&app, &own_token(&claims)).await;

    // Assert
    assert_refused(&reply, "a required claim is missing");
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(user_claims(&acme, acme.admin_id).to_string());
    let unsigned = format!("{header}.{payload}.");

    // Act
    let reply = viewer(&app, &unsigned).await;

    // Assert
    assert_refused(&reply, "the token is malformed");
}

#[tokio::test]
async fn a_token_whose_subject_is_not_a_user_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let unknown_user = own_token(&user_claims(&acme, uuid::Uuid::new_v4()));
    let not_an_id = own_token(&user_claims(&acme, "acme-admin"));

    // Act
    let unknown_reply = viewer(&app, &unknown_user).await;
    let not_an_id_reply = viewer(&app, &not_an_id).await;

    // Assert
    assert_refused(&unknown_reply, "the token's user does not exist");
    assert_refused(&not_an_id_reply, "`sub` is not a user id");
}

#[tokio::test]
async fn a_user_presented_with_another_accounts_id_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let globex = app.create_account("globex").await;
    let acme_admin_in_globex = own_token(&user_claims(&globex, acme.admin_id));
    let acme_admin_in_acme = own_token(&user_claims(&acme, acme.admin_id));

    // Act
    let crossed = viewer(&app, &acme_admin_in_globex).await;
    let own = viewer(&app, &acme_admin_in_acme).await;

    // Assert
    assert_refused(&crossed, "the token's user does not exist");
    assert_signed_in_as(&own, "acme-admin");
}

#[tokio::test]
async fn a_non_login_user_cannot_authenticate() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let contact = create_user(
        &app,
        &acme.admin_token,
        json!({ "kind": "NON_LOGIN", "username": "contact-carl", "displayName": "Carl" }),
    )
    .await;
    let login = create_user(
        &app,
        &acme.admin_token,
        json!({ "kind": "LOGIN", "username": "login-lena", "displayName": "Lena" }),
    )
    .await;

    // Act
    let contact_reply = viewer(&app, &app.token(acme.id, user_id(&contact), None)).await;
    let login_reply = viewer(&app, &app.token(acme.id, user_id(&login), None)).await;

    // Assert
    assert_refused(
        &contact_reply,
        "the token's user cannot sign in (not an active login user)",
    );
    assert_signed_in_as(&login_reply, "login-lena");
}

#[tokio::test]
async fn a_pending_user_cannot_authenticate() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let pending = create_user(
        &app,
        &acme.admin_token,
        json!({ "status": "PENDING", "username": "pending-pam", "displayName": "Pam" }),
    )
    .await;
    let active = create_user(
        &app,
        &acme.admin_token,
        json!({ "status": "ACTIVE", "username": "active-ann", "displayName": "Ann" }),
    )
    .await;

    // Act
    let pending_reply = viewer(&app, &app.token(acme.id, user_id(&pending), None)).await;
    let active_reply = viewer(&app, &app.token(acme.id, user_id(&active), None)).await;

    // Assert
    assert_refused(
        &pending_reply,
        "the token's user cannot sign in (not an active login user)",
    );
    assert_signed_in_as(&active_reply, "active-ann");
}

#[tokio::test]
async fn a_deactivated_user_is_refused_on_the_next_request() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let dora = create_user(
        &app,
        &acme.admin_token,
        json!({ "username": "dora", "displayName": "Dora" }),
    )
    .await;
    let token = app.token(acme.id, user_id(&dora), None);
    assert_signed_in_as(&viewer(&app, &token).await, "dora");

    // Act
    let deactivated = app
        .graphql(
            Some(&acme.admin_token),
            "mutation($id: ID!) { deactivateUser(input: { id: $id }) { user { status } userErrors { code } } }",
            json!({ "id": dora }),
        )
        .await
        .ok();
    let reply = viewer(&app, &token).await;

    // Assert
    assert_eq!(
        deactivated.data("deactivateUser/user/status"),
        "DEACTIVATED",
        "{}",
        deactivated.body
    );
    assert_refused(
        &reply,
        "the token's user cannot sign in (not an active login user)",
    );
}

#[tokio::test]
async fn an_invitee_session_is_refused_on_the_main_api() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let mut invitee = user_claims(&acme, "invitee@example.com");
    invitee["kind"] = json!("invitee");
    invitee["aud"] = json!("liaison-invitee");
    let mut invitee_for_main_audience = invitee.clone();
    invitee_for_main_audience["aud"] = json!("liaison");

    // Act
    let session = viewer(&app, &own_token(&invitee)).await;
    let relabelled = viewer(&app, &own_token(&invitee_for_main_audience)).await;

    // Assert
    assert_refused(&session, "the token's audience is not accepted here");
    assert_refused(&relabelled, "the token's audience is not accepted here");
}

#[tokio::test]
async fn a_token_with_an_invalid_scope_claim_is_refused() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let mut invalid = user_claims(&acme, acme.admin_id);
    invalid["scope"] = json!("users:delete");
    let mut valid = user_claims(&acme, acme.admin_id);
    valid["scope"] = json!("users:read");

    // Act
    let invalid_reply = viewer(&app, &own_token(&invalid)).await;
    let valid_reply = viewer(&app, &own_token(&valid)).await;

    // Assert
    assert_refused(&invalid_reply, "the token's scope claim is invalid");
    assert_signed_in_as(&valid_reply, "acme-admin");
}

// ---------------------------------------------------------------------------------------------
// External identity providers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_identity_provider_token_signed_with_a_key_of_its_jwks_file_is_accepted() {
    // Arrange
    let app = spawn_with_jwks_file().await;
    let acme = app.create_account("acme").await;
    let token = rs256_token("idp-rsa.pem", "key-1", &idp_claims(&acme));

    // Act
    let reply = app
        .graphql(
            Some(&token),
            "{ viewer { user { username } scopes } }",
            json!({}),
        )
        .await;

    // Assert
    assert_signed_in_as(&reply, "acme-admin");
    assert_eq!(reply.data("viewer/scopes"), &json!([]));
}

#[tokio::test]
async fn an_identity_provider_token_with_an_unknown_key_id_is_refused() {
    // Arrange
    let app = spawn_with_jwks_file().await;
    let acme = app.create_account("acme").await;
    let unknown_kid = rs256_token("idp-rsa-2.pem", "key-2", &idp_claims(&acme));
    let wrong_key_for_kid = rs256_token("idp-rsa-2.pem", "key-1", &idp_claims(&acme));

    // Act
    let unknown_reply = viewer(&app, &unknown_kid).await;
    let wrong_key_reply = viewer(&app, &wrong_key_for_kid).await;

    // Assert
    assert_refused(&unknown_reply, "the token's key id is unknown");
    assert_refused(&wrong_key_reply, "the token's signature is invalid");
}

#[tokio::test]
async fn an_hs256_token_signed_with_the_providers_public_key_is_refused() {
    // Arrange: algorithm confusion — the public key's PEM used as an HMAC secret.
    let app = spawn_with_jwks_file().await;
    let acme = app.create_account("acme").await;
    let public_pem = std::fs::read(fixture("idp-rsa.pub.pem")).expect("public key");
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("key-1".into());
    let confused = jsonwebtoken::encode(
        &header,
        &idp_claims(&acme),
        &EncodingKey::from_secret(&public_pem),
    )
    .expect("token signed");
    let genuine = rs256_token("idp-rsa.pem", "key-1", &idp_claims(&acme));

    // Act
    let confused_reply = viewer(&app, &confused).await;
    let genuine_reply = viewer(&app, &genuine).await;

    // Assert
    assert_refused(&confused_reply, "the token's algorithm is not accepted");
    assert_signed_in_as(&genuine_reply, "acme-admin");
}

#[tokio::test]
async fn an_identity_provider_token_for_another_audience_is_refused() {
    // Arrange
    let app = spawn_with_jwks_file().await;
    let acme = app.create_account("acme").await;
    let mut claims = idp_claims(&acme);
    claims["aud"] = json!("liaison");

    // Act
    let reply = viewer(&app, &rs256_token("idp-rsa.pem", "key-1", &claims)).await;

    // Assert
    assert_refused(&reply, "the token's audience is not accepted here");
}

#[tokio::test]
async fn an_identity_provider_token_without_the_configured_claims_is_refused() {
    // Arrange: the ids sit in the default claims `sub`/`acc`, not in `uid`/`tenant`.
    let app = spawn_with_jwks_file().await;
    let acme = app.create_account("acme").await;
    let mut claims = idp_claims(&acme);
    let object = claims.as_object_mut().expect("claims");
    object.remove("uid");
    object.remove("tenant");
    object.insert("sub".into(), json!(acme.admin_id.to_string()));
    object.insert("acc".into(), json!(acme.id.to_string()));
    let mut without_tenant = idp_claims(&acme);
    without_tenant
        .as_object_mut()
        .expect("claims")
        .remove("tenant");

    // Act
    let default_names = viewer(&app, &rs256_token("idp-rsa.pem", "key-1", &claims)).await;
    let no_tenant = viewer(&app, &rs256_token("idp-rsa.pem", "key-1", &without_tenant)).await;

    // Assert
    assert_refused(&default_names, "the user id claim is missing or invalid");
    assert_refused(&no_tenant, "the account id claim is missing or invalid");
}

#[tokio::test]
async fn a_token_signed_with_a_provider_key_but_another_issuer_is_refused() {
    // Arrange
    let app = spawn_with_jwks_file().await;
    let acme = app.create_account("acme").await;
    let mut claims = idp_claims(&acme);
    claims["iss"] = json!("https://other-idp.test");

    // Act
    let reply = viewer(&app, &rs256_token("idp-rsa.pem", "key-1", &claims)).await;

    // Assert
    assert_refused(&reply, "the token's issuer is not trusted");
}

#[tokio::test]
async fn a_jwks_url_is_fetched_on_first_use_and_then_cached() {
    // Arrange
    let jwks = JwksServer::start().await;
    let app = spawn_with_jwks_url(&jwks).await;
    let acme = app.create_account("acme").await;
    let token = rs256_token("idp-rsa.pem", "key-1", &idp_claims(&acme));
    let fetches_before_use = jwks.fetches();

    // Act
    let first = viewer(&app, &token).await;
    let second = viewer(&app, &token).await;

    // Assert
    assert_eq!(fetches_before_use, 0);
    assert_signed_in_as(&first, "acme-admin");
    assert_signed_in_as(&second, "acme-admin");
    assert_eq!(jwks.fetches(), 1, "the key set is cached for its max-age");
}

#[tokio::test]
async fn a_key_added_by_rotation_is_refused_while_the_refetch_is_throttled() {
    // Arrange: key-1 fetched, then the provider rotates in key-2. A re-fetch for an unknown kid
    // happens at most every 30 s after the last fetch, so right after the first fetch the new key
    // is not yet known (and the endpoint is not hammered).
    let jwks = JwksServer::start().await;
    let app = spawn_with_jwks_url(&jwks).await;
    let acme = app.create_account("acme").await;
    let key_1 = rs256_token("idp-rsa.pem", "key-1", &idp_claims(&acme));
    let key_2 = rs256_token("idp-rsa-2.pem", "key-2", &idp_claims(&acme));
    assert_signed_in_as(&viewer(&app, &key_1).await, "acme-admin");
    jwks.rotated.store(true, Ordering::SeqCst);

    // Act
    let first_try = viewer(&app, &key_2).await;
    let second_try = viewer(&app, &key_2).await;
    let old_key = viewer(&app, &key_1).await;

    // Assert
    assert_refused(&first_try, "the token's key id is unknown");
    assert_refused(&second_try, "the token's key id is unknown");
    assert_signed_in_as(&old_key, "acme-admin");
    assert_eq!(jwks.fetches(), 1, "no re-fetch within 30 s of the last one");
}

#[tokio::test]
async fn a_key_added_by_rotation_is_fetched_once_the_throttle_allows() {
    // Arrange: the same rotation, with re-fetches allowed at once.
    let jwks = JwksServer::start().await;
    let url = jwks.url.clone();
    let app = TestApp::spawn_with(
        move |config| {
            let mut idp = provider(None, Some(url));
            idp.jwks_min_refetch_seconds = 0;
            config.identity_providers = vec![idp];
        },
        None,
    )
    .await;
    let acme = app.create_account("acme").await;
    let key_1 = rs256_token("idp-rsa.pem", "key-1", &idp_claims(&acme));
    let key_2 = rs256_token("idp-rsa-2.pem", "key-2", &idp_claims(&acme));
    assert_signed_in_as(&viewer(&app, &key_1).await, "acme-admin");
    jwks.rotated.store(true, Ordering::SeqCst);

    // Act
    let rotated = viewer(&app, &key_2).await;
    let again = viewer(&app, &key_2).await;

    // Assert: the unknown kid prompted one re-fetch; the new key is then cached.
    assert_signed_in_as(&rotated, "acme-admin");
    assert_signed_in_as(&again, "acme-admin");
    assert_eq!(jwks.fetches(), 2);
}

#[tokio::test]
async fn a_jwks_url_serving_the_rotated_set_accepts_both_keys() {
    // Arrange
    let jwks = JwksServer::start().await;
    jwks.rotated.store(true, Ordering::SeqCst);
    let app = spawn_with_jwks_url(&jwks).await;
    let acme = app.create_account("acme").await;
    let key_2 = rs256_token("idp-rsa-2.pem", "key-2", &idp_claims(&acme));
    let key_1 = rs256_token("idp-rsa.pem", "key-1", &idp_claims(&acme));

    // Act
    let key_2_reply = viewer(&app, &key_2).await;
    let key_1_reply = viewer(&app, &key_1).await;

    // Assert
    assert_signed_in_as(&key_2_reply, "acme-admin");
    assert_signed_in_as(&key_1_reply, "acme-admin");
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn an_unavailable_jwks_url_refuses_provider_tokens_without_an_internal_error() {
    // Arrange
    let jwks = JwksServer::start().await;
    jwks.failing.store(true, Ordering::SeqCst);
    let app = spawn_with_jwks_url(&jwks).await;
    let acme = app.create_account("acme").await;
    let provider_token = rs256_token("idp-rsa.pem", "key-1", &idp_claims(&acme));

    // Act
    let provider_reply = viewer(&app, &provider_token).await;
    let own_reply = viewer(&app, &acme.admin_token).await;

    // Assert
    assert_eq!(jwks.fetches(), 1);
    assert_refused(
        &provider_reply,
        "the identity provider's keys are unavailable",
    );
    assert_signed_in_as(&own_reply, "acme-admin");
}

// ---------------------------------------------------------------------------------------------
// The `token` command
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_token_command_prints_one_scoped_token_that_the_server_accepts() {
    // Arrange
    let app = TestApp::spawn().await;
    app.create_account("acme").await;

    // Act
    let output = liaison_token(
        &app,
        &[
            "--account",
            "acme",
            "--user",
            "acme-admin",
            "--scope",
            "users:read",
            "--ttl",
            "1h",
        ],
    )
    .await;

    // Assert
    let stdout = String::from_utf8(output.stdout).expect("utf-8 stdout");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line: {stdout:?}");
    let token = lines[0];
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    assert!(token.starts_with("eyJ"), "a JWT: {token}");

    let viewer_reply = app
        .graphql(
            Some(token),
            "{ viewer { user { username } scopes } }",
            json!({}),
        )
        .await;
    assert_signed_in_as(&viewer_reply, "acme-admin");
    assert_eq!(viewer_reply.data("viewer/scopes"), &json!(["users:read"]));

    let users = app
        .graphql(Some(token), "{ users(first: 5) { totalCount } }", json!({}))
        .await
        .ok();
    assert_eq!(users.data("users/totalCount"), 1, "{}", users.body);

    let roles = app
        .graphql(Some(token), "{ roles(first: 5) { totalCount } }", json!({}))
        .await;
    assert_eq!(roles.codes(), vec!["INSUFFICIENT_SCOPES"], "{}", roles.body);
    let extensions = &roles.errors()[0]["extensions"];
    assert_eq!(extensions["requiredScopes"], json!(["roles:read"]));
    assert_eq!(extensions["grantedScopes"], json!(["users:read"]));
    assert!(roles.body["data"].is_null(), "{}", roles.body);
}

#[tokio::test]
async fn the_token_command_refuses_an_unknown_account_with_exit_code_2() {
    // Arrange
    let app = TestApp::spawn().await;
    app.create_account("acme").await;

    // Act
    let unknown_account = liaison_token(&app, &["--account", "nope", "--user", "acme-admin"]).await;
    let unknown_user = liaison_token(&app, &["--account", "acme", "--user", "nobody"]).await;

    // Assert
    assert_eq!(unknown_account.status.code(), Some(2));
    assert!(unknown_account.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&unknown_account.stderr).contains("no account `nope`"),
        "{}",
        String::from_utf8_lossy(&unknown_account.stderr)
    );
    assert_eq!(unknown_user.status.code(), Some(2));
    assert!(unknown_user.stdout.is_empty());
}

#[tokio::test]
async fn the_token_command_refuses_a_malformed_ttl_or_scope_with_exit_code_2() {
    // Arrange
    let app = TestApp::spawn().await;
    app.create_account("acme").await;

    // Act
    let bad_ttl = liaison_token(
        &app,
        &[
            "--account",
            "acme",
            "--user",
            "acme-admin",
            "--ttl",
            "banana",
        ],
    )
    .await;
    let bad_scope = liaison_token(
        &app,
        &[
            "--account",
            "acme",
            "--user",
            "acme-admin",
            "--scope",
            "users:delete",
        ],
    )
    .await;

    // Assert
    assert_eq!(bad_ttl.status.code(), Some(2));
    assert!(bad_ttl.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&bad_ttl.stderr).contains("`banana` is not a duration"),
        "{}",
        String::from_utf8_lossy(&bad_ttl.stderr)
    );
    assert_eq!(bad_scope.status.code(), Some(2));
    assert!(bad_scope.stdout.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Roles are read on every request
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_revoked_role_takes_effect_on_the_next_request() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let (rita, token) = user_with_grants(&app, &acme, "rita", &[("USERS", "READ")], None).await;
    let query = "{ users(first: 5) { totalCount } }";
    let before = app.graphql(Some(&token), query, json!({})).await.ok();
    assert_eq!(before.data("users/totalCount"), 2, "{}", before.body);

    // Act
    let revoked = assign_roles(&app, &acme.admin_token, &rita, &[]).await.ok();
    let after = app.graphql(Some(&token), query, json!({})).await;

    // Assert
    assert_eq!(
        revoked.user_error_codes("assignRoles"),
        Vec::<String>::new()
    );
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(after.codes(), vec!["FORBIDDEN"], "{}", after.body);
    assert!(after.body["data"].is_null(), "{}", after.body);
    assert_signed_in_as(&viewer(&app, &token).await, "rita");
}
