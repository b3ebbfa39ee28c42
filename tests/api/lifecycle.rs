//! The server as a newcomer meets it: the binary's first run, its CLI, production safety, the
//! schema file, readiness and migrations in both directions.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;

use crate::helpers::{TestApp, TestDb};

const BINARY: &str = env!("CARGO_BIN_EXE_liaison");

use crate::helpers::liaison_command as liaison;

/// Reads the server's stdout until it has printed the GraphiQL URL and the demo token.
fn first_run_output(child: &mut Child) -> (String, String) {
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut url = None;
    let mut token = None;
    while let Some(Ok(line)) = lines.next() {
        if let Some(found) = line.strip_prefix("GraphiQL: ") {
            url = Some(found.to_owned());
        }
        if line.starts_with("eyJ") {
            token = Some(line.clone());
            break;
        }
    }
    // Keep reading, as a terminal would.
    std::thread::spawn(move || lines.for_each(drop));
    (
        url.expect("GraphiQL URL printed"),
        token.expect("demo token printed"),
    )
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    for _ in 0..100 {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().ok();
    panic!("the server did not stop within 10 s of SIGTERM");
}

#[tokio::test]
async fn a_fresh_start_creates_the_demo_account_and_prints_a_working_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = liaison(dir.path())
        .env("LIAISON_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let (url, token) = first_run_output(&mut child);

    let client = reqwest::Client::new();
    let reply: serde_json::Value = client
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({ "query": "{ viewer { user { username } account { slug } } }" }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(
        reply["data"]["viewer"]["user"]["username"], "admin",
        "{reply}"
    );
    assert_eq!(reply["data"]["viewer"]["account"]["slug"], "demo");
    let graphiql = client
        .get(&url)
        .header("accept", "text/html")
        .send()
        .await
        .expect("GraphiQL");
    assert_eq!(graphiql.status(), 200);
    assert!(
        graphiql
            .text()
            .await
            .unwrap_or_default()
            .contains("graphiql")
    );

    assert!(
        terminate(&mut child).success(),
        "SIGTERM ends the server cleanly"
    );
    assert!(
        dir.path().join("liaison.db").exists(),
        "the default SQLite file is created"
    );
    assert!(
        dir.path().join("liaison.dev-secret").exists(),
        "the development secret is kept"
    );

    // A second start keeps the same account and signing secret: the old token still works.
    let mut again = liaison(dir.path())
        .env("LIAISON_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts again");
    let (url, _) = first_run_output(&mut again);
    let reply: serde_json::Value = client
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({ "query": "{ account { slug } }" }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(reply["data"]["account"]["slug"], "demo", "{reply}");
    assert!(terminate(&mut again).success());
}

#[test]
fn production_refuses_to_start_on_development_defaults() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = liaison(dir.path())
        .env("LIAISON_ENV", "production")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for setting in [
        "LIAISON_JWT_SECRET",
        "LIAISON_DATABASE_URL",
        "LIAISON_PUBLIC_URL",
    ] {
        assert!(stderr.contains(setting), "{setting} is named in: {stderr}");
    }
    assert!(
        !dir.path().join("liaison.db").exists(),
        "nothing was created"
    );

    let short_secret = liaison(dir.path())
        .env("LIAISON_ENV", "production")
        .env("LIAISON_JWT_SECRET", "too-short")
        .output()
        .expect("runs");
    assert_eq!(short_secret.status.code(), Some(2));
}

/// A checked-in SDL file is what `liaison schema <args>` prints and what the server serves.
fn assert_schema_file(file: &str, args: &[&str], served: String) {
    let checked_in = std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|_| panic!("{file}"));
    let printed = Command::new(BINARY)
        .args(args)
        .output()
        .expect("liaison schema");
    assert!(printed.status.success());
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout),
        checked_in,
        "{file} is stale: run `cargo run -- {} > {file}`",
        args.join(" ")
    );
    assert_eq!(served, checked_in);
}

#[test]
fn schema_graphql_is_what_the_server_serves() {
    assert_schema_file("schema.graphql", &["schema"], liaison::graphql::sdl());
}

#[test]
fn schema_invitee_graphql_is_what_the_invitee_route_serves() {
    assert_schema_file(
        "schema.invitee.graphql",
        &["schema", "--invitee"],
        liaison::graphql::invitee::sdl(),
    );
}

#[tokio::test]
async fn every_migration_runs_up_and_down() {
    let (_db, url) = TestDb::new().await;
    let db = Database::connect(&url).await.expect("connect");
    Migrator::up(&db, None).await.expect("up");
    let applied = Migrator::get_applied_migrations(&db).await.expect("status");
    assert_eq!(applied.len(), Migrator::migrations().len());
    db.execute_unprepared("SELECT count(*) FROM users")
        .await
        .expect("users exists");

    for remaining in (0..Migrator::migrations().len()).rev() {
        Migrator::down(&db, Some(1)).await.expect("one step down");
        assert_eq!(
            Migrator::get_applied_migrations(&db)
                .await
                .expect("status")
                .len(),
            remaining
        );
    }
    assert!(
        db.execute_unprepared("SELECT count(*) FROM users")
            .await
            .is_err(),
        "tables are gone"
    );

    Migrator::up(&db, None).await.expect("up again");
    assert!(
        Migrator::get_pending_migrations(&db)
            .await
            .expect("status")
            .is_empty()
    );
}

#[tokio::test]
async fn readiness_reports_pending_migrations() {
    let app = TestApp::spawn().await;
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);

    Migrator::down(app.db.pool(), Some(1))
        .await
        .expect("one step down");
    let not_ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(not_ready.status(), 503);
    assert_eq!(
        not_ready.text().await.unwrap_or_default(),
        "migrations pending"
    );
}

#[tokio::test]
async fn the_cli_token_names_its_user_and_nothing_else() {
    let app = TestApp::spawn().await;
    let acme = app.create_account("acme").await;
    let data = tempfile::tempdir().expect("temp dir");
    let args = [
        "token",
        "--account",
        &acme.slug,
        "--user",
        "acme-admin",
        "--ttl",
        "10m",
    ];
    let output = app.cli(data.path(), &args).output().expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "only the token is printed: {stdout}");

    let reply = app
        .graphql(
            Some(lines[0]),
            "{ viewer { user { username } } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(reply.data("viewer/user/username"), "acme-admin");
}
