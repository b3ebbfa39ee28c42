//! The GraphQL API under load, against the database floor.
//!
//! 1. Recreates the PostgreSQL database `LIAISON_BENCH_DATABASE_URL` names (its name must start
//!    with `liaison_`: it is dropped) and seeds it with `liaison dev seed` (20 accounts × 5,000
//!    users, 30 connected integrations each with 2–4 contacts). The built-in catalog holds 20
//!    integrations, so the run's catalog adds 10 sandbox variants of them.
//! 2. Starts `liaison serve` once with `LIAISON_STATEMENT_LOG` and sends each read operation
//!    (Q1–Q3) for 20 different accounts and users, one at a time: what each request sent to the
//!    database becomes one pgbench script. Q4 and Q5 are counted the same way.
//! 3. Starts `liaison serve` pinned to core 0 (rate limits and the worker off) and drives each
//!    operation with wrk pinned to core 1, at concurrency 16 and 64, varying account, user,
//!    integration and invitation per request. `/metrics` gives the statements per operation, and
//!    `/proc` the server's resident memory.
//! 4. Replays the captured scripts with pgbench pinned to core 1, at the same concurrency: the
//!    floor, what the database alone answers, and how long each of its transactions took
//!    (pgbench's transaction log): the least latency any server in front of it could have.
//! 5. Prints the table and writes it into `docs/benchmarks.md`, between its markers.
//!
//! ```text
//! LIAISON_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/liaison_load \
//!     cargo bench --bench api_load
//! ```
//! Needs `wrk`, `pgbench` and `taskset` (Debian: wrk, postgresql-client, util-linux).
//! `LIAISON_LOAD_SECONDS` (10), `LIAISON_LOAD_ACCOUNTS` (20) and `LIAISON_LOAD_USERS` (5000)
//! size a run; only a run at the full size rewrites `docs/benchmarks.md`. `LIAISON_LOAD_DIR`
//! keeps the run's files (catalog, manifest, Lua and pgbench scripts) in that folder, to drive
//! or profile one operation by hand against the seeded database afterwards.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

const SECRET: &str = "load-bench-secret-load-bench-secret-0123456789";
const CATALOG_SIZE: usize = 30;
/// Requests captured per read operation: the floor's scripts.
const VARIANTS: usize = 20;
const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/benchmarks.md");
const BEGIN: &str = "<!-- api-load:begin (written by `cargo bench --bench api_load`) -->";
const END: &str = "<!-- api-load:end -->";

/// One operation of the benchmark.
struct Operation {
    name: &'static str,
    what: &'static str,
    /// `/graphql` or the invitee route.
    path: &'static str,
    /// Lua: a function `body(n)` returning the request's JSON and one `auth(n)` returning the
    /// Authorization header or nil, for the n-th request.
    lua: &'static str,
    /// Whether its statements are replayed as the floor (reads only).
    floor: bool,
}

const Q1: &str = r#"{ integrations(connected: true, first: 50) { nodes { key name status contacts { username email displayName } } } }"#;
const Q2: &str = r#"{ users(first: 50, orderBy: USERNAME) { totalCount nodes { id username displayName roles { name } groups { name } } } }"#;
const Q3: &str =
    r#"query($id: ID!) { node(id: $id) { ... on User { id username displayName email status } } }"#;
const Q4: &str = r#"mutation($c: IntegrationContactInput!) { add: addIntegrationContact(input: $c) { integration { key } userErrors { code } } remove: removeIntegrationContact(input: $c) { integration { key } userErrors { code } } }"#;
const Q5: &str = r#"mutation($t: String!) { openInvitation(token: $t) { sessionToken invitation { integrations { key name } } } }"#;

fn operations() -> Vec<Operation> {
    vec![
        Operation {
            name: "Q1",
            what: "an account's connected integrations (30), each with its contacts",
            path: "/graphql",
            lua: "function body(n) return query_body(Q) end\nfunction auth(n) return token(n) end",
            floor: true,
        },
        Operation {
            name: "Q2",
            what: "a page of 50 users by username, with roles, groups and totalCount",
            path: "/graphql",
            lua: "function body(n) return query_body(Q) end\nfunction auth(n) return token(n) end",
            floor: true,
        },
        Operation {
            name: "Q3",
            what: "`node(id:)` of one user",
            path: "/graphql",
            lua: r#"function body(n)
  local a = accounts[n % #accounts + 1]
  local id = a.users[(n * 7919) % #a.users + 1]
  return query_body(Q, '{"id":"' .. id .. '"}')
end
function auth(n) return token(n) end"#,
            floor: true,
        },
        Operation {
            name: "Q4",
            what: "add, then remove, an integration contact (one request)",
            path: "/graphql",
            lua: r#"function body(n)
  local a = accounts[n % #accounts + 1]
  local m = math.floor(n / #accounts)
  local key = a.integrations[m % #a.integrations + 1]
  local user = a.spare[math.floor(m / #a.integrations) % #a.spare + 1]
  return query_body(Q, '{"c":{"integrationKey":"' .. key .. '","userId":"' .. user .. '"}}')
end
function auth(n) return token(n) end"#,
            floor: false,
        },
        Operation {
            name: "Q5",
            what: "`openInvitation` on the invitee route",
            path: "/connect/graphql",
            lua: r#"function body(n)
  local a = accounts[n % #accounts + 1]
  local t = a.invitations[math.floor(n / #accounts) % #a.invitations + 1]
  return query_body(Q, '{"t":"' .. t .. '"}')
end
function auth(n) return nil end"#,
            floor: false,
        },
    ]
}

fn document(name: &str) -> &'static str {
    match name {
        "Q1" => Q1,
        "Q2" => Q2,
        "Q3" => Q3,
        "Q4" => Q4,
        _ => Q5,
    }
}

/// What the runner needs of the environment.
struct Setup {
    database_url: String,
    seconds: u64,
    accounts: usize,
    users: usize,
    /// The run's files: catalog, manifest, Lua and pgbench scripts, statement log.
    dir: PathBuf,
    /// Removes `dir` at the end, unless `LIAISON_LOAD_DIR` named one to keep.
    _temporary: Option<tempfile::TempDir>,
}

impl Setup {
    fn full_size(&self) -> bool {
        self.accounts == 20 && self.users == 5000 && self.seconds >= 10
    }

    fn catalog(&self) -> PathBuf {
        self.dir.join("catalog.json")
    }

    fn manifest(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }

    /// `liaison` with the run's settings.
    fn liaison(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_liaison"));
        self.configure(&mut command);
        command
    }

    fn configure(&self, command: &mut Command) {
        command
            .env("LIAISON_DATABASE_URL", &self.database_url)
            .env("LIAISON_JWT_SECRET", SECRET)
            .env("LIAISON_DATA_DIR", &self.dir)
            .env("LIAISON_CATALOG_FILE", self.catalog())
            .env("LIAISON_RATE_LIMIT_ENABLED", "false")
            .env("LIAISON_WORKER_ENABLED", "false")
            .env("LIAISON_CONTACT_REMINDERS_ENABLED", "false")
            .env("RUST_LOG", "warn");
    }
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn require_tool(name: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "`{name}` is needed on PATH (see the header of benches/api_load.rs)"
    );
}

/// The built-in catalog and sandbox variants of its first entries, `CATALOG_SIZE` in all.
fn write_catalog(path: &Path) {
    let mut catalog: Value =
        serde_json::from_str(include_str!("../data/integrations.json")).expect("catalog");
    let entries = catalog["integrations"]
        .as_array_mut()
        .expect("integrations");
    let built_in = entries.len();
    for i in 0..CATALOG_SIZE.saturating_sub(built_in) {
        let mut variant = entries[i].clone();
        variant["key"] = json!(format!(
            "{}-sandbox",
            entries[i]["key"].as_str().unwrap_or("")
        ));
        variant["name"] = json!(format!(
            "{} Sandbox",
            entries[i]["name"].as_str().unwrap_or("")
        ));
        entries.push(variant);
    }
    std::fs::write(path, serde_json::to_vec_pretty(&catalog).expect("json")).expect("catalog file");
}

async fn recreate_database(url: &str) {
    let (server, name) = url
        .rsplit_once('/')
        .expect("a database URL ends with its name");
    let name = name.split('?').next().unwrap_or(name);
    assert!(
        name.starts_with("liaison_") && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "the benchmark drops and recreates its database: name one starting with `liaison_`"
    );
    let admin = Database::connect(format!("{server}/postgres"))
        .await
        .expect("PostgreSQL");
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create");
}

/// A running `liaison serve`, stopped when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(setup: &Setup, pin: Option<&str>, statement_log: Option<&Path>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = match pin {
            Some(core) => {
                let mut c = Command::new("taskset");
                c.args(["-c", core, env!("CARGO_BIN_EXE_liaison"), "serve"]);
                c
            }
            None => {
                let mut c = Command::new(env!("CARGO_BIN_EXE_liaison"));
                c.arg("serve");
                c
            }
        };
        setup.configure(&mut command);
        command
            .env("LIAISON_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null());
        if let Some(path) = statement_log {
            command.env("LIAISON_STATEMENT_LOG", path);
        }
        let child = command.spawn().expect("liaison serve");
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(reply) = client.get(format!("{}/readyz", server.base)).send().await
                && reply.status().is_success()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not become ready");
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time the server has used so far (user and system), in milliseconds.
    fn cpu_ms(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // After the command's name: state is the first field, utime the 12th and stime the 13th.
        let fields: Vec<f64> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0.0))
            .collect();
        (fields.get(11).unwrap_or(&0.0) + fields.get(12).unwrap_or(&0.0)) * MS_PER_TICK
    }

    /// A `/proc/<pid>/status` value in MiB (`VmRSS`, `VmHWM`).
    fn memory_mib(&self, field: &str) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }

    async fn statements(&self) -> u64 {
        let text = reqwest::get(format!("{}/metrics", self.base))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find(|l| l.starts_with("liaison_db_statements "))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The manifest's data as Lua tables, plus helpers the operations' scripts use.
fn lua_prelude(manifest: &Value) -> String {
    let list = |values: &Value| {
        let items: Vec<String> = values
            .as_array()
            .map(|a| a.iter().map(|v| format!("{v}")).collect())
            .unwrap_or_default();
        format!("{{{}}}", items.join(","))
    };
    let mut lua = String::from("accounts = {\n");
    for account in manifest["accounts"].as_array().expect("accounts") {
        // Every 25th user keeps the tables small and still spreads requests over the account.
        let users: Vec<Value> = account["users"]
            .as_array()
            .map(|u| u.iter().step_by(25).cloned().collect())
            .unwrap_or_default();
        let _ = writeln!(
            lua,
            "  {{ tokens = {}, users = {}, integrations = {}, spare = {}, invitations = {} }},",
            list(&account["tokens"]),
            list(&Value::Array(users)),
            list(&account["integrations"]),
            list(&account["spareContacts"]),
            list(&account["invitations"]),
        );
    }
    lua.push_str(
        r#"}
counter = 0
failures = 0
threads = {}
function setup(thread) table.insert(threads, thread) end
function token(n)
  local a = accounts[n % #accounts + 1]
  return "Bearer " .. a.tokens[math.floor(n / #accounts) % #a.tokens + 1]
end
function query_body(q, variables)
  return '{"query":"' .. q:gsub('"', '\\"') .. '","variables":' .. (variables or '{}') .. '}'
end
function request()
  counter = counter + 1
  local headers = { ["Content-Type"] = "application/json" }
  local a = auth(counter)
  if a then headers["Authorization"] = a end
  return wrk.format("POST", PATH, headers, body(counter))
end
function response(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) or body:find('"code"', 1, true) then
    failures = failures + 1
    if failures == 1 then io.stderr:write("first failure: " .. status .. " " .. body:sub(1, 300) .. "\n") end
  end
end
function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + (t:get("failures") or 0) end
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"micros":%d,"p50":%d,"p99":%d,"failed":%d,"socket":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    failed + e.status, e.connect + e.read + e.write + e.timeout))
end
"#,
    );
    lua
}

fn lua_script(prelude: &str, operation: &Operation) -> String {
    format!(
        "{prelude}\nQ = [[{}]]\nPATH = \"{}\"\n{}\n",
        document(operation.name),
        operation.path,
        operation.lua
    )
}

/// The kernel's CPU time counters tick 100 times a second (`USER_HZ`).
const MS_PER_TICK: f64 = 10.0;

/// The machine's CPU counters at one moment, from one read of `/proc/stat`: busy and total
/// ticks of the whole machine (the server, PostgreSQL and the load generator together) and of
/// cores 0 and 1.
struct CpuTicks {
    machine: (f64, f64),
    cores: [(f64, f64); 2],
}

impl CpuTicks {
    fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let line = |name: &str| -> (f64, f64) {
            let ticks: Vec<f64> = stat
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_default()
                .split_whitespace()
                .skip(1)
                .take(8)
                .map(|v| v.parse().unwrap_or(0.0))
                .collect();
            // user nice system idle iowait irq softirq steal: all but idle and iowait are work.
            let idle = ticks.get(3).unwrap_or(&0.0) + ticks.get(4).unwrap_or(&0.0);
            let total = ticks.iter().sum::<f64>();
            (total - idle, total)
        };
        Self {
            machine: line("cpu "),
            cores: [line("cpu0 "), line("cpu1 ")],
        }
    }

    /// The machine's busy CPU time since `before`, in milliseconds.
    fn machine_ms_since(&self, before: &Self) -> f64 {
        (self.machine.0 - before.machine.0) * MS_PER_TICK
    }

    /// Per core, the share of the time since `before` it was busy, in per cent: whether the
    /// server's core or the whole machine was the limit.
    fn cores_busy_since(&self, before: &Self) -> [f64; 2] {
        [0, 1].map(|i| {
            let total = self.cores[i].1 - before.cores[i].1;
            if total > 0.0 {
                100.0 * (self.cores[i].0 - before.cores[i].0) / total
            } else {
                0.0
            }
        })
    }
}

/// What one load run measured.
#[derive(Clone, Copy, Default)]
struct LoadResult {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    statements: f64,
    rss_mib: f64,
    /// CPU milliseconds per request: the server's own, and the machine's (server, PostgreSQL
    /// and wrk together).
    server_cpu_ms: f64,
    machine_cpu_ms: f64,
    /// How busy core 0 (the server's) and core 1 (wrk's) were, in per cent.
    cores_busy: [f64; 2],
}

/// What pgbench measured for one operation's floor.
struct Floor {
    per_second: f64,
    mode: &'static str,
    /// The machine's CPU milliseconds per transaction (PostgreSQL and pgbench together).
    machine_cpu_ms: f64,
    /// The latency of pgbench's transactions: what the database alone gives a client at this
    /// concurrency, the least the server's p50 and p99 can be.
    p50_ms: f64,
    p99_ms: f64,
}

async fn drive(
    server: &Server,
    script: &Path,
    path: &str,
    concurrency: usize,
    seconds: u64,
) -> LoadResult {
    let before = server.statements().await;
    let (server_before, cpu_before) = (server.cpu_ms(), CpuTicks::now());
    let output = Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1"])
        .arg(format!("-c{concurrency}"))
        .arg(format!("-d{seconds}s"))
        .args(["--timeout", "5s", "-s"])
        .arg(script)
        .arg(format!("{}{path}", server.base))
        .output()
        .expect("wrk");
    let (server_after, cpu_after) = (server.cpu_ms(), CpuTicks::now());
    let after = server.statements().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("wrk printed no result:\n{stdout}"));
    let result: Value = serde_json::from_str(line).expect("wrk result");
    let requests = result["requests"].as_u64().unwrap_or(0).max(1);
    LoadResult {
        per_second: requests as f64 / (result["micros"].as_f64().unwrap_or(1.0) / 1e6),
        p50_ms: result["p50"].as_f64().unwrap_or(0.0) / 1000.0,
        p99_ms: result["p99"].as_f64().unwrap_or(0.0) / 1000.0,
        errors: result["failed"].as_u64().unwrap_or(0) + result["socket"].as_u64().unwrap_or(0),
        statements: (after - before) as f64 / requests as f64,
        rss_mib: server.memory_mib("VmRSS:"),
        server_cpu_ms: (server_after - server_before) / requests as f64,
        machine_cpu_ms: cpu_after.machine_ms_since(&cpu_before) / requests as f64,
        cores_busy: cpu_after.cores_busy_since(&cpu_before),
    }
}

/// Sends each operation `VARIANTS` times, one at a time, and returns per operation the
/// statements of each request (pgbench scripts) and their mean count.
async fn capture(setup: &Setup, manifest: &Value) -> Vec<(Vec<String>, f64)> {
    let log = setup.dir.join("statements.sql");
    let server = Server::start(setup, None, Some(&log)).await;
    let client = reqwest::Client::new();
    let accounts = manifest["accounts"].as_array().expect("accounts");
    let mut captured = Vec::new();
    for operation in operations() {
        let mut scripts = Vec::new();
        for n in 0..VARIANTS {
            let account = &accounts[n % accounts.len()];
            let pick = |field: &str, i: usize| {
                let list = account[field].as_array().expect("list");
                list[i % list.len()].clone()
            };
            let variables = match operation.name {
                "Q3" => json!({ "id": pick("users", n * 7919) }),
                "Q4" => {
                    json!({ "c": { "integrationKey": pick("integrations", n), "userId": pick("spareContacts", n) } })
                }
                "Q5" => json!({ "t": pick("invitations", n / accounts.len()) }),
                _ => json!({}),
            };
            let mut request = client
                .post(format!("{}{}", server.base, operation.path))
                .json(&json!({ "query": document(operation.name), "variables": variables }));
            if operation.name != "Q5" {
                request =
                    request.bearer_auth(pick("tokens", n / accounts.len()).as_str().unwrap_or(""));
            }
            let start = std::fs::metadata(&log).map_or(0, |m| m.len());
            let reply: Value = request
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("json");
            assert!(
                reply.get("errors").is_none() && !reply.to_string().contains("\"code\""),
                "{} failed: {reply}",
                operation.name
            );
            let text = std::fs::read(&log).expect("statement log");
            scripts.push(String::from_utf8_lossy(&text[start as usize..]).into_owned());
        }
        let mean = scripts
            .iter()
            .map(|s| s.matches(";\n").count())
            .sum::<usize>() as f64
            / scripts.len() as f64;
        captured.push((scripts, mean));
    }
    captured
}

/// pgbench replaying `scripts` at `concurrency`.
fn floor(setup: &Setup, name: &str, scripts: &[String], concurrency: usize) -> Floor {
    let mut files = Vec::new();
    for (i, script) in scripts.iter().enumerate() {
        let path = setup.dir.join(format!("{name}-{i}.sql"));
        std::fs::write(&path, script).expect("script");
        files.push(path);
    }
    // pgbench reads `:name` as a variable in prepared mode; a literal holding one (a time of
    // day) needs the simple protocol.
    let has_colon_word = scripts.iter().any(|s| {
        s.as_bytes().windows(2).enumerate().any(|(i, w)| {
            w[0] == b':' && w[1].is_ascii_alphanumeric() && (i == 0 || s.as_bytes()[i - 1] != b':')
        })
    });
    let mode = if has_colon_word { "simple" } else { "prepared" };
    // `-l` logs each transaction's latency, in microseconds, as its third field.
    let log_prefix = setup.dir.join(format!("pgbench-{name}-c{concurrency}"));
    let mut command = Command::new("taskset");
    command
        .args(["-c", "1", "pgbench", "-n", "-j", "1", "-M", mode, "-l"])
        .arg("--log-prefix")
        .arg(&log_prefix)
        .arg(format!("-c{concurrency}"))
        .arg(format!("-T{}", setup.seconds));
    for file in &files {
        command.arg("-f").arg(file);
    }
    let cpu_before = CpuTicks::now();
    let output = command.arg(&setup.database_url).output().expect("pgbench");
    let cpu_after = CpuTicks::now();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let transactions: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|v| v.split(['/', ' ']).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let per_second = stdout
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "pgbench failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let mut latencies = transaction_latencies_ms(&log_prefix);
    latencies.sort_by(f64::total_cmp);
    Floor {
        per_second,
        mode,
        machine_cpu_ms: cpu_after.machine_ms_since(&cpu_before) / transactions.max(1.0),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
    }
}

/// The latencies in pgbench's transaction logs (`<prefix>.<pid>`), which are removed after.
fn transaction_latencies_ms(prefix: &Path) -> Vec<f64> {
    let (Some(dir), Some(stem)) = (prefix.parent(), prefix.file_name()) else {
        return Vec::new();
    };
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(dir).expect("run folder").flatten() {
        let file_name = entry.file_name();
        let is_log = file_name
            .to_string_lossy()
            .strip_prefix(&*stem.to_string_lossy())
            .is_some_and(|rest| rest.starts_with('.'));
        if !is_log {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).expect("pgbench log");
        latencies.extend(
            text.lines()
                .filter_map(|line| line.split_whitespace().nth(2)?.parse::<f64>().ok())
                .map(|micros| micros / 1000.0),
        );
        let _ = std::fs::remove_file(entry.path());
    }
    latencies
}

/// The value below which `share` of the `sorted` values lie (0 when there are none).
fn percentile(sorted: &[f64], share: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * share).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores ({cpu})")
}

async fn postgres_version(url: &str) -> String {
    let db = Database::connect(url).await.expect("PostgreSQL");
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SHOW server_version",
        ))
        .await
        .ok()
        .flatten();
    row.and_then(|r| r.try_get::<String>("", "server_version").ok())
        .unwrap_or_default()
}

#[tokio::main]
async fn main() {
    let database_url = std::env::var("LIAISON_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/liaison_load".into());
    assert!(
        database_url.starts_with("postgres"),
        "the load benchmark runs on PostgreSQL"
    );
    for tool in ["wrk", "pgbench", "taskset"] {
        require_tool(tool);
    }
    let (dir, temporary) = match std::env::var_os("LIAISON_LOAD_DIR") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).expect("LIAISON_LOAD_DIR");
            (PathBuf::from(dir), None)
        }
        None => {
            let temporary = tempfile::tempdir().expect("temporary directory");
            (temporary.path().to_path_buf(), Some(temporary))
        }
    };
    let setup = Setup {
        database_url,
        seconds: env_number("LIAISON_LOAD_SECONDS", 10),
        accounts: env_number("LIAISON_LOAD_ACCOUNTS", 20),
        users: env_number("LIAISON_LOAD_USERS", 5000),
        dir,
        _temporary: temporary,
    };
    recreate_database(&setup.database_url).await;
    write_catalog(&setup.catalog());

    let started = Instant::now();
    let seeded = setup
        .liaison()
        .args(["dev", "seed", "--integrations-per-account", "30"])
        .arg(format!("--accounts={}", setup.accounts))
        .arg(format!("--users-per-account={}", setup.users))
        .arg("--manifest")
        .arg(setup.manifest())
        .status()
        .expect("liaison dev seed");
    assert!(seeded.success(), "seeding failed");
    let seed_seconds = started.elapsed().as_secs_f64();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(setup.manifest()).expect("manifest")).expect("json");
    // Fresh statistics, as autovacuum would give a long-lived database.
    Database::connect(&setup.database_url)
        .await
        .expect("PostgreSQL")
        .execute_unprepared("VACUUM ANALYZE")
        .await
        .expect("analyze");

    let captured = capture(&setup, &manifest).await;
    let prelude = lua_prelude(&manifest);
    let server = Server::start(&setup, Some("0"), None).await;
    let operations = operations();
    let mut rows = Vec::new();
    for (operation, (scripts, captured_statements)) in operations.iter().zip(&captured) {
        let script = setup.dir.join(format!("{}.lua", operation.name));
        std::fs::write(&script, lua_script(&prelude, operation)).expect("lua");
        drive(&server, &script, operation.path, 16, 2).await; // warm-up
        let mut results = Vec::new();
        for concurrency in [16, 64] {
            let load = drive(&server, &script, operation.path, concurrency, setup.seconds).await;
            let floor = operation
                .floor
                .then(|| floor(&setup, operation.name, scripts, concurrency));
            eprintln!(
                "{} c{concurrency}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors, {:.1} statements/op, CPU ms/op {:.2} server {:.2} machine, cores busy {:.0} % {:.0} %, floor {:?} tx/s",
                operation.name,
                load.per_second,
                load.p50_ms,
                load.p99_ms,
                load.errors,
                load.statements,
                load.server_cpu_ms,
                load.machine_cpu_ms,
                load.cores_busy[0],
                load.cores_busy[1],
                floor.as_ref().map(|f| f.per_second.round())
            );
            results.push((concurrency, load, floor));
        }
        rows.push((operation, *captured_statements, results));
    }
    let peak = server.memory_mib("VmHWM:");
    drop(server);

    let mut report = String::new();
    let _ = writeln!(
        report,
        "Run on {}, {}, PostgreSQL {}; release build. The server is pinned to core 0 (`taskset -c 0`), \
         wrk and pgbench to core 1; PostgreSQL is not pinned. Rate limits and the background worker \
         are off. {} accounts × {} users, 30 connected integrations each; seeding took {:.0} s. \
         Each run lasts {} s after a 2 s warm-up.\n",
        chrono::Utc::now().format("%Y-%m-%d"),
        machine(),
        postgres_version(&setup.database_url).await,
        setup.accounts,
        setup.users,
        seed_seconds,
        setup.seconds,
    );
    report.push_str(
        "| Operation | Concurrency | req/s | p50 ms | p99 ms | Errors | Statements/op | CPU ms/op: server, machine | Busy %: core 0, core 1 | Floor (pgbench) tx/s | Floor p50, p99 ms | Floor CPU ms/tx | Server / floor | RSS MiB |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (operation, captured_statements, results) in &rows {
        for (concurrency, load, floor) in results {
            let (floor_text, floor_latency, floor_cpu, ratio) = match floor {
                Some(floor) => (
                    format!("{:.0} ({})", floor.per_second, floor.mode),
                    format!("{:.2}, {:.2}", floor.p50_ms, floor.p99_ms),
                    format!("{:.2}", floor.machine_cpu_ms),
                    format!("{:.0} %", 100.0 * load.per_second / floor.per_second),
                ),
                None => ("—".into(), "—".into(), "—".into(), "—".into()),
            };
            let _ = writeln!(
                report,
                "| {} {} | {concurrency} | {:.0} | {:.2} | {:.2} | {} | {:.1} (captured: {:.1}) | {:.2}, {:.2} | {:.0}, {:.0} | {floor_text} | {floor_latency} | {floor_cpu} | {ratio} | {:.0} |",
                operation.name,
                operation.what,
                load.per_second,
                load.p50_ms,
                load.p99_ms,
                load.errors,
                load.statements,
                captured_statements,
                load.server_cpu_ms,
                load.machine_cpu_ms,
                load.cores_busy[0],
                load.cores_busy[1],
                load.rss_mib,
            );
        }
    }
    let _ = writeln!(
        report,
        "\nThe server's resident memory: at most {peak:.0} MiB over the whole run (VmHWM)."
    );
    println!("{report}");
    if setup.full_size() {
        write_docs(&report);
    } else {
        println!("(not the full size: docs/benchmarks.md left as it is)");
    }
}

/// Replaces the section between the markers of `docs/benchmarks.md`.
fn write_docs(report: &str) {
    let docs = std::fs::read_to_string(DOCS).expect("docs/benchmarks.md");
    let (Some(begin), Some(end)) = (docs.find(BEGIN), docs.find(END)) else {
        panic!("docs/benchmarks.md lacks the markers {BEGIN} … {END}");
    };
    let updated = format!("{}{BEGIN}\n{report}{}", &docs[..begin], &docs[end..]);
    std::fs::write(DOCS, updated).expect("write docs");
    println!("docs/benchmarks.md updated");
}
