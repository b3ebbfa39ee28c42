//! The outbox's delivery rate to a local SMTP server.
//!
//! Records N emails through the outbox (as changes do: rendered, one row and one delivery job
//! each, 500 per transaction), then lets the background worker deliver them over SMTP to an
//! in-process server on loopback, first with one worker (one replica), then again with four
//! workers sharing the job table (four replicas). Prints messages per second.
//!
//! ```text
//! cargo bench --bench outbox_delivery                # 2,000 messages on a temporary SQLite file
//! cargo bench --bench outbox_delivery -- 5000        # another count
//! LIAISON_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/liaison_bench \
//!     cargo bench --bench outbox_delivery            # an empty PostgreSQL database
//! ```
//! `docs/benchmarks.md` holds the numbers and the machine they were taken on.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use liaison::config::Config;
use liaison::jobs::Handlers;
use liaison::jobs::worker::Worker;
use liaison::mail::outbox::Email;
use liaison::startup::{Application, BuildOptions};
use liaison::store::begin_write;
use mailin_embedded::response::{self, Response};
use mailin_embedded::{Handler, Server, SslConfig};
use secrecy::SecretString;
use serde_json::json;

/// Counts the messages the server accepted.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Handler for Counter {
    fn data(&mut self, _buf: &[u8]) -> io::Result<()> {
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.0.fetch_add(1, Ordering::SeqCst);
        response::OK
    }
}

fn start_smtp(counter: Counter) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind SMTP port");
    let port = listener.local_addr().expect("address").port();
    let mut server = Server::new(counter);
    server
        .with_name("bench.local")
        .with_ssl(SslConfig::None)
        .expect("plain SMTP")
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    port
}

async fn record(app: &Application, count: usize) {
    let services = &app.core.services;
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let txn = begin_write(&services.db).await.expect("transaction");
        for n in chunk {
            let address = format!("person{n}@bench.example.com");
            services
                .send_email(
                    &txn,
                    Email {
                        account_id: None,
                        recipient_user_id: None,
                        to_address: &address,
                        to_name: None,
                        template: "test-email",
                        language: None,
                        context: json!({ "operator": "bench", "product": "Liaison" }),
                    },
                )
                .await
                .expect("email recorded");
        }
        txn.commit().await.expect("commit");
    }
}

async fn deliver(app: &Application, workers: usize, counter: &Counter, goal: usize) -> Duration {
    let started = Instant::now();
    let runs = (0..workers).map(|_| {
        let worker = Worker::new(
            app.core.services.clone(),
            Handlers::built_in(200),
            Duration::from_secs(60),
            Duration::from_millis(10),
        );
        tokio::spawn(async move { worker.run_pending_jobs().await.expect("worker") })
    });
    for run in runs.collect::<Vec<_>>() {
        run.await.expect("worker task");
    }
    let elapsed = started.elapsed();
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        goal,
        "every message arrived"
    );
    elapsed
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(2000);
    let counter = Counter::default();
    let port = start_smtp(counter.clone());
    let dir = tempfile::tempdir().expect("temporary directory");
    let database_url = std::env::var("LIAISON_BENCH_DATABASE_URL").unwrap_or_else(|_| {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        )
    });
    let config = Config {
        database_url: Some(database_url.clone()),
        bind: "127.0.0.1:0".parse().expect("bind address"),
        jwt_secret: Some(SecretString::from(
            "bench-secret-bench-secret-bench-secret-0123",
        )),
        smtp_url: Some(SecretString::from(format!("smtp://127.0.0.1:{port}"))),
        worker_enabled: false,
        contact_reminders_enabled: false,
        data_dir: Some(dir.path().to_owned()),
        ..Config::default()
    };
    let app = Application::build(&config, BuildOptions::default())
        .await
        .expect("application");
    let backend = if database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("outbox delivery to a loopback SMTP server, {count} messages, {backend}");
    let mut delivered = 0;
    for workers in [1, 4] {
        record(&app, count).await;
        delivered += count;
        let elapsed = deliver(&app, workers, &counter, delivered).await;
        println!(
            "{workers} worker(s): {:.2} s, {:.0} messages/s",
            elapsed.as_secs_f64(),
            count as f64 / elapsed.as_secs_f64()
        );
    }
}
