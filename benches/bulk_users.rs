//! Users from a template in bulk: N rows with agent-ID generation, through the API's engine.
//!
//! Sets up an account with an agent template (three skills with levels, two groups, a role, a
//! queue and a line) and 200 users whose agent IDs lie scattered in the range the generated ones
//! take, so generation has to skip them. Then, for N source rows (username, names, email, phone,
//! no agent ID): times the preview, then the job from `createUsersFromTemplate` until the
//! background worker has finished it (chunks of `LIAISON_BULK_CHUNK_ROWS` rows per transaction,
//! the chunk's users inserted under one savepoint). Checks that every row was created with a distinct agent ID and the
//! template's type, and prints the peak resident memory of recording and of running the job
//! (Linux), so runs with different N show whether memory stays flat.
//!
//! ```text
//! cargo bench --bench bulk_users                     # 10,000 rows on a temporary SQLite file
//! cargo bench --bench bulk_users -- 50000            # another count
//! LIAISON_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/liaison_bench \
//!     cargo bench --bench bulk_users                 # an empty PostgreSQL database
//! ```
//! `docs/benchmarks.md` holds the numbers and the machine they were taken on.

mod common;

use std::time::Instant;

use common::{Bench, peak_mib, reset_peak};

use liaison::auth::principal::AccountUser;
use liaison::domain::bulk::{JobStatus, RowStatus, SourceRow};
use liaison::domain::ids::{GroupId, SkillId, UserId};
use liaison::domain::permission::{Area, Grants, Level};
use liaison::domain::telephony::{AccessLevel, ResourceKind};
use liaison::domain::user::UserType;
use liaison::service::Services;
use liaison::service::bulk_users::{BulkSource, BulkUsersInput};
use liaison::service::directory::Directory;
use liaison::service::telephony::ResourceChange;
use liaison::service::users::{NewUserInput, UserPatch};

/// Where generated agent IDs start.
const STARTING_ID: i64 = 100_000;
/// Users holding agent IDs in the generated range, before the run.
const IN_THE_WAY: i64 = 200;

fn agent(username: String, agent_id: Option<i64>, n: i64) -> NewUserInput {
    NewUserInput {
        username: Some(username),
        display_name: Some(format!("Agent {n}")),
        user_type: Some(UserType::Agent),
        phone: Some(format!("+4144{:07}", n)),
        agent_id,
        ..NewUserInput::default()
    }
}

/// The agent template with its memberships, and the users whose agent IDs are in the way.
async fn set_up(services: &Services, admin: &AccountUser, rows: i64) -> UserId {
    let mut skills = Vec::new();
    for (n, name) in ["French", "German", "Billing"].iter().enumerate() {
        let skill = services
            .directory_save(admin, Directory::Skills, None, name, None)
            .await
            .expect("skill");
        skills.push((SkillId(skill.id), n as i32 + 5));
    }
    let mut groups = Vec::new();
    for name in ["Support", "Night shift"] {
        let group = services
            .directory_save(admin, Directory::Groups, None, name, None)
            .await
            .expect("group");
        groups.push(GroupId(group.id));
    }
    let mut resources = Vec::new();
    for (kind, name, level) in [
        (ResourceKind::Queue, "Sales", AccessLevel::Full),
        (ResourceKind::Line, "Main line", AccessLevel::Read),
    ] {
        let resource = services
            .save_telephony_resource(admin, ResourceChange::Create(kind), name, None)
            .await
            .expect("resource");
        resources.push((resource.id, level));
    }
    let mut grants = Grants::default();
    grants.set(Area::Users, Level::Read);
    let role = services
        .create_role(admin, "Agents", None, grants)
        .await
        .expect("role");
    let template = services
        .create_user(admin, agent("template.agent".into(), Some(1), 0))
        .await
        .expect("template");
    services
        .update_user(
            admin,
            template.id,
            UserPatch {
                skills: Some(skills),
                group_ids: Some(groups),
                resource_access: Some(resources),
                ..UserPatch::default()
            },
        )
        .await
        .expect("template memberships");
    services
        .assign_roles(admin, template.id, vec![role.role.id])
        .await
        .expect("template role");
    // Spread over the IDs the rows will take, so the generator skips one now and then.
    let step = (rows / IN_THE_WAY).max(1);
    for n in 0..IN_THE_WAY {
        let id = STARTING_ID + n * step + step / 2;
        services
            .create_user(
                admin,
                agent(format!("in.the.way.{n}"), Some(id), 9_000_000 + n),
            )
            .await
            .expect("user in the way");
    }
    template.id
}

fn source_rows(count: i64) -> Vec<SourceRow> {
    (0..count)
        .map(|n| SourceRow {
            username: Some(format!("bench.user.{n}")),
            first_name: Some("Bench".into()),
            last_name: Some(format!("User {n}")),
            email: Some(format!("bench.user.{n}@bench.example.com")),
            phone: Some(format!("+4144{:07}", n)),
            ..SourceRow::default()
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let count: i64 = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(10_000);
    let bench = Bench::start(|_| {}).await;
    let (services, config) = (&bench.app.core.services, &bench.config);
    let admin = bench.account((count + IN_THE_WAY + 10) as i32).await;
    let template = set_up(services, &admin, count).await;
    let backend = bench.backend();
    let input = || BulkUsersInput {
        template_user_id: template,
        source: BulkSource::Rows(source_rows(count)),
        starting_agent_id: Some(STARTING_ID),
        idempotency_key: None,
    };
    println!(
        "users from a template, {count} rows with agent-ID generation, {backend}, chunks of {}",
        config.bulk_chunk_rows
    );

    let started = Instant::now();
    let preview = services
        .preview_users_from_template(&admin, input())
        .await
        .expect("preview");
    let previewed = started.elapsed();
    assert!(preview.iter().all(|row| row.status == RowStatus::Created));

    reset_peak();
    let started = Instant::now();
    let job = services
        .create_users_from_template(&admin, input())
        .await
        .expect("job recorded");
    let recorded = started.elapsed();
    let recording_peak = peak_mib();
    reset_peak();
    bench.app.worker.run_pending_jobs().await.expect("worker");
    let finished = started.elapsed();
    let running_peak = peak_mib();

    let job = services.bulk_user_job(&admin, job.id).await.expect("job");
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!(job.created as i64, count);
    let rows = services
        .bulk_user_job_rows(&admin, job.id, None, 0, count as u64)
        .await
        .expect("rows");
    let mut agent_ids: Vec<i64> = rows.iter().filter_map(|row| row.agent_id).collect();
    agent_ids.sort_unstable();
    agent_ids.dedup();
    assert_eq!(agent_ids.len() as i64, count, "distinct agent IDs");
    let first = services
        .user(&admin, rows[0].user_id.expect("a user"))
        .await
        .expect("first user");
    assert_eq!(first.user_type, Some(UserType::Agent));

    println!("preview: {:.2} s", previewed.as_secs_f64());
    println!(
        "job: {:.2} s ({:.2} s to record, {:.0} rows/s)",
        finished.as_secs_f64(),
        recorded.as_secs_f64(),
        count as f64 / finished.as_secs_f64()
    );
    if let (Some(recording), Some(running)) = (recording_peak, running_peak) {
        println!(
            "peak resident memory: {recording:.0} MiB while recording the job (all rows in \
             hand, as a request has them), {running:.0} MiB while running it"
        );
    }
}
