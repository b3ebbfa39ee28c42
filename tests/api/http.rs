//! GraphQL over HTTP as the transport rules say: methods, media types, body and batch limits,
//! status codes, depth and complexity limits, DataLoader statement counts, health, metrics,
//! request ids, subscriptions over WebSocket and CORS.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{
    Reply, TestAccount, TestApp, create_role, create_user, decode_gid, user_with_grants,
};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const CREATE_USER: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code } } }";

/// How many users of the caller's account match `text` (username or names).
async fn users_matching(app: &TestApp, token: &str, text: &str) -> i64 {
    let reply = app
        .graphql(
            Some(token),
            "query($text: String!) { users(filter: { text: $text }) { totalCount } }",
            json!({ "text": text }),
        )
        .await
        .ok();
    reply.data("users/totalCount").as_i64().expect("totalCount")
}

/// The JSON body of a `createUser` request for a non-login contact called `username`.
fn create_contact_body(username: &str) -> Value {
    json!({
        "query": CREATE_USER,
        "variables": { "input": { "kind": "NON_LOGIN", "username": username, "displayName": username } },
    })
}

/// A header's value as text, or `None`.
fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.get(name).and_then(|v| v.to_str().ok())
}

/// POSTs `body` (raw bytes) with the given headers.
async fn post_raw(
    app: &TestApp,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> Reply {
    let mut request = app.client.post(app.url("/graphql")).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    TestApp::reply(request.send().await.expect("request sent")).await
}

/// GETs `/graphql` with the given URL parameters and headers.
async fn get_graphql(
    app: &TestApp,
    token: Option<&str>,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = app.client.get(app.url("/graphql")).query(params);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    TestApp::reply(request.send().await.expect("request sent")).await
}

async fn get_text(app: &TestApp, path: &str) -> (u16, String) {
    let response = app
        .client
        .get(app.url(path))
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn metrics(app: &TestApp) -> String {
    let (status, text) = get_text(app, "/metrics").await;
    assert_eq!(status, 200);
    text
}

/// The value of one sample line (`name{labels} value`) of the exposition, if present.
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        line.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
    })
}

/// Runs one mutation document with a field per input, aliased `m0`, `m1`, …
async fn aliased_mutations(
    app: &TestApp,
    token: &str,
    field: &str,
    input_type: &str,
    inputs: &[Value],
    selection: &str,
) -> Reply {
    let params: Vec<String> = (0..inputs.len())
        .map(|i| format!("$i{i}: {input_type}!"))
        .collect();
    let fields: Vec<String> = (0..inputs.len())
        .map(|i| {
            format!("m{i}: {field}(input: $i{i}) {{ {selection} userErrors {{ code message }} }}")
        })
        .collect();
    let query = format!("mutation({}) {{ {} }}", params.join(", "), fields.join(" "));
    let variables: serde_json::Map<String, Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| (format!("i{i}"), input.clone()))
        .collect();
    let reply = app
        .graphql(Some(token), &query, Value::Object(variables))
        .await
        .ok();
    for i in 0..inputs.len() {
        assert_eq!(
            reply.user_error_codes(&format!("m{i}")),
            Vec::<String>::new(),
            "{}",
            reply.body
        );
    }
    reply
}

pub(crate) async fn create_named(
    app: &TestApp,
    token: &str,
    mutation: &str,
    key: &str,
    name: &str,
) -> String {
    let reply = app
        .graphql(
            Some(token),
            &format!(
                "mutation($input: CreateNamedInput!) {{ {mutation}(input: $input) {{ {key} {{ id }} userErrors {{ code }} }} }}"
            ),
            json!({ "input": { "name": name } }),
        )
        .await
        .ok();
    assert_eq!(reply.user_error_codes(mutation), Vec::<String>::new());
    reply
        .data(&format!("{mutation}/{key}/id"))
        .as_str()
        .expect("id")
        .to_owned()
}

/// 100 non-login contacts with 2 roles, 2 groups and 2 skills each, all through the API.
pub(crate) async fn seed_hundred_users(app: &TestApp, account: &TestAccount) {
    let token = account.admin_token.as_str();
    let roles = [
        create_role(app, token, "Readers", &[("USERS", "READ")]).await,
        create_role(app, token, "Auditors", &[("AUDIT_LOG", "READ")]).await,
    ];
    let groups = [
        create_named(app, token, "createGroup", "group", "Support").await,
        create_named(app, token, "createGroup", "group", "Sales").await,
    ];
    let skills = [
        create_named(app, token, "createSkill", "skill", "French").await,
        create_named(app, token, "createSkill", "skill", "German").await,
    ];
    for chunk in 0..4 {
        let inputs: Vec<Value> = (0..25)
            .map(|i| {
                let name = format!("contact-{:03}", chunk * 25 + i);
                json!({ "kind": "NON_LOGIN", "username": name, "displayName": name })
            })
            .collect();
        let created = aliased_mutations(
            app,
            token,
            "createUser",
            "CreateUserInput",
            &inputs,
            "user { id }",
        )
        .await;
        let ids: Vec<String> = (0..inputs.len())
            .map(|i| {
                created
                    .data(&format!("m{i}/user/id"))
                    .as_str()
                    .expect("user id")
                    .to_owned()
            })
            .collect();
        let updates: Vec<Value> = ids
            .iter()
            .map(|id| {
                json!({
                    "id": id,
                    "groupIds": groups,
                    "skills": [
                        { "skillId": skills[0], "level": 3 },
                        { "skillId": skills[1], "level": 7 },
                    ],
                })
            })
            .collect();
        aliased_mutations(
            app,
            token,
            "updateUser",
            "UpdateUserInput",
            &updates,
            "user { id }",
        )
        .await;
        let assignments: Vec<Value> = ids
            .iter()
            .map(|id| json!({ "userId": id, "roleIds": roles }))
            .collect();
        aliased_mutations(
            app,
            token,
            "assignRoles",
            "AssignRolesInput",
            &assignments,
            "user { id }",
        )
        .await;
    }
}

// --- Methods and media types -------------------------------------------------------------------

#[tokio::test]
async fn a_mutation_sent_with_get_is_refused_with_405_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let mutation = r#"mutation { createUser(input: { kind: NON_LOGIN, username: "via-get" }) { user { id } } }"#;

    let reply = get_graphql(&app, Some(&acme.admin_token), &[("query", mutation)], &[]).await;

    assert_eq!(reply.status, 405, "{}", reply.body);
    assert_eq!(header(&reply, "allow"), Some("POST"));
    assert_eq!(reply.body["data"], Value::Null);
    assert_eq!(users_matching(&app, &acme.admin_token, "via-get").await, 0);
}

#[tokio::test]
async fn a_query_sent_with_get_is_answered() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    let reply = get_graphql(
        &app,
        Some(&acme.admin_token),
        &[("query", "{ viewer { user { username } } }")],
        &[],
    )
    .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(header(&reply, "content-type"), Some("application/json"));
    let reply = reply.ok();
    assert_eq!(reply.data("viewer/user/username"), "acme-admin");
}

#[tokio::test]
async fn get_without_a_query_serves_graphiql_to_a_browser() {
    let app = TestApp::spawn().await;

    let reply = get_graphql(
        &app,
        None,
        &[],
        &[("accept", "text/html,application/xhtml+xml")],
    )
    .await;

    assert_eq!(reply.status, 200);
    assert!(
        header(&reply, "content-type").is_some_and(|v| v.starts_with("text/html")),
        "{:?}",
        reply.headers
    );
    let html = reply.body.as_str().expect("an HTML page");
    assert!(html.contains("GraphiQL"), "{html}");
}

#[tokio::test]
async fn get_without_a_query_and_without_html_is_a_bad_request() {
    let app = TestApp::spawn().await;

    let reply = get_graphql(&app, None, &[], &[("accept", "application/json")]).await;

    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.codes(), vec!["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn a_text_plain_body_is_refused_with_415_and_not_executed() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let refused = create_contact_body("plain-text").to_string();
    let accepted = create_contact_body("proper-json").to_string();

    let plain = post_raw(
        &app,
        Some(&acme.admin_token),
        &[("content-type", "text/plain")],
        refused,
    )
    .await;
    let json = post_raw(
        &app,
        Some(&acme.admin_token),
        &[("content-type", "application/json")],
        accepted,
    )
    .await;

    assert_eq!(plain.status, 415, "{}", plain.body);
    assert_eq!(
        users_matching(&app, &acme.admin_token, "plain-text").await,
        0
    );
    assert_eq!(json.status, 200, "{}", json.body);
    assert_eq!(
        users_matching(&app, &acme.admin_token, "proper-json").await,
        1
    );
}

#[tokio::test]
async fn a_body_without_a_content_type_is_refused_with_415_and_not_executed() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    let reply = post_raw(
        &app,
        Some(&acme.admin_token),
        &[],
        create_contact_body("no-type").to_string(),
    )
    .await;

    assert_eq!(reply.status, 415, "{}", reply.body);
    assert_eq!(users_matching(&app, &acme.admin_token, "no-type").await, 0);
}

// --- Sizes, syntax and validation --------------------------------------------------------------

#[tokio::test]
async fn a_body_over_one_mebibyte_is_refused_with_413_and_one_under_is_executed() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let padded = |username: &str, padding: usize| {
        let mut body = create_contact_body(username);
        body["variables"]["padding"] = json!("x".repeat(padding));
        body.to_string()
    };
    let over = padded("too-big", 1024 * 1024);
    let under = padded("just-fits", 1_000_000);
    assert!(over.len() > 1024 * 1024 && under.len() < 1024 * 1024);

    let refused = post_raw(
        &app,
        Some(&acme.admin_token),
        &[("content-type", "application/json")],
        over,
    )
    .await;
    let accepted = post_raw(
        &app,
        Some(&acme.admin_token),
        &[("content-type", "application/json")],
        under,
    )
    .await;

    assert_eq!(refused.status, 413);
    assert_eq!(users_matching(&app, &acme.admin_token, "too-big").await, 0);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(
        users_matching(&app, &acme.admin_token, "just-fits").await,
        1
    );
}

#[tokio::test]
async fn an_unparsable_json_body_is_a_bad_request() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    let reply = post_raw(
        &app,
        Some(&acme.admin_token),
        &[("content-type", "application/json")],
        r#"{"query": "{ viewer { user { id } } }""#,
    )
    .await;

    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.codes(), vec!["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn an_unparsable_document_is_a_bad_request_with_bad_user_input_in_both_media_types() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let body = json!({ "query": "{ viewer {" }).to_string();

    let legacy = post_raw(
        &app,
        Some(&acme.admin_token),
        &[
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ],
        body.clone(),
    )
    .await;
    let modern = post_raw(
        &app,
        Some(&acme.admin_token),
        &[
            ("content-type", "application/json"),
            ("accept", GRAPHQL_RESPONSE),
        ],
        body,
    )
    .await;

    assert_eq!(legacy.status, 400, "{}", legacy.body);
    assert_eq!(header(&legacy, "content-type"), Some("application/json"));
    assert_eq!(legacy.codes(), vec!["BAD_USER_INPUT"]);
    assert_eq!(modern.status, 400, "{}", modern.body);
    assert_eq!(header(&modern, "content-type"), Some(GRAPHQL_RESPONSE));
    assert_eq!(modern.codes(), vec!["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn a_validation_failure_is_200_as_json_and_422_as_graphql_response_json() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let invalid = json!({ "query": "{ viewer { user { shoeSize } } }" }).to_string();
    let valid = json!({ "query": "{ viewer { user { username } } }" }).to_string();
    let send = |accept: &'static str, body: String| {
        let token = acme.admin_token.clone();
        let app = &app;
        async move {
            post_raw(
                app,
                Some(&token),
                &[("content-type", "application/json"), ("accept", accept)],
                body,
            )
            .await
        }
    };

    let legacy = send("application/json", invalid.clone()).await;
    let modern = send(GRAPHQL_RESPONSE, invalid).await;
    let modern_valid = send(GRAPHQL_RESPONSE, valid).await;

    assert_eq!(legacy.status, 200, "{}", legacy.body);
    assert_eq!(header(&legacy, "content-type"), Some("application/json"));
    assert_eq!(legacy.codes(), vec!["BAD_USER_INPUT"]);
    assert_eq!(legacy.body["data"], Value::Null);
    assert_eq!(modern.status, 422, "{}", modern.body);
    assert_eq!(header(&modern, "content-type"), Some(GRAPHQL_RESPONSE));
    assert_eq!(modern.codes(), vec!["BAD_USER_INPUT"]);
    assert_eq!(modern_valid.status, 200, "{}", modern_valid.body);
    assert_eq!(
        header(&modern_valid, "content-type"),
        Some(GRAPHQL_RESPONSE)
    );
    assert_eq!(modern_valid.ok().data("viewer/user/username"), "acme-admin");
}

// --- Batching ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_batch_of_two_queries_gets_an_array_of_two_results() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    let reply = app
        .post_json(
            Some(&acme.admin_token),
            &json!([
                { "query": "{ viewer { user { username } } }" },
                { "query": "{ account { slug } }" },
            ]),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.body.as_array().expect("an array of results");
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[0]["data"]["viewer"]["user"]["username"],
        "acme-admin"
    );
    assert_eq!(results[1]["data"]["account"]["slug"], "acme");
    assert!(
        results.iter().all(|r| r.get("errors").is_none()),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_batch_of_eleven_operations_is_refused_and_ten_are_run() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let batch = |n: usize| Value::Array(vec![json!({ "query": "{ account { slug } }" }); n]);

    let eleven = app.post_json(Some(&acme.admin_token), &batch(11)).await;
    let ten = app.post_json(Some(&acme.admin_token), &batch(10)).await;

    assert_eq!(eleven.status, 400, "{}", eleven.body);
    assert_eq!(eleven.codes(), vec!["BAD_USER_INPUT"]);
    assert_eq!(ten.status, 200, "{}", ten.body);
    let results = ten.body.as_array().expect("an array of results");
    assert_eq!(results.len(), 10);
    assert!(
        results
            .iter()
            .all(|r| r["data"]["account"]["slug"] == "acme"),
        "{}",
        ten.body
    );
}

#[tokio::test]
async fn an_empty_batch_is_refused() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    let reply = app.post_json(Some(&acme.admin_token), &json!([])).await;

    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.codes(), vec!["BAD_USER_INPUT"]);
}

// --- Depth, complexity and page size -----------------------------------------------------------

/// `__schema { types { fields { type { ofType × n { name } } } } }`: 5 + n fields deep.
fn introspection_of_depth(depth: usize) -> String {
    let of_types = depth - 5;
    format!(
        "{{ __schema {{ types {{ fields {{ type {{ {}name{} }} }} }} }} }}",
        "ofType { ".repeat(of_types),
        " }".repeat(of_types)
    )
}

#[tokio::test]
async fn a_query_nested_deeper_than_twelve_levels_is_too_complex() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    let thirteen = app
        .graphql(
            Some(&acme.admin_token),
            &introspection_of_depth(13),
            json!({}),
        )
        .await;
    let twelve = app
        .graphql(
            Some(&acme.admin_token),
            &introspection_of_depth(12),
            json!({}),
        )
        .await;

    assert_eq!(
        thirteen.codes(),
        vec!["QUERY_TOO_COMPLEX"],
        "{}",
        thirteen.body
    );
    assert_eq!(thirteen.body["data"], Value::Null);
    let twelve = twelve.ok();
    assert!(
        twelve
            .data("__schema/types")
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
}

/// Parsed documents are kept by their text: the same text sent again answers for its own
/// variables, and is validated again on every request.
#[tokio::test]
async fn a_document_sent_again_answers_for_its_own_variables_and_is_validated_again() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let mut ids = Vec::new();
    for username in ["dora", "erin"] {
        ids.push(create_user(&app, &acme.admin_token, json!({ "username": username })).await);
    }
    let (dora, erin) = (&ids[0], &ids[1]);
    let query = "query($id: ID!) { node(id: $id) { ... on User { username } } }";
    let token = Some(acme.admin_token.as_str());

    let first = app.graphql(token, query, json!({ "id": dora })).await.ok();
    let second = app.graphql(token, query, json!({ "id": erin })).await.ok();
    let without_variable = app.graphql(token, query, json!({})).await;
    let third = app.graphql(token, query, json!({ "id": dora })).await.ok();

    assert_eq!(first.data("node/username"), "dora");
    assert_eq!(second.data("node/username"), "erin");
    assert_eq!(
        without_variable.codes(),
        vec!["BAD_USER_INPUT"],
        "{}",
        without_variable.body
    );
    assert_eq!(without_variable.body["data"], Value::Null);
    assert_eq!(third.data("node/username"), "dora");
}

#[tokio::test]
async fn a_query_of_complexity_over_1000_is_too_complex() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    // `nodes` costs 1 + id, username, displayName, firstName, lastName (5) + roles { name } (2)
    // + groups { name } (2) = 10; `users(first: n)` costs n × 10 + 1.
    let query = |first: u32| {
        format!(
            "{{ users(first: {first}) {{ nodes {{ id username displayName firstName lastName roles {{ name }} groups {{ name }} }} }} }}"
        )
    };

    let over = app
        .graphql(Some(&acme.admin_token), &query(100), json!({}))
        .await;
    let under = app
        .graphql(Some(&acme.admin_token), &query(99), json!({}))
        .await;

    assert_eq!(over.codes(), vec!["QUERY_TOO_COMPLEX"], "{}", over.body);
    assert!(
        over.errors()[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1001")),
        "{}",
        over.body
    );
    assert_eq!(over.body["data"], Value::Null);
    let under = under.ok();
    assert_eq!(under.data("users/nodes/0/username"), "acme-admin");
}

#[tokio::test]
async fn page_sizes_outside_1_to_100_are_refused() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let page = |first: i32| {
        let app = &app;
        let token = acme.admin_token.clone();
        async move {
            app.graphql(
                Some(&token),
                "query($first: Int) { users(first: $first) { nodes { id } } }",
                json!({ "first": first }),
            )
            .await
        }
    };

    let hundred_one = page(101).await;
    let zero = page(0).await;
    let negative = page(-1).await;
    let literal_negative = app
        .graphql(
            Some(&acme.admin_token),
            "{ users(first: -5) { nodes { id } } }",
            json!({}),
        )
        .await;
    let hundred = page(100).await;
    let one = page(1).await;

    assert_eq!(
        hundred_one.codes(),
        vec!["BAD_USER_INPUT"],
        "{}",
        hundred_one.body
    );
    assert_eq!(zero.codes(), vec!["BAD_USER_INPUT"], "{}", zero.body);
    assert_eq!(
        negative.codes(),
        vec!["BAD_USER_INPUT"],
        "{}",
        negative.body
    );
    assert_eq!(
        literal_negative.codes(),
        vec!["BAD_USER_INPUT"],
        "{}",
        literal_negative.body
    );
    assert_eq!(
        hundred.ok().data("users/nodes").as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        one.ok().data("users/nodes").as_array().map(Vec::len),
        Some(1)
    );
}

// --- DataLoader ---------------------------------------------------------------------------------

/// Lists the first `first` users with their roles, groups and skills as the admin; returns the
/// reply and the SQL statements the request took (authentication included).
async fn list_with_relations(app: &TestApp, account: &TestAccount, first: u32) -> (Reply, u64) {
    let query = format!(
        "{{ users(first: {first}) {{ nodes {{ username roles {{ name }} groups {{ name }} skills {{ name level }} }} }} }}"
    );
    let before = app.statement_count();
    let reply = app
        .graphql(Some(&account.admin_token), &query, json!({}))
        .await;
    (reply.ok(), app.statement_count() - before)
}

/// The page holds the admin (first by username, no groups) and then the seeded contacts, each
/// with both roles, both groups and both skills.
fn assert_seeded_page(reply: &Reply, size: usize) {
    let nodes = reply.data("users/nodes").as_array().expect("nodes");
    assert_eq!(nodes.len(), size);
    assert_eq!(nodes[0]["username"], "acme-admin");
    assert_eq!(nodes[0]["groups"], json!([]));
    for node in &nodes[1..] {
        assert_eq!(
            node["roles"],
            json!([{ "name": "Auditors" }, { "name": "Readers" }]),
            "{node}"
        );
        assert_eq!(
            node["groups"],
            json!([{ "name": "Sales" }, { "name": "Support" }]),
            "{node}"
        );
        assert_eq!(
            node["skills"],
            json!([{ "name": "French", "level": 3 }, { "name": "German", "level": 7 }]),
            "{node}"
        );
    }
}

#[tokio::test]
async fn listing_ten_users_with_roles_groups_and_skills_takes_at_most_six_statements() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    seed_hundred_users(&app, &acme).await;

    let (ten, for_ten) = list_with_relations(&app, &acme, 10).await;

    assert_seeded_page(&ten, 10);
    assert!(for_ten <= 6, "10 users took {for_ten} statements");
}

#[tokio::test]
async fn listing_a_hundred_users_takes_no_more_statements_than_listing_ten() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    seed_hundred_users(&app, &acme).await;

    let (hundred, for_hundred) = list_with_relations(&app, &acme, 100).await;
    let (ten, for_ten) = list_with_relations(&app, &acme, 10).await;

    assert_seeded_page(&hundred, 100);
    assert_seeded_page(&ten, 10);
    assert!(for_hundred <= 6, "100 users took {for_hundred} statements");
    assert!(for_ten <= 6, "10 users took {for_ten} statements");
}

// --- Health and metrics ------------------------------------------------------------------------

#[tokio::test]
async fn liveness_and_readiness_answer_ok_and_ready() {
    let app = TestApp::spawn().await;

    let health = get_text(&app, "/healthz").await;
    let ready = get_text(&app, "/readyz").await;

    assert_eq!(health, (200, "ok".to_owned()));
    assert_eq!(ready, (200, "ready".to_owned()));
}

#[tokio::test]
async fn metrics_count_operations_by_root_field_errors_by_code_and_statements() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let (_, outsider) =
        user_with_grants(&app, &acme, "no-users", &[("INTEGRATIONS", "READ")], None).await;
    let before = metrics(&app).await;

    app.graphql(
        Some(&acme.admin_token),
        "{ users(first: 1) { nodes { id } } }",
        json!({}),
    )
    .await
    .ok();
    app.graphql(
        Some(&acme.admin_token),
        "{ users(first: 2) { nodes { id } } }",
        json!({}),
    )
    .await
    .ok();
    let forbidden = app
        .graphql(
            Some(&outsider),
            "{ users(first: 1) { nodes { id } } }",
            json!({}),
        )
        .await;
    let after = metrics(&app).await;

    assert_eq!(forbidden.codes(), vec!["FORBIDDEN"], "{}", forbidden.body);
    assert_eq!(
        sample(
            &before,
            "liaison_graphql_requests_total{operation=\"users\"}"
        ),
        None
    );
    assert_eq!(
        sample(
            &after,
            "liaison_graphql_requests_total{operation=\"users\"}"
        ),
        Some(3.0),
        "{after}"
    );
    assert_eq!(
        sample(&before, "liaison_graphql_errors_total{code=\"FORBIDDEN\"}"),
        None
    );
    assert_eq!(
        sample(&after, "liaison_graphql_errors_total{code=\"FORBIDDEN\"}"),
        Some(1.0),
        "{after}"
    );
    assert!(
        after.contains("# TYPE liaison_graphql_requests counter"),
        "{after}"
    );
    assert!(
        after.contains("# TYPE liaison_db_statements gauge"),
        "{after}"
    );
    let statements = sample(&after, "liaison_db_statements").expect("liaison_db_statements");
    assert!(
        statements > sample(&before, "liaison_db_statements").expect("before"),
        "{after}"
    );
}

#[tokio::test]
async fn a_client_operation_name_never_becomes_a_metric_label() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    let reply = app
        .post_json(
            Some(&acme.admin_token),
            &json!({
                "query": "query EvilName123 { users(first: 1) { nodes { id } } }",
                "operationName": "EvilName123",
            }),
        )
        .await
        .ok();
    let exposition = metrics(&app).await;

    assert_eq!(reply.data("users/nodes").as_array().map(Vec::len), Some(1));
    assert!(!exposition.contains("EvilName123"), "{exposition}");
    assert_eq!(
        sample(
            &exposition,
            "liaison_graphql_requests_total{operation=\"users\"}"
        ),
        Some(1.0),
        "{exposition}"
    );
}

// --- Request ids -------------------------------------------------------------------------------

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let id_of = |response: &reqwest::Response| {
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };

    let graphql = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&acme.admin_token)
        .json(&json!({ "query": "{ account { slug } }" }))
        .send()
        .await
        .expect("sent");
    let refused = app
        .client
        .post(app.url("/graphql"))
        .header(CONTENT_TYPE, "text/plain")
        .body("{}")
        .send()
        .await
        .expect("sent");
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("sent");
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("sent");
    let missing = app
        .client
        .get(app.url("/nowhere"))
        .send()
        .await
        .expect("sent");

    assert_eq!(refused.status().as_u16(), 415);
    assert_eq!(missing.status().as_u16(), 404);
    let ids: Vec<String> = [&graphql, &refused, &health, &metrics, &missing]
        .into_iter()
        .map(|response| id_of(response).expect("an x-request-id header"))
        .collect();
    assert!(ids.iter().all(|id| !id.is_empty()), "{ids:?}");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "request ids repeat: {ids:?}");
}

#[tokio::test]
async fn a_client_request_id_is_echoed_back() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&acme.admin_token)
        .header("x-request-id", "trace-4711-abc")
        .json(&json!({ "query": "{ account { slug } }" }))
        .send()
        .await
        .expect("sent");

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("trace-4711-abc")
    );
}

// --- Subscriptions -----------------------------------------------------------------------------

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What the server sent next on a socket.
#[derive(Debug)]
pub(crate) enum Incoming {
    Json(Value),
    Closed,
    Silent,
}

pub(crate) async fn open_socket(app: &TestApp) -> Socket {
    let url = format!("{}/graphql/ws", app.address.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("a websocket request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header value"),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the websocket opens");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws")
    );
    socket
}

pub(crate) async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .expect("message sent");
}

/// The next JSON message, skipping pings and pongs, within `wait`.
pub(crate) async fn receive(socket: &mut Socket, wait: Duration) -> Incoming {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Err(_) => return Incoming::Silent,
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => {
                return Incoming::Closed;
            }
            Ok(Some(Ok(Message::Text(text)))) => {
                return Incoming::Json(serde_json::from_str(text.as_str()).expect("JSON message"));
            }
            Ok(Some(Ok(_))) => continue,
        }
    }
}

pub(crate) async fn init(socket: &mut Socket, token: &str) -> Incoming {
    send(
        socket,
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
    )
    .await;
    receive(socket, Duration::from_secs(5)).await
}

#[tokio::test]
async fn a_subscriber_receives_audit_events_as_they_are_written() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let mut socket = open_socket(&app).await;
    let ack = init(&mut socket, &acme.admin_token).await;
    assert!(
        matches!(&ack, Incoming::Json(m) if m["type"] == "connection_ack"),
        "{ack:?}"
    );
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { auditEvents { action targetId } }" } }),
    )
    .await;

    // The subscription starts reading the log when the server has processed `subscribe`, which
    // the protocol does not acknowledge: create users until one created after that shows up.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut created = Vec::new();
    let mut received = None;
    while received.is_none() && Instant::now() < deadline {
        let id = create_user(
            &app,
            &acme.admin_token,
            json!({ "kind": "NON_LOGIN", "username": format!("watched-{}", created.len()) }),
        )
        .await;
        created.push(decode_gid(&id));
        let wait = Duration::from_secs(2).min(deadline.saturating_duration_since(Instant::now()));
        match receive(&mut socket, wait).await {
            Incoming::Json(message) => received = Some(message),
            Incoming::Closed => panic!("the server closed the subscription"),
            Incoming::Silent => {}
        }
    }

    let message = received.expect("an event within 10 s");
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], "1", "{message}");
    let event = &message["payload"]["data"]["auditEvents"];
    assert_eq!(event["action"], "user.created", "{message}");
    let target = event["targetId"].as_str().expect("targetId").to_owned();
    assert!(
        created.contains(&target),
        "{target} is not one of {created:?}"
    );
    assert!(message["payload"].get("errors").is_none(), "{message}");
}

#[tokio::test]
async fn a_websocket_with_a_bad_token_gets_no_connection_ack() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let forged = format!("{}x", acme.admin_token);

    let mut bad = open_socket(&app).await;
    let refused = init(&mut bad, &forged).await;
    let mut missing = open_socket(&app).await;
    send(
        &mut missing,
        json!({ "type": "connection_init", "payload": {} }),
    )
    .await;
    let without = receive(&mut missing, Duration::from_secs(5)).await;
    let mut good = open_socket(&app).await;
    let accepted = init(&mut good, &acme.admin_token).await;

    assert!(matches!(refused, Incoming::Closed), "{refused:?}");
    assert!(matches!(without, Incoming::Closed), "{without:?}");
    assert!(
        matches!(&accepted, Incoming::Json(m) if m["type"] == "connection_ack"),
        "{accepted:?}"
    );
}

#[tokio::test]
async fn a_subscriber_without_audit_log_read_is_forbidden() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let (_, reader) = user_with_grants(&app, &acme, "reader", &[("USERS", "READ")], None).await;
    let mut socket = open_socket(&app).await;
    let ack = init(&mut socket, &reader).await;
    assert!(
        matches!(&ack, Incoming::Json(m) if m["type"] == "connection_ack"),
        "{ack:?}"
    );

    send(
        &mut socket,
        json!({ "id": "7", "type": "subscribe", "payload": { "query": "subscription { auditEvents { action } }" } }),
    )
    .await;
    let answer = receive(&mut socket, Duration::from_secs(5)).await;

    let Incoming::Json(message) = answer else {
        panic!("expected an error message, got {answer:?}");
    };
    assert_eq!(message["id"], "7", "{message}");
    let errors = match message["type"].as_str() {
        Some("next") => message["payload"]["errors"].clone(),
        Some("error") => message["payload"].clone(),
        _ => panic!("expected an error message, got {message}"),
    };
    let codes: Vec<&str> = errors
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["extensions"]["code"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(codes, vec!["FORBIDDEN"], "{message}");
    assert!(message["payload"]["data"].is_null(), "{message}");
}

// --- CORS --------------------------------------------------------------------------------------

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("preflight sent")
}

#[tokio::test]
async fn without_configured_origins_no_cors_headers_are_sent() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    let options = preflight(&app, "https://app.example.com").await;
    let post = app
        .client
        .post(app.url("/graphql"))
        .header("origin", "https://app.example.com")
        .header(ACCEPT, "application/json")
        .bearer_auth(&acme.admin_token)
        .json(&json!({ "query": "{ account { slug } }" }))
        .send()
        .await
        .expect("sent");

    assert!(
        options
            .headers()
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-")),
        "{:?}",
        options.headers()
    );
    assert_eq!(post.status().as_u16(), 200);
    assert!(
        post.headers()
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-")),
        "{:?}",
        post.headers()
    );
}

#[tokio::test]
async fn a_configured_origin_passes_the_preflight_and_another_does_not() {
    let app = TestApp::spawn_with(
        |config| config.cors_allowed_origins = vec!["https://app.example.com".into()],
        None,
    )
    .await;
    let acme = app.create_account("acme").await;

    let allowed = preflight(&app, "https://app.example.com").await;
    let other = preflight(&app, "https://evil.example.net").await;
    let post = app
        .client
        .post(app.url("/graphql"))
        .header("origin", "https://app.example.com")
        .bearer_auth(&acme.admin_token)
        .json(&json!({ "query": "{ account { slug } }" }))
        .send()
        .await
        .expect("sent");

    assert!(allowed.status().is_success(), "{}", allowed.status());
    let allowed_header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        allowed_header(&allowed, "access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    let methods = allowed_header(&allowed, "access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");
    assert_eq!(allowed_header(&other, "access-control-allow-origin"), None);
    assert_eq!(post.status().as_u16(), 200);
    assert_eq!(
        allowed_header(&post, "access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
}
