//! Account contacts by topic (ACCOUNT_CONTACTS): the topics with their contacts, what a topic
//! contact needs, allowed domains, consent flags with their history, the contact setup banner,
//! and the review reminders emailed to admins once per period.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use liaison::clock::ManualClock;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestAccount, TestApp, create_user, new_contact, user_with_grants};
use crate::smtp::TestSmtp;

const TOPICS: &str = "{ contactTopics { topic required satisfied contacts { id } } }";
const SET: &str = "mutation($input: SetTopicContactsInput!) { setTopicContacts(input: $input) { topic { topic satisfied contacts { id } } userErrors { field code message } } }";
const SETUP: &str = "{ contactSetup { complete missingTopics lastReviewedAt reviewDueAt reminderDue contactsToReplace { user { id } problem topics integrationKeys } } }";
const CONFIRM: &str = "mutation { confirmContactsReviewed { contactSetup { complete lastReviewedAt reviewDueAt reminderDue } userErrors { code } } }";
const CONSENT: &str = "mutation($input: SetContactConsentInput!) { setContactConsent(input: $input) { user { mayContactForInterviews mayContactForProductUpdates consentHistory { flag value changedByLabel changedAt } } userErrors { code } } }";

async fn set_topic(app: &TestApp, token: &str, topic: &str, users: &[&str]) -> Reply {
    app.graphql(
        Some(token),
        SET,
        json!({ "input": { "topic": topic, "userIds": users } }),
    )
    .await
}

fn topic<'a>(reply: &'a Reply, name: &str) -> &'a Value {
    reply
        .data("contactTopics")
        .as_array()
        .expect("topics")
        .iter()
        .find(|t| t["topic"] == name)
        .expect("topic listed")
}

/// Fills the three required topics with one contact each.
async fn fill_required(app: &TestApp, account: &TestAccount) -> Vec<String> {
    let mut contacts = Vec::new();
    for (index, topic) in ["PRODUCT_UPDATES", "SECURITY_LEGAL", "FINANCE"]
        .into_iter()
        .enumerate()
    {
        let contact = new_contact(
            app,
            &account.admin_token,
            &format!("Contact {index}"),
            &format!("contact{index}@{}.example.com", account.slug),
            "en",
            &[],
        )
        .await;
        set_topic(app, &account.admin_token, topic, &[&contact])
            .await
            .ok();
        contacts.push(contact);
    }
    contacts
}

#[tokio::test]
async fn every_topic_is_listed_with_its_contacts_and_only_three_are_required() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let anna = new_contact(
        &app,
        &acme.admin_token,
        "Anna",
        "anna@acme.example.com",
        "de-CH",
        &[],
    )
    .await;

    // Act
    let set = set_topic(&app, &acme.admin_token, "SECURITY_LEGAL", &[&anna, &anna])
        .await
        .ok();
    let topics = app
        .graphql(Some(&acme.admin_token), TOPICS, json!({}))
        .await
        .ok();

    // Assert
    assert_eq!(
        set.user_error_codes("setTopicContacts"),
        Vec::<String>::new()
    );
    assert_eq!(
        set.data("setTopicContacts/topic/contacts/0/id"),
        &json!(anna)
    );
    let names: Vec<&Value> = topics
        .data("contactTopics")
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["topic"])
        .collect();
    assert_eq!(
        names,
        vec![
            "PRODUCT_UPDATES",
            "SECURITY_LEGAL",
            "FINANCE",
            "INTEGRATIONS_APIS"
        ]
    );
    let security = topic(&topics, "SECURITY_LEGAL");
    assert_eq!(security["required"], true);
    assert_eq!(security["satisfied"], true);
    assert_eq!(
        security["contacts"].as_array().unwrap().len(),
        1,
        "set once"
    );
    assert_eq!(topic(&topics, "FINANCE")["satisfied"], false);
    assert_eq!(topic(&topics, "INTEGRATIONS_APIS")["required"], false);

    // An empty list clears the topic.
    set_topic(&app, &acme.admin_token, "SECURITY_LEGAL", &[])
        .await
        .ok();
    let after = app
        .graphql(Some(&acme.admin_token), TOPICS, json!({}))
        .await
        .ok();
    assert_eq!(topic(&after, "SECURITY_LEGAL")["contacts"], json!([]));
}

#[tokio::test]
async fn a_topic_contact_needs_name_email_and_language_and_nothing_is_saved_otherwise() {
    // Arrange: a user without email or language, and a contact outside the allowed domains.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let good = new_contact(
        &app,
        &acme.admin_token,
        "Good",
        "good@acme.example.com",
        "en",
        &[],
    )
    .await;
    let bare = create_user(&app, &acme.admin_token, json!({ "username": "bare" })).await;
    let outsider = new_contact(&app, &acme.admin_token, "Out", "out@other.org", "en", &[]).await;
    let domains = app
        .graphql(
            Some(&acme.admin_token),
            "mutation($input: SetAllowedContactDomainsInput!) { setAllowedContactDomains(input: $input) { allowedContactDomains { domains } userErrors { field code } } }",
            json!({ "input": { "domains": ["Example.com", "@acme.example.com"] } }),
        )
        .await
        .ok();
    assert_eq!(
        domains.data("setAllowedContactDomains/allowedContactDomains/domains"),
        &json!(["acme.example.com", "example.com"])
    );

    // Act
    let reply = set_topic(
        &app,
        &acme.admin_token,
        "FINANCE",
        &[&good, &bare, &outsider],
    )
    .await
    .ok();

    // Assert: every problem, each naming its field; nothing saved.
    let mut errors: Vec<(Value, Value)> = reply
        .data("setTopicContacts/userErrors")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].clone(), e["code"].clone()))
        .collect();
    errors.sort_by_key(|e| e.0.to_string());
    assert_eq!(
        errors,
        vec![
            (
                json!(["input", "userIds", "1", "email"]),
                json!("EMAIL_REQUIRED")
            ),
            (
                json!(["input", "userIds", "1", "name"]),
                json!("NAME_REQUIRED")
            ),
            (
                json!(["input", "userIds", "1", "preferredLanguage"]),
                json!("LANGUAGE_REQUIRED")
            ),
            (
                json!(["input", "userIds", "2", "email"]),
                json!("DOMAIN_NOT_ALLOWED")
            ),
        ],
        "{}",
        reply.body
    );
    assert!(reply.data("setTopicContacts/topic").is_null());
    let topics = app
        .graphql(Some(&acme.admin_token), TOPICS, json!({}))
        .await
        .ok();
    assert_eq!(topic(&topics, "FINANCE")["contacts"], json!([]));

    // An invalid domain is refused naming its index.
    let bad = app
        .graphql(
            Some(&acme.admin_token),
            "mutation($input: SetAllowedContactDomainsInput!) { setAllowedContactDomains(input: $input) { userErrors { field code } } }",
            json!({ "input": { "domains": ["ok.com", "not a domain"] } }),
        )
        .await
        .ok();
    assert_eq!(
        bad.data("setAllowedContactDomains/userErrors"),
        &json!([{ "field": ["input", "domains", "1"], "code": "INVALID_DOMAIN" }])
    );
}

#[tokio::test]
async fn levels_none_read_and_full_decide_what_a_role_may_do_with_topic_contacts() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let anna = new_contact(
        &app,
        &acme.admin_token,
        "Anna",
        "anna@acme.example.com",
        "en",
        &[],
    )
    .await;
    let (_, none) = user_with_grants(&app, &acme, "nobody", &[("USERS", "READ")], None).await;
    let (_, read) = user_with_grants(
        &app,
        &acme,
        "reader",
        &[("USERS", "READ"), ("ACCOUNT_CONTACTS", "READ")],
        None,
    )
    .await;
    let (_, full) =
        user_with_grants(&app, &acme, "keeper", &[("ACCOUNT_CONTACTS", "FULL")], None).await;
    let user_query = "query($id: ID!) { user(id: $id) { displayName mayContactForInterviews mayContactForProductUpdates contactTopics } }";

    // NONE: every read and change is FORBIDDEN; user fields are null at their path, the rest stays.
    for query in [TOPICS, SETUP, "{ account { slug allowedContactDomains } }"] {
        let reply = app.graphql(Some(&none), query, json!({})).await;
        assert_eq!(reply.codes(), vec!["FORBIDDEN"], "{query}: {}", reply.body);
    }
    let fields = app
        .graphql(Some(&none), user_query, json!({ "id": anna }))
        .await;
    assert_eq!(fields.data("user/displayName"), "Anna");
    assert!(fields.data("user/mayContactForInterviews").is_null());
    let paths: Vec<Value> = fields.errors().iter().map(|e| e["path"].clone()).collect();
    assert!(
        paths.contains(&json!(["user", "mayContactForInterviews"])),
        "{}",
        fields.body
    );
    assert!(
        paths.contains(&json!(["user", "contactTopics"])),
        "{}",
        fields.body
    );
    assert_eq!(
        set_topic(&app, &none, "FINANCE", &[&anna]).await.codes(),
        vec!["FORBIDDEN"]
    );

    // READ: reads, but no change.
    let reply = app.graphql(Some(&read), TOPICS, json!({})).await.ok();
    assert_eq!(reply.data("contactTopics").as_array().unwrap().len(), 4);
    app.graphql(Some(&read), SETUP, json!({})).await.ok();
    let fields = app
        .graphql(Some(&read), user_query, json!({ "id": anna }))
        .await
        .ok();
    assert_eq!(fields.data("user/mayContactForInterviews"), true);
    assert_eq!(
        set_topic(&app, &read, "FINANCE", &[&anna]).await.codes(),
        vec!["FORBIDDEN"]
    );
    let consent = app
        .graphql(
            Some(&read),
            CONSENT,
            json!({ "input": { "userId": anna, "mayContactForInterviews": false } }),
        )
        .await;
    assert_eq!(consent.codes(), vec!["FORBIDDEN"]);
    let confirm = app.graphql(Some(&read), CONFIRM, json!({})).await;
    assert_eq!(confirm.codes(), vec!["FORBIDDEN"]);

    // FULL: changes.
    let set = set_topic(&app, &full, "FINANCE", &[&anna]).await.ok();
    assert_eq!(set.data("setTopicContacts/topic/satisfied"), true);
    let after = app
        .graphql(Some(&read), user_query, json!({ "id": anna }))
        .await
        .ok();
    assert_eq!(after.data("user/contactTopics"), &json!(["FINANCE"]));

    // Another account's user cannot be named.
    let globex = app.create_account("globex").await;
    let stranger = new_contact(
        &app,
        &globex.admin_token,
        "Stranger",
        "s@globex.example.com",
        "en",
        &[],
    )
    .await;
    let cross = set_topic(&app, &acme.admin_token, "FINANCE", &[&stranger])
        .await
        .ok();
    assert_eq!(
        cross.user_error_codes("setTopicContacts"),
        vec!["UNKNOWN_USER"]
    );
}

#[tokio::test]
async fn consent_flags_are_on_by_default_and_each_change_is_recorded() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let anna = new_contact(
        &app,
        &acme.admin_token,
        "Anna",
        "anna@acme.example.com",
        "en",
        &[],
    )
    .await;

    // Act: turn interviews off, then send the same value again.
    let first = app
        .graphql(
            Some(&acme.admin_token),
            CONSENT,
            json!({ "input": { "userId": anna, "mayContactForInterviews": false } }),
        )
        .await
        .ok();
    let again = app
        .graphql(
            Some(&acme.admin_token),
            CONSENT,
            json!({ "input": { "userId": anna, "mayContactForInterviews": false, "mayContactForProductUpdates": true } }),
        )
        .await
        .ok();

    // Assert
    let user = first.data("setContactConsent/user");
    assert_eq!(user["mayContactForInterviews"], false);
    assert_eq!(user["mayContactForProductUpdates"], true);
    let history = again
        .data("setContactConsent/user/consentHistory")
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(history.len(), 1, "an unchanged value records nothing");
    assert_eq!(history[0]["flag"], "INTERVIEWS");
    assert_eq!(history[0]["value"], false);
    assert_eq!(history[0]["changedByLabel"], "acme-admin");
    assert!(history[0]["changedAt"].is_string());

    // Another account's admin cannot touch them.
    let globex = app.create_account("globex").await;
    let foreign = app
        .graphql(
            Some(&globex.admin_token),
            CONSENT,
            json!({ "input": { "userId": anna, "mayContactForProductUpdates": false } }),
        )
        .await;
    assert_eq!(foreign.codes(), vec!["NOT_FOUND"]);
}

#[tokio::test]
async fn the_setup_is_incomplete_until_required_topics_have_reachable_contacts() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let initial = app
        .graphql(Some(&acme.admin_token), SETUP, json!({}))
        .await
        .ok();
    assert_eq!(initial.data("contactSetup/complete"), false);
    assert_eq!(
        initial.data("contactSetup/missingTopics"),
        &json!(["PRODUCT_UPDATES", "SECURITY_LEGAL", "FINANCE"])
    );
    assert_eq!(initial.data("contactSetup/reminderDue"), true);

    // Act: fill the topics, make the finance contact an integration contact too, deactivate them.
    let contacts = fill_required(&app, &acme).await;
    let complete = app
        .graphql(Some(&acme.admin_token), SETUP, json!({}))
        .await
        .ok();
    app.graphql(
        Some(&acme.admin_token),
        "mutation($input: IntegrationContactInput!) { addIntegrationContact(input: $input) { userErrors { code } } }",
        json!({ "input": { "integrationKey": "stripe", "userId": contacts[2] } }),
    )
    .await
    .ok();
    app.graphql(
        Some(&acme.admin_token),
        "mutation($input: UserIdInput!) { deactivateUser(input: $input) { userErrors { code } } }",
        json!({ "input": { "id": contacts[2] } }),
    )
    .await
    .ok();
    let broken = app
        .graphql(Some(&acme.admin_token), SETUP, json!({}))
        .await
        .ok();

    // Assert
    assert_eq!(complete.data("contactSetup/complete"), true);
    assert_eq!(complete.data("contactSetup/missingTopics"), &json!([]));
    assert_eq!(broken.data("contactSetup/complete"), false);
    assert_eq!(
        broken.data("contactSetup/missingTopics"),
        &json!(["FINANCE"])
    );
    assert_eq!(
        broken.data("contactSetup/contactsToReplace"),
        &json!([{ "user": { "id": contacts[2] }, "problem": "DEACTIVATED", "topics": ["FINANCE"], "integrationKeys": ["stripe"] }])
    );
}

async fn with_reminders() -> (TestApp, TestSmtp, Arc<ManualClock>) {
    let smtp = TestSmtp::start();
    let url = smtp.url();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        move |config| {
            config.smtp_url = Some(SecretString::from(url));
            config.contact_reminders_enabled = true;
        },
        Some(clock.clone()),
    )
    .await;
    (app, smtp, clock)
}

/// Lets the reminder schedule fire (it runs every 6 hours) and runs what is due.
async fn run_reminders(app: &TestApp, clock: &ManualClock) {
    clock.advance(Duration::hours(7));
    app.worker.run_pending_jobs().await.expect("worker");
}

/// The messages to this test's accounts (the development demo account gets reminders too).
fn to_test_accounts(mail: Vec<crate::smtp::ReceivedMail>) -> Vec<crate::smtp::ReceivedMail> {
    mail.into_iter()
        .filter(|m| !m.to.iter().any(|to| to.ends_with("@demo.example.com")))
        .collect()
}

#[tokio::test]
async fn admins_are_reminded_once_per_period_while_topics_are_empty_and_when_the_review_is_due() {
    // Arrange: acme fills its topics and confirms the review; bare does nothing, and its admin
    // reads German.
    let (app, smtp, clock) = with_reminders().await;
    let acme = app.create_account("acme").await;
    let bare = app.create_account("bare").await;
    fill_required(&app, &acme).await;
    let confirmed = app
        .graphql(Some(&acme.admin_token), CONFIRM, json!({}))
        .await
        .ok();
    assert_eq!(
        confirmed.data("confirmContactsReviewed/contactSetup/reminderDue"),
        false
    );
    let due_at = confirmed
        .data("confirmContactsReviewed/contactSetup/reviewDueAt")
        .as_str()
        .unwrap()
        .to_owned();
    app.graphql(
        Some(&bare.admin_token),
        "mutation($input: UpdateUserInput!) { updateUser(input: $input) { userErrors { code } } }",
        json!({ "input": { "id": crate::helpers::gid("User", bare.admin_id), "preferredLanguage": "de-CH" } }),
    )
    .await
    .ok();

    // Act 1: the schedule runs twice in the first period.
    run_reminders(&app, &clock).await;
    run_reminders(&app, &clock).await;

    // Assert 1: only bare's admin, once, in German, naming the empty topics.
    let first = to_test_accounts(smtp.wait_for(2, StdDuration::from_secs(10)).await);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].to, vec!["admin@bare.example.com"]);
    assert_eq!(
        first[0].subject(),
        "Bitte prüfen Sie die Ansprechpartner von bare Inc."
    );
    assert!(first[0].text().unwrap().contains("Finanzen"));

    // Act 2: three months later acme's review is due.
    clock.advance(Duration::days(92));
    let setup = app
        .graphql(Some(&acme.admin_token), SETUP, json!({}))
        .await
        .ok();
    assert_eq!(setup.data("contactSetup/reminderDue"), true);
    assert_eq!(setup.data("contactSetup/reviewDueAt"), &json!(due_at));
    run_reminders(&app, &clock).await;
    run_reminders(&app, &clock).await;

    // Assert 2: one more for acme, one more for bare (its next period), no more.
    let all = to_test_accounts(smtp.wait_for(5, StdDuration::from_secs(10)).await);
    assert_eq!(all.len(), 3, "{all:?}");
    let acme_mail: Vec<_> = all
        .iter()
        .filter(|m| m.to == vec!["admin@acme.example.com"])
        .collect();
    assert_eq!(acme_mail.len(), 1);
    assert_eq!(
        acme_mail[0].subject(),
        "Please review the contacts of acme Inc."
    );
    assert!(acme_mail[0].text().unwrap().contains("quarterly review"));

    // Act 3: acme confirms; a week later nothing more is sent to it.
    let confirmed = app
        .graphql(Some(&acme.admin_token), CONFIRM, json!({}))
        .await
        .ok();
    assert_eq!(
        confirmed.data("confirmContactsReviewed/contactSetup/reminderDue"),
        false
    );
    clock.advance(Duration::days(7));
    run_reminders(&app, &clock).await;
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert_eq!(to_test_accounts(smtp.messages()).len(), 3);
}

#[tokio::test]
async fn the_reminder_schedule_is_off_when_configured_so() {
    // Arrange: the test configuration turns reminders off.
    let smtp = TestSmtp::start();
    let url = smtp.url();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        move |config| config.smtp_url = Some(SecretString::from(url)),
        Some(clock.clone()),
    )
    .await;
    app.create_account("bare").await;

    // Act
    run_reminders(&app, &clock).await;

    // Assert
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert!(smtp.messages().is_empty());
}
