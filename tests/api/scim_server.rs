//! A real SCIM 2.0 service provider for the tests: `scim2-server` from PyPI, pinned, one per
//! test on a loopback port, killed when its [`ScimServer`] drops. Its virtualenv lives at
//! `target/test-tools/scim2-server` (CI installs it beforehand; otherwise the first test does,
//! under a lock directory, since tests run in parallel threads and processes), unless
//! `LIAISON_SCIM_SERVER` names the executable.
//!
//! What 0.8.3 serves, checked by hand: every route under `/v2`; `ServiceProviderConfig` without
//! authentication; 401 for a missing or wrong bearer token; `POST /Users` → 201; `PUT` → 200 and
//! `PATCH` → 204 on `/Users/{id}`; `DELETE` → 204; `POST /Bulk` with at most 1,000 operations and
//! 1 MiB; lists ordered by id, `count` capped at 1,000.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The scim2-server release the tests run.
pub const VERSION: &str = "0.8.3";
/// The operations one `POST /Bulk` may carry, as the server announces.
const BULK_MAX_OPERATIONS: usize = 1000;
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const SCIM_JSON: &str = "application/scim+json";

/// A user to create.
#[derive(Clone, Debug)]
pub struct NewScimUser {
    pub user_name: String,
    pub given: String,
    pub family: String,
    pub email: String,
    pub active: bool,
}

impl NewScimUser {
    fn resource(&self) -> Value {
        json!({
            "schemas": [USER_SCHEMA],
            "userName": self.user_name,
            "name": { "givenName": self.given, "familyName": self.family },
            "emails": [{ "value": self.email, "type": "work", "primary": true }],
            "active": self.active,
        })
    }
}

pub struct ScimServer {
    /// `http://127.0.0.1:PORT/v2`.
    pub base_url: String,
    pub token: String,
    http: reqwest::Client,
    _process: Child,
    _log: tempfile::NamedTempFile,
}

impl ScimServer {
    /// Starts a server that accepts `token`, and waits until it answers.
    pub async fn start(token: &str) -> Self {
        let executable = tokio::task::spawn_blocking(executable)
            .await
            .expect("scim2-server installed");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        // A port picked free may be taken by another test before the server binds it.
        for _ in 0..5 {
            let port = free_port();
            let log = tempfile::NamedTempFile::new().expect("log file");
            let mut process = Command::new(&executable)
                .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
                .args(["--bearer-token", token])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log.reopen().expect("log file"))
                .kill_on_drop(true)
                .spawn()
                .expect("scim2-server runs");
            if !serving(&mut process).await {
                let _ = process.kill().await;
                continue;
            }
            let base_url = format!("http://127.0.0.1:{port}/v2");
            wait_until_answering(&http, &base_url, &log).await;
            return Self {
                base_url,
                token: token.to_owned(),
                http,
                _process: process,
                _log: log,
            };
        }
        panic!("scim2-server did not start on any of 5 ports");
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, SCIM_JSON)
    }

    async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        expected: u16,
    ) -> Value {
        let response = self
            .request(method.clone(), path)
            .header(reqwest::header::CONTENT_TYPE, SCIM_JSON)
            .body(body.to_string())
            .send()
            .await
            .expect("scim2-server answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, expected, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Creates a user and returns its id.
    pub async fn add_user(
        &self,
        user_name: &str,
        given: &str,
        family: &str,
        email: &str,
        active: bool,
    ) -> String {
        self.add_resource(
            NewScimUser {
                user_name: user_name.into(),
                given: given.into(),
                family: family.into(),
                email: email.into(),
                active,
            }
            .resource(),
        )
        .await
    }

    /// Creates a user from a whole SCIM resource (e.g. several emails) and returns its id.
    pub async fn add_resource(&self, resource: Value) -> String {
        let created = self
            .send_json(reqwest::Method::POST, "/Users", &resource, 201)
            .await;
        created["id"].as_str().expect("created id").to_owned()
    }

    /// Creates many users through `POST /Bulk`, and returns their ids in order.
    pub async fn add_users(&self, users: &[NewScimUser]) -> Vec<String> {
        let mut ids = Vec::with_capacity(users.len());
        for chunk in users.chunks(BULK_MAX_OPERATIONS) {
            let operations: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(n, user)| {
                    json!({
                        "method": "POST",
                        "path": "/Users",
                        "bulkId": format!("user{n}"),
                        "data": user.resource(),
                    })
                })
                .collect();
            let request = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": operations,
            });
            let answer = self
                .send_json(reqwest::Method::POST, "/Bulk", &request, 200)
                .await;
            let results = answer["Operations"].as_array().expect("bulk results");
            assert_eq!(results.len(), chunk.len(), "{answer}");
            for result in results {
                assert_eq!(result["status"], "201", "{result}");
                let location = result["location"].as_str().expect("location");
                ids.push(location.rsplit('/').next().expect("id").to_owned());
            }
        }
        ids
    }

    /// Replaces a user whole (`PUT`), e.g. to rename them.
    pub async fn replace_user(
        &self,
        id: &str,
        user_name: &str,
        given: &str,
        family: &str,
        email: &str,
    ) {
        let user = NewScimUser {
            user_name: user_name.into(),
            given: given.into(),
            family: family.into(),
            email: email.into(),
            active: true,
        };
        self.send_json(
            reqwest::Method::PUT,
            &format!("/Users/{id}"),
            &user.resource(),
            200,
        )
        .await;
    }

    /// Replaces some attributes of a user (`PATCH`, RFC 7644 §3.5.2), e.g.
    /// `&[("displayName", json!("Ada K")), ("active", json!(false))]`.
    pub async fn patch_user(&self, id: &str, replacements: &[(&str, Value)]) {
        let operations: Vec<Value> = replacements
            .iter()
            .map(|(path, value)| json!({ "op": "replace", "path": path, "value": value }))
            .collect();
        self.send_json(
            reqwest::Method::PATCH,
            &format!("/Users/{id}"),
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": operations,
            }),
            204,
        )
        .await;
    }

    pub async fn delete_user(&self, id: &str) {
        let response = self
            .request(reqwest::Method::DELETE, &format!("/Users/{id}"))
            .send()
            .await
            .expect("scim2-server answers");
        assert_eq!(response.status().as_u16(), 204, "DELETE /Users/{id}");
    }
}

/// Reads the server's stdout until it says it listens (so the port is its own), then drains it.
async fn serving(process: &mut Child) -> bool {
    let Some(stdout) = process.stdout.take() else {
        return false;
    };
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("Serving SCIM on") {
                return true;
            }
        }
        false
    })
    .await;
    if !matches!(first, Ok(true)) {
        return false;
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    true
}

/// Polls `GET /ServiceProviderConfig`, which needs no token, until it answers 200.
async fn wait_until_answering(
    http: &reqwest::Client,
    base_url: &str,
    log: &tempfile::NamedTempFile,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = http
            .get(format!("{base_url}/ServiceProviderConfig"))
            .send()
            .await;
        if answer.is_ok_and(|answer| answer.status().is_success()) {
            return;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(log.path()).unwrap_or_default();
            panic!("scim2-server at {base_url} does not answer:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The server's executable, installed first when missing.
fn executable() -> PathBuf {
    if let Some(path) = std::env::var_os("LIAISON_SCIM_SERVER").filter(|path| !path.is_empty()) {
        return PathBuf::from(path);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/scim2-server");
    let executable = venv.join("bin/scim2-server");
    if !executable.exists() {
        install(&venv, &executable);
    }
    executable
}

/// Creates the virtualenv under a lock directory (`mkdir` is atomic across processes); whoever
/// waits for the lock finds the executable once it is gone.
fn install(venv: &Path, executable: &Path) {
    let lock = venv.with_extension("lock");
    std::fs::create_dir_all(venv.parent().expect("tools directory")).expect("tools directory");
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        match std::fs::create_dir(&lock) {
            Ok(()) => break,
            Err(error) if error.kind() == ErrorKind::AlreadyExists => {
                if is_stale(&lock) {
                    let _ = std::fs::remove_dir(&lock);
                    continue;
                }
                assert!(
                    Instant::now() < deadline,
                    "{} is still locked; remove it if no install runs",
                    lock.display()
                );
                std::thread::sleep(Duration::from_millis(500));
                if !lock.exists() && executable.exists() {
                    return;
                }
            }
            Err(error) => panic!("cannot lock {}: {error}", lock.display()),
        }
    }
    let _unlock = Unlock(lock);
    if executable.exists() {
        return;
    }
    run(std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv));
    run(std::process::Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        &format!("scim2-server=={VERSION}"),
    ]));
    assert!(
        executable.exists(),
        "pip installed no {}",
        executable.display()
    );
}

/// A lock left by an install that died: older than any install takes.
fn is_stale(lock: &Path) -> bool {
    std::fs::metadata(lock)
        .and_then(|metadata| metadata.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age > Duration::from_secs(600))
}

fn run(command: &mut std::process::Command) {
    let output = command.output().expect("command runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

struct Unlock(PathBuf);

impl Drop for Unlock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}
