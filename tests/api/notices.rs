//! Notices from the vendor: operators preview audiences (counts, people, CSV) and send notices to
//! integration or topic contacts in every account; each reachable recipient gets exactly one
//! message, in their language where a translation exists, across worker restarts; deactivated and
//! bounced contacts are left out; integration notices show in the product until dismissed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Utc;
use liaison::clock::ManualClock;
use liaison::jobs::Handlers;
use liaison::jobs::worker::Worker;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::helpers::{Reply, TestApp, decode_gid, new_contact, operator_token, user_with_grants};
use crate::smtp::{ReceivedMail, TestSmtp};

const WAIT: StdDuration = StdDuration::from_secs(20);
const AUDIENCE: &str = "query($target: NoticeAudienceInput!) { noticeAudience(target: $target) { total accounts { accountSlug count } languages { language count } members(first: 50) { totalCount nodes { accountSlug name email language } } csv } }";
const SEND: &str = "mutation($input: SendIntegrationNoticeInput!) { sendIntegrationNotice(input: $input) { notice { id status audienceSize } userErrors { field code } } }";
const SEND_TOPIC: &str = "mutation($input: SendTopicNoticeInput!) { sendTopicNotice(input: $input) { notice { id audienceSize } userErrors { field code } } }";
const NOTICE: &str = "query($id: ID!) { notice(id: $id) { status audienceSize delivered failed pending recipients(first: 100) { totalCount nodes { name email accountSlug language status } } } }";
const ACCOUNT_NOTICES: &str = "query($unread: Boolean!) { account { notices(unreadOnly: $unread) { id kind subject body dismissed integration { key } } } }";

async fn with_smtp(batch: u64) -> (TestApp, TestSmtp) {
    let smtp = TestSmtp::start();
    let url = smtp.url();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(
        move |config| {
            config.smtp_url = Some(SecretString::from(url));
            config.notice_batch_size = batch;
            config.worker_poll_millis = 20;
        },
        Some(clock),
    )
    .await;
    (app, smtp)
}

fn intercom_notice() -> Value {
    json!({ "input": {
        "integrationKey": "intercom",
        "kind": "MIGRATION",
        "subject": "Intercom API 2.11 migration",
        "body": "Intercom retires API 2.10.\n\nPlease reconnect before June.",
        "translations": [
            { "language": "de", "subject": "Intercom-API-Migration", "body": "Intercom stellt API 2.10 ein.\n\nBitte verbinden Sie neu." }
        ]
    } })
}

async fn send(app: &TestApp, input: Value) -> Reply {
    app.graphql(Some(&operator_token("ops-ann", None)), SEND, input)
        .await
}

async fn audience(app: &TestApp, target: Value) -> Reply {
    app.graphql(
        Some(&operator_token("ops-ann", Some("notices:read"))),
        AUDIENCE,
        json!({ "target": target }),
    )
    .await
}

fn by_recipient(mail: &[ReceivedMail]) -> Vec<(String, ReceivedMail)> {
    let mut list: Vec<(String, ReceivedMail)> =
        mail.iter().map(|m| (m.to.join(","), m.clone())).collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    list
}

#[tokio::test]
async fn an_integration_notice_reaches_each_reachable_contact_once_in_their_language() {
    // Arrange: contacts of Intercom in two accounts, one deactivated, one whose address bounced;
    // a contact of another integration; a third account with neither.
    let (app, smtp) = with_smtp(200).await;
    let acme = app.create_account("acme").await;
    let globex = app.create_account("globex").await;
    let initech = app.create_account("initech").await;
    let anna = new_contact(
        &app,
        &acme.admin_token,
        "Anna",
        "anna@acme.example.com",
        "de-CH",
        &["intercom"],
    )
    .await;
    new_contact(
        &app,
        &acme.admin_token,
        "Bob",
        "bob@acme.example.com",
        "en",
        &["intercom", "salesforce"],
    )
    .await;
    new_contact(
        &app,
        &globex.admin_token,
        "Carl",
        "carl@globex.example.com",
        "fr",
        &["intercom"],
    )
    .await;
    let dave = new_contact(
        &app,
        &globex.admin_token,
        "Dave",
        "dave@globex.example.com",
        "en",
        &["intercom"],
    )
    .await;
    let eve = new_contact(
        &app,
        &globex.admin_token,
        "Eve",
        "eve@globex.example.com",
        "en",
        &["intercom"],
    )
    .await;
    new_contact(
        &app,
        &globex.admin_token,
        "Frank",
        "frank@globex.example.com",
        "en",
        &["salesforce"],
    )
    .await;
    app.graphql(
        Some(&globex.admin_token),
        "mutation($input: UserIdInput!) { deactivateUser(input: $input) { userErrors { code } } }",
        json!({ "input": { "id": dave } }),
    )
    .await
    .ok();
    liaison::store::outbox::mark_address_invalid(
        &app.db,
        decode_gid(&eve).parse().unwrap(),
        "eve@globex.example.com",
        Utc::now(),
    )
    .await
    .expect("bounce");

    // Act 1: preview.
    let preview = audience(
        &app,
        json!({ "audience": "INTEGRATION_CONTACTS", "integrationKey": "intercom" }),
    )
    .await
    .ok();

    // Assert 1
    assert_eq!(preview.data("noticeAudience/total"), 3);
    assert_eq!(
        preview.data("noticeAudience/accounts"),
        &json!([{ "accountSlug": "acme", "count": 2 }, { "accountSlug": "globex", "count": 1 }])
    );
    assert_eq!(
        preview.data("noticeAudience/languages"),
        &json!([{ "language": "de-CH", "count": 1 }, { "language": "en", "count": 1 }, { "language": "fr", "count": 1 }])
    );
    assert_eq!(preview.data("noticeAudience/members/totalCount"), 3);
    let csv = preview.data("noticeAudience/csv").as_str().unwrap();
    let mut lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.remove(0), "account,account_name,name,email,language");
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "acme,acme Inc.,Anna,anna@acme.example.com,de-CH",
            "acme,acme Inc.,Bob,bob@acme.example.com,en",
            "globex,globex Inc.,Carl,carl@globex.example.com,fr",
        ]
    );

    // Act 2: send, and let the worker deliver.
    let sent = send(&app, intercom_notice()).await.ok();
    assert_eq!(
        sent.user_error_codes("sendIntegrationNotice"),
        Vec::<String>::new()
    );
    let notice = sent
        .data("sendIntegrationNotice/notice/id")
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sent.data("sendIntegrationNotice/notice/status"), "SENDING");
    app.worker.run_pending_jobs().await.expect("worker");
    let mail = smtp.wait_for(3, WAIT).await;

    // Assert 2: one message each; Anna (de-CH) reads German, Carl (fr, no translation) the default.
    let mail = by_recipient(&mail);
    assert_eq!(
        mail.iter().map(|(to, _)| to.as_str()).collect::<Vec<_>>(),
        vec![
            "anna@acme.example.com",
            "bob@acme.example.com",
            "carl@globex.example.com"
        ]
    );
    assert_eq!(mail[0].1.subject(), "Intercom-API-Migration");
    assert!(
        mail[0]
            .1
            .text()
            .unwrap()
            .contains("Bitte verbinden Sie neu.")
    );
    assert!(
        mail[0]
            .1
            .text()
            .unwrap()
            .contains("Ansprechpartner für Intercom")
    );
    assert_eq!(mail[0].1.header("Content-Language").as_deref(), Some("de"));
    assert_eq!(mail[1].1.subject(), "Intercom API 2.11 migration");
    assert!(
        mail[1]
            .1
            .text()
            .unwrap()
            .contains("the contact for Intercom at acme Inc.")
    );
    assert_eq!(mail[2].1.subject(), "Intercom API 2.11 migration");
    let stats = app
        .graphql(
            Some(&operator_token("ops-ann", Some("notices:read"))),
            NOTICE,
            json!({ "id": notice }),
        )
        .await
        .ok();
    assert_eq!(stats.data("notice/status"), "SENT");
    assert_eq!(stats.data("notice/audienceSize"), 3);
    assert_eq!(stats.data("notice/delivered"), 3);
    assert_eq!(stats.data("notice/failed"), 0);
    assert_eq!(stats.data("notice/pending"), 0);
    assert_eq!(stats.data("notice/recipients/totalCount"), 3);
    let anna_row = stats
        .data("notice/recipients/nodes")
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == "anna@acme.example.com")
        .cloned()
        .unwrap();
    assert_eq!(
        anna_row,
        json!({ "name": "Anna", "email": "anna@acme.example.com", "accountSlug": "acme", "language": "de", "status": "DELIVERED" })
    );
    let _ = anna;

    // Assert 3: the notice shows in acme's and globex's product, not initech's, until dismissed.
    let shown = app
        .graphql(
            Some(&acme.admin_token),
            ACCOUNT_NOTICES,
            json!({ "unread": true }),
        )
        .await
        .ok();
    assert_eq!(shown.data("account/notices/0/id"), &json!(notice));
    assert_eq!(shown.data("account/notices/0/kind"), "MIGRATION");
    assert_eq!(
        shown.data("account/notices/0/subject"),
        "Intercom API 2.11 migration"
    );
    assert_eq!(shown.data("account/notices/0/integration/key"), "intercom");
    let none = app
        .graphql(
            Some(&initech.admin_token),
            ACCOUNT_NOTICES,
            json!({ "unread": false }),
        )
        .await
        .ok();
    assert_eq!(none.data("account/notices"), &json!([]));
    let globex_sees = app
        .graphql(
            Some(&globex.admin_token),
            ACCOUNT_NOTICES,
            json!({ "unread": true }),
        )
        .await
        .ok();
    assert_eq!(
        globex_sees
            .data("account/notices")
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let dismissed = app
        .graphql(
            Some(&acme.admin_token),
            "mutation($input: DismissNoticeInput!) { dismissNotice(input: $input) { notice { id dismissed } userErrors { code } } }",
            json!({ "input": { "id": notice } }),
        )
        .await
        .ok();
    assert_eq!(dismissed.data("dismissNotice/notice/dismissed"), true);
    let unread = app
        .graphql(
            Some(&acme.admin_token),
            ACCOUNT_NOTICES,
            json!({ "unread": true }),
        )
        .await
        .ok();
    assert_eq!(unread.data("account/notices"), &json!([]));
    let all = app
        .graphql(
            Some(&acme.admin_token),
            ACCOUNT_NOTICES,
            json!({ "unread": false }),
        )
        .await
        .ok();
    assert_eq!(all.data("account/notices/0/dismissed"), true);
    // Dismissal is per viewer: globex still sees it, and initech cannot dismiss what it never had.
    assert_eq!(
        app.graphql(
            Some(&globex.admin_token),
            ACCOUNT_NOTICES,
            json!({ "unread": true })
        )
        .await
        .data("account/notices")
        .as_array()
        .unwrap()
        .len(),
        1
    );
    let foreign = app
        .graphql(
            Some(&initech.admin_token),
            "mutation($input: DismissNoticeInput!) { dismissNotice(input: $input) { notice { id } } }",
            json!({ "input": { "id": notice } }),
        )
        .await;
    assert_eq!(foreign.codes(), vec!["NOT_FOUND"]);
}

#[tokio::test]
async fn in_product_notices_need_integrations_read() {
    // Arrange
    let (app, _smtp) = with_smtp(200).await;
    let acme = app.create_account("acme").await;
    new_contact(
        &app,
        &acme.admin_token,
        "Bob",
        "bob@acme.example.com",
        "en",
        &["intercom"],
    )
    .await;
    send(&app, intercom_notice()).await.ok();
    let (_, without) = user_with_grants(&app, &acme, "agent", &[("USERS", "READ")], None).await;
    let (_, reader) =
        user_with_grants(&app, &acme, "watcher", &[("INTEGRATIONS", "READ")], None).await;

    // Act
    let denied = app
        .graphql(
            Some(&without),
            "{ account { slug notices { id } } }",
            json!({}),
        )
        .await;
    let granted = app
        .graphql(
            Some(&reader),
            "{ account { slug notices { id } } }",
            json!({}),
        )
        .await
        .ok();

    // Assert: null at the field with FORBIDDEN, the rest of the answer kept.
    assert_eq!(denied.codes(), vec!["FORBIDDEN"]);
    assert_eq!(denied.data("account/slug"), "acme");
    assert!(denied.data("account/notices").is_null());
    assert_eq!(granted.data("account/notices").as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn topic_notices_respect_product_update_consent_and_other_topics_do_not() {
    // Arrange: two contacts on both topics; one declined product updates.
    let (app, smtp) = with_smtp(200).await;
    let acme = app.create_account("acme").await;
    let keen = new_contact(
        &app,
        &acme.admin_token,
        "Keen",
        "keen@acme.example.com",
        "en",
        &[],
    )
    .await;
    let quiet = new_contact(
        &app,
        &acme.admin_token,
        "Quiet",
        "quiet@acme.example.com",
        "en",
        &[],
    )
    .await;
    for topic in ["PRODUCT_UPDATES", "SECURITY_LEGAL"] {
        app.graphql(
            Some(&acme.admin_token),
            "mutation($input: SetTopicContactsInput!) { setTopicContacts(input: $input) { userErrors { code } } }",
            json!({ "input": { "topic": topic, "userIds": [keen, quiet] } }),
        )
        .await
        .ok();
    }
    app.graphql(
        Some(&acme.admin_token),
        "mutation($input: SetContactConsentInput!) { setContactConsent(input: $input) { userErrors { code } } }",
        json!({ "input": { "userId": quiet, "mayContactForProductUpdates": false } }),
    )
    .await
    .ok();
    let operator = operator_token("ops-ann", Some("notices:write"));

    // Act
    let product = app
        .graphql(Some(&operator), SEND_TOPIC, json!({ "input": { "topic": "PRODUCT_UPDATES", "subject": "New reports", "body": "Reports are faster." } }))
        .await
        .ok();
    let security = app
        .graphql(Some(&operator), SEND_TOPIC, json!({ "input": { "topic": "SECURITY_LEGAL", "kind": "ACTION_REQUIRED", "subject": "New DPA", "body": "Please sign the new DPA." } }))
        .await
        .ok();
    app.worker.run_pending_jobs().await.expect("worker");
    let mail = smtp.wait_for(3, WAIT).await;

    // Assert
    assert_eq!(product.data("sendTopicNotice/notice/audienceSize"), 1);
    assert_eq!(security.data("sendTopicNotice/notice/audienceSize"), 2);
    let mut got: Vec<(String, String)> =
        mail.iter().map(|m| (m.to.join(","), m.subject())).collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("keen@acme.example.com".into(), "New DPA".into()),
            ("keen@acme.example.com".into(), "New reports".into()),
            ("quiet@acme.example.com".into(), "New DPA".into()),
        ]
    );
    assert!(mail.iter().any(|m| {
        m.text()
            .unwrap()
            .contains("the security and legal contact at acme Inc.")
    }));
}

#[tokio::test]
async fn marketing_and_interview_audiences_leave_out_people_who_are_only_integration_contacts() {
    // Arrange: the admin (a login user), an integration-only contact, a topic contact who
    // declined interviews.
    let (app, _smtp) = with_smtp(200).await;
    let acme = app.create_account("acme").await;
    new_contact(
        &app,
        &acme.admin_token,
        "Ivan",
        "ivan@acme.example.com",
        "en",
        &["intercom"],
    )
    .await;
    let tess = new_contact(
        &app,
        &acme.admin_token,
        "Tess",
        "tess@acme.example.com",
        "en",
        &[],
    )
    .await;
    app.graphql(
        Some(&acme.admin_token),
        "mutation($input: SetTopicContactsInput!) { setTopicContacts(input: $input) { userErrors { code } } }",
        json!({ "input": { "topic": "FINANCE", "userIds": [tess] } }),
    )
    .await
    .ok();
    app.graphql(
        Some(&acme.admin_token),
        "mutation($input: SetContactConsentInput!) { setContactConsent(input: $input) { userErrors { code } } }",
        json!({ "input": { "userId": tess, "mayContactForInterviews": false } }),
    )
    .await
    .ok();

    // Act
    let marketing = audience(&app, json!({ "audience": "MARKETING" }))
        .await
        .ok();
    let interviews = audience(&app, json!({ "audience": "INTERVIEW_CANDIDATES" }))
        .await
        .ok();

    // Assert
    let emails = |reply: &Reply| -> Vec<String> {
        let mut list: Vec<String> = reply
            .data("noticeAudience/members/nodes")
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["accountSlug"] == "acme")
            .map(|m| m["email"].as_str().unwrap().to_owned())
            .collect();
        list.sort();
        list
    };
    assert_eq!(
        emails(&marketing),
        vec!["admin@acme.example.com", "tess@acme.example.com"]
    );
    assert_eq!(emails(&interviews), vec!["admin@acme.example.com"]);
}

#[tokio::test]
async fn operators_need_notice_scopes_read_the_catalog_and_nothing_else_of_accounts() {
    // Arrange
    let (app, _smtp) = with_smtp(200).await;
    let acme = app.create_account("acme").await;
    new_contact(
        &app,
        &acme.admin_token,
        "Bob",
        "bob@acme.example.com",
        "en",
        &["intercom"],
    )
    .await;
    let target =
        json!({ "target": { "audience": "INTEGRATION_CONTACTS", "integrationKey": "intercom" } });

    // Act & Assert: scopes decide.
    let mail_only = app
        .graphql(
            Some(&operator_token("ops-ann", Some("mail:read"))),
            AUDIENCE,
            target.clone(),
        )
        .await;
    assert_eq!(mail_only.codes(), vec!["INSUFFICIENT_SCOPES"]);
    let reader = operator_token("ops-ann", Some("notices:read"));
    let refused = app.graphql(Some(&reader), SEND, intercom_notice()).await;
    assert_eq!(refused.codes(), vec!["INSUFFICIENT_SCOPES"]);
    app.graphql(Some(&reader), AUDIENCE, target.clone())
        .await
        .ok();

    // Account users cannot preview or send.
    let admin_preview = app.graphql(Some(&acme.admin_token), AUDIENCE, target).await;
    assert_eq!(admin_preview.codes(), vec!["FORBIDDEN"]);
    let admin_send = app
        .graphql(Some(&acme.admin_token), SEND, intercom_notice())
        .await;
    assert_eq!(admin_send.codes(), vec!["FORBIDDEN"]);

    // Operators read the catalog, but not an account's contacts or connections.
    let catalog = app
        .graphql(Some(&reader), "{ integrations(first: 100) { totalCount nodes { key name } } integration(key: \"intercom\") { name } }", json!({}))
        .await
        .ok();
    assert_eq!(catalog.data("integrations/totalCount"), 20);
    assert_eq!(catalog.data("integration/name"), "Intercom");
    let contacts = app
        .graphql(
            Some(&reader),
            "{ integration(key: \"intercom\") { name contacts { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(contacts.codes(), vec!["FORBIDDEN"]);
    assert_eq!(contacts.data("integration/name"), "Intercom");
    assert!(contacts.data("integration/contacts").is_null());
    let connected = app
        .graphql(
            Some(&reader),
            "{ integrations(connected: true) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(connected.codes(), vec!["FORBIDDEN"]);
}

#[tokio::test]
async fn a_notice_with_bad_input_is_refused_and_nothing_is_sent() {
    // Arrange
    let (app, smtp) = with_smtp(200).await;
    let acme = app.create_account("acme").await;
    new_contact(
        &app,
        &acme.admin_token,
        "Bob",
        "bob@acme.example.com",
        "en",
        &["intercom"],
    )
    .await;

    // Act
    let unknown = send(&app, json!({ "input": { "integrationKey": "nope", "kind": "SUNSET", "subject": "x", "body": "y" } })).await.ok();
    let bad = send(
        &app,
        json!({ "input": {
            "integrationKey": "intercom", "kind": "SUNSET", "subject": "two\nlines", "body": " ",
            "translations": [{ "language": "not a tag!", "subject": "s", "body": "b" }, { "language": "de", "subject": "s", "body": "b" }, { "language": "DE", "subject": "s", "body": "b" }]
        } }),
    )
    .await
    .ok();
    let nobody = send(&app, json!({ "input": { "integrationKey": "hubspot", "kind": "INFORMATION", "subject": "x", "body": "y" } })).await.ok();
    app.worker.run_pending_jobs().await.expect("worker");

    // Assert
    assert_eq!(
        unknown.user_error_codes("sendIntegrationNotice"),
        vec!["UNKNOWN_INTEGRATION"]
    );
    let mut codes = bad.user_error_codes("sendIntegrationNotice");
    codes.sort();
    assert_eq!(
        codes,
        vec![
            "DUPLICATE_LANGUAGE",
            "INVALID_BODY",
            "INVALID_LANGUAGE",
            "INVALID_SUBJECT"
        ],
        "{}",
        bad.body
    );
    assert_eq!(
        nobody.user_error_codes("sendIntegrationNotice"),
        vec!["EMPTY_AUDIENCE"]
    );
    let list = app
        .graphql(
            Some(&operator_token("ops-ann", None)),
            "{ notices { totalCount } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(list.data("notices/totalCount"), 0);
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert!(smtp.messages().is_empty());
}

#[tokio::test]
async fn a_test_notice_goes_to_one_address_in_the_chosen_language() {
    // Arrange
    let (app, smtp) = with_smtp(200).await;
    let mut input = intercom_notice();
    input["input"]["to"] = json!("ops@vendor.example.com");
    input["input"]["language"] = json!("de-AT");

    // Act
    let reply = app
        .graphql(
            Some(&operator_token("ops-ann", Some("notices:write"))),
            "mutation($input: SendTestNoticeInput!) { sendTestNotice(input: $input) { outboxMessageId userErrors { field code } } }",
            input,
        )
        .await
        .ok();
    app.worker.run_pending_jobs().await.expect("worker");
    let mail = smtp.wait_for(1, WAIT).await;

    // Assert
    assert!(
        reply.data("sendTestNotice/outboxMessageId").is_string(),
        "{}",
        reply.body
    );
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, vec!["ops@vendor.example.com"]);
    assert_eq!(mail[0].subject(), "Intercom-API-Migration");
    assert!(
        mail[0]
            .html()
            .unwrap()
            .contains("<p>Bitte verbinden Sie neu.</p>")
    );
}

#[tokio::test]
async fn a_bounce_marks_the_contact_for_replacement_and_leaves_them_out_of_the_next_notice() {
    // Arrange
    let (app, smtp) = with_smtp(200).await;
    let acme = app.create_account("acme").await;
    let gone = new_contact(
        &app,
        &acme.admin_token,
        "Gone",
        "gone@acme.example.com",
        "en",
        &["intercom"],
    )
    .await;
    new_contact(
        &app,
        &acme.admin_token,
        "Here",
        "here@acme.example.com",
        "en",
        &["intercom"],
    )
    .await;
    smtp.refuse_permanently("gone@acme.example.com");

    // Act
    send(&app, intercom_notice()).await.ok();
    app.worker.run_pending_jobs().await.expect("worker");
    let received = smtp.wait_for(2, WAIT).await;

    // Assert: "here" got the notice, the admin got the bounce report; the setup lists "gone".
    let mut to: Vec<String> = received.iter().map(|m| m.to.join(",")).collect();
    to.sort();
    assert_eq!(to, vec!["admin@acme.example.com", "here@acme.example.com"]);
    let setup = app
        .graphql(
            Some(&acme.admin_token),
            "{ contactSetup { contactsToReplace { user { id } problem integrationKeys } } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(
        setup.data("contactSetup/contactsToReplace"),
        &json!([{ "user": { "id": gone }, "problem": "BOUNCED", "integrationKeys": ["intercom"] }])
    );
    let next = audience(
        &app,
        json!({ "audience": "INTEGRATION_CONTACTS", "integrationKey": "intercom" }),
    )
    .await
    .ok();
    assert_eq!(next.data("noticeAudience/total"), 1);
}

#[tokio::test]
async fn a_notice_to_1000_contacts_in_50_accounts_reaches_each_once_across_a_worker_restart() {
    // Arrange: 50 accounts with 20 Intercom contacts each; fan-out in batches of 50.
    let (app, smtp) = with_smtp(50).await;
    let mut expected = HashSet::new();
    for a in 0..50 {
        let account = app.create_account(&format!("account-{a:02}")).await;
        for c in 0..20 {
            let email = format!("c{c:02}@account-{a:02}.example.com");
            new_contact(
                &app,
                &account.admin_token,
                &format!("Contact {c}"),
                &email,
                "en",
                &["intercom"],
            )
            .await;
            expected.insert(email);
        }
    }
    let sent = send(&app, intercom_notice()).await.ok();
    let notice = sent.data("sendIntegrationNotice/notice/id").clone();
    assert_eq!(sent.data("sendIntegrationNotice/notice/audienceSize"), 1000);

    // Act 1: a worker runs until about a fifth has arrived, then is stopped gracefully.
    let (stop, stopped) = watch::channel(false);
    let first = tokio::spawn(app.worker.clone().run(stopped));
    smtp.wait_for(200, WAIT).await;
    stop.send(true).expect("stop");
    first.await.expect("worker stopped");
    let halfway = smtp.messages().len();
    assert!(
        (200..1000).contains(&halfway),
        "stopped halfway, after {halfway}"
    );

    // Act 2: a new worker (a restarted process) finishes the work.
    let restarted = Worker::new(
        app.services.clone(),
        Handlers::built_in(50),
        StdDuration::from_secs(60),
        StdDuration::from_millis(20),
    );
    restarted.run_pending_jobs().await.expect("worker");
    let mail = smtp.wait_for(1000, WAIT).await;

    // Assert: every contact exactly once.
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    let mail_after = smtp.messages();
    assert_eq!(mail.len(), 1000);
    assert_eq!(mail_after.len(), 1000, "no duplicate arrives late");
    let recipients: Vec<String> = mail_after.iter().map(|m| m.to.join(",")).collect();
    let distinct: HashSet<String> = recipients.iter().cloned().collect();
    assert_eq!(distinct.len(), 1000);
    assert_eq!(distinct, expected);
    let stats = app
        .graphql(
            Some(&operator_token("ops-ann", None)),
            NOTICE,
            json!({ "id": notice }),
        )
        .await
        .ok();
    assert_eq!(stats.data("notice/status"), "SENT");
    assert_eq!(stats.data("notice/delivered"), 1000);
    assert_eq!(stats.data("notice/pending"), 0);
}
