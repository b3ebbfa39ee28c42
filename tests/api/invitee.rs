//! The invitee route's boundary: an invitee session reaches its invitation and nothing else, the
//! main API refuses it everywhere, account and operator tokens are refused on the route, a session
//! ends with its link, mail scanners change nothing, the pages carry their protective headers, and
//! a burst of guesses is throttled.

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeDefinition, TypeKind, TypeSystemDefinition};
use serde_json::{Value, json};

use crate::connection_requests::{
    OPEN, RESEND, REVOKE, World, code, count, create, invitee, invitee_reply, page, scalar, submit,
    token_of, world,
};
use crate::helpers::{TestApp, operator_token};
use crate::http::{Incoming, init, open_socket};

const INVITATION: &str = "{ invitation { account integrations { key } } }";

/// A shareable request of acme's admin for Intercom: the admin's token, its id and its token.
async fn shareable_request(app: &TestApp) -> (String, String, String) {
    let acme = app.create_account("acme").await;
    let (id, url) = create(
        app,
        &acme.admin_token,
        json!({ "integrationKeys": ["intercom"] }),
    )
    .await;
    (acme.admin_token, id, token_of(&url))
}

/// A shareable request and the invitee session opened with its link.
async fn opened_session(world: &World) -> (String, String, String) {
    let (admin_token, id, token) = shareable_request(&world.app).await;
    let opened = invitee(&world.app, None, OPEN, json!({ "token": token })).await;
    let session = opened["data"]["openInvitation"]["sessionToken"]
        .as_str()
        .unwrap_or_else(|| panic!("a session: {opened}"))
        .to_owned();
    (admin_token, id, session)
}

/// One operation per root field of `operation_type` in the checked-in SDL: every required
/// argument bound to a variable of its declared type, and a selection when the field needs one.
fn every_root_field(operation_type: &str) -> Vec<(String, String)> {
    let sdl = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql");
    let document = parse_schema(&sdl).expect("the SDL parses");
    let types: Vec<&TypeDefinition> = document
        .definitions
        .iter()
        .filter_map(|definition| match definition {
            TypeSystemDefinition::Type(t) => Some(&t.node),
            _ => None,
        })
        .collect();
    let is_leaf = |name: &str| {
        matches!(name, "String" | "Int" | "Float" | "Boolean" | "ID")
            || types.iter().any(|t| {
                t.name.node.as_str() == name
                    && matches!(t.kind, TypeKind::Scalar | TypeKind::Enum(_))
            })
    };
    let root = types
        .iter()
        .find(|t| t.name.node.as_str() == operation_type)
        .unwrap_or_else(|| panic!("type {operation_type}"));
    let TypeKind::Object(object) = &root.kind else {
        panic!("{operation_type} is an object type");
    };
    let keyword = operation_type.to_lowercase();
    object
        .fields
        .iter()
        .map(|field| {
            let field = &field.node;
            let required: Vec<_> = field
                .arguments
                .iter()
                .map(|a| &a.node)
                .filter(|a| !a.ty.node.nullable && a.default_value.is_none())
                .collect();
            let declarations: Vec<String> = required
                .iter()
                .map(|a| format!("${}: {}", a.name.node, a.ty.node))
                .collect();
            let arguments: Vec<String> = required
                .iter()
                .map(|a| format!("{0}: ${0}", a.name.node))
                .collect();
            let mut named = &field.ty.node.base;
            while let async_graphql::parser::types::BaseType::List(inner) = named {
                named = &inner.base;
            }
            let selection = if is_leaf(&named.to_string()) {
                ""
            } else {
                " { __typename }"
            };
            let wrap = |parts: &[String]| {
                if parts.is_empty() {
                    String::new()
                } else {
                    format!("({})", parts.join(", "))
                }
            };
            (
                field.name.node.to_string(),
                format!(
                    "{keyword}{} {{ {}{}{selection} }}",
                    wrap(&declarations),
                    field.name.node,
                    wrap(&arguments)
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_invitee_session_is_refused_on_every_field_of_the_main_api() {
    // Arrange
    let world = world(|_| {}).await;
    let app = &world.app;
    let (admin_token, _, session) = opened_session(&world).await;
    let operations: Vec<(String, String)> = every_root_field("Query")
        .into_iter()
        .chain(every_root_field("Mutation"))
        .collect();
    assert!(operations.len() > 50, "{}", operations.len());

    for (field, document) in &operations {
        // Act
        let as_invitee = app.graphql(Some(&session), document, json!({})).await;
        let as_admin = app.graphql(Some(&admin_token), document, json!({})).await;

        // Assert: the invitee is refused before anything runs; the same document is not refused
        // for an account token, so the refusal is the session's.
        assert_eq!(as_invitee.status, 401, "{field}: {}", as_invitee.body);
        assert_eq!(as_invitee.codes(), vec!["UNAUTHENTICATED"], "{field}");
        assert!(as_invitee.body.get("data").is_none_or(Value::is_null));
        assert_ne!(as_admin.status, 401, "{field}: {}", as_admin.body);
    }

    // Act: the one subscription field is behind the websocket's handshake.
    let mut refused = open_socket(app).await;
    let refused = init(&mut refused, &session).await;
    let mut accepted = open_socket(app).await;
    let accepted = init(&mut accepted, &admin_token).await;

    // Assert
    assert!(matches!(refused, Incoming::Closed), "{refused:?}");
    assert!(
        matches!(&accepted, Incoming::Json(m) if m["type"] == "connection_ack"),
        "{accepted:?}"
    );
}

#[tokio::test]
async fn the_invitee_route_refuses_account_and_operator_tokens() {
    // Arrange
    let world = world(|_| {}).await;
    let app = &world.app;
    let (admin_token, _, session) = opened_session(&world).await;
    let operator = operator_token("ops", None);

    // Act
    let as_admin = invitee_reply(app, Some(&admin_token), INVITATION, json!({})).await;
    let as_operator = invitee_reply(app, Some(&operator), INVITATION, json!({})).await;
    let as_invitee = invitee_reply(app, Some(&session), INVITATION, json!({})).await;

    // Assert
    for refused in [&as_admin, &as_operator] {
        assert_eq!(refused.status, 401, "{}", refused.body);
        assert_eq!(refused.codes(), vec!["UNAUTHENTICATED"]);
    }
    assert_eq!(as_invitee.status, 200, "{}", as_invitee.body);
    assert_eq!(as_invitee.data("invitation/account"), "acme Inc.");
}

#[tokio::test]
async fn the_invitee_schema_holds_the_invitation_and_nothing_else() {
    // Arrange
    let world = world(|_| {}).await;
    let app = &world.app;
    let (_, _, session) = opened_session(&world).await;
    let names = |fields: &Value| -> Vec<String> {
        let mut names: Vec<String> = fields
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| f["name"].as_str().expect("name").to_owned())
            .collect();
        names.sort();
        names
    };

    // Act
    let schema = invitee_reply(app, None, "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { name } } }", json!({})).await;
    let without_session = invitee_reply(app, None, INVITATION, json!({})).await;
    let with_session = invitee_reply(app, Some(&session), INVITATION, json!({})).await;
    let mut beyond = Vec::new();
    for query in [
        "{ viewer { user { id } } }",
        "{ users(first: 1) { nodes { id } } }",
        "{ integrations { key } }",
        "mutation { createUser(input: { kind: NON_LOGIN, username: \"x\" }) { user { id } } }",
    ] {
        beyond.push(invitee_reply(app, Some(&session), query, json!({})).await);
    }

    // Assert
    assert_eq!(
        names(schema.data("__schema/queryType/fields")),
        vec!["invitation"]
    );
    assert_eq!(
        names(schema.data("__schema/mutationType/fields")),
        vec!["connectIntegration", "openInvitation"]
    );
    assert_eq!(schema.data("__schema/subscriptionType"), &Value::Null);
    assert_eq!(
        without_session.codes(),
        vec!["UNAUTHENTICATED"],
        "{}",
        without_session.body
    );
    assert_eq!(
        with_session.data("invitation/integrations/0/key"),
        "intercom"
    );
    for reply in &beyond {
        assert!(
            reply.body.get("data").is_none_or(Value::is_null),
            "{}",
            reply.body
        );
        assert!(
            reply.errors()[0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("Unknown field")),
            "{}",
            reply.body
        );
    }
}

#[tokio::test]
async fn a_session_ends_when_its_link_is_replaced_or_revoked() {
    // Arrange
    let world = world(|_| {}).await;
    let app = &world.app;
    let (admin_token, id, first_session) = opened_session(&world).await;

    // Act: a resend rotates the link.
    let resent = app
        .graphql(Some(&admin_token), RESEND, json!({ "id": id }))
        .await
        .ok();
    let replaced = invitee_reply(app, Some(&first_session), INVITATION, json!({})).await;
    let second = token_of(
        resent
            .data("resendConnectionRequest/inviteUrl")
            .as_str()
            .expect("new link"),
    );
    let reopened = invitee(app, None, OPEN, json!({ "token": second })).await;
    let second_session = reopened["data"]["openInvitation"]["sessionToken"]
        .as_str()
        .expect("a new session")
        .to_owned();
    let before_revoke = invitee_reply(app, Some(&second_session), INVITATION, json!({})).await;
    app.graphql(Some(&admin_token), REVOKE, json!({ "id": id }))
        .await
        .ok();
    let revoked = invitee_reply(app, Some(&second_session), INVITATION, json!({})).await;

    // Assert
    assert_eq!(replaced.status, 401, "{}", replaced.body);
    assert_eq!(replaced.codes(), vec!["LINK_REPLACED"]);
    assert_eq!(before_revoke.status, 200, "{}", before_revoke.body);
    assert_eq!(revoked.status, 401, "{}", revoked.body);
    assert_eq!(revoked.codes(), vec!["LINK_REVOKED"]);
}

#[tokio::test]
async fn a_mail_scanner_opening_the_link_changes_and_records_nothing() {
    // Arrange
    let world = world(|_| {}).await;
    let app = &world.app;
    let acme = app.create_account("acme").await;
    let (_, url) = create(
        app,
        &acme.admin_token,
        json!({ "integrationKeys": ["intercom"], "inviteeEmail": "pat@partner.example" }),
    )
    .await;
    let token = token_of(&url);
    let state = || async {
        (
            count(app, "SELECT COUNT(*) FROM audit_events").await,
            scalar(
                app,
                "SELECT CAST(opened_at AS TEXT) FROM connection_requests",
            )
            .await,
            scalar(
                app,
                "SELECT CAST(updated_at AS TEXT) FROM connection_requests",
            )
            .await,
        )
    };
    let before = state().await;

    // Act: three scans.
    let mut scans = Vec::new();
    for _ in 0..3 {
        scans.push(page(app, &token).await.0);
    }
    let after_scans = state().await;
    // The first POST, even one the form refuses, is the invitee's first action.
    let (posted, _) = submit(
        app,
        &token,
        &[
            ("intent", "connect"),
            ("integration", "intercom"),
            ("setting.region", "us"),
            ("setting.access_token", ""),
        ],
    )
    .await;
    let after_post = state().await;

    // Assert
    assert_eq!(scans, vec![200, 200, 200]);
    assert_eq!(before.1, None, "not opened yet");
    assert_eq!(after_scans, before);
    assert_eq!(posted, 422);
    assert!(after_post.1.is_some(), "opened at the first POST");
    assert!(after_post.0 > before.0);
    let opened = count(
        app,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'connection_request.opened'",
    )
    .await;
    assert_eq!(opened, 1);
}

#[tokio::test]
async fn pages_carry_protective_headers_and_unknown_links_get_the_plain_answer() {
    // Arrange
    let world = world(|_| {}).await;
    let app = &world.app;
    let (_, _, token) = shareable_request(app).await;
    let unknown = format!("lcr_{}", "B".repeat(43));
    let get =
        |path: String| async move { app.client.get(app.url(&path)).send().await.expect("GET") };

    // Act
    let response = get(format!("/connect/{token}")).await;
    let headers = response.headers().clone();
    let html = response.text().await.expect("html");
    let stylesheet = get("/connect/assets/style.css".into()).await;
    let mut refused = Vec::new();
    for bad in [unknown.as_str(), "not-a-token-at-all"] {
        let response = get(format!("/connect/{bad}")).await;
        let status = response.status().as_u16();
        refused.push((bad.to_owned(), status, response.text().await.expect("body")));
    }

    // Assert
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("referrer-policy"), "no-referrer");
    let policy = header("content-security-policy");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("form-action 'self'"), "{policy}");
    assert!(header("cache-control").contains("no-store"));
    assert!(html.contains("acme Inc."), "the page shows the account");
    assert!(!html.contains("<script"), "no JavaScript");
    assert!(!html.contains("https://"), "no third-party resources");
    assert_eq!(stylesheet.status().as_u16(), 200);
    assert!(
        stylesheet
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/css"))
    );
    for (bad, status, body) in refused {
        assert_eq!(status, 404, "{bad}");
        assert!(body.contains("This link is not valid"), "{bad}: {body}");
        assert!(!body.contains(&bad), "the token is never echoed");
    }
}

#[tokio::test]
async fn a_burst_of_guesses_is_throttled_on_the_route_and_nowhere_else() {
    // Arrange: five requests a minute per address on the invitee route.
    let world = world(|config| {
        config.rate_limit_enabled = true;
        config.rate_limit_invitee_per_ip_per_minute = 5;
    })
    .await;
    let app = &world.app;
    let acme = app.create_account("acme").await;
    let guess = |n: usize| format!("lcr_{:A>43}", n);

    // Act
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for n in 0..6 {
        let response = app
            .client
            .get(app.url(&format!("/connect/{}", guess(n))))
            .send()
            .await
            .expect("guess");
        statuses.push(response.status().as_u16());
        retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
    }
    let exchange = invitee(app, None, OPEN, json!({ "token": guess(7) })).await;
    let main_api = app
        .graphql(
            Some(&acme.admin_token),
            "{ viewer { user { username } } }",
            json!({}),
        )
        .await;

    // Assert
    assert_eq!(statuses, vec![404, 404, 404, 404, 404, 429]);
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    assert_eq!(code(&exchange), "RATE_LIMITED", "{exchange}");
    assert_eq!(main_api.status, 200, "{}", main_api.body);
}
