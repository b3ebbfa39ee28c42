//! User sync from a SCIM 2.0 directory of N users (100,000 by default): the first import, then a
//! resync with no upstream change, through the API's engine and the background worker.
//!
//! The directory is a local server that answers `GET /Users?startIndex=&count=` with RFC 7644
//! ListResponse pages (a page size of the connection's `page_size`, the catalog's 100 by
//! default), generated on the fly so the benchmark process holds no list of its own. Prints the
//! time and peak resident memory of each run (Linux), so runs with different N show whether
//! memory stays flat.
//!
//! ```text
//! cargo bench --bench user_sync                      # 100,000 users, a temporary SQLite file
//! cargo bench --bench user_sync -- 20000             # another count
//! LIAISON_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/liaison_bench \
//!     cargo bench --bench user_sync                  # an empty PostgreSQL database
//! ```
//! `docs/benchmarks.md` holds the numbers and the machine they were taken on.

mod common;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::{Bench, peak_mib, reset_peak};
use liaison::domain::sync::RunStatus;
use liaison::service::user_sync::EnableUserSync;
use serde::Deserialize;
use serde_json::json;

const TOKEN: &str = "bench-scim-token";

#[derive(Deserialize)]
struct Paging {
    #[serde(rename = "startIndex")]
    start_index: Option<u64>,
    count: Option<u64>,
}

/// `GET /Users` of a directory of `total` users, as RFC 7644 §3.4.2 pages them (1-based).
async fn users(
    State(total): State<Arc<u64>>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Response {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"));
    if !authorized {
        return (StatusCode::UNAUTHORIZED, "").into_response();
    }
    let total = *total;
    let start = paging.start_index.unwrap_or(1).max(1);
    let count = paging.count.unwrap_or(100).min(1000);
    let resources: Vec<_> = (start..=total)
        .take(count as usize)
        .map(|n| {
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": format!("u{n:07}"),
                "userName": format!("sync.user.{n}"),
                "name": { "givenName": "Sync", "familyName": format!("User {n}") },
                "displayName": format!("Sync User {n}"),
                "emails": [{ "value": format!("sync.user.{n}@bench.example.com"), "primary": true }],
                "active": true,
                "meta": { "resourceType": "User" },
            })
        })
        .collect();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    (
        [("content-type", "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

async fn directory(total: u64) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let router = Router::new()
        .route("/scim/v2/Users", get(users))
        .with_state(Arc::new(total));
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}/scim/v2")
}

#[tokio::main]
async fn main() {
    let count: u64 = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(100_000);
    if std::env::var_os("RUST_LOG").is_some() {
        liaison::telemetry::init(liaison::config::LogFormat::Text);
    }
    let bench = Bench::start(|_| {}).await;
    let services = &bench.app.core.services;
    let admin = bench.account(10).await;
    let base_url = directory(count).await;
    let settings = json!({ "base_url": base_url, "bearer_token": TOKEN });
    services
        .connect_integration(&admin, "scim", settings.as_object().expect("map"))
        .await
        .expect("connected");
    println!(
        "user sync from SCIM, {count} upstream users, {}, pages of 100",
        bench.backend()
    );

    reset_peak();
    let started = Instant::now();
    let source = services
        .enable_user_sync(
            &admin,
            EnableUserSync {
                integration_key: "scim".into(),
                primary_identifier: None,
                every_seconds: None,
                deactivate_after_missed_runs: None,
            },
        )
        .await
        .expect("enabled");
    bench.app.worker.run_pending_jobs().await.expect("worker");
    let imported = started.elapsed();
    let import_peak = peak_mib();
    let first = services
        .user_sync_runs(&admin, source.id, 0, 1)
        .await
        .expect("runs")
        .remove(0);
    assert_eq!(first.status, RunStatus::Succeeded, "{first:?}");
    assert_eq!(first.created as u64, count);

    reset_peak();
    let started = Instant::now();
    let again = services
        .queue_user_sync_run(&admin, source.id, false)
        .await
        .expect("queued");
    bench.app.worker.run_pending_jobs().await.expect("worker");
    let resynced = started.elapsed();
    let resync_peak = peak_mib();
    let again = services.user_sync_run(&admin, again.id).await.expect("run");
    assert_eq!(again.status, RunStatus::Succeeded, "{again:?}");
    assert_eq!(again.unchanged as u64, count);

    println!(
        "first import: {:.2} s ({:.0} users/s)",
        imported.as_secs_f64(),
        count as f64 / imported.as_secs_f64()
    );
    println!(
        "resync, no change: {:.2} s ({:.0} users/s)",
        resynced.as_secs_f64(),
        count as f64 / resynced.as_secs_f64()
    );
    if let (Some(import), Some(resync)) = (import_peak, resync_peak) {
        println!("peak resident memory: {import:.0} MiB importing, {resync:.0} MiB resyncing");
    }
}
