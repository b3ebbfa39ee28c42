//! Where bulk users come from and what a template gives them beyond skills and groups: queues
//! and lines with per-user access, saved user views (listed with `users(viewId:)` and used as a
//! source), and CSV files uploaded with the GraphQL multipart request convention.

use serde_json::{Value, json};

use crate::bulk_users::record_job;
use crate::helpers::{Reply, TestAccount, TestApp, create_user, user_with_grants};
use crate::http::create_named;

const CREATE_RESOURCE: &str = "mutation($input: CreateTelephonyResourceInput!) { createTelephonyResource(input: $input) { telephonyResource { id kind name description } userErrors { field code } } }";
const CREATE_VIEW: &str = "mutation($input: CreateUserViewInput!) { createUserView(input: $input) { userView { id name filter { statuses sources groupId } } userErrors { field code } } }";
const CREATE_JOB: &str = "mutation($input: UsersFromTemplateInput!) { createUsersFromTemplate(input: $input) { bulkUserJob { id } userErrors { field code message } } }";
const JOB_ROWS: &str = "query($id: ID!) { bulkUserJob(id: $id) { status progress { total created failed skipped } rows(first: 50) { nodes { status source { username } user { username status resourceAccess { resource { name kind } level } } errors { code } } } } }";

async fn create_resource(app: &TestApp, token: &str, kind: &str, name: &str) -> Reply {
    app.graphql(
        Some(token),
        CREATE_RESOURCE,
        json!({ "input": { "kind": kind, "name": name, "description": format!("{name} of the account") } }),
    )
    .await
}

fn id_at(reply: &Reply, path: &str) -> String {
    reply
        .data(path)
        .as_str()
        .unwrap_or_else(|| panic!("no id at {path}: {}", reply.body))
        .to_owned()
}

/// A supervisor template (no phone or agent ID needed), in the caller's account.
async fn supervisor_template(app: &TestApp, account: &TestAccount) -> String {
    create_user(
        app,
        &account.admin_token,
        json!({ "username": "template.supervisor", "displayName": "Template", "userType": "SUPERVISOR" }),
    )
    .await
}

/// Records a job from `input`, runs the worker and returns the finished job.
async fn run_job(app: &TestApp, token: &str, input: Value) -> Value {
    finished_job(app, token, &record_job(app, token, input).await).await
}

async fn finished_job(app: &TestApp, token: &str, id: &str) -> Value {
    app.worker.run_pending_jobs().await.expect("worker");
    app.graphql(Some(token), JOB_ROWS, json!({ "id": id }))
        .await
        .ok()
        .data("bulkUserJob")
        .clone()
}

fn usernames(users: &Value) -> Vec<String> {
    let mut names: Vec<String> = users
        .as_array()
        .expect("a list")
        .iter()
        .map(|u| u["username"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn queues_and_lines_are_account_resources_and_a_template_passes_its_access_on() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let other = app.create_account("other").await;
    let token = acme.admin_token.as_str();
    let (_, reader) = user_with_grants(&app, &acme, "reader", &[("USERS", "READ")], None).await;
    let (_, outsider) =
        user_with_grants(&app, &acme, "outsider", &[("AUDIT_LOG", "READ")], None).await;
    let template = supervisor_template(&app, &acme).await;

    // Act
    let queue = create_resource(&app, token, "QUEUE", "Sales").await.ok();
    let line = create_resource(&app, token, "LINE", "Sales").await.ok();
    let same_name = create_resource(&app, token, "QUEUE", " sALES ").await.ok();
    let blank = create_resource(&app, token, "LINE", "  ").await.ok();
    let by_reader = create_resource(&app, &reader, "QUEUE", "Billing").await;
    let foreign = create_resource(&app, &other.admin_token, "QUEUE", "Theirs")
        .await
        .ok();
    let queue_id = id_at(&queue, "createTelephonyResource/telephonyResource/id");
    let line_id = id_at(&line, "createTelephonyResource/telephonyResource/id");
    let foreign_id = id_at(&foreign, "createTelephonyResource/telephonyResource/id");
    let renamed = app
        .graphql(
            Some(token),
            "mutation($input: UpdateNamedInput!) { updateTelephonyResource(input: $input) { telephonyResource { name description } userErrors { code } } }",
            json!({ "input": { "id": line_id, "name": "Main line", "description": null } }),
        )
        .await
        .ok();
    let list = "{ telephonyResources(first: 10) { totalCount nodes { kind name } } queues: telephonyResources(kind: QUEUE) { totalCount } }";
    let listed_by_reader = app.graphql(Some(&reader), list, json!({})).await.ok();
    let listed_by_outsider = app.graphql(Some(&outsider), list, json!({})).await;
    let listed_by_other = app
        .graphql(Some(&other.admin_token), list, json!({}))
        .await
        .ok();
    let set_access = |access: Value| {
        app.graphql(
            Some(token),
            "mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { resourceAccess { resource { name } level } } userErrors { field code } } }",
            json!({ "input": { "id": template, "resourceAccess": access } }),
        )
    };
    let with_foreign = set_access(json!([{ "resourceId": foreign_id, "level": "FULL" }]))
        .await
        .ok();
    let granted = set_access(json!([
        { "resourceId": queue_id, "level": "FULL" },
        { "resourceId": line_id, "level": "READ" },
    ]))
    .await
    .ok();
    let job = run_job(
        &app,
        token,
        json!({ "templateUserId": template, "rows": [{ "username": "new.supervisor", "displayName": "New" }] }),
    )
    .await;

    // Assert
    assert_eq!(
        same_name.user_error_codes("createTelephonyResource"),
        vec!["NAME_TAKEN"],
        "names are unique per kind in any letter case"
    );
    assert_eq!(
        blank.user_error_codes("createTelephonyResource"),
        vec!["INVALID_NAME"]
    );
    assert_eq!(by_reader.codes(), vec!["FORBIDDEN"], "{}", by_reader.body);
    assert_eq!(
        renamed.data("updateTelephonyResource/telephonyResource"),
        &json!({ "name": "Main line", "description": null })
    );
    assert_eq!(
        listed_by_reader.data("telephonyResources"),
        &json!({ "totalCount": 2, "nodes": [
            { "kind": "LINE", "name": "Main line" },
            { "kind": "QUEUE", "name": "Sales" },
        ] })
    );
    assert_eq!(listed_by_reader.data("queues/totalCount"), 1);
    assert_eq!(listed_by_outsider.codes(), vec!["FORBIDDEN", "FORBIDDEN"]);
    assert_eq!(
        listed_by_other.data("telephonyResources/totalCount"),
        1,
        "another account sees only its own"
    );
    assert_eq!(
        with_foreign.user_error_codes("updateUser"),
        vec!["UNKNOWN_RESOURCE"],
        "another account's queue cannot be granted"
    );
    // Listed like telephonyResources: by kind, then name.
    let expected_access = json!([
        { "resource": { "name": "Main line", "kind": "LINE" }, "level": "READ" },
        { "resource": { "name": "Sales", "kind": "QUEUE" }, "level": "FULL" },
    ]);
    assert_eq!(
        granted.data("updateUser/user/resourceAccess"),
        &json!([
            { "resource": { "name": "Main line" }, "level": "READ" },
            { "resource": { "name": "Sales" }, "level": "FULL" },
        ])
    );
    assert_eq!(job["status"], "COMPLETED", "{job}");
    assert_eq!(
        job["rows"]["nodes"][0]["user"]["resourceAccess"], expected_access,
        "the new user got the template's queue and line access"
    );
}

#[tokio::test]
async fn a_saved_view_lists_its_users_and_is_a_source_of_bulk_users() {
    // Arrange: two pending users, an active one, and one linked to an Intercom record.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let other = app.create_account("other").await;
    let token = acme.admin_token.as_str();
    let (_, reader) = user_with_grants(&app, &acme, "reader", &[("USERS", "READ")], None).await;
    let (_, runner) = user_with_grants(
        &app,
        &acme,
        "runner",
        &[("USERS", "FULL"), ("BULK_USERS", "FULL")],
        None,
    )
    .await;
    let template = supervisor_template(&app, &acme).await;
    for name in ["pat", "sam"] {
        create_user(
            &app,
            token,
            json!({ "status": "PENDING", "username": name, "displayName": name }),
        )
        .await;
    }
    create_user(
        &app,
        token,
        json!({ "username": "active.one", "displayName": "Active" }),
    )
    .await;
    run_job(
        &app,
        token,
        json!({ "templateUserId": template, "rows": [{ "username": "linked", "displayName": "Linked", "externalSource": "intercom", "externalId": "c-1" }] }),
    )
    .await;
    let view = |name: &str, filter: Value| {
        app.graphql(
            Some(token),
            CREATE_VIEW,
            json!({ "input": { "name": name, "filter": filter } }),
        )
    };

    // Act
    let pending = view("Pending", json!({ "statuses": ["PENDING"] }))
        .await
        .ok();
    let intercom = view("From Intercom", json!({ "sources": ["intercom"] }))
        .await
        .ok();
    let taken = view("PENDING", json!({})).await.ok();
    let foreign_group =
        create_named(&app, &other.admin_token, "createGroup", "group", "Theirs").await;
    let bad_group = view("Group", json!({ "groupId": foreign_group }))
        .await
        .ok();
    let bad_source = view("Source", json!({ "sources": [""] })).await.ok();
    let by_reader = app
        .graphql(
            Some(&reader),
            CREATE_VIEW,
            json!({ "input": { "name": "Mine", "filter": {} } }),
        )
        .await;
    let pending_id = id_at(&pending, "createUserView/userView/id");
    let intercom_id = id_at(&intercom, "createUserView/userView/id");
    let users_of = async |viewer: &str, view: &str| {
        app.graphql(
            Some(viewer),
            "query($view: ID!) { users(viewId: $view, first: 50) { totalCount nodes { username } } }",
            json!({ "view": view }),
        )
        .await
    };
    let pending_users = users_of(&reader, &pending_id).await.ok();
    let intercom_users = users_of(token, &intercom_id).await.ok();
    let from_other = users_of(&other.admin_token, &pending_id).await;
    let with_filter = app
        .graphql(
            Some(token),
            "query($view: ID!) { users(viewId: $view, filter: { text: \"pat\" }) { totalCount } }",
            json!({ "view": pending_id }),
        )
        .await;
    let views = app
        .graphql(
            Some(&reader),
            "{ userViews(first: 10) { totalCount nodes { name } } }",
            json!({}),
        )
        .await
        .ok();
    let from_view = run_job(
        &app,
        &runner,
        json!({ "templateUserId": template, "userViewId": pending_id }),
    )
    .await;
    let from_intercom_view = run_job(
        &app,
        &runner,
        json!({ "templateUserId": template, "userViewId": intercom_id }),
    )
    .await;
    let pending_after = users_of(token, &pending_id).await.ok();
    let updated = app
        .graphql(
            Some(token),
            "mutation($input: UpdateUserViewInput!) { updateUserView(input: $input) { userView { name filter { statuses } } userErrors { code } } }",
            json!({ "input": { "id": pending_id, "name": "Active now", "filter": { "statuses": ["ACTIVE"] } } }),
        )
        .await
        .ok();
    let delete = async |viewer: &str| {
        app.graphql(
            Some(viewer),
            "mutation($id: ID!) { deleteUserView(input: { id: $id }) { deletedUserViewId userErrors { code } } }",
            json!({ "id": intercom_id }),
        )
        .await
    };
    let deleted_by_other = delete(&other.admin_token).await;
    let deleted = delete(token).await.ok();
    let from_deleted = app
        .graphql(
            Some(&runner),
            CREATE_JOB,
            json!({ "input": { "templateUserId": template, "userViewId": intercom_id } }),
        )
        .await
        .ok();

    // Assert
    assert_eq!(
        pending.data("createUserView/userView/filter"),
        &json!({ "statuses": ["PENDING"], "sources": [], "groupId": null })
    );
    assert_eq!(taken.user_error_codes("createUserView"), vec!["NAME_TAKEN"]);
    assert_eq!(
        bad_group.user_error_codes("createUserView"),
        vec!["UNKNOWN_GROUP"]
    );
    assert_eq!(
        bad_source.user_error_codes("createUserView"),
        vec!["INVALID_SOURCE"]
    );
    assert_eq!(by_reader.codes(), vec!["FORBIDDEN"]);
    assert_eq!(usernames(pending_users.data("users/nodes")), ["pat", "sam"]);
    assert_eq!(usernames(intercom_users.data("users/nodes")), ["linked"]);
    assert_eq!(from_other.codes(), vec!["NOT_FOUND"], "{}", from_other.body);
    assert_eq!(with_filter.codes(), vec!["BAD_USER_INPUT"]);
    assert_eq!(views.data("userViews/totalCount"), 2);
    assert_eq!(from_view["status"], "COMPLETED", "{from_view}");
    assert_eq!(from_view["progress"]["created"], 2);
    assert_eq!(
        usernames(
            &from_view["rows"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["user"].clone())
                .collect()
        ),
        ["pat", "sam"]
    );
    assert_eq!(
        from_view["rows"]["nodes"][0]["user"]["status"], "ACTIVE",
        "the view's pending users were activated"
    );
    assert_eq!(
        pending_after.data("users/totalCount"),
        0,
        "a view is read afresh each time"
    );
    assert_eq!(
        from_intercom_view["progress"],
        json!({ "total": 1, "created": 0, "failed": 0, "skipped": 1 }),
        "a user who is not pending is skipped"
    );
    assert_eq!(
        from_intercom_view["rows"]["nodes"][0]["errors"],
        json!([{ "code": "ALREADY_LINKED" }])
    );
    assert_eq!(
        updated.data("updateUserView/userView"),
        &json!({ "name": "Active now", "filter": { "statuses": ["ACTIVE"] } })
    );
    assert_eq!(
        deleted_by_other.codes(),
        vec!["NOT_FOUND"],
        "{}",
        deleted_by_other.body
    );
    assert_eq!(
        deleted.data("deleteUserView/deletedUserViewId"),
        intercom_id.as_str()
    );
    assert_eq!(
        from_deleted.user_error_codes("createUsersFromTemplate"),
        vec!["UNKNOWN_VIEW"]
    );
}

/// A GraphQL multipart request (operations, map, one file) creating or previewing users.
async fn upload_csv(
    app: &TestApp,
    token: &str,
    mutation: &str,
    template: &str,
    csv: impl Into<Vec<u8>>,
) -> Reply {
    let query = format!(
        "mutation($input: UsersFromTemplateInput!) {{ {mutation}(input: $input) {{ {} userErrors {{ field code message }} }} }}",
        if mutation == "previewUsersFromTemplate" {
            "summary { total created failed }"
        } else {
            "bulkUserJob { id }"
        }
    );
    let operations = json!({ "query": query, "variables": { "input": { "templateUserId": template, "csv": null } } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.input.csv"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(csv.into())
                .file_name("users.csv")
                .mime_str("text/csv")
                .expect("mime"),
        );
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("request sent");
    TestApp::reply(response).await
}

#[tokio::test]
async fn a_csv_file_uploaded_with_the_multipart_convention_is_a_source_with_its_own_limit() {
    // Arrange: uploads up to 4 KiB.
    let app = TestApp::spawn_with(|config| config.max_upload_bytes = 4096, None).await;
    let acme = app.create_account("acme").await;
    let token = acme.admin_token.as_str();
    let (_, reader) =
        user_with_grants(&app, &acme, "reader", &[("BULK_USERS", "READ")], None).await;
    let template = supervisor_template(&app, &acme).await;
    // Header names in any case and spacing, a BOM, quoted values and a blank line.
    let csv = "\u{feff}Username, First Name ,LAST NAME,email\r\nada,Ada,Lovelace,ada@acme.example.com\r\n\r\n\"grace\",\"Grace, Rear Admiral\",Hopper,not-an-email\r\n";

    // Act
    let preview = upload_csv(&app, token, "previewUsersFromTemplate", &template, csv)
        .await
        .ok();
    let created = upload_csv(&app, token, "createUsersFromTemplate", &template, csv)
        .await
        .ok();
    let job = finished_job(
        &app,
        token,
        &id_at(&created, "createUsersFromTemplate/bulkUserJob/id"),
    )
    .await;
    let no_username = upload_csv(
        &app,
        token,
        "createUsersFromTemplate",
        &template,
        "name,email\nada,ada@acme.example.com\n",
    )
    .await
    .ok();
    let by_reader = upload_csv(&app, &reader, "createUsersFromTemplate", &template, csv).await;
    let too_large = upload_csv(
        &app,
        token,
        "createUsersFromTemplate",
        &template,
        format!("username\n{}", "someone\n".repeat(1000)),
    )
    .await;
    let two_sources = app
        .graphql(
            Some(token),
            CREATE_JOB,
            json!({ "input": { "templateUserId": template } }),
        )
        .await
        .ok();

    // Assert
    assert_eq!(
        preview.data("previewUsersFromTemplate/summary"),
        &json!({ "total": 2, "created": 1, "failed": 1 })
    );
    assert_eq!(job["status"], "COMPLETED_WITH_ERRORS", "{job}");
    assert_eq!(job["rows"]["nodes"][0]["user"]["username"], "ada");
    assert_eq!(
        job["rows"]["nodes"][1]["errors"],
        json!([{ "code": "INVALID_EMAIL" }]),
        "a quoted comma stays in its field"
    );
    assert_eq!(
        no_username.user_error_codes("createUsersFromTemplate"),
        vec!["INVALID_CSV"]
    );
    let message = no_username.data("createUsersFromTemplate/userErrors/0/message");
    assert!(
        message.as_str().unwrap_or_default().contains("username"),
        "the error says which column is missing: {message}"
    );
    assert_eq!(by_reader.codes(), vec!["FORBIDDEN"], "{}", by_reader.body);
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    assert_eq!(
        two_sources.user_error_codes("createUsersFromTemplate"),
        vec!["SOURCE_REQUIRED"]
    );
}

#[tokio::test]
async fn the_command_line_previews_and_creates_users_from_a_csv_file_with_the_api_engine() {
    // Arrange: an agent template, a user holding agent ID 1001, a file with two bad rows.
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let token = acme.admin_token.as_str();
    create_user(
        &app,
        token,
        json!({ "username": "template.agent", "displayName": "Template", "userType": "AGENT", "phone": "+41445550100", "agentId": 1 }),
    )
    .await;
    create_user(
        &app,
        token,
        json!({ "username": "Taken", "displayName": "Taken", "agentId": 1001 }),
    )
    .await;
    user_with_grants(&app, &acme, "reader", &[("BULK_USERS", "READ")], None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("users.csv");
    std::fs::write(
        &csv,
        "username,displayName,phone,agentId\n\
         ada,Ada,+41445550101,\n\
         no.phone,No Phone,,\n\
         grace,Grace,+41445550102,1003\n\
         taken,Taken Again,+41445550103,\n",
    )
    .expect("file written");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "name\nada\n").expect("file written");
    let csv = csv.to_str().expect("utf-8 path");
    let liaison = |extra: &[&str]| {
        let mut args = vec![
            "users",
            "from-template",
            "--account",
            "acme",
            "--template",
            "template.agent",
            "--generate-agent-ids-from",
            "1000",
        ];
        args.extend_from_slice(extra);
        app.cli(dir.path(), &args).output().expect("liaison runs")
    };
    let users = async || {
        app.graphql(Some(token), "{ users { totalCount } }", json!({}))
            .await
            .ok()
            .data("users/totalCount")
            .as_i64()
            .expect("a count")
    };
    let before = users().await;

    // Act
    let preview = liaison(&["--csv", csv, "--dry-run"]);
    let after_preview = users().await;
    let refused = liaison(&["--csv", csv, "--as", "reader"]);
    let bad_file = liaison(&["--csv", bad.to_str().unwrap()]);
    let missing = liaison(&["--csv", "nowhere.csv"]);
    let run = liaison(&["--csv", csv]);
    let jobs = app
        .graphql(
            Some(token),
            "{ bulkUserJobs(first: 5) { totalCount nodes { status source progress { created failed } rows(first: 5) { nodes { user { username agentId } } } } } }",
            json!({}),
        )
        .await
        .ok();

    // Assert
    let text = |output: &std::process::Output| {
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, out, err) = text(&preview);
    assert_eq!(
        code,
        Some(1),
        "failed rows make the exit status 1: {out}{err}"
    );
    let line = |out: &str, row: &str| {
        out.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(row))
            .unwrap_or_else(|| panic!("no line for {row} in\n{out}"))
            .to_owned()
    };
    assert!(line(&out, "ada").contains("CREATED"));
    assert!(line(&out, "ada").contains("1000"));
    assert!(line(&out, "no.phone").contains("NO_PHONE"));
    assert!(line(&out, "grace").contains("1003"));
    assert!(line(&out, "taken").contains("USERNAME_EXISTS"));
    assert!(
        out.contains("4 row(s): 2 would be created, 2 would fail"),
        "{out}"
    );
    assert_eq!(after_preview, before, "a dry run writes nothing");
    let (code, _, err) = text(&refused);
    assert_eq!(code, Some(1));
    assert!(err.contains("BULK_USERS"), "{err}");
    let (code, _, err) = text(&bad_file);
    assert_eq!(code, Some(2));
    assert!(err.contains("--csv") && err.contains("username"), "{err}");
    assert_eq!(text(&missing).0, Some(2));
    let (code, out, err) = text(&run);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(line(&out, "ada").contains("CREATED"), "{out}");
    assert!(line(&out, "taken").contains("USERNAME_EXISTS"), "{out}");
    assert!(out.contains("COMPLETED_WITH_ERRORS"), "{out}");
    assert_eq!(
        jobs.data("bulkUserJobs/totalCount"),
        1,
        "one job, by the run"
    );
    let job = jobs.data("bulkUserJobs/nodes/0");
    assert_eq!(job["source"], "CSV");
    assert_eq!(job["progress"], json!({ "created": 2, "failed": 2 }));
    assert_eq!(
        job["rows"]["nodes"][0]["user"],
        json!({ "username": "ada", "agentId": 1000 })
    );
    assert_eq!(users().await, before + 2);
}
