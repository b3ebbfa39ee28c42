//! Statement counts of the operations the load benchmark measures: a regression guard small
//! enough for CI. Each test counts the SQL statements the server sends for one GraphQL operation
//! (authentication included) and proves the count does not grow with page size or data size —
//! the DataLoaders batch, nothing is loaded per row (no N+1) — and stays within a budget measured
//! on SQLite and PostgreSQL. Counts, never timings: a timing is noise on a shared CI runner, a
//! statement more is a regression.

use std::collections::BTreeMap;
use std::future::Future;

use serde_json::{Value, json};

use crate::connection_requests::{OPEN, create, invitee_reply, token_of};
use crate::helpers::{
    Reply, TestAccount, TestApp, assign_roles, create_role, create_user, gid, new_contact,
};
use crate::http::seed_hundred_users;

/// Q1: connected integrations with their contacts.
const CONNECTED_INTEGRATIONS: &str = "{ integrations(connected: true, first: 50) { nodes { key name status contacts { username email displayName } } } }";
/// Q2: a page of users by username with their roles, groups and the total.
const USERS_PAGE: &str = "query($first: Int!) { users(first: $first, orderBy: USERNAME) { totalCount nodes { username roles { name } groups { name } } } }";
/// Q3: one user by its global id.
const USER_NODE: &str = "query($id: ID!) { node(id: $id) { ... on User { username email displayName roles { name } } } }";
/// Q4: a contact added to an integration, then removed again.
const ADD_CONTACT: &str = "mutation($input: IntegrationContactInput!) { addIntegrationContact(input: $input) { integration { key status contacts { id } } userErrors { code } } }";
const REMOVE_CONTACT: &str = "mutation($input: IntegrationContactInput!) { removeIntegrationContact(input: $input) { integration { key status contacts { id } } userErrors { code } } }";
const CONNECT: &str = "mutation($input: ConnectIntegrationInput!) { connectIntegration(input: $input) { integration { status } userErrors { field code } } }";

/// The budgets: exactly the counts measured on SQLite and on PostgreSQL (the same on both), the
/// request's authentication included. A change that needs a higher one has to say why.
const CONNECTED_INTEGRATIONS_BUDGET: u64 = 4;
const USERS_PAGE_BUDGET: u64 = 6;
const USER_NODE_BUDGET: u64 = 4;
const ADD_CONTACT_BUDGET: u64 = 7;
const REMOVE_CONTACT_BUDGET: u64 = 6;
const OPEN_INVITATION_BUDGET: u64 = 8;

/// Integrations without a connector check, with settings that pass their schema.
fn connectable() -> Vec<(&'static str, Value)> {
    vec![
        (
            "stripe",
            json!({ "secret_key": "sk_test", "webhook_signing_secret": "whsec_test" }),
        ),
        (
            "hubspot",
            json!({ "access_token": "pat-test", "portal_id": 123 }),
        ),
        ("klaviyo", json!({ "private_api_key": "pk_test" })),
        ("brevo", json!({ "api_key": "xkeysib-test" })),
        (
            "freshdesk",
            json!({ "domain": "acme.freshdesk.com", "api_key": "fd-test" }),
        ),
        (
            "pipedrive",
            json!({ "company_domain": "acme", "api_token": "pd-test" }),
        ),
    ]
}

/// Awaits `request` and returns its reply with the SQL statements the server sent meanwhile.
async fn counted(app: &TestApp, request: impl Future<Output = Reply>) -> (Reply, u64) {
    let before = app.statement_count();
    let reply = request.await;
    (reply, app.statement_count() - before)
}

async fn connect(app: &TestApp, account: &TestAccount, key: &str, settings: Value) {
    let reply = app
        .graphql(
            Some(&account.admin_token),
            CONNECT,
            json!({ "input": { "integrationKey": key, "settings": settings } }),
        )
        .await
        .ok();
    assert_eq!(
        reply.user_error_codes("connectIntegration"),
        Vec::<String>::new(),
        "{key}: {}",
        reply.body
    );
    assert_eq!(
        reply.data("connectIntegration/integration/status"),
        "CONNECTED"
    );
}

/// Non-login contacts `{key}-{from}` … `{key}-{to - 1}` of the integration `key`: their ids.
async fn add_contacts(
    app: &TestApp,
    account: &TestAccount,
    key: &str,
    from: usize,
    to: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    for i in from..to {
        let id = new_contact(
            app,
            &account.admin_token,
            &format!("{key}-{i}"),
            &format!("{key}-{i}@acme.example.com"),
            "en",
            &[key],
        )
        .await;
        ids.push(id);
    }
    ids
}

/// The connected integrations listed: key → (status, sorted contact emails); each contact's
/// display name must be the name it was created with.
fn listed_integrations(reply: &Reply) -> BTreeMap<String, (String, Vec<String>)> {
    reply
        .data("integrations/nodes")
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| {
            let key = node["key"].as_str().expect("key").to_owned();
            assert!(
                node["name"].as_str().is_some_and(|n| !n.is_empty()),
                "{node}"
            );
            let mut emails: Vec<String> = node["contacts"]
                .as_array()
                .unwrap_or_else(|| panic!("contacts of {node}"))
                .iter()
                .map(|contact| {
                    let email = contact["email"].as_str().expect("email").to_owned();
                    let name = email.split('@').next().unwrap_or_default();
                    assert_eq!(contact["displayName"], name, "{contact}");
                    email
                })
                .collect();
            emails.sort();
            let status = node["status"].as_str().unwrap_or_default().to_owned();
            (key, (status, emails))
        })
        .collect()
}

/// What `listed_integrations` should see: `keys`, connected, with `contacts` contacts each.
fn expected_integrations(
    keys: &[&str],
    contacts: usize,
) -> BTreeMap<String, (String, Vec<String>)> {
    keys.iter()
        .map(|key| {
            let mut emails: Vec<String> = (0..contacts)
                .map(|i| format!("{key}-{i}@acme.example.com"))
                .collect();
            emails.sort();
            ((*key).to_owned(), ("CONNECTED".to_owned(), emails))
        })
        .collect()
}

#[tokio::test]
async fn connected_integrations_with_contacts_take_the_same_statements_for_two_as_for_six() {
    // Arrange: two connected integrations with two contacts each, and a third with contacts but
    // no connection, which the list leaves out.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let integrations = connectable();
    let keys: Vec<&str> = integrations.iter().map(|(key, _)| *key).collect();
    for (key, settings) in &integrations[..2] {
        connect(&app, &acme, key, settings.clone()).await;
        add_contacts(&app, &acme, key, 0, 2).await;
    }
    add_contacts(&app, &acme, "intercom", 0, 2).await;

    // Act
    let (two, for_two) = counted(
        &app,
        app.graphql(Some(&acme.admin_token), CONNECTED_INTEGRATIONS, json!({})),
    )
    .await;
    // Six connected integrations with four contacts each.
    for (i, (key, settings)) in integrations.iter().enumerate() {
        if i >= 2 {
            connect(&app, &acme, key, settings.clone()).await;
        }
        add_contacts(&app, &acme, key, if i < 2 { 2 } else { 0 }, 4).await;
    }
    let (six, for_six) = counted(
        &app,
        app.graphql(Some(&acme.admin_token), CONNECTED_INTEGRATIONS, json!({})),
    )
    .await;

    // Assert
    assert_eq!(
        listed_integrations(&two.ok()),
        expected_integrations(&keys[..2], 2)
    );
    assert_eq!(
        listed_integrations(&six.ok()),
        expected_integrations(&keys, 4)
    );
    assert_eq!(
        for_six, for_two,
        "6 integrations × 4 contacts took {for_six} statements, 2 × 2 took {for_two}"
    );
    assert!(
        for_six <= CONNECTED_INTEGRATIONS_BUDGET,
        "connected integrations with contacts took {for_six} statements"
    );
}

/// The page holds the admin (first by username) and then the seeded contacts in order, each with
/// both roles and both groups; the total counts all 101.
fn assert_users_page(reply: &Reply, size: usize) {
    assert_eq!(reply.data("users/totalCount"), 101, "{}", reply.body);
    let nodes = reply.data("users/nodes").as_array().expect("nodes");
    assert_eq!(nodes.len(), size);
    assert_eq!(nodes[0]["username"], "acme-admin");
    for (i, node) in nodes[1..].iter().enumerate() {
        assert_eq!(node["username"], format!("contact-{i:03}"), "{node}");
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
    }
}

#[tokio::test]
async fn a_page_of_users_by_username_with_total_count_takes_the_same_statements_for_five_as_for_fifty()
 {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    seed_hundred_users(&app, &acme).await;
    let page = |first: u32| {
        app.graphql(
            Some(&acme.admin_token),
            USERS_PAGE,
            json!({ "first": first }),
        )
    };

    let (fifty, for_fifty) = counted(&app, page(50)).await;
    let (five, for_five) = counted(&app, page(5)).await;

    assert_users_page(&fifty.ok(), 50);
    assert_users_page(&five.ok(), 5);
    assert_eq!(
        for_fifty, for_five,
        "50 users took {for_fifty} statements, 5 took {for_five}"
    );
    assert!(
        for_fifty <= USERS_PAGE_BUDGET,
        "a page of users took {for_fifty} statements"
    );
}

#[tokio::test]
async fn a_user_by_node_id_takes_the_same_statements_with_one_role_as_with_three() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = acme.admin_token.as_str();
    let mut roles = Vec::new();
    for name in ["Alpha", "Bravo", "Charlie"] {
        roles.push(create_role(&app, token, name, &[("USERS", "READ")]).await);
    }
    let mut users = Vec::new();
    for (username, count) in [("one-role", 1), ("three-roles", 3)] {
        let user = create_user(
            &app,
            token,
            json!({ "username": username, "displayName": format!("{username} user"), "email": format!("{username}@acme.example.com") }),
        )
        .await;
        let assigned: Vec<&str> = roles[..count].iter().map(String::as_str).collect();
        assign_roles(&app, token, &user, &assigned).await.ok();
        users.push(user);
    }
    let node = |id: &str| app.graphql(Some(token), USER_NODE, json!({ "id": id }));

    // Act
    let (three, for_three) = counted(&app, node(&users[1])).await;
    let (one, for_one) = counted(&app, node(&users[0])).await;

    // Assert
    assert_eq!(
        one.ok().data("node"),
        &json!({
            "username": "one-role",
            "email": "one-role@acme.example.com",
            "displayName": "one-role user",
            "roles": [{ "name": "Alpha" }],
        })
    );
    assert_eq!(
        three.ok().data("node"),
        &json!({
            "username": "three-roles",
            "email": "three-roles@acme.example.com",
            "displayName": "three-roles user",
            "roles": [{ "name": "Alpha" }, { "name": "Bravo" }, { "name": "Charlie" }],
        })
    );
    assert_eq!(
        for_three, for_one,
        "3 roles took {for_three} statements, 1 took {for_one}"
    );
    assert!(
        for_three <= USER_NODE_BUDGET,
        "a user by node id took {for_three} statements"
    );
}

/// Adds the admin to Stripe's contacts and removes them again, in two requests; checks both
/// payloads against the `existing` contacts and returns each request's statements.
async fn add_and_remove_admin(
    app: &TestApp,
    account: &TestAccount,
    existing: &[String],
) -> [u64; 2] {
    let admin = gid("User", account.admin_id);
    let input = json!({ "input": { "integrationKey": "stripe", "userId": admin } });
    let mut with_admin = existing.to_vec();
    with_admin.push(admin.clone());
    with_admin.sort();
    let mut without_admin = existing.to_vec();
    without_admin.sort();
    let mut statements = [0; 2];
    for (i, (mutation, document, expected)) in [
        ("addIntegrationContact", ADD_CONTACT, with_admin),
        ("removeIntegrationContact", REMOVE_CONTACT, without_admin),
    ]
    .into_iter()
    .enumerate()
    {
        let (reply, count) = counted(
            app,
            app.graphql(Some(&account.admin_token), document, input.clone()),
        )
        .await;
        let reply = reply.ok();
        assert_eq!(reply.user_error_codes(mutation), Vec::<String>::new());
        let integration = reply.data(&format!("{mutation}/integration"));
        assert_eq!(integration["key"], "stripe", "{}", reply.body);
        assert_eq!(integration["status"], "CONNECTED", "{}", reply.body);
        let mut ids: Vec<String> = integration["contacts"]
            .as_array()
            .unwrap_or_else(|| panic!("contacts: {}", reply.body))
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        assert_eq!(ids, expected, "{mutation}");
        statements[i] = count;
    }
    statements
}

#[tokio::test]
async fn adding_and_removing_an_integration_contact_takes_the_same_statements_with_one_contact_as_with_five()
 {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let (key, settings) = connectable().remove(0);
    connect(&app, &acme, key, settings).await;
    let mut existing = add_contacts(&app, &acme, key, 0, 1).await;

    // Act
    let for_one = add_and_remove_admin(&app, &acme, &existing).await;
    existing.extend(add_contacts(&app, &acme, key, 1, 5).await);
    let for_five = add_and_remove_admin(&app, &acme, &existing).await;

    // Assert
    assert_eq!(
        for_five, for_one,
        "with 5 contacts adding and removing took {for_five:?} statements, with 1 {for_one:?}"
    );
    assert!(
        for_five[0] <= ADD_CONTACT_BUDGET,
        "adding a contact took {} statements",
        for_five[0]
    );
    assert!(
        for_five[1] <= REMOVE_CONTACT_BUDGET,
        "removing a contact took {} statements",
        for_five[1]
    );
}

const ADD_THEN_REMOVE: &str = "mutation($input: IntegrationContactInput!) { add: addIntegrationContact(input: $input) { integration { contacts { id } } userErrors { code } } remove: removeIntegrationContact(input: $input) { integration { contacts { id } } userErrors { code } } }";

fn contact_ids(reply: &Reply, path: &str) -> Vec<String> {
    let mut ids: Vec<String> = reply
        .data(path)
        .as_array()
        .unwrap_or_else(|| panic!("{path}: {}", reply.body))
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

/// The load benchmark's Q4: both mutations in one document. Each answers with the contacts
/// after its own change (the request's loaders forget what the first one loaded), in a count
/// that does not depend on how many contacts there are.
#[tokio::test]
async fn adding_then_removing_a_contact_in_one_document_answers_each_with_its_own_change() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let (key, settings) = connectable().remove(0);
    connect(&app, &acme, key, settings).await;
    let mut existing = add_contacts(&app, &acme, key, 0, 1).await;
    let admin = gid("User", acme.admin_id);
    let input = json!({ "input": { "integrationKey": key, "userId": admin } });
    let run = || async {
        let (reply, count) = counted(
            &app,
            app.graphql(Some(&acme.admin_token), ADD_THEN_REMOVE, input.clone()),
        )
        .await;
        (reply.ok(), count)
    };

    // Act
    let (with_one, for_one) = run().await;
    existing.extend(add_contacts(&app, &acme, key, 1, 5).await);
    let (with_five, for_five) = run().await;

    // Assert
    for (reply, contacts) in [(&with_one, &existing[..1]), (&with_five, &existing[..])] {
        let mut after_add = contacts.to_vec();
        after_add.push(admin.clone());
        after_add.sort();
        let mut after_remove = contacts.to_vec();
        after_remove.sort();
        assert_eq!(contact_ids(reply, "add/integration/contacts"), after_add);
        assert_eq!(
            contact_ids(reply, "remove/integration/contacts"),
            after_remove
        );
    }
    assert_eq!(for_five, for_one, "1 contact: {for_one}, 5: {for_five}");
    assert!(
        for_five <= ADD_CONTACT_BUDGET + REMOVE_CONTACT_BUDGET - 2,
        "the pair took {for_five} statements"
    );
}

/// Opens the invitation of a new shareable request for `keys` on the invitee route; checks the
/// invitation lists them and returns the count.
async fn open_invitation(app: &TestApp, account: &TestAccount, keys: &[&str]) -> u64 {
    let (_, url) = create(
        app,
        &account.admin_token,
        json!({ "integrationKeys": keys }),
    )
    .await;
    let (reply, statements) = counted(
        app,
        invitee_reply(app, None, OPEN, json!({ "token": token_of(&url) })),
    )
    .await;
    let reply = reply.ok();
    assert!(
        reply
            .data("openInvitation/sessionToken")
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{}",
        reply.body
    );
    let invitation = reply.data("openInvitation/invitation");
    assert_eq!(invitation["account"], "acme Inc.");
    assert_eq!(invitation["emailRequired"], true);
    let listed: Vec<&str> = invitation["integrations"]
        .as_array()
        .expect("integrations")
        .iter()
        .map(|i| {
            assert!(
                i["settingsSchema"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty()),
                "{i}"
            );
            i["key"].as_str().expect("key")
        })
        .collect();
    assert_eq!(listed, keys);
    statements
}

#[tokio::test]
async fn opening_an_invitation_takes_the_same_statements_for_one_integration_as_for_three() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;

    let for_three = open_invitation(&app, &acme, &["hubspot", "stripe", "klaviyo"]).await;
    let for_one = open_invitation(&app, &acme, &["hubspot"]).await;

    assert_eq!(
        for_three, for_one,
        "3 integrations took {for_three} statements, 1 took {for_one}"
    );
    assert!(
        for_three <= OPEN_INVITATION_BUDGET,
        "opening an invitation took {for_three} statements"
    );
}
