//! Users from a template in bulk: the preview and the job agree row by row, every reason a row
//! fails is reported, agent IDs are generated around the ones in use, the template's skills,
//! groups and roles are copied, templates cannot raise privileges, jobs are idempotent, resume
//! after a stop without duplicates, can be cancelled, and failed rows can be retried.

use serde_json::{Value, json};

use crate::helpers::{
    Reply, TestAccount, TestApp, assign_roles, competing_user, create_role, create_user,
    decode_gid, run_jobs_while_open, user_with_grants,
};
use crate::http::create_named;

const PREVIEW: &str = "mutation($input: UsersFromTemplateInput!) { previewUsersFromTemplate(input: $input) { rows { position status agentId errors { code } } summary { total created failed skipped } userErrors { field code } } }";
const CREATE: &str = "mutation($input: UsersFromTemplateInput!) { createUsersFromTemplate(input: $input) { bulkUserJob { id status } userErrors { field code } } }";
const JOB: &str = "query($id: ID!) { bulkUserJob(id: $id) { status progress { total processed created failed skipped } rows(first: 20) { nodes { position status agentId source { username } user { username agentId userType country skills { name level } groups { name } roles { name } } errors { code } } } } }";

/// An agent template with a skill, a group and a role, in the caller's account.
async fn agent_template(app: &TestApp, account: &TestAccount) -> String {
    let token = account.admin_token.as_str();
    let skill = create_named(app, token, "createSkill", "skill", "French").await;
    let group = create_named(app, token, "createGroup", "group", "Support").await;
    let role = create_role(app, token, "Agents", &[("USERS", "READ")]).await;
    let template = create_user(
        app,
        token,
        json!({ "username": "template.agent", "displayName": "Template", "userType": "AGENT", "country": "CH", "phone": "+41445550100", "agentId": 999 }),
    )
    .await;
    let updated = app
        .graphql(
            Some(token),
            "mutation($input: UpdateUserInput!) { updateUser(input: $input) { userErrors { code } } }",
            json!({ "input": { "id": template, "skills": [{ "skillId": skill, "level": 7 }], "groupIds": [group] } }),
        )
        .await
        .ok();
    assert_eq!(updated.user_error_codes("updateUser"), Vec::<String>::new());
    assign_roles(app, token, &template, &[&role]).await.ok();
    template
}

fn agent(username: &str, phone: Option<&str>, agent_id: Option<i64>) -> Value {
    json!({ "username": username, "firstName": "Ann", "lastName": username, "phone": phone, "agentId": agent_id })
}

/// Records a job that must be accepted; its global id.
pub(crate) async fn record_job(app: &TestApp, token: &str, input: Value) -> String {
    let created = app
        .graphql(Some(token), CREATE, json!({ "input": input }))
        .await
        .ok();
    assert_eq!(
        created.user_error_codes("createUsersFromTemplate"),
        Vec::<String>::new(),
        "{}",
        created.body
    );
    created
        .data("createUsersFromTemplate/bulkUserJob/id")
        .as_str()
        .expect("job id")
        .to_owned()
}

async fn run(app: &TestApp, token: &str, input: Value) -> (String, Value) {
    let id = record_job(app, token, input).await;
    app.worker.run_pending_jobs().await.expect("worker");
    (id.clone(), job(app, token, &id).await)
}

async fn job(app: &TestApp, token: &str, id: &str) -> Value {
    app.graphql(Some(token), JOB, json!({ "id": id }))
        .await
        .ok()
        .data("bulkUserJob")
        .clone()
}

fn verdicts(rows: &Value) -> Vec<(String, Option<i64>, Vec<String>)> {
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap_or_default().to_owned(),
                r["agentId"].as_i64(),
                r["errors"]
                    .as_array()
                    .map(|e| {
                        e.iter()
                            .map(|e| e["code"].as_str().unwrap_or_default().to_owned())
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_reference_example_creates_three_and_reports_why_two_failed() {
    // Arrange: an existing "Taken" user; five rows, two of them bad.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = acme.admin_token.as_str();
    let template = agent_template(&app, &acme).await;
    create_user(
        &app,
        token,
        json!({ "username": "Taken", "displayName": "Taken", "agentId": 1001 }),
    )
    .await;
    let input = json!({
        "templateUserId": template,
        "generateAgentIds": { "startingId": 1000 },
        "idempotencyKey": "reference-example",
        "rows": [
            agent("ada", Some("+41445550101"), None),
            agent("noPhone", None, None),
            agent("grace", Some("+41445550102"), Some(1003)),
            agent("taken", Some("+41445550103"), None),
            agent("linus", Some("+41445550104"), None),
        ],
    });

    // Act
    let preview = app
        .graphql(Some(token), PREVIEW, json!({ "input": input }))
        .await
        .ok();
    let users_after_preview = app
        .graphql(Some(token), "{ users(first: 1) { totalCount } }", json!({}))
        .await
        .ok();
    let (id, finished) = run(&app, token, input.clone()).await;
    let again = app
        .graphql(Some(token), CREATE, json!({ "input": input }))
        .await
        .ok();

    // Assert: 1000 is free, 1001 is taken, 1002 goes to linus (1003 is given by grace).
    let expected = vec![
        ("CREATED".to_owned(), Some(1000), vec![]),
        ("FAILED".to_owned(), None, vec!["NO_PHONE".to_owned()]),
        ("CREATED".to_owned(), Some(1003), vec![]),
        (
            "FAILED".to_owned(),
            None,
            vec!["USERNAME_EXISTS".to_owned()],
        ),
        ("CREATED".to_owned(), Some(1002), vec![]),
    ];
    assert_eq!(
        verdicts(preview.data("previewUsersFromTemplate/rows")),
        expected
    );
    assert_eq!(
        preview.data("previewUsersFromTemplate/summary"),
        &json!({ "total": 5, "created": 3, "failed": 2, "skipped": 0 })
    );
    assert_eq!(
        users_after_preview.data("users/totalCount"),
        3,
        "the preview wrote nothing"
    );
    assert_eq!(finished["status"], "COMPLETED_WITH_ERRORS");
    assert_eq!(
        finished["progress"],
        json!({ "total": 5, "processed": 5, "created": 3, "failed": 2, "skipped": 0 })
    );
    assert_eq!(
        verdicts(&finished["rows"]["nodes"]),
        expected,
        "preview and run agree"
    );
    let ada = &finished["rows"]["nodes"][0]["user"];
    assert_eq!(ada["username"], "ada");
    assert_eq!(ada["userType"], "AGENT");
    assert_eq!(ada["country"], "CH");
    assert_eq!(ada["skills"], json!([{ "name": "French", "level": 7 }]));
    assert_eq!(ada["groups"], json!([{ "name": "Support" }]));
    assert_eq!(ada["roles"], json!([{ "name": "Agents" }]));
    assert_eq!(
        again.data("createUsersFromTemplate/bulkUserJob/id"),
        id.as_str(),
        "the same idempotency key returns the same job"
    );
    let audit = app
        .graphql(
            Some(token),
            "{ auditLog(first: 100, filter: { actions: [\"user.created_from_template\"] }) { totalCount } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(audit.data("auditLog/totalCount"), 3);
}

#[tokio::test]
async fn a_template_never_raises_privileges_and_bulk_users_full_is_needed() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let admin_template = gid_of_admin(&acme);
    let (_, runner) = user_with_grants(
        &app,
        &acme,
        "runner",
        &[("USERS", "FULL"), ("BULK_USERS", "FULL")],
        None,
    )
    .await;
    let (_, reader) =
        user_with_grants(&app, &acme, "reader", &[("BULK_USERS", "READ")], None).await;
    let plain = create_user(
        &app,
        &acme.admin_token,
        json!({ "username": "plain", "displayName": "Plain", "userType": "SUPERVISOR" }),
    )
    .await;
    let rows = json!([{ "username": "new.one", "displayName": "New One" }]);

    // Act
    let escalate = create_job(&app, &runner, &admin_template, &rows).await;
    let by_reader = create_job(&app, &reader, &plain, &rows).await;
    let allowed = create_job(&app, &runner, &plain, &rows).await.ok();
    let job_id = allowed
        .data("createUsersFromTemplate/bulkUserJob/id")
        .as_str()
        .expect("job")
        .to_owned();
    let read_by_reader = job_status(&app, &reader, &job_id).await;
    let other = app.create_account("other").await;
    let from_other = job_status(&app, &other.admin_token, &job_id).await;
    let foreign_template = create_job(&app, &other.admin_token, &plain, &rows)
        .await
        .ok();

    // Assert
    assert_eq!(escalate.codes(), vec!["FORBIDDEN"], "{}", escalate.body);
    assert_eq!(by_reader.codes(), vec!["FORBIDDEN"], "{}", by_reader.body);
    assert_eq!(read_by_reader.data("bulkUserJob/status"), "QUEUED");
    assert_eq!(from_other.codes(), vec!["NOT_FOUND"]);
    assert_eq!(
        foreign_template.user_error_codes("createUsersFromTemplate"),
        vec!["UNKNOWN_TEMPLATE"]
    );
}

async fn create_job(app: &TestApp, token: &str, template: &str, rows: &Value) -> Reply {
    app.graphql(
        Some(token),
        CREATE,
        json!({ "input": { "templateUserId": template, "rows": rows } }),
    )
    .await
}

async fn job_status(app: &TestApp, token: &str, id: &str) -> Reply {
    app.graphql(
        Some(token),
        "query($id: ID!) { bulkUserJob(id: $id) { status } }",
        json!({ "id": id }),
    )
    .await
}

fn gid_of_admin(account: &TestAccount) -> String {
    crate::helpers::gid("User", account.admin_id.0)
}

#[tokio::test]
async fn rows_beyond_the_free_seats_fail_and_a_retry_after_the_fix_creates_them() {
    // Arrange: 10 seats, 2 used (the admin and the template); 10 plain supervisors asked for.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = acme.admin_token.as_str();
    let template = create_user(
        &app,
        token,
        json!({ "username": "lead", "displayName": "Lead", "userType": "SUPERVISOR" }),
    )
    .await;
    let rows: Vec<Value> = (0..10)
        .map(|n| json!({ "username": format!("sup{n}"), "displayName": format!("Sup {n}") }))
        .collect();

    // Act
    let (id, first) = run(
        &app,
        token,
        json!({ "templateUserId": template, "rows": rows }),
    )
    .await;
    let statuses = verdicts(&first["rows"]["nodes"]);
    let users: Vec<String> = first["rows"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["user"]["username"].as_str().map(str::to_owned))
        .collect();
    // Free two seats by deactivating two of the new users.
    let created_ids: Vec<String> = {
        let reply = app
            .graphql(Some(token), "query($id: ID!) { bulkUserJob(id: $id) { rows(first: 100, status: CREATED) { nodes { user { id } } } } }", json!({ "id": id }))
            .await
            .ok();
        reply
            .data("bulkUserJob/rows/nodes")
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["user"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for user in &created_ids[..2] {
        app.graphql(
            Some(token),
            "mutation($id: ID!) { deactivateUser(input: { id: $id }) { userErrors { code } } }",
            json!({ "id": user }),
        )
        .await
        .ok();
    }
    let retried = app
        .graphql(Some(token), "mutation($id: ID!) { retryFailedRows(input: { jobId: $id }) { bulkUserJob { id } userErrors { code } } }", json!({ "id": id }))
        .await
        .ok();
    app.worker.run_pending_jobs().await.expect("worker");
    let retry_id = retried
        .data("retryFailedRows/bulkUserJob/id")
        .as_str()
        .expect("retry job")
        .to_owned();
    let second = job(&app, token, &retry_id).await;

    // Assert: 8 seats were free; the last two rows failed on the limit.
    let created = statuses.iter().filter(|s| s.0 == "CREATED").count();
    assert_eq!(created, 8, "{statuses:?}");
    assert!(
        statuses[8..]
            .iter()
            .all(|s| s.2 == vec!["LICENCE_LIMIT".to_owned()]),
        "{statuses:?}"
    );
    assert_eq!(users.len(), 8);
    assert_eq!(second["status"], "COMPLETED", "{second}");
    assert_eq!(second["progress"]["created"], 2);
}

#[tokio::test]
async fn a_job_stopped_between_chunks_resumes_without_duplicates_and_can_be_cancelled() {
    // Arrange: two rows per transaction.
    let app = TestApp::spawn_with(|config| config.bulk_chunk_rows = 2, None).await;
    let acme = app.create_account("acme").await;
    let token = acme.admin_token.as_str();
    let template = create_user(
        &app,
        token,
        json!({ "username": "lead", "displayName": "Lead", "userType": "SUPERVISOR" }),
    )
    .await;
    let rows = |prefix: &str| -> Vec<Value> {
        (0..5)
            .map(|n| json!({ "username": format!("{prefix}{n}"), "displayName": "X" }))
            .collect()
    };
    let start = |rows: Vec<Value>| {
        let app = &app;
        let template = template.clone();
        async move {
            let reply = app
                .graphql(
                    Some(token),
                    CREATE,
                    json!({ "input": { "templateUserId": template, "rows": rows } }),
                )
                .await
                .ok();
            reply
                .data("createUsersFromTemplate/bulkUserJob/id")
                .as_str()
                .expect("job")
                .to_owned()
        }
    };
    let account = acme.id;
    let chunk = |id: &str| {
        let id = decode_gid(id).parse().expect("job uuid");
        let services = app.services.clone();
        async move {
            services
                .run_bulk_chunk(account, liaison::domain::ids::BulkUserJobId(id))
                .await
                .expect("chunk")
        }
    };

    // Act: one chunk commits, then the worker "dies"; a worker takes the job over.
    let resumed = start(rows("r")).await;
    chunk(&resumed).await;
    let midway = job(&app, token, &resumed).await;
    app.worker.run_pending_jobs().await.expect("worker");
    let done = job(&app, token, &resumed).await;
    // A second job is cancelled after its first chunk.
    let cancelled = start(rows("c")).await;
    chunk(&cancelled).await;
    let cancel = app
        .graphql(
            Some(token),
            "mutation($id: ID!) { cancelBulkUserJob(input: { id: $id }) { userErrors { code } } }",
            json!({ "id": cancelled }),
        )
        .await
        .ok();
    app.worker.run_pending_jobs().await.expect("worker");
    let stopped = job(&app, token, &cancelled).await;
    let users = app
        .graphql(
            Some(token),
            "{ users(first: 100) { nodes { username } } }",
            json!({}),
        )
        .await
        .ok();

    // Assert
    assert_eq!(midway["progress"]["processed"], 2);
    assert_eq!(midway["status"], "RUNNING");
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["progress"]["created"], 5);
    assert_eq!(
        cancel.user_error_codes("cancelBulkUserJob"),
        Vec::<String>::new()
    );
    assert_eq!(stopped["status"], "CANCELLED");
    assert_eq!(stopped["progress"]["created"], 2);
    let cancelled_rows = verdicts(&stopped["rows"]["nodes"])
        .iter()
        .filter(|r| r.0 == "CANCELLED")
        .count();
    assert_eq!(cancelled_rows, 3);
    let mut names: Vec<&str> = users
        .data("users/nodes")
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    names.sort();
    let total = names.len();
    names.dedup();
    assert_eq!(names.len(), total, "no user twice");
    assert_eq!(
        total,
        2 + 5 + 2,
        "admin, lead, five resumed, two before the cancel"
    );
}

#[tokio::test]
async fn pending_users_are_activated_with_the_template_and_fixed_data_counts_on_retry() {
    // Arrange: two pending users, one without a phone.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = acme.admin_token.as_str();
    let template = agent_template(&app, &acme).await;
    let pending = |name: &str, phone: Option<&str>| json!({ "status": "PENDING", "username": name, "displayName": name, "email": format!("{name}@acme.example.com"), "phone": phone });
    let with_phone = create_user(&app, token, pending("pat", Some("+41445550111"))).await;
    let without = create_user(&app, token, pending("sam", None)).await;
    let input = json!({ "templateUserId": template, "pendingUserIds": [with_phone, without], "generateAgentIds": { "startingId": 5000 } });

    // Act
    let (id, first) = run(&app, token, input.clone()).await;
    let (_, twice) = run(&app, token, json!({ "templateUserId": template, "pendingUserIds": [with_phone], "generateAgentIds": { "startingId": 5000 } })).await;
    app.graphql(
        Some(token),
        "mutation($input: UpdateUserInput!) { updateUser(input: $input) { userErrors { code } } }",
        json!({ "input": { "id": without, "phone": "+41445550112" } }),
    )
    .await
    .ok();
    let retried = app
        .graphql(
            Some(token),
            "mutation($id: ID!) { retryFailedRows(input: { jobId: $id }) { bulkUserJob { id } } }",
            json!({ "id": id }),
        )
        .await
        .ok();
    app.worker.run_pending_jobs().await.expect("worker");
    let retry = job(
        &app,
        token,
        retried
            .data("retryFailedRows/bulkUserJob/id")
            .as_str()
            .unwrap(),
    )
    .await;
    let status = app
        .graphql(
            Some(token),
            "query($id: ID!) { node(id: $id) { ... on User { status agentId skills { name } } } }",
            json!({ "id": without }),
        )
        .await
        .ok();

    // Assert
    assert_eq!(
        verdicts(&first["rows"]["nodes"]),
        vec![
            ("CREATED".to_owned(), Some(5000), vec![]),
            ("FAILED".to_owned(), None, vec!["NO_PHONE".to_owned()]),
        ]
    );
    assert_eq!(
        first["rows"]["nodes"][0]["user"]["skills"],
        json!([{ "name": "French", "level": 7 }])
    );
    assert_eq!(
        verdicts(&twice["rows"]["nodes"])[0].2,
        vec!["ALREADY_LINKED".to_owned()]
    );
    assert_eq!(twice["status"], "COMPLETED");
    assert_eq!(retry["status"], "COMPLETED", "{retry}");
    assert_eq!(status.data("node/status"), "ACTIVE");
    assert_eq!(status.data("node/agentId"), 5001);
}

/// A user that another writer inserts in its own transaction, left open until committed.
#[tokio::test]
async fn a_username_or_agent_id_another_writer_takes_during_a_chunk_costs_only_that_row() {
    // Arrange: three rows whose agent IDs are generated from 5000; another writer, still
    // uncommitted, takes the first row's username and the second row's agent ID.
    use sea_orm::{ActiveModelTrait, TransactionTrait};
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = acme.admin_token.as_str();
    let template = agent_template(&app, &acme).await;
    let id = record_job(
        &app,
        token,
        json!({
            "templateUserId": template,
            "generateAgentIds": { "startingId": 5000 },
            "rows": [
                agent("late.ada", Some("+41445550101"), None),
                agent("bob", Some("+41445550102"), None),
                agent("cy", Some("+41445550103"), None),
            ],
        }),
    )
    .await;
    let other = app.db.pool().begin().await.expect("competing transaction");
    for user in [
        competing_user(&acme, "Late.Ada", None),
        competing_user(&acme, "someone.else", Some(5001)),
    ] {
        user.insert(&other).await.expect("competing insert");
    }

    // Act: the chunk runs while the other writer is open (PostgreSQL: the chunk's checks pass
    // and its insert waits on the unique indexes; SQLite: the chunk waits for the write lock),
    // then the writer commits.
    let postgres = app.database_url.starts_with("postgres");
    run_jobs_while_open(&app, other).await;

    // Assert: only the first row fails; the second moves on to a free agent ID.
    let finished = job(&app, token, &id).await;
    let rows = verdicts(&finished["rows"]["nodes"]);
    assert_eq!(
        rows.iter()
            .map(|(status, _, errors)| (status.as_str(), errors.clone()))
            .collect::<Vec<_>>(),
        vec![
            ("FAILED", vec!["USERNAME_EXISTS".to_owned()]),
            ("CREATED", vec![]),
            ("CREATED", vec![]),
        ],
        "{finished}"
    );
    let agent_ids: Vec<i64> = rows.iter().filter_map(|(_, id, _)| *id).collect();
    // PostgreSQL: 5000 to 5002 were drawn before the conflict, and bob moved on from 5001 to
    // 5003. SQLite: the checks saw the other writer's users, so bob got 5000.
    let expected = if postgres {
        vec![5003, 5002]
    } else {
        vec![5000, 5002]
    };
    assert_eq!(agent_ids, expected);
    assert_eq!(
        finished["progress"],
        json!({ "total": 3, "processed": 3, "created": 2, "failed": 1, "skipped": 0 })
    );
}

#[tokio::test]
async fn a_username_or_agent_id_an_earlier_row_of_the_job_gives_fails_the_later_row() {
    // Arrange: "Ada" gives agent ID 2001; "ada" repeats the username in another letter case,
    // "bob" repeats the agent ID; "cy" repeats neither.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = acme.admin_token.as_str();
    let template = agent_template(&app, &acme).await;
    let input = json!({
        "templateUserId": template,
        "generateAgentIds": { "startingId": 3000 },
        "rows": [
            agent("Ada", Some("+41445550201"), Some(2001)),
            agent("ada", Some("+41445550202"), None),
            agent("bob", Some("+41445550203"), Some(2001)),
            agent("cy", Some("+41445550204"), None),
        ],
    });

    // Act: the job reads the earlier rows of its batch from the database.
    let (_, finished) = run(&app, token, input).await;

    // Assert
    assert_eq!(
        verdicts(&finished["rows"]["nodes"]),
        vec![
            ("CREATED".to_owned(), Some(2001), vec![]),
            (
                "FAILED".to_owned(),
                None,
                vec!["USERNAME_EXISTS".to_owned()]
            ),
            (
                "FAILED".to_owned(),
                None,
                vec!["AGENT_ID_DUPLICATE_IN_BATCH".to_owned()]
            ),
            ("CREATED".to_owned(), Some(3000), vec![]),
        ],
        "{finished}"
    );
    assert_eq!(finished["status"], "COMPLETED_WITH_ERRORS", "{finished}");
}
