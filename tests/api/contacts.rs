//! Integration contacts: who receives an integration's technical notices, by permission level,
//! with non-login contacts created in the same change.

use serde_json::{Value, json};

use crate::helpers::{
    Reply, TestAccount, TestApp, assign_roles, create_role, decode_gid, user_with_grants,
};

const CONTACTS: &str =
    r#"{ integration(key: "intercom") { name contacts { id displayName kind } } }"#;
const ADD: &str = "mutation($input: IntegrationContactInput!) { addIntegrationContact(input: $input) { integration { key contacts { id } } userErrors { field code } } }";
const ADD_WITH_STATUS: &str = "mutation($input: IntegrationContactInput!) { addIntegrationContact(input: $input) { integration { status } userErrors { code } } }";
const REMOVE: &str = "mutation($input: IntegrationContactInput!) { removeIntegrationContact(input: $input) { integration { contacts { id } } userErrors { code } } }";
const SET: &str = "mutation($input: SetIntegrationContactsInput!) { setIntegrationContacts(input: $input) { integration { contacts { id } } userErrors { field code } } }";
const CREATE: &str = "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id kind status holdsSeat email preferredLanguage title isDistributionList marketingEligible integrationContactFor { key } } userErrors { field code } } }";

fn contact_input(email: &str, keys: &[&str]) -> Value {
    json!({ "name": "Sam Support", "email": email, "preferredLanguage": "de-CH", "title": "IT lead", "integrationKeys": keys })
}

async fn create_contact(app: &TestApp, token: &str, input: Value) -> Reply {
    app.graphql(Some(token), CREATE, json!({ "input": input }))
        .await
}

fn ids(reply: &Reply, path: &str) -> Vec<String> {
    reply
        .data(path)
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| c["id"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn user_count(app: &TestApp, account: &TestAccount) -> i64 {
    app.graphql(
        Some(&account.admin_token),
        "{ users(first: 1) { totalCount } }",
        json!({}),
    )
    .await
    .ok()
    .data("users/totalCount")
    .as_i64()
    .expect("count")
}

#[tokio::test]
async fn a_contact_is_created_without_a_login_and_made_contact_of_integrations_at_once() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    // Act
    let reply = create_contact(
        &app,
        &acme.admin_token,
        contact_input("sam@acme.example.com", &["intercom", "stripe"]),
    )
    .await
    .ok();

    // Assert
    assert_eq!(
        reply.user_error_codes("createContact"),
        Vec::<String>::new(),
        "{}",
        reply.body
    );
    let contact = reply.data("createContact/contact");
    assert_eq!(contact["kind"], "NON_LOGIN");
    assert_eq!(contact["holdsSeat"], false);
    assert_eq!(contact["preferredLanguage"], "de-CH");
    assert_eq!(contact["title"], "IT lead");
    assert_eq!(
        contact["marketingEligible"], false,
        "only an integration contact"
    );
    assert_eq!(
        contact["integrationContactFor"],
        json!([{ "key": "intercom" }, { "key": "stripe" }])
    );
    let listed = app
        .graphql(Some(&acme.admin_token), CONTACTS, json!({}))
        .await
        .ok();
    assert_eq!(
        ids(&listed, "integration/contacts"),
        vec![contact["id"].as_str().unwrap().to_owned()]
    );

    // A non-login contact cannot authenticate.
    let user_id = decode_gid(contact["id"].as_str().unwrap())
        .parse()
        .expect("uuid");
    let refused = app
        .graphql(
            Some(&app.token(acme.id, user_id, None)),
            "{ viewer { user { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.codes(), vec!["UNAUTHENTICATED"]);

    // Given a role, they are no longer only an integration contact.
    let role = create_role(&app, &acme.admin_token, "Readers", &[("USERS", "READ")]).await;
    assign_roles(
        &app,
        &acme.admin_token,
        contact["id"].as_str().unwrap(),
        &[&role],
    )
    .await
    .ok();
    let again = app
        .graphql(
            Some(&acme.admin_token),
            "query($id: ID!) { user(id: $id) { marketingEligible } }",
            json!({ "id": contact["id"] }),
        )
        .await
        .ok();
    assert_eq!(again.data("user/marketingEligible"), true);
}

#[tokio::test]
async fn a_contact_with_bad_input_writes_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let before = user_count(&app, &acme).await;

    let reply = create_contact(
        &app,
        &acme.admin_token,
        json!({ "name": " ", "email": "nope", "preferredLanguage": "english", "integrationKeys": ["no-such"] }),
    )
    .await
    .ok();

    let mut codes = reply.user_error_codes("createContact");
    codes.sort();
    assert_eq!(
        codes,
        vec![
            "INVALID_EMAIL",
            "INVALID_LANGUAGE",
            "INVALID_NAME",
            "UNKNOWN_INTEGRATION"
        ]
    );
    assert!(reply.data("createContact/contact").is_null());
    assert_eq!(user_count(&app, &acme).await, before);
}

#[tokio::test]
async fn levels_none_read_and_full_decide_what_a_role_may_do() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let (_, none) = user_with_grants(&app, &acme, "none", &[("USERS", "READ")], None).await;
    let (_, read) = user_with_grants(
        &app,
        &acme,
        "read",
        &[("USERS", "READ"), ("INTEGRATION_CONTACTS", "READ")],
        None,
    )
    .await;
    let (_, full) = user_with_grants(
        &app,
        &acme,
        "full",
        &[("USERS", "READ"), ("INTEGRATION_CONTACTS", "FULL")],
        None,
    )
    .await;
    let admin = json!({ "integrationKey": "intercom", "userId": crate::helpers::gid("User", acme.admin_id) });

    // Act & Assert: NONE sees neither side, per field, with the rest of the answer kept.
    let hidden = app.graphql(Some(&none), CONTACTS, json!({})).await;
    assert_eq!(hidden.data("integration/name"), "Intercom");
    assert!(hidden.data("integration/contacts").is_null());
    assert_eq!(
        hidden.errors()[0]["path"],
        json!(["integration", "contacts"])
    );
    assert_eq!(hidden.codes(), vec!["FORBIDDEN"]);
    let reverse = app
        .graphql(
            Some(&none),
            "{ viewer { user { username integrationContactFor { key } } } }",
            json!({}),
        )
        .await;
    assert_eq!(reverse.data("viewer/user/username"), "none");
    assert_eq!(reverse.codes(), vec!["FORBIDDEN"]);

    // READ sees them but cannot change them.
    app.graphql(Some(&read), CONTACTS, json!({})).await.ok();
    let denied = app
        .graphql(Some(&read), ADD, json!({ "input": admin }))
        .await;
    assert_eq!(denied.codes(), vec!["FORBIDDEN"]);
    let denied_create = create_contact(&app, &read, contact_input("x@acme.example.com", &[])).await;
    assert_eq!(denied_create.codes(), vec!["FORBIDDEN"]);

    // FULL adds (twice is harmless) and removes.
    let added = app
        .graphql(Some(&full), ADD, json!({ "input": admin }))
        .await
        .ok();
    let twice = app
        .graphql(Some(&full), ADD, json!({ "input": admin }))
        .await
        .ok();
    assert_eq!(
        ids(&added, "addIntegrationContact/integration/contacts").len(),
        1
    );
    assert_eq!(
        ids(&twice, "addIntegrationContact/integration/contacts").len(),
        1
    );
    let removed = app
        .graphql(Some(&full), REMOVE, json!({ "input": admin }))
        .await
        .ok();
    assert!(ids(&removed, "removeIntegrationContact/integration/contacts").is_empty());
}

#[tokio::test]
async fn the_whole_list_can_be_replaced_but_only_with_the_accounts_own_users() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let beta = app.create_account("beta").await;
    let a = create_contact(
        &app,
        &acme.admin_token,
        contact_input("a@acme.example.com", &["intercom"]),
    )
    .await
    .ok();
    let b = create_contact(
        &app,
        &acme.admin_token,
        contact_input("b@acme.example.com", &[]),
    )
    .await
    .ok();
    let a_id = a.data("createContact/contact/id").clone();
    let b_id = b.data("createContact/contact/id").clone();

    let replaced = app
        .graphql(Some(&acme.admin_token), SET, json!({ "input": { "integrationKey": "intercom", "userIds": [b_id, crate::helpers::gid("User", acme.admin_id)] } }))
        .await
        .ok();
    let foreign = app
        .graphql(Some(&acme.admin_token), SET, json!({ "input": { "integrationKey": "intercom", "userIds": [crate::helpers::gid("User", beta.admin_id)] } }))
        .await
        .ok();
    let beta_view = app
        .graphql(Some(&beta.admin_token), CONTACTS, json!({}))
        .await
        .ok();

    let listed = ids(&replaced, "setIntegrationContacts/integration/contacts");
    assert_eq!(listed.len(), 2);
    assert!(!listed.contains(&a_id.as_str().unwrap().to_owned()));
    assert_eq!(
        foreign.user_error_codes("setIntegrationContacts"),
        vec!["UNKNOWN_USER"]
    );
    let after = app
        .graphql(Some(&acme.admin_token), CONTACTS, json!({}))
        .await
        .ok();
    assert_eq!(
        ids(&after, "integration/contacts").len(),
        2,
        "the refused replacement changed nothing"
    );
    assert!(
        ids(&beta_view, "integration/contacts").is_empty(),
        "another account sees none of them"
    );
}

#[tokio::test]
async fn a_payload_reports_the_integrations_real_connection_state() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    app.graphql(
        Some(&acme.admin_token),
        "mutation($input: ConnectIntegrationInput!) { connectIntegration(input: $input) { userErrors { code } } }",
        json!({ "input": { "integrationKey": "intercom", "settings": { "access_token": "tok", "region": "eu" } } }),
    )
    .await
    .ok();
    let admin = json!({ "integrationKey": "intercom", "userId": crate::helpers::gid("User", acme.admin_id) });

    let added = app
        .graphql(
            Some(&acme.admin_token),
            ADD_WITH_STATUS,
            json!({ "input": admin }),
        )
        .await
        .ok();

    assert_eq!(
        added.data("addIntegrationContact/integration/status"),
        "CONNECTED"
    );
}

#[tokio::test]
async fn a_contact_becomes_a_login_user_only_with_a_free_seat() {
    // Arrange: an account of 10 seats, 9 more login users fill it.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let contact = create_contact(
        &app,
        &acme.admin_token,
        contact_input("sam@acme.example.com", &["intercom"]),
    )
    .await
    .ok();
    let id = contact.data("createContact/contact/id").clone();
    let convert = "mutation($input: ConvertToLoginUserInput!) { convertToLoginUser(input: $input) { user { kind status holdsSeat username } userErrors { code } } }";
    for n in 0..9 {
        crate::helpers::create_user(
            &app,
            &acme.admin_token,
            json!({ "username": format!("agent{n}") }),
        )
        .await;
    }

    // Act & Assert: no seat left.
    let full = app
        .graphql(
            Some(&acme.admin_token),
            convert,
            json!({ "input": { "id": id, "username": "sam" } }),
        )
        .await
        .ok();
    assert_eq!(
        full.user_error_codes("convertToLoginUser"),
        vec!["LICENCE_LIMIT"]
    );

    // A seat is freed: the contact can now sign in.
    let agent = app
        .graphql(
            Some(&acme.admin_token),
            r#"{ users(filter: { text: "agent0" }) { nodes { id } } }"#,
            json!({}),
        )
        .await
        .ok();
    app.graphql(
        Some(&acme.admin_token),
        "mutation($input: UserIdInput!) { deactivateUser(input: $input) { userErrors { code } } }",
        json!({ "input": { "id": agent.data("users/nodes/0/id") } }),
    )
    .await
    .ok();
    let converted = app
        .graphql(
            Some(&acme.admin_token),
            convert,
            json!({ "input": { "id": id, "username": "sam" } }),
        )
        .await
        .ok();
    assert_eq!(converted.data("convertToLoginUser/user/kind"), "LOGIN");
    assert_eq!(converted.data("convertToLoginUser/user/holdsSeat"), true);
    let user_id = decode_gid(id.as_str().unwrap()).parse().expect("uuid");
    app.graphql(
        Some(&app.token(acme.id, user_id, None)),
        "{ viewer { user { username } } }",
        json!({}),
    )
    .await
    .ok();
}
