//! The providers a user sync reads: Intercom's admins (against the Intercom double), a real SCIM
//! 2.0 server (scim2-server), and a tiny SCIM double that breaks the paging rules on purpose.
//! Nothing here needs a database.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use liaison::connectors::intercom::IntercomDirectory;
use liaison::connectors::scim::ScimDirectory;
use liaison::connectors::upstream::{
    Directories, DirectorySettings, FetchError, RetryPolicy, UpstreamDirectory, UpstreamPages,
    UpstreamUser,
};
use serde_json::{Map, Value, json};

use crate::fake_intercom::{AdminsFailure, FakeIntercom};
use crate::scim_server::{NewScimUser, ScimServer};

const INTERCOM_TOKEN: &str = "dG9rOnN5bmNfdG9rZW4=";
const SCIM_TOKEN: &str = "scim-test-token";

/// Quick retries, so that a test about giving up does not wait for the real backoff.
fn quick_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        base_delay: Duration::from_millis(10),
        max_wait: Duration::from_secs(5),
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A connection's settings, owned by the test.
struct Settings {
    plain: Map<String, Value>,
    secrets: BTreeMap<String, String>,
}

impl Settings {
    fn new(plain: Value, secrets: &[(&str, &str)]) -> Self {
        Self {
            plain: plain.as_object().cloned().unwrap_or_default(),
            secrets: secrets
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }

    fn intercom(token: &str) -> Self {
        Self::new(json!({ "region": "eu" }), &[("access_token", token)])
    }

    fn scim(base_url: &str, token: &str) -> Self {
        Self::new(json!({ "base_url": base_url }), &[("bearer_token", token)])
    }

    fn view(&self) -> DirectorySettings<'_> {
        DirectorySettings {
            plain: &self.plain,
            secrets: &self.secrets,
        }
    }
}

/// Every page of a listing, in order.
async fn pages_of(
    directory: &dyn UpstreamDirectory,
    settings: &Settings,
) -> Result<Vec<Vec<UpstreamUser>>, FetchError> {
    let mut pages: Box<dyn UpstreamPages> = directory.list_users(&settings.view())?;
    let mut all = Vec::new();
    while let Some(page) = pages.next_page().await? {
        all.push(page);
    }
    Ok(all)
}

async fn users_of(
    directory: &dyn UpstreamDirectory,
    settings: &Settings,
) -> Result<Vec<UpstreamUser>, FetchError> {
    Ok(pages_of(directory, settings).await?.concat())
}

async fn intercom() -> FakeIntercom {
    FakeIntercom::start(&[INTERCOM_TOKEN]).await
}

fn intercom_directory(fake: &FakeIntercom, retry: RetryPolicy) -> IntercomDirectory {
    IntercomDirectory::new(http(), Some(fake.url.clone()), retry)
}

fn admin(id: &str, name: &str, email: &str) -> UpstreamUser {
    UpstreamUser {
        external_id: id.into(),
        username: None,
        email: Some(email.into()),
        display_name: Some(name.into()),
        first_name: None,
        last_name: None,
    }
}

// --- Intercom ---

#[tokio::test]
async fn intercom_lists_the_admins_in_one_page_and_drops_teams_mixed_in() {
    let fake = intercom().await;
    fake.set_admins(&[
        ("814860", "Mark Zuckerberg", "mark@example.com"),
        ("814861", "Ada Lovelace", "ada@example.com"),
    ]);
    fake.add_team("814865", "Support", &["814860", "814861"]);
    let directory = intercom_directory(&fake, quick_retry(1));

    let pages = pages_of(&directory, &Settings::intercom(INTERCOM_TOKEN))
        .await
        .expect("listing");

    assert_eq!(
        pages,
        vec![vec![
            admin("814860", "Mark Zuckerberg", "mark@example.com"),
            admin("814861", "Ada Lovelace", "ada@example.com"),
        ]]
    );
    assert!(!directory.has_usernames());
    assert_eq!(directory.integration_key(), "intercom");
}

#[tokio::test]
async fn intercom_is_asked_with_the_bearer_token_and_api_version_2_14() {
    let fake = intercom().await;
    let directory = intercom_directory(&fake, quick_retry(1));

    users_of(&directory, &Settings::intercom(INTERCOM_TOKEN))
        .await
        .expect("listing");

    let requests = fake.admins_requests();
    assert_eq!(requests.len(), 1);
    let header = |name: &str| requests[0].get(name).and_then(|v| v.to_str().ok());
    assert_eq!(
        header("authorization"),
        Some(format!("Bearer {INTERCOM_TOKEN}").as_str())
    );
    assert_eq!(header("intercom-version"), Some("2.14"));
    assert_eq!(header("accept"), Some("application/json"));
}

#[tokio::test]
async fn intercom_refusing_the_token_is_unauthorized_without_retrying() {
    let fake = intercom().await;
    let directory = intercom_directory(&fake, quick_retry(4));

    let error = users_of(&directory, &Settings::intercom("revoked-token"))
        .await
        .expect_err("refused");

    assert!(matches!(error, FetchError::Unauthorized(_)), "{error:?}");
    assert!(!error.to_string().contains("revoked-token"), "{error}");
    assert_eq!(fake.admins_request_count(), 1);
}

#[tokio::test]
async fn intercom_without_an_access_token_is_misconfigured() {
    let fake = intercom().await;
    let directory = intercom_directory(&fake, quick_retry(1));

    let error = users_of(&directory, &Settings::new(json!({}), &[]))
        .await
        .expect_err("no token");

    assert!(matches!(error, FetchError::Misconfigured(_)), "{error:?}");
    assert_eq!(fake.admins_request_count(), 0);
}

#[tokio::test]
async fn intercom_rate_limit_is_waited_out_until_the_announced_reset() {
    let fake = intercom().await;
    // Every request is refused until the reset second: retrying on the 10 ms backoff would use
    // up the attempts long before it.
    fake.rate_limit_admins_for(Duration::from_secs(1));
    let directory = intercom_directory(&fake, quick_retry(4));
    let started = Instant::now();

    let users = users_of(&directory, &Settings::intercom(INTERCOM_TOKEN))
        .await
        .expect("listing after the reset");

    assert_eq!(users.len(), 1);
    assert_eq!(fake.admins_request_count(), 2);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn intercom_rate_limit_longer_than_the_policy_waits_is_unavailable_at_once() {
    let fake = intercom().await;
    fake.fail_admins(
        AdminsFailure::RateLimited {
            reset_in_seconds: 120,
        },
        1,
    );
    let directory = intercom_directory(&fake, quick_retry(4));
    let started = Instant::now();

    let error = users_of(&directory, &Settings::intercom(INTERCOM_TOKEN))
        .await
        .expect_err("too long a wait");

    assert!(matches!(error, FetchError::Unavailable(_)), "{error:?}");
    assert_eq!(fake.admins_request_count(), 1);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn intercom_server_error_once_is_retried() {
    let fake = intercom().await;
    fake.fail_admins(AdminsFailure::ServerError, 1);
    let directory = intercom_directory(&fake, quick_retry(4));

    let users = users_of(&directory, &Settings::intercom(INTERCOM_TOKEN))
        .await
        .expect("listing after a retry");

    assert_eq!(users.len(), 1);
    assert_eq!(fake.admins_request_count(), 2);
}

#[tokio::test]
async fn intercom_failing_on_every_attempt_is_unavailable() {
    let fake = intercom().await;
    fake.fail_admins(AdminsFailure::ServerError, 100);
    let directory = intercom_directory(&fake, quick_retry(3));

    let error = users_of(&directory, &Settings::intercom(INTERCOM_TOKEN))
        .await
        .expect_err("always failing");

    assert!(matches!(error, FetchError::Unavailable(_)), "{error:?}");
    assert_eq!(fake.admins_request_count(), 3);
}

#[tokio::test]
async fn intercom_renamed_and_removed_admins_show_on_the_next_listing() {
    let fake = intercom().await;
    fake.set_admins(&[
        ("1", "Grace Hopper", "grace@example.com"),
        ("2", "Alan Turing", "alan@example.com"),
    ]);
    let directory = intercom_directory(&fake, quick_retry(1));
    let settings = Settings::intercom(INTERCOM_TOKEN);
    let before = users_of(&directory, &settings)
        .await
        .expect("first listing");

    fake.rename_admin("1", "Grace B. Hopper");
    fake.remove_admin("2");
    fake.add_admin("3", "Katherine Johnson", "katherine@example.com");
    let after = users_of(&directory, &settings)
        .await
        .expect("second listing");

    assert_eq!(before[0].display_name.as_deref(), Some("Grace Hopper"));
    assert_eq!(
        after,
        vec![
            admin("1", "Grace B. Hopper", "grace@example.com"),
            admin("3", "Katherine Johnson", "katherine@example.com"),
        ]
    );
}

#[tokio::test]
async fn intercom_answering_something_else_than_an_admin_list_is_invalid() {
    let url = serve(Router::new().route(
        "/admins",
        get(|| async { axum::Json(json!({ "type": "team.list", "teams": [] })) }),
    ))
    .await;
    let directory = IntercomDirectory::new(http(), Some(url), quick_retry(1));

    let error = users_of(&directory, &Settings::intercom(INTERCOM_TOKEN))
        .await
        .expect_err("not an admin list");

    assert!(matches!(error, FetchError::Invalid(_)), "{error:?}");
}

#[tokio::test]
async fn intercom_admin_ids_given_as_numbers_are_read_as_text() {
    let url = serve(Router::new().route(
        "/admins",
        get(|| async {
            axum::Json(json!({ "type": "admin.list", "admins": [
                { "type": "admin", "id": 814860, "name": "Mark", "email": "mark@example.com" }
            ] }))
        }),
    ))
    .await;
    let directory = IntercomDirectory::new(http(), Some(url), quick_retry(1));

    let users = users_of(&directory, &Settings::intercom(INTERCOM_TOKEN))
        .await
        .expect("listing");

    assert_eq!(users, vec![admin("814860", "Mark", "mark@example.com")]);
}

#[tokio::test]
async fn the_registry_knows_intercom_and_scim() {
    let directories = Directories::new(http(), None, RetryPolicy::default(), true);

    assert_eq!(directories.keys(), vec!["intercom", "scim"]);
    let has_usernames = |key: &str| directories.get(key).map(|d| d.has_usernames());
    assert_eq!(has_usernames("intercom"), Some(false));
    assert_eq!(has_usernames("scim"), Some(true));
    assert!(directories.get("salesforce").is_none());
}

// --- SCIM, against scim2-server ---

fn new_user(n: usize, active: bool) -> NewScimUser {
    NewScimUser {
        user_name: format!("user{n:04}"),
        given: format!("Given{n}"),
        family: format!("Family{n}"),
        email: format!("user{n}@example.com"),
        active,
    }
}

fn by_id(users: &[UpstreamUser]) -> HashMap<&str, &UpstreamUser> {
    users.iter().map(|u| (u.external_id.as_str(), u)).collect()
}

#[tokio::test]
async fn scim_pages_through_more_users_than_a_page_and_leaves_out_inactive_ones() {
    let server = ScimServer::start(SCIM_TOKEN).await;
    // Every fourth user is inactive: paging must count them though it leaves them out.
    let users: Vec<NewScimUser> = (0..23).map(|n| new_user(n, n % 4 != 3)).collect();
    let ids = server.add_users(&users).await;
    let directory = ScimDirectory::with_page_size(http(), quick_retry(1), 5);

    let pages = pages_of(&directory, &Settings::scim(&server.base_url, SCIM_TOKEN))
        .await
        .expect("listing");

    assert_eq!(pages.len(), 5, "23 users in pages of 5");
    let listed = pages.concat();
    let expected: HashSet<&str> = ids
        .iter()
        .zip(&users)
        .filter(|(_, user)| user.active)
        .map(|(id, _)| id.as_str())
        .collect();
    let seen: HashSet<&str> = listed.iter().map(|u| u.external_id.as_str()).collect();
    assert_eq!(listed.len(), expected.len(), "each user once");
    assert_eq!(seen, expected);
    let first = by_id(&listed)[ids[0].as_str()];
    assert_eq!(
        first,
        &UpstreamUser {
            external_id: ids[0].clone(),
            username: Some("user0000".into()),
            email: Some("user0@example.com".into()),
            display_name: None,
            first_name: Some("Given0".into()),
            last_name: Some("Family0".into()),
        }
    );
}

#[tokio::test]
async fn scim_reads_over_a_thousand_users_with_the_default_page_size() {
    let server = ScimServer::start(SCIM_TOKEN).await;
    let users: Vec<NewScimUser> = (0..1250).map(|n| new_user(n, true)).collect();
    let ids = server.add_users(&users).await;
    let directory = ScimDirectory::new(http(), quick_retry(1));

    let pages = pages_of(&directory, &Settings::scim(&server.base_url, SCIM_TOKEN))
        .await
        .expect("listing");

    assert_eq!(pages.len(), 13);
    assert!(pages.iter().all(|page| page.len() <= 100));
    let seen: HashSet<String> = pages.concat().into_iter().map(|u| u.external_id).collect();
    assert_eq!(seen, ids.into_iter().collect::<HashSet<_>>());
}

#[tokio::test]
async fn scim_takes_the_primary_email_and_the_display_name_or_formatted_name() {
    let server = ScimServer::start(SCIM_TOKEN).await;
    let primary_second = server
        .add_resource(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada",
            "name": { "formatted": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace" },
            "emails": [
                { "value": "ada@home.example.com", "type": "home" },
                { "value": "ada@work.example.com", "type": "work", "primary": true }
            ]
        }))
        .await;
    let no_primary = server
        .add_resource(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "grace",
            "displayName": "Amazing Grace",
            "name": { "formatted": "Grace Hopper" },
            "emails": [
                { "value": "grace@one.example.com", "type": "work" },
                { "value": "grace@two.example.com", "type": "home" }
            ]
        }))
        .await;
    let directory = ScimDirectory::new(http(), quick_retry(1));

    let users = users_of(&directory, &Settings::scim(&server.base_url, SCIM_TOKEN))
        .await
        .expect("listing");

    let users = by_id(&users);
    let ada = users[primary_second.as_str()];
    assert_eq!(ada.email.as_deref(), Some("ada@work.example.com"));
    assert_eq!(ada.display_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(ada.username.as_deref(), Some("ada"));
    let grace = users[no_primary.as_str()];
    assert_eq!(grace.email.as_deref(), Some("grace@one.example.com"));
    assert_eq!(grace.display_name.as_deref(), Some("Amazing Grace"));
    assert_eq!(
        (grace.first_name.as_deref(), grace.last_name.as_deref()),
        (None, None)
    );
}

#[tokio::test]
async fn scim_with_a_wrong_token_is_unauthorized() {
    let server = ScimServer::start(SCIM_TOKEN).await;
    let directory = ScimDirectory::new(http(), quick_retry(3));

    let error = users_of(&directory, &Settings::scim(&server.base_url, "wrong-token"))
        .await
        .expect_err("refused");

    assert!(matches!(error, FetchError::Unauthorized(_)), "{error:?}");
    assert!(!error.to_string().contains("wrong-token"), "{error}");
}

#[tokio::test]
async fn scim_changes_upstream_show_on_the_next_listing() {
    let server = ScimServer::start(SCIM_TOKEN).await;
    let renamed = server
        .add_user("ada", "Ada", "Byron", "ada@example.com", true)
        .await;
    let deactivated = server
        .add_user("alan", "Alan", "Turing", "alan@example.com", true)
        .await;
    let deleted = server
        .add_user("grace", "Grace", "Hopper", "grace@example.com", true)
        .await;
    let directory = ScimDirectory::with_page_size(http(), quick_retry(1), 2);
    let settings = Settings::scim(&server.base_url, SCIM_TOKEN);
    assert_eq!(
        users_of(&directory, &settings).await.expect("before").len(),
        3
    );

    server
        .replace_user(
            &renamed,
            "ada.lovelace",
            "Ada",
            "Lovelace",
            "ada@example.org",
        )
        .await;
    server
        .patch_user(&deactivated, &[("active", json!(false))])
        .await;
    server.delete_user(&deleted).await;
    let after = users_of(&directory, &settings).await.expect("after");

    assert_eq!(
        after,
        vec![UpstreamUser {
            external_id: renamed,
            username: Some("ada.lovelace".into()),
            email: Some("ada@example.org".into()),
            display_name: None,
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
        }]
    );
}

#[tokio::test]
async fn scim_without_a_base_url_is_misconfigured() {
    let directory = ScimDirectory::new(http(), quick_retry(1));

    let missing = Settings::new(json!({}), &[("bearer_token", SCIM_TOKEN)]);
    let not_http = Settings::scim("ftp://directory.example.com/scim/v2", SCIM_TOKEN);

    for settings in [missing, not_http] {
        let error = directory.list_users(&settings.view()).err();
        assert!(
            matches!(error, Some(FetchError::Misconfigured(_))),
            "{error:?}"
        );
    }
}

// --- SCIM, against a double that breaks the paging rules ---

/// Serves `router` on a loopback port and returns its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}

type Answer = Arc<dyn Fn(u64) -> Response + Send + Sync>;

/// A SCIM double whose `GET /scim/v2/Users` answers `answer(startIndex)`.
async fn scim_double(answer: impl Fn(u64) -> Response + Send + Sync + 'static) -> String {
    let answer: Answer = Arc::new(answer);
    let router = Router::new()
        .route(
            "/scim/v2/Users",
            get(
                |State(answer): State<Answer>, Query(query): Query<HashMap<String, String>>| async move {
                    let start = query
                        .get("startIndex")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1);
                    answer(start)
                },
            ),
        )
        .with_state(answer);
    format!("{}/scim/v2", serve(router).await)
}

/// A ListResponse holding users `first..first + count` (ids `u<N>`).
fn list(total: u64, start: u64, first: u64, count: u64) -> Response {
    let resources: Vec<Value> = (first..first + count)
        .map(|n| json!({ "id": format!("u{n}"), "userName": format!("user{n}") }))
        .collect();
    axum::Json(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    }))
    .into_response()
}

/// Reads pages until the first error; the users read before it and the error.
async fn read_until_error(
    directory: &ScimDirectory,
    settings: &Settings,
) -> (Vec<UpstreamUser>, Option<FetchError>) {
    let mut pages = directory.list_users(&settings.view()).expect("settings");
    let mut users = Vec::new();
    loop {
        match pages.next_page().await {
            Ok(Some(page)) => users.extend(page),
            Ok(None) => return (users, None),
            Err(error) => return (users, Some(error)),
        }
    }
}

#[tokio::test]
async fn scim_page_missing_before_the_total_is_reached_is_invalid() {
    // Five users announced; from index 3 on the directory has nothing.
    let url = scim_double(|start| {
        if start == 1 {
            list(5, 1, 1, 2)
        } else {
            list(5, start, start, 0)
        }
    })
    .await;
    let directory = ScimDirectory::with_page_size(http(), quick_retry(1), 2);

    let (users, error) = read_until_error(&directory, &Settings::scim(&url, SCIM_TOKEN)).await;

    assert_eq!(users.len(), 2);
    assert!(matches!(error, Some(FetchError::Invalid(_))), "{error:?}");
}

#[tokio::test]
async fn scim_total_shrinking_during_the_listing_is_invalid() {
    // A user deleted between pages shifts the rest one index down: one would be skipped.
    let url = scim_double(|start| {
        if start == 1 {
            list(4, 1, 1, 2)
        } else {
            list(3, start, start + 1, 1)
        }
    })
    .await;
    let directory = ScimDirectory::with_page_size(http(), quick_retry(1), 2);

    let (_, error) = read_until_error(&directory, &Settings::scim(&url, SCIM_TOKEN)).await;

    assert!(matches!(error, Some(FetchError::Invalid(_))), "{error:?}");
}

#[tokio::test]
async fn scim_total_growing_during_the_listing_reads_on_to_the_new_total() {
    // A user added after the first page: the listing reads on to the fourth.
    let url = scim_double(|start| match start {
        1 => list(3, 1, 1, 2),
        _ => list(4, start, start, 2),
    })
    .await;
    let directory = ScimDirectory::with_page_size(http(), quick_retry(1), 2);

    let (users, error) = read_until_error(&directory, &Settings::scim(&url, SCIM_TOKEN)).await;

    assert_eq!(error, None);
    let ids: Vec<&str> = users.iter().map(|u| u.external_id.as_str()).collect();
    assert_eq!(ids, vec!["u1", "u2", "u3", "u4"]);
}

#[tokio::test]
async fn scim_answering_another_page_than_asked_is_invalid() {
    // A directory that ignores startIndex would list its first page forever.
    let url = scim_double(|_| list(4, 1, 1, 2)).await;
    let directory = ScimDirectory::with_page_size(http(), quick_retry(1), 2);

    let (users, error) = read_until_error(&directory, &Settings::scim(&url, SCIM_TOKEN)).await;

    assert_eq!(users.len(), 2);
    assert!(matches!(error, Some(FetchError::Invalid(_))), "{error:?}");
}

#[tokio::test]
async fn scim_user_without_an_id_is_invalid() {
    let url = scim_double(|_| {
        axum::Json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 1,
            "startIndex": 1,
            "itemsPerPage": 1,
            "Resources": [{ "userName": "nobody" }],
        }))
        .into_response()
    })
    .await;
    let directory = ScimDirectory::new(http(), quick_retry(1));

    let (_, error) = read_until_error(&directory, &Settings::scim(&url, SCIM_TOKEN)).await;

    assert!(matches!(error, Some(FetchError::Invalid(_))), "{error:?}");
}

#[tokio::test]
async fn scim_empty_directory_without_resources_is_an_empty_listing() {
    let url = scim_double(|_| {
        axum::Json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0,
        }))
        .into_response()
    })
    .await;
    let directory = ScimDirectory::new(http(), quick_retry(1));

    let users = users_of(&directory, &Settings::scim(&url, SCIM_TOKEN))
        .await
        .expect("listing");

    assert_eq!(users, Vec::new());
}

#[tokio::test]
async fn scim_retry_after_is_waited_out() {
    // Refuses with `Retry-After: 1` until a second after the first request.
    let first = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let requests = Arc::new(AtomicUsize::new(0));
    let (seen, count) = (first.clone(), requests.clone());
    let url = scim_double(move |start| {
        count.fetch_add(1, Ordering::SeqCst);
        let since = *seen.lock().expect("lock").get_or_insert_with(Instant::now);
        if since.elapsed() < Duration::from_secs(1) {
            return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response();
        }
        list(1, start, 1, 1)
    })
    .await;
    let directory = ScimDirectory::new(http(), quick_retry(3));
    let started = Instant::now();

    let users = users_of(&directory, &Settings::scim(&url, SCIM_TOKEN))
        .await
        .expect("listing after the wait");

    assert_eq!(users.len(), 1);
    assert_eq!(requests.load(Ordering::SeqCst), 2);
    assert!(started.elapsed() >= Duration::from_secs(1));
}
