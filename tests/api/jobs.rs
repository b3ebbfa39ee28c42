//! The job system: enqueueing with the change, leases, crash takeover, retries, schedules that
//! fire once across workers and processes, suspension, graceful shutdown.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use liaison::clock::{Clock, ManualClock};
use liaison::jobs::worker::{Outcome, Worker};
use liaison::jobs::{Handlers, JobContext, JobFailure, JobHandler};
use liaison::store::entities::job::JobStatus;
use liaison::store::entities::schedule::ScheduleAnchor;
use liaison::store::jobs::NewJob;
use liaison::store::schedules::{Every, NewSchedule};
use liaison::store::{self, begin_write};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;

use crate::helpers::{TestApp, TestDb};

const COUNTING: &str = "test.counting";

/// Counts its runs; fails with a retryable error while `failures_left` is positive.
#[derive(Clone, Default)]
struct Counting {
    runs: Arc<AtomicUsize>,
    failures_left: Arc<AtomicUsize>,
    pause: Option<StdDuration>,
}

#[async_trait::async_trait]
impl JobHandler for Counting {
    fn kind(&self) -> &'static str {
        COUNTING
    }

    async fn run(&self, _ctx: JobContext<'_>) -> Result<(), JobFailure> {
        if let Some(pause) = self.pause {
            tokio::time::sleep(pause).await;
        }
        self.runs.fetch_add(1, Ordering::SeqCst);
        let left = self.failures_left.load(Ordering::SeqCst);
        if left > 0 {
            self.failures_left.store(left - 1, Ordering::SeqCst);
            return Err(JobFailure::Retry("not yet".into()));
        }
        Ok(())
    }
}

fn worker(app: &TestApp, handler: &Counting) -> Worker {
    Worker::new(
        app.services.clone(),
        Handlers::built_in(200).with(handler.clone()),
        StdDuration::from_secs(60),
        StdDuration::from_millis(20),
    )
}

async fn with_clock() -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_with(|_| {}, Some(clock.clone())).await;
    (app, clock)
}

async fn enqueue(
    app: &TestApp,
    account: Option<liaison::domain::ids::AccountId>,
    max_attempts: i32,
) -> uuid::Uuid {
    let now = app.services.clock.now();
    let txn = begin_write(&app.db).await.expect("txn");
    let id = store::jobs::enqueue(
        &txn,
        NewJob {
            account_id: account,
            kind: COUNTING.into(),
            payload: json!({}),
            run_at: now,
            max_attempts,
            dedupe_key: None,
            schedule_name: None,
        },
        now,
    )
    .await
    .expect("enqueue")
    .expect("new job");
    txn.commit().await.expect("commit");
    id
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_change_never_runs() {
    // Arrange
    let (app, _) = with_clock().await;
    let handler = Counting::default();
    let txn = app.db.pool().begin().await.expect("txn");
    let now = app.services.clock.now();
    store::jobs::enqueue(
        &txn,
        NewJob {
            account_id: None,
            kind: COUNTING.into(),
            payload: json!({}),
            run_at: now,
            max_attempts: 1,
            dedupe_key: None,
            schedule_name: None,
        },
        now,
    )
    .await
    .expect("enqueue");

    // Act
    txn.rollback().await.expect("rollback");
    let ran = worker(&app, &handler)
        .run_pending_jobs()
        .await
        .expect("worker");

    // Assert
    assert_eq!(ran, 0);
    assert_eq!(handler.runs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_same_dedupe_key_enqueues_once() {
    let (app, _) = with_clock().await;
    let now = app.services.clock.now();
    let new = NewJob {
        account_id: None,
        kind: COUNTING.into(),
        payload: json!({}),
        run_at: now,
        max_attempts: 1,
        dedupe_key: Some("once".into()),
        schedule_name: None,
    };
    let first = store::jobs::enqueue(&app.db, new.clone(), now)
        .await
        .expect("enqueue");
    let second = store::jobs::enqueue(&app.db, new, now)
        .await
        .expect("enqueue");
    assert!(first.is_some());
    assert_eq!(second, None);
    assert_eq!(
        store::jobs::by_kind(&app.db, COUNTING)
            .await
            .expect("jobs")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_crashed_workers_job_runs_once_after_its_lease_expires() {
    // Arrange: a worker claims the job and "crashes" before running it.
    let (app, clock) = with_clock().await;
    let handler = Counting::default();
    let id = enqueue(&app, None, 3).await;
    let crashed = store::jobs::claim_next(
        &app.db,
        "crashed-worker",
        clock.now(),
        Duration::seconds(60),
    )
    .await
    .expect("claim")
    .expect("a job");
    assert_eq!(crashed.id, id);
    let survivor = worker(&app, &handler);

    // Act & Assert: while the lease holds, nobody else runs it…
    assert_eq!(survivor.run_pending_jobs().await.expect("worker"), 0);
    clock.advance(Duration::seconds(59));
    assert_eq!(survivor.run_pending_jobs().await.expect("worker"), 0);
    // …once it has expired, another worker takes it over, exactly once.
    clock.advance(Duration::seconds(2));
    assert_eq!(survivor.run_pending_jobs().await.expect("worker"), 1);
    assert_eq!(survivor.run_pending_jobs().await.expect("worker"), 0);
    assert_eq!(handler.runs.load(Ordering::SeqCst), 1);
    let job = store::jobs::find(&app.db, id)
        .await
        .expect("find")
        .expect("job");
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.attempts, 2, "the lost claim counts as an attempt");

    // The crashed worker cannot record anything for a job it no longer holds.
    let late = store::jobs::finish(
        &app.db,
        id,
        "crashed-worker",
        JobStatus::Failed,
        Some("late"),
        clock.now(),
    )
    .await
    .expect("finish");
    assert!(!late);
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_and_then_fails_for_good() {
    // Arrange
    let (app, clock) = with_clock().await;
    let handler = Counting {
        failures_left: Arc::new(AtomicUsize::new(10)),
        ..Counting::default()
    };
    let id = enqueue(&app, None, 3).await;
    let worker = worker(&app, &handler);

    // Act & Assert: first attempt fails and waits (10 s ± 20 %).
    let (_, outcome) = worker.run_next().await.expect("run").expect("a job");
    assert_eq!(outcome, Outcome::Retrying);
    assert!(
        worker.run_next().await.expect("run").is_none(),
        "not due during the backoff"
    );
    clock.advance(Duration::seconds(13));
    assert_eq!(
        worker.run_next().await.expect("run").expect("a job").1,
        Outcome::Retrying
    );
    clock.advance(Duration::seconds(25));
    let (_, last) = worker.run_next().await.expect("run").expect("a job");
    assert_eq!(last, Outcome::Failed("not yet".into()));

    let job = store::jobs::find(&app.db, id)
        .await
        .expect("find")
        .expect("job");
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.attempts, 3);
    assert_eq!(job.last_error.as_deref(), Some("not yet"));
    assert_eq!(handler.runs.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_job_of_unknown_kind_fails_without_retrying() {
    let (app, clock) = with_clock().await;
    let now = clock.now();
    let id = store::jobs::enqueue(
        &app.db,
        NewJob {
            account_id: None,
            kind: "nobody.handles.this".into(),
            payload: json!({}),
            run_at: now,
            max_attempts: 5,
            dedupe_key: None,
            schedule_name: None,
        },
        now,
    )
    .await
    .expect("enqueue")
    .expect("id");
    app.worker.run_pending_jobs().await.expect("worker");
    let job = store::jobs::find(&app.db, id)
        .await
        .expect("find")
        .expect("job");
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.attempts, 1);
}

#[tokio::test]
async fn a_suspended_accounts_jobs_wait_until_it_is_reactivated() {
    // Arrange
    let (app, _) = with_clock().await;
    let acme = app.create_account("acme").await;
    let handler = Counting::default();
    enqueue(&app, Some(acme.id), 3).await;
    let set_status = |status: &'static str| {
        let db = app.db.clone();
        let id = acme.id;
        async move {
            let sql = match db.get_database_backend() {
                sea_orm::DbBackend::Postgres => {
                    format!("UPDATE accounts SET status = '{status}' WHERE id = '{id}'")
                }
                _ => format!(
                    "UPDATE accounts SET status = '{status}' WHERE id = x'{}'",
                    id.0.simple()
                ),
            };
            db.execute_unprepared(&sql).await.expect("status changed");
        }
    };
    let worker = worker(&app, &handler);

    // Act & Assert
    set_status("SUSPENDED").await;
    assert_eq!(worker.run_pending_jobs().await.expect("worker"), 0);
    set_status("ACTIVE").await;
    assert_eq!(worker.run_pending_jobs().await.expect("worker"), 1);
    assert_eq!(handler.runs.load(Ordering::SeqCst), 1);
}

fn every(seconds: i64, anchor: ScheduleAnchor, first_run_at: chrono::DateTime<Utc>) -> NewSchedule {
    NewSchedule {
        name: "test.schedule".into(),
        account_id: None,
        job_kind: COUNTING.into(),
        payload: json!({}),
        every: Every::Seconds(seconds),
        anchor,
        jitter_seconds: 0,
        first_run_at,
    }
}

#[tokio::test]
async fn a_schedule_fires_once_per_tick_however_many_workers_look() {
    // Arrange: three workers on one database, a schedule every minute.
    let (app, clock) = with_clock().await;
    let handler = Counting::default();
    let now = clock.now();
    store::schedules::ensure(&app.db, every(60, ScheduleAnchor::Fixed, now), now)
        .await
        .expect("schedule");
    let workers = [
        worker(&app, &handler),
        worker(&app, &handler),
        worker(&app, &handler),
    ];

    // Act: five ticks, each raced by all three workers.
    for _ in 0..5 {
        let (a, b, c) = tokio::join!(
            workers[0].tick_schedules(),
            workers[1].tick_schedules(),
            workers[2].tick_schedules()
        );
        assert_eq!(
            a.expect("a") + b.expect("b") + c.expect("c"),
            1,
            "exactly one worker takes the tick"
        );
        let (a, b, c) = tokio::join!(
            workers[0].run_pending_jobs(),
            workers[1].run_pending_jobs(),
            workers[2].run_pending_jobs()
        );
        assert_eq!(
            a.expect("a") + b.expect("b") + c.expect("c"),
            1,
            "and the job runs once"
        );
        clock.advance(Duration::seconds(60));
    }

    // Assert
    assert_eq!(handler.runs.load(Ordering::SeqCst), 5);
    assert_eq!(
        store::jobs::by_kind(&app.db, COUNTING)
            .await
            .expect("jobs")
            .len(),
        5
    );
}

#[tokio::test]
async fn an_after_completion_schedule_counts_from_the_end_of_the_run() {
    // Arrange
    let (app, clock) = with_clock().await;
    let handler = Counting::default();
    let start = clock.now();
    store::schedules::ensure(
        &app.db,
        every(6 * 3600, ScheduleAnchor::AfterCompletion, start),
        start,
    )
    .await
    .expect("schedule");
    let worker = worker(&app, &handler);

    // Act: the tick is taken, but the run ends 30 minutes later.
    assert_eq!(worker.tick_schedules().await.expect("tick"), 1);
    assert_eq!(handler.runs.load(Ordering::SeqCst), 0);
    let paused = store::schedules::find(&app.db, "test.schedule")
        .await
        .expect("find")
        .expect("schedule");
    assert_eq!(
        paused.next_run_at, None,
        "no next run is planned while one is under way"
    );
    clock.advance(Duration::minutes(30));
    worker.run_pending_jobs().await.expect("run");

    // Assert
    let planned = store::schedules::find(&app.db, "test.schedule")
        .await
        .expect("find")
        .expect("schedule");
    assert_eq!(
        planned.next_run_at,
        Some(start + Duration::minutes(30) + Duration::hours(6))
    );
    assert_eq!(handler.runs.load(Ordering::SeqCst), 1);
    clock.advance(Duration::hours(6) - Duration::seconds(1));
    worker.run_pending_jobs().await.expect("run");
    assert_eq!(
        handler.runs.load(Ordering::SeqCst),
        1,
        "not before six hours after the end"
    );
    clock.advance(Duration::seconds(1));
    worker.run_pending_jobs().await.expect("run");
    assert_eq!(handler.runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn shutdown_lets_the_job_in_flight_finish() {
    // Arrange: a job that takes a moment, run by a worker loop.
    let app = TestApp::spawn().await;
    let handler = Counting {
        pause: Some(StdDuration::from_millis(300)),
        ..Counting::default()
    };
    let id = enqueue(&app, None, 1).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(worker(&app, &handler).run(stopped));

    // Act: stop while the job runs.
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    stop.send(true).expect("stop");
    tokio::time::timeout(StdDuration::from_secs(10), running)
        .await
        .expect("stops")
        .expect("joins");

    // Assert
    let job = store::jobs::find(&app.db, id)
        .await
        .expect("find")
        .expect("job");
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(handler.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn two_server_processes_take_each_schedule_tick_once() {
    // Arrange: one database, a schedule every second, two `liaison serve` processes.
    let (test_db, url) = TestDb::new().await;
    let data = tempfile::tempdir().expect("temp dir");
    let db = liaison::store::connect(&url, 2, Default::default())
        .await
        .expect("connect");
    liaison::store::migrate(&db).await.expect("migrate");
    let now = Utc::now();
    store::schedules::ensure(
        &db,
        NewSchedule {
            name: "test.every-second".into(),
            job_kind: liaison::jobs::maintenance::PURGE_FINISHED_JOBS.into(),
            ..every(1, ScheduleAnchor::Fixed, now)
        },
        now,
    )
    .await
    .expect("schedule");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_liaison"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("LIAISON_DATABASE_URL", &url)
            .env("LIAISON_BIND", "127.0.0.1:0")
            .env("LIAISON_DATA_DIR", data.path())
            .env("LIAISON_WORKER_POLL_MILLIS", "50")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts")
    };
    let mut servers = [spawn(), spawn()];

    // Act: let them run for a few ticks.
    tokio::time::sleep(StdDuration::from_millis(4500)).await;
    for server in &mut servers {
        Command::new("kill")
            .args(["-TERM", &server.id().to_string()])
            .status()
            .expect("kill");
    }
    for server in &mut servers {
        assert!(server.wait().expect("exits").success(), "a clean shutdown");
    }

    // Assert: every tick fired exactly once, and the ticks kept up with time.
    let jobs: Vec<_> = store::jobs::by_kind(&db, liaison::jobs::maintenance::PURGE_FINISHED_JOBS)
        .await
        .expect("jobs")
        .into_iter()
        .filter(|job| job.schedule_name.as_deref() == Some("test.every-second"))
        .collect();
    let ticks: std::collections::HashSet<_> =
        jobs.iter().map(|job| job.dedupe_key.clone()).collect();
    assert_eq!(ticks.len(), jobs.len(), "no tick fired twice");
    assert!(
        (2..=6).contains(&jobs.len()),
        "about one tick a second: {}",
        jobs.len()
    );
    assert!(
        jobs.iter().all(|job| job.status == JobStatus::Succeeded),
        "every tick's job ran"
    );
    drop(test_db);
}
