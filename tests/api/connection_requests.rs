//! Connection requests: a user asks someone else to connect integrations by email or through a
//! shareable link; the invitee connects through the server-rendered page (plain form POSTs, no
//! JavaScript) or the invitee schema; credentials are checked with the provider (a local Intercom
//! double); the requester is emailed over real SMTP; links expire, rotate and end.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use liaison::clock::ManualClock;
use sea_orm::{ConnectionTrait, Statement};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::fake_intercom::FakeIntercom;
use crate::helpers::{Reply, TestAccount, TestApp, decode_gid, user_with_grants};
use crate::smtp::{ReceivedMail, TestSmtp};

const WAIT: StdDuration = StdDuration::from_secs(20);
const PUBLIC_URL: &str = "https://liaison.example.test";
const GOOD_TOKEN: &str = "dG9rOmdvb2RfdG9rZW4=";

pub(crate) const CREATE: &str = "mutation($input: CreateConnectionRequestInput!) { createConnectionRequest(input: $input) { inviteUrl connectionRequest { id status shareable expiresAt createdAt inviteeEmail message } userErrors { field code message } } }";
pub(crate) const RESEND: &str = "mutation($id: ID!) { resendConnectionRequest(input: { id: $id }) { inviteUrl connectionRequest { id status resendsLeft } userErrors { field code } } }";
pub(crate) const REVOKE: &str = "mutation($id: ID!) { revokeConnectionRequest(input: { id: $id }) { connectionRequest { id status endedAt } userErrors { field code } } }";
const REQUEST: &str = "query($id: ID!) { connectionRequest(id: $id) { id status openedAt completedAt inviteeEmail integrations { integration { key } status connectedBy connectedAt } } }";
pub(crate) const OPEN: &str = "mutation($token: String!) { openInvitation(token: $token) { sessionToken sessionExpiresAt invitation { requester account message emailRequired expiresAt integrations { key name status settingsSchema { key type required } } } } }";
const INVITEE_CONNECT: &str = "mutation($input: ConnectInvitationIntegrationInput!) { connectIntegration(input: $input) { invitationCompleted integration { key status } userErrors { field code message } } }";
const CONNECTION: &str = "query($key: String!) { integration(key: $key) { connection { status settings secretsSet connectedByLabel connectedByVerified connectionRequest { id } } } }";

/// A server with a real SMTP server, the Intercom double and a manual clock.
pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) smtp: TestSmtp,
    pub(crate) intercom: FakeIntercom,
    pub(crate) clock: Arc<ManualClock>,
}

pub(crate) async fn world(adjust: impl FnOnce(&mut liaison::config::Config)) -> World {
    let smtp = TestSmtp::start();
    let intercom = FakeIntercom::start(&[GOOD_TOKEN]).await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (smtp_url, intercom_url) = (smtp.url(), intercom.url.clone());
    let app = TestApp::spawn_with(
        move |config| {
            config.smtp_url = Some(SecretString::from(smtp_url));
            config.intercom_api_url = Some(intercom_url);
            config.public_url = Some(PUBLIC_URL.into());
            adjust(config);
        },
        Some(clock.clone()),
    )
    .await;
    World {
        app,
        smtp,
        intercom,
        clock,
    }
}

/// The token of an invite link (its last path segment).
pub(crate) fn token_of(invite_url: &str) -> String {
    invite_url.rsplit('/').next().expect("token").to_owned()
}

pub(crate) async fn create(app: &TestApp, token: &str, input: Value) -> (String, String) {
    let reply = app
        .graphql(Some(token), CREATE, json!({ "input": input }))
        .await
        .ok();
    assert_eq!(
        reply.user_error_codes("createConnectionRequest"),
        Vec::<String>::new(),
        "{}",
        reply.body
    );
    (
        reply
            .data("createConnectionRequest/connectionRequest/id")
            .as_str()
            .expect("id")
            .to_owned(),
        reply
            .data("createConnectionRequest/inviteUrl")
            .as_str()
            .expect("invite url")
            .to_owned(),
    )
}

/// GET the page of a link: status and body.
pub(crate) async fn page(app: &TestApp, token: &str) -> (u16, String) {
    let response = app
        .client
        .get(app.url(&format!("/connect/{token}")))
        .send()
        .await
        .expect("page");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// POST the page's form, as a browser without JavaScript does.
pub(crate) async fn submit(app: &TestApp, token: &str, form: &[(&str, &str)]) -> (u16, String) {
    let response = app
        .client
        .post(app.url(&format!("/connect/{token}")))
        .form(form)
        .send()
        .await
        .expect("form post");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// A request to the invitee schema, with its HTTP status and headers.
pub(crate) async fn invitee_reply(
    app: &TestApp,
    session: Option<&str>,
    query: &str,
    variables: Value,
) -> Reply {
    let mut request = app
        .client
        .post(app.url("/connect/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(session) = session {
        request = request.bearer_auth(session);
    }
    TestApp::reply(request.send().await.expect("invitee request")).await
}

/// A request to the invitee schema: its JSON body.
pub(crate) async fn invitee(
    app: &TestApp,
    session: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    invitee_reply(app, session, query, variables).await.body
}

pub(crate) fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

pub(crate) async fn scalar(app: &TestApp, sql: &str) -> Option<String> {
    let backend = app.db.get_database_backend();
    app.db
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await
        .expect("query")
        .and_then(|row| row.try_get_by_index::<Option<String>>(0).ok().flatten())
}

pub(crate) async fn count(app: &TestApp, sql: &str) -> i64 {
    let backend = app.db.get_database_backend();
    app.db
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await
        .expect("query")
        .and_then(|row| row.try_get_by_index::<i64>(0).ok())
        .expect("count")
}

async fn deliver(world: &World, expected: usize) -> Vec<ReceivedMail> {
    world.app.worker.run_pending_jobs().await.expect("worker");
    world.smtp.wait_for(expected, WAIT).await
}

/// Asserts the account's audit log holds each of `expected`.
async fn assert_audited(app: &TestApp, account: &TestAccount, expected: &[&str]) {
    let actions = audit_actions(app, account).await;
    for action in expected {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

pub(crate) async fn audit_actions(app: &TestApp, account: &TestAccount) -> Vec<String> {
    let reply = app
        .graphql(
            Some(&account.admin_token),
            "{ auditLog(first: 100, filter: { actions: [] }) { nodes { action } } }",
            json!({}),
        )
        .await
        .ok();
    reply
        .data("auditLog/nodes")
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn an_emailed_request_is_connected_through_the_page_and_the_requester_is_told() {
    // Arrange
    let world = world(|_| {}).await;
    let app = &world.app;
    let acme = app.create_account("acme").await;

    // Act: ask the support lead to connect Intercom and HubSpot.
    let (id, invite_url) = create(
        app,
        &acme.admin_token,
        json!({ "integrationKeys": ["intercom", "hubspot"], "inviteeEmail": "lead@example.com", "message": "Please connect our helpdesk <3" }),
    )
    .await;
    let token = token_of(&invite_url);
    let invitation = deliver(&world, 1).await;

    // Assert: the link is built from the public URL, emailed, and stored only encrypted.
    assert!(
        invite_url.starts_with(&format!("{PUBLIC_URL}/connect/lcr_")),
        "{invite_url}"
    );
    assert_eq!(invitation[0].to, vec!["lead@example.com".to_owned()]);
    assert!(
        invitation[0]
            .text()
            .unwrap_or_default()
            .contains(&invite_url)
    );
    assert!(invitation[0].subject().contains("Intercom, HubSpot"));
    let stored = scalar(
        app,
        "SELECT text_body FROM outbox_messages WHERE template = 'connection-request-invitation'",
    )
    .await
    .expect("outbox row");
    assert!(
        !stored.contains(&token) && !stored.contains("connect"),
        "the body is encrypted"
    );
    let link_rows = count(
        app,
        &format!("SELECT COUNT(*) FROM connection_request_links WHERE token_hash = '{token}'"),
    )
    .await;
    assert_eq!(link_rows, 0, "the raw token is not stored");

    // Act: the invitee opens the page, gets a wrong token refused by Intercom, then connects.
    let (status, html) = page(app, &token).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("acme Admin asks you to connect Intercom, HubSpot"),
        "{html}"
    );
    assert!(
        html.contains("Please connect our helpdesk &lt;3"),
        "escaped message"
    );
    assert!(
        html.contains("name=\"setting.access_token\"")
            && html.contains("name=\"setting.portal_id\"")
    );
    assert!(
        !html.contains("name=\"email\""),
        "an emailed invitee is not asked for an email"
    );
    let (status, html) = submit(
        app,
        &token,
        &[
            ("intent", "connect"),
            ("integration", "intercom"),
            ("setting.access_token", "wrong"),
            ("setting.region", "eu"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("Intercom refused the access token"), "{html}");
    assert!(!html.contains("wrong"), "a secret is never sent back");
    let (status, html) = submit(
        app,
        &token,
        &[
            ("intent", "connect"),
            ("integration", "intercom"),
            ("setting.access_token", GOOD_TOKEN),
            ("setting.region", "eu"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Intercom is connected."));
    let (status, html) = submit(
        app,
        &token,
        &[
            ("intent", "connect"),
            ("integration", "hubspot"),
            ("setting.access_token", "pat-na1-secret"),
            ("setting.portal_id", "not a number"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("Portal ID is a number") || html.contains("is a number"),
        "{html}"
    );
    let (status, html) = submit(
        app,
        &token,
        &[
            ("intent", "connect"),
            ("integration", "hubspot"),
            ("setting.access_token", "pat-na1-secret"),
            ("setting.portal_id", "4242"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("All connected"), "{html}");
    let told = deliver(&world, 2).await;

    // Assert: Intercom was asked with the pinned version; the request is complete; the
    // requester was emailed what, by whom, when; the link is used up.
    assert!(!world.intercom.versions().is_empty());
    assert!(
        world
            .intercom
            .versions()
            .iter()
            .all(|v| v.as_deref() == Some("2.14"))
    );
    let completion = &told[1];
    assert_eq!(completion.to, vec!["admin@acme.example.com".to_owned()]);
    let text = completion.text().unwrap_or_default();
    assert!(
        text.contains("Intercom: connected by lead@example.com") && text.contains("HubSpot"),
        "{text}"
    );
    let request = app
        .graphql(Some(&acme.admin_token), REQUEST, json!({ "id": id }))
        .await
        .ok();
    assert_eq!(request.data("connectionRequest/status"), "COMPLETED");
    assert!(request.data("connectionRequest/openedAt").is_string());
    assert_eq!(
        request.data("connectionRequest/integrations/0/status"),
        "CONNECTED"
    );
    assert_eq!(
        request.data("connectionRequest/integrations/1/connectedBy"),
        "lead@example.com"
    );
    let connection = app
        .graphql(
            Some(&acme.admin_token),
            CONNECTION,
            json!({ "key": "intercom" }),
        )
        .await
        .ok();
    assert_eq!(
        connection.data("integration/connection/settings"),
        &json!({ "region": "eu" })
    );
    assert_eq!(
        connection.data("integration/connection/secretsSet"),
        &json!(["access_token"])
    );
    assert_eq!(
        connection.data("integration/connection/connectedByLabel"),
        "lead@example.com"
    );
    assert_eq!(
        connection.data("integration/connection/connectedByVerified"),
        true
    );
    assert_eq!(
        connection.data("integration/connection/connectionRequest/id"),
        id.as_str()
    );
    let raw = scalar(
        app,
        "SELECT secrets FROM connections WHERE integration_key = 'intercom'",
    )
    .await
    .expect("secrets");
    assert!(!raw.contains(GOOD_TOKEN), "secrets are encrypted at rest");
    let (status, html) = page(app, &token).await;
    assert_eq!(status, 410);
    assert!(html.contains("This link has been used"));
    assert_audited(
        app,
        &acme,
        &[
            "connection_request.created",
            "connection_request.sent",
            "connection_request.opened",
            "connection_request.connect_failed",
            "connection_request.connect_succeeded",
            "connection_request.completed",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_shareable_link_is_connected_through_the_invitee_schema() {
    // Arrange
    let world = world(|_| {}).await;
    let app = &world.app;
    let acme = app.create_account("acme").await;
    let (id, invite_url) = create(
        app,
        &acme.admin_token,
        json!({ "integrationKeys": ["intercom"] }),
    )
    .await;
    let token = token_of(&invite_url);

    // Act
    let opened = invitee(app, None, OPEN, json!({ "token": token })).await;
    let session = opened["data"]["openInvitation"]["sessionToken"]
        .as_str()
        .expect("session")
        .to_owned();
    let connect = |input: Value| {
        let session = session.clone();
        async move {
            invitee(
                app,
                Some(&session),
                INVITEE_CONNECT,
                json!({ "input": input }),
            )
            .await
        }
    };
    let without_email = connect(json!({ "integrationKey": "intercom", "settings": { "access_token": GOOD_TOKEN, "region": "us" } })).await;
    let bad_settings = connect(json!({ "integrationKey": "intercom", "email": "Pat@Partner.example", "settings": { "region": "mars" } })).await;
    let other = connect(
        json!({ "integrationKey": "stripe", "email": "pat@partner.example", "settings": {} }),
    )
    .await;
    let done = connect(json!({ "integrationKey": "intercom", "email": "Pat@Partner.example", "settings": { "access_token": GOOD_TOKEN, "region": "us" } })).await;
    let again = invitee(app, None, OPEN, json!({ "token": token })).await;

    // Assert
    let invitation = &opened["data"]["openInvitation"]["invitation"];
    assert_eq!(invitation["account"], "acme Inc.");
    assert_eq!(invitation["emailRequired"], true);
    assert_eq!(invitation["integrations"][0]["key"], "intercom");
    assert_eq!(
        invitation["integrations"][0]["settingsSchema"][0],
        json!({ "key": "access_token", "type": "SECRET", "required": true })
    );
    let expires: DateTime<Utc> = opened["data"]["openInvitation"]["sessionExpiresAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(expires <= world.clock_now() + Duration::minutes(30));
    assert_eq!(
        without_email["data"]["connectIntegration"]["userErrors"][0]["field"],
        json!(["input", "email"])
    );
    let codes: Vec<&str> = bad_settings["data"]["connectIntegration"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["REQUIRED", "INVALID_SETTING"], "{bad_settings}");
    assert_eq!(code(&other), "FORBIDDEN", "{other}");
    assert_eq!(
        done["data"]["connectIntegration"]["invitationCompleted"], true,
        "{done}"
    );
    assert_eq!(code(&again), "LINK_COMPLETED");
    let connection = app
        .graphql(
            Some(&acme.admin_token),
            CONNECTION,
            json!({ "key": "intercom" }),
        )
        .await
        .ok();
    assert_eq!(
        connection.data("integration/connection/status"),
        "CONNECTED"
    );
    assert_eq!(
        connection.data("integration/connection/connectedByLabel"),
        "Pat@Partner.example",
        "as entered"
    );
    assert_eq!(
        connection.data("integration/connection/connectedByVerified"),
        false
    );
    let request = app
        .graphql(Some(&acme.admin_token), REQUEST, json!({ "id": id }))
        .await
        .ok();
    assert_eq!(request.data("connectionRequest/status"), "COMPLETED");
    assert_audited(
        app,
        &acme,
        &[
            "connection_request.exchanged",
            "connection_request.scope_denied",
            "connection_request.connect_failed",
            "connection_request.completed",
        ],
    )
    .await;
}

impl World {
    fn clock_now(&self) -> DateTime<Utc> {
        use liaison::clock::Clock;
        self.clock.now()
    }
}

#[tokio::test]
async fn creation_checks_every_field_and_writes_nothing_when_one_is_wrong() {
    // Arrange
    let world = world(|_| {}).await;
    let app = &world.app;
    let acme = app.create_account("acme").await;
    app.graphql(Some(&acme.admin_token), "mutation { connectIntegration(input: { integrationKey: \"intercom\", settings: { access_token: \"dG9rOmdvb2RfdG9rZW4=\", region: \"us\" } }) { userErrors { code } } }", json!({})).await.ok();

    // Act
    let rejected = app
        .graphql(
            Some(&acme.admin_token),
            CREATE,
            json!({ "input": {
        "integrationKeys": ["hubspot", "hubspot", "nope", "intercom"],
        "inviteeEmail": "not-an-email",
        "message": "x".repeat(2001),
        "expiresIn": 721,
    } }),
        )
        .await
        .ok();
    let empty = app
        .graphql(
            Some(&acme.admin_token),
            CREATE,
            json!({ "input": { "integrationKeys": [] } }),
        )
        .await
        .ok();
    let too_many = app
        .graphql(
            Some(&acme.admin_token),
            CREATE,
            json!({ "input": { "integrationKeys": ["a", "b", "c", "d", "e", "f"] } }),
        )
        .await;
    let rows = count(app, "SELECT COUNT(*) FROM connection_requests").await;
    let reconnect = app.graphql(Some(&acme.admin_token), CREATE, json!({ "input": { "integrationKeys": ["intercom"], "reconnect": true, "inviteeEmail": "lead@example.com" } })).await.ok();
    let shareable = app
        .graphql(
            Some(&acme.admin_token),
            CREATE,
            json!({ "input": { "integrationKeys": ["hubspot"] } }),
        )
        .await
        .ok();

    // Assert
    let errors: Vec<(Value, String)> = rejected
        .data("createConnectionRequest/userErrors")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].clone(), e["code"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (
                json!(["input", "integrationKeys", "1"]),
                "DUPLICATE".to_owned()
            ),
            (
                json!(["input", "integrationKeys", "2"]),
                "UNKNOWN_INTEGRATION".to_owned()
            ),
            (
                json!(["input", "integrationKeys", "3"]),
                "ALREADY_CONNECTED".to_owned()
            ),
            (json!(["input", "inviteeEmail"]), "INVALID_EMAIL".to_owned()),
            (json!(["input", "message"]), "TOO_LONG".to_owned()),
            (json!(["input", "expiresIn"]), "OUT_OF_RANGE".to_owned()),
        ]
    );
    assert_eq!(
        empty.user_error_codes("createConnectionRequest"),
        vec!["INVALID_COUNT"]
    );
    assert!(
        !too_many.errors().is_empty(),
        "more than 5 fails validation"
    );
    assert_eq!(rows, 0, "nothing was written");
    let lifetime = |reply: &crate::helpers::Reply| {
        let created: DateTime<Utc> = reply
            .data("createConnectionRequest/connectionRequest/createdAt")
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let expires: DateTime<Utc> = reply
            .data("createConnectionRequest/connectionRequest/expiresAt")
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        expires - created
    };
    assert_eq!(lifetime(&reconnect), Duration::days(7));
    assert_eq!(lifetime(&shareable), Duration::hours(48));
    assert_eq!(
        shareable.data("createConnectionRequest/connectionRequest/shareable"),
        true
    );
}

#[tokio::test]
async fn links_expire_rotate_and_end_with_their_own_answers() {
    // Arrange
    let world = world(|_| {}).await;
    let app = &world.app;
    let acme = app.create_account("acme").await;
    let (id, first_url) = create(
        app,
        &acme.admin_token,
        json!({ "integrationKeys": ["intercom"], "expiresIn": 1 }),
    )
    .await;
    let first = token_of(&first_url);

    // Act: the hour passes; the expiry job runs; the holder asks for a new link, twice.
    world.clock.advance(Duration::minutes(61));
    let (expired_status, expired_page) = page(app, &first).await;
    world.clock.advance(Duration::minutes(15));
    app.worker.run_pending_jobs().await.expect("worker");
    let status_after_job = app
        .graphql(Some(&acme.admin_token), REQUEST, json!({ "id": id }))
        .await
        .ok();
    let (asked_status, _) = submit(app, &first, &[("intent", "new-link")]).await;
    let (asked_again, _) = submit(app, &first, &[("intent", "new-link")]).await;
    let mail = deliver(&world, 2).await;

    // Assert
    assert_eq!(expired_status, 410);
    assert!(expired_page.contains("This link has expired") && expired_page.contains("new-link"));
    assert_eq!(status_after_job.data("connectionRequest/status"), "EXPIRED");
    assert_eq!(asked_status, 200);
    assert_eq!(asked_again, 429);
    let subjects: Vec<String> = mail.iter().map(ReceivedMail::subject).collect();
    assert!(
        subjects.iter().any(|s| s.contains("expired")),
        "{subjects:?}"
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("A new link is asked for")),
        "{subjects:?}"
    );
    assert!(
        mail.iter()
            .all(|m| m.to == vec!["admin@acme.example.com".to_owned()])
    );

    // Act: a resend revives it with a new link; the old one is replaced.
    let resent = app
        .graphql(Some(&acme.admin_token), RESEND, json!({ "id": id }))
        .await
        .ok();
    let second = token_of(
        resent
            .data("resendConnectionRequest/inviteUrl")
            .as_str()
            .expect("new link"),
    );
    let (old_status, old_page) = page(app, &first).await;
    let (new_status, _) = page(app, &second).await;
    let replaced = invitee(app, None, OPEN, json!({ "token": first })).await;

    // Assert
    assert_eq!(
        resent.data("resendConnectionRequest/connectionRequest/status"),
        "PENDING"
    );
    assert_ne!(first, second);
    assert_eq!((old_status, new_status), (410, 200));
    assert!(old_page.contains("This link was replaced"));
    assert_eq!(code(&replaced), "LINK_REPLACED");

    // Act: revoked links say so; an ended request cannot be revoked or resent again.
    let revoked = app
        .graphql(Some(&acme.admin_token), REVOKE, json!({ "id": id }))
        .await
        .ok();
    let (revoked_status, revoked_page) = page(app, &second).await;
    let revoke_again = app
        .graphql(Some(&acme.admin_token), REVOKE, json!({ "id": id }))
        .await
        .ok();
    let resend_revoked = app
        .graphql(Some(&acme.admin_token), RESEND, json!({ "id": id }))
        .await
        .ok();
    let unknown = invitee(
        app,
        None,
        OPEN,
        json!({ "token": format!("lcr_{}", "A".repeat(43)) }),
    )
    .await;

    // Assert
    assert_eq!(
        revoked.data("revokeConnectionRequest/connectionRequest/status"),
        "REVOKED"
    );
    assert_eq!(revoked_status, 410);
    assert!(revoked_page.contains("This link was withdrawn"));
    assert_eq!(
        revoke_again.user_error_codes("revokeConnectionRequest"),
        vec!["REQUEST_ENDED"]
    );
    assert_eq!(
        resend_revoked.user_error_codes("resendConnectionRequest"),
        vec!["REQUEST_ENDED"]
    );
    assert_eq!(code(&unknown), "INVALID_LINK");
    assert_audited(
        app,
        &acme,
        &[
            "connection_request.expired",
            "connection_request.new_link_asked",
            "connection_request.resent",
            "connection_request.revoked",
        ],
    )
    .await;
}

#[tokio::test]
async fn resends_are_limited_to_three_a_day_and_creation_per_hour() {
    // Arrange
    let world = world(|config| config.connection_requests_per_user_per_hour = 2).await;
    let app = &world.app;
    let acme = app.create_account("acme").await;
    let (id, _) = create(
        app,
        &acme.admin_token,
        json!({ "integrationKeys": ["intercom"] }),
    )
    .await;
    create(
        app,
        &acme.admin_token,
        json!({ "integrationKeys": ["hubspot"] }),
    )
    .await;

    // Act
    let third = app
        .graphql(
            Some(&acme.admin_token),
            CREATE,
            json!({ "input": { "integrationKeys": ["stripe"] } }),
        )
        .await;
    let mut resends = Vec::new();
    for _ in 0..4 {
        resends.push(
            app.graphql(Some(&acme.admin_token), RESEND, json!({ "id": id }))
                .await,
        );
    }
    world.clock.advance(Duration::hours(25));
    let next_day = app
        .graphql(Some(&acme.admin_token), RESEND, json!({ "id": id }))
        .await
        .ok();
    let created_again = app
        .graphql(
            Some(&acme.admin_token),
            CREATE,
            json!({ "input": { "integrationKeys": ["stripe"] } }),
        )
        .await
        .ok();

    // Assert
    assert_eq!(third.codes(), vec!["RATE_LIMITED"]);
    assert_eq!(
        resends[2].data("resendConnectionRequest/connectionRequest/resendsLeft"),
        0
    );
    assert_eq!(resends[3].codes(), vec!["RATE_LIMITED"]);
    assert_eq!(
        next_day.data("resendConnectionRequest/connectionRequest/resendsLeft"),
        2
    );
    assert_eq!(
        created_again.user_error_codes("createConnectionRequest"),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn permissions_decide_who_asks_and_who_sees_and_accounts_stay_apart() {
    // Arrange
    let world = world(|_| {}).await;
    let app = &world.app;
    let acme = app.create_account("acme").await;
    let globex = app.create_account("globex").await;
    let (_, asker) = user_with_grants(
        app,
        &acme,
        "asker",
        &[("CONNECTION_REQUESTS", "FULL")],
        None,
    )
    .await;
    let (_, reader) = user_with_grants(
        app,
        &acme,
        "reader",
        &[("CONNECTION_REQUESTS", "READ"), ("USER_PII", "READ")],
        None,
    )
    .await;
    let (_, outsider) =
        user_with_grants(app, &acme, "outsider", &[("INTEGRATIONS", "FULL")], None).await;
    let (_, scoped) = user_with_grants(
        app,
        &acme,
        "scoped",
        &[("CONNECTION_REQUESTS", "FULL")],
        Some("connection_requests:read"),
    )
    .await;
    let list = "{ connectionRequests(first: 10) { totalCount nodes { id inviteeEmail requester { id } } } }";

    // Act
    let asked = app.graphql(Some(&asker), CREATE, json!({ "input": { "integrationKeys": ["intercom"], "inviteeEmail": "lead@example.com" } })).await;
    let id = asked
        .data("createConnectionRequest/connectionRequest/id")
        .as_str()
        .expect("created without INTEGRATIONS")
        .to_owned();
    let by_reader = app
        .graphql(
            Some(&reader),
            CREATE,
            json!({ "input": { "integrationKeys": ["hubspot"] } }),
        )
        .await;
    let by_outsider = app.graphql(Some(&outsider), list, json!({})).await;
    let by_scoped = app
        .graphql(
            Some(&scoped),
            CREATE,
            json!({ "input": { "integrationKeys": ["hubspot"] } }),
        )
        .await;
    let revoke_by_reader = app
        .graphql(Some(&reader), REVOKE, json!({ "id": id }))
        .await;
    let read_by_reader = app.graphql(Some(&reader), list, json!({})).await;
    let read_by_asker = app.graphql(Some(&asker), list, json!({})).await;
    let from_globex = app
        .graphql(Some(&globex.admin_token), REQUEST, json!({ "id": id }))
        .await;
    let globex_list = app
        .graphql(Some(&globex.admin_token), list, json!({}))
        .await
        .ok();
    let revoke_from_globex = app
        .graphql(Some(&globex.admin_token), REVOKE, json!({ "id": id }))
        .await;

    // Assert: the asker created it, without INTEGRATIONS, but may not read the invitee's email.
    assert_eq!(asked.codes(), vec!["FORBIDDEN"]);
    assert_eq!(
        asked.errors()[0]["path"],
        json!([
            "createConnectionRequest",
            "connectionRequest",
            "inviteeEmail"
        ])
    );
    assert_eq!(by_reader.codes(), vec!["FORBIDDEN"]);
    assert_eq!(by_outsider.codes(), vec!["FORBIDDEN"]);
    assert_eq!(by_scoped.codes(), vec!["INSUFFICIENT_SCOPES"]);
    assert_eq!(revoke_by_reader.codes(), vec!["FORBIDDEN"]);
    assert_eq!(read_by_reader.data("connectionRequests/totalCount"), 1);
    assert_eq!(
        read_by_reader.data("connectionRequests/nodes/0/inviteeEmail"),
        "lead@example.com"
    );
    assert_eq!(
        read_by_reader.codes(),
        vec!["FORBIDDEN"],
        "requester needs USERS READ"
    );
    assert!(
        read_by_reader
            .data("connectionRequests/nodes/0/requester")
            .is_null()
    );
    assert!(
        read_by_asker
            .data("connectionRequests/nodes/0/inviteeEmail")
            .is_null(),
        "no USER_PII"
    );
    assert_eq!(
        read_by_asker.data("connectionRequests/nodes/0/id"),
        id.as_str()
    );
    assert_eq!(from_globex.codes(), vec!["NOT_FOUND"]);
    assert_eq!(globex_list.data("connectionRequests/totalCount"), 0);
    assert_eq!(revoke_from_globex.codes(), vec!["NOT_FOUND"]);
    assert_eq!(decode_gid(&id).len(), 36);
}

#[tokio::test]
async fn users_with_integrations_full_connect_directly_through_the_same_check() {
    // Arrange
    let world = world(|_| {}).await;
    let app = &world.app;
    let acme = app.create_account("acme").await;
    let connect = "mutation($token: String!) { connectIntegration(input: { integrationKey: \"intercom\", settings: { access_token: $token, region: \"au\" } }) { integration { connection { status secretsSet } } userErrors { field code message } } }";

    // Act
    let refused = app
        .graphql(Some(&acme.admin_token), connect, json!({ "token": "nope" }))
        .await
        .ok();
    let accepted = app
        .graphql(
            Some(&acme.admin_token),
            connect,
            json!({ "token": GOOD_TOKEN }),
        )
        .await
        .ok();
    let disconnected = app.graphql(Some(&acme.admin_token), "mutation { disconnectIntegration(input: { integrationKey: \"intercom\" }) { integration { connection { status secretsSet } } } }", json!({})).await.ok();

    // Assert
    assert_eq!(
        refused.data("connectIntegration/userErrors/0/code"),
        "CREDENTIALS_REJECTED"
    );
    assert_eq!(
        refused.data("connectIntegration/userErrors/0/field"),
        &json!(["input", "settings"])
    );
    assert!(
        !refused.body.to_string().contains("nope"),
        "the secret is not echoed"
    );
    assert_eq!(
        accepted.data("connectIntegration/integration/connection/status"),
        "CONNECTED"
    );
    assert_eq!(
        disconnected.data("disconnectIntegration/integration/connection/status"),
        "NOT_CONNECTED"
    );
    assert_eq!(
        disconnected.data("disconnectIntegration/integration/connection/secretsSet"),
        &json!([])
    );
    assert_eq!(world.intercom.versions().len(), 2);
}
