//! `liaison dev seed`: the load benchmark's dataset, checked through the API its manifest's
//! tokens sign in to.

use serde_json::{Value, json};

use secrecy::SecretString;

use crate::connection_requests::{OPEN, invitee_reply};
use crate::helpers::TestApp;

/// The key ring the server and the seed share: invitation links are stored as keyed hashes.
const RING: &str = "k1:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

async fn spawn() -> TestApp {
    TestApp::spawn_with(
        |config| config.secret_keys = Some(SecretString::from(RING)),
        None,
    )
    .await
}

const SEED: [&str; 10] = [
    "dev",
    "seed",
    "--accounts",
    "2",
    "--users-per-account",
    "60",
    "--integrations-per-account",
    "3",
    "--invitations-per-account",
    "2",
];

/// Runs the seed into `app`'s database; its exit status, stderr and manifest (if written).
fn seed(app: &TestApp, dir: &std::path::Path) -> (i32, String, Option<Value>) {
    let manifest = dir.join("manifest.json");
    let _ = std::fs::remove_file(&manifest);
    let mut args = SEED.to_vec();
    let path = manifest.to_str().expect("utf-8 path").to_owned();
    args.extend(["--manifest", &path]);
    let output = app
        .cli(dir, &args)
        .env("LIAISON_SECRET_KEYS", RING)
        .output()
        .expect("liaison runs");
    let written = std::fs::read(&manifest)
        .ok()
        .map(|bytes| serde_json::from_slice(&bytes).expect("manifest JSON"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        written,
    )
}

const OVERVIEW: &str = "{ viewer { account { slug } } users(first: 1) { totalCount } integrations(connected: true) { nodes { key contacts { id } } } }";

#[tokio::test]
async fn the_seed_creates_the_planned_accounts_and_a_manifest_whose_tokens_and_links_work() {
    let app = spawn().await;
    let dir = tempfile::tempdir().expect("temp dir");

    let (status, stderr, manifest) = seed(&app, dir.path());

    assert_eq!(status, 0, "{stderr}");
    let manifest = manifest.expect("manifest written");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("manifest.json"))
            .expect("manifest")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the manifest holds credentials: {mode:o}");
    }
    let accounts = manifest["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 2);
    for (account, slug) in accounts.iter().zip(["load-01", "load-02"]) {
        assert_eq!(account["slug"], slug);
        assert_eq!(account["tokens"].as_array().map(Vec::len), Some(5));
        assert_eq!(account["users"].as_array().map(Vec::len), Some(60));
        assert_eq!(account["invitations"].as_array().map(Vec::len), Some(2));
        let token = account["tokens"][4].as_str().expect("token");
        let reply = app.graphql(Some(token), OVERVIEW, json!({})).await.ok();
        assert_eq!(
            reply.data("viewer/account/slug"),
            slug,
            "each token signs in to its own account"
        );
        assert_eq!(reply.data("users/totalCount"), 60);
        let connected = reply.data("integrations/nodes").as_array().expect("nodes");
        let keys: Vec<&Value> = connected.iter().map(|n| &n["key"]).collect();
        let listed: Vec<&Value> = account["integrations"]
            .as_array()
            .expect("keys")
            .iter()
            .collect();
        assert_eq!(keys.len(), 3);
        for key in &keys {
            assert!(listed.contains(key), "{key} is in the manifest");
        }
        for node in connected {
            let contacts = node["contacts"].as_array().map_or(0, Vec::len);
            assert!((2..=4).contains(&contacts), "{node}");
        }
        let spare = account["spareContacts"].as_array().expect("spare contacts");
        assert!(!spare.is_empty());
        for node in connected {
            for contact in node["contacts"].as_array().expect("contacts") {
                assert!(
                    !spare.contains(&contact["id"]),
                    "a spare user is no contact yet"
                );
            }
        }
        let opened = invitee_reply(
            &app,
            None,
            OPEN,
            json!({ "token": account["invitations"][0] }),
        )
        .await
        .ok();
        assert!(opened.data("openInvitation/sessionToken").is_string());
    }
}

#[tokio::test]
async fn the_seed_gives_the_same_ids_in_every_database() {
    let first = spawn().await;
    let second = spawn().await;
    let dir = tempfile::tempdir().expect("temp dir");

    let (_, _, one) = seed(&first, dir.path());
    let (_, _, other) = seed(&second, dir.path());

    let (one, other) = (
        one.expect("first manifest"),
        other.expect("second manifest"),
    );
    for field in ["slug", "users", "integrations", "spareContacts"] {
        for i in 0..2 {
            assert_eq!(
                one["accounts"][i][field], other["accounts"][i][field],
                "{field} of account {i}"
            );
        }
    }
    assert_ne!(
        one["accounts"][0]["invitations"], other["accounts"][0]["invitations"],
        "invitation links are secrets, drawn at random"
    );
}

#[tokio::test]
async fn seeding_a_database_that_holds_the_seed_is_refused_and_changes_nothing() {
    let app = spawn().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (status, stderr, manifest) = seed(&app, dir.path());
    assert_eq!(status, 0, "{stderr}");
    let token = manifest.expect("manifest")["accounts"][0]["tokens"][0]
        .as_str()
        .expect("token")
        .to_owned();

    let (again, stderr, written) = seed(&app, dir.path());

    assert_eq!(again, 2, "bad input: {stderr}");
    assert!(
        stderr.contains("already holds the seeded account `load-01`"),
        "{stderr}"
    );
    assert!(written.is_none(), "no manifest for a refused seed");
    let reply = app.graphql(Some(&token), OVERVIEW, json!({})).await.ok();
    assert_eq!(reply.data("users/totalCount"), 60);
}

#[tokio::test]
async fn a_seed_with_too_few_users_or_accounts_is_refused_and_writes_nothing() {
    let app = spawn().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = app.create_account("acme").await;
    let accounts_before = liaison::store::accounts::count(&app.db)
        .await
        .expect("count");

    for (args, expected) in [
        (
            ["--accounts", "2", "--users-per-account", "4"],
            "at least 5 users",
        ),
        (
            ["--accounts", "0", "--users-per-account", "60"],
            "1 to 99 accounts",
        ),
        (
            ["--accounts", "100", "--users-per-account", "60"],
            "1 to 99 accounts",
        ),
    ] {
        let mut command = vec!["dev", "seed"];
        command.extend(args);
        let output = app
            .cli(dir.path(), &command)
            .env("LIAISON_SECRET_KEYS", RING)
            .output()
            .expect("liaison runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }

    let users = app
        .graphql(
            Some(&admin.admin_token),
            "{ users(first: 1) { totalCount } }",
            json!({}),
        )
        .await
        .ok();
    assert_eq!(
        users.data("users/totalCount"),
        1,
        "only acme's admin exists"
    );
    let accounts_after = liaison::store::accounts::count(&app.db)
        .await
        .expect("count");
    assert_eq!(
        accounts_after, accounts_before,
        "no seeded account was written"
    );
}
