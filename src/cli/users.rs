//! `liaison users from-template`: users from a CSV file and a template user, from a terminal. It
//! runs the API's engine (the same checks, preview and job), acting as a user of the account so
//! that the same permissions apply, and runs the job's chunks itself with a progress bar instead
//! of waiting for a worker. A server's worker that picks the job up meanwhile shares the work
//! safely: chunks are serialised per account.

use std::path::PathBuf;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use liaison::clock::SystemClock;
use liaison::config::Config;
use sea_orm::ActiveEnum;

use liaison::domain::bulk::RowStatus;
use liaison::domain::bulk_csv::status_name;
use liaison::error::AppError;
use liaison::service::bulk_users::{BulkSource, BulkUsersInput, RowOutcome};
use liaison::startup::Core;

use crate::{Failure, refusal};

/// Rows read per query when printing a job's results.
const PAGE: u64 = 1_000;

/// What `liaison users from-template` is asked to do.
#[derive(clap::Args)]
pub struct FromTemplate {
    /// The account's slug or id.
    #[arg(long)]
    account: String,
    /// The template user's username or id.
    #[arg(long)]
    template: String,
    /// A CSV file with a header row: username, firstName, lastName, displayName, email, phone,
    /// agentId, externalSource, externalId (any letter case; 50,000 rows at most).
    #[arg(long)]
    csv: PathBuf,
    /// Give rows without an agent ID the next free one from this number.
    #[arg(long, value_name = "N")]
    generate_agent_ids_from: Option<i64>,
    /// Show what a run would do, writing nothing.
    #[arg(long)]
    dry_run: bool,
    /// The user the run acts as (their permissions apply, and the audit log names them); the
    /// account's longest-standing active admin when omitted.
    #[arg(long = "as", value_name = "USERNAME")]
    acting_as: Option<String>,
}

/// Previews or runs the job and prints a line per row. Exit status: 0 when no row failed, 1
/// when some did (the table says why), 2 for bad input.
pub async fn from_template(config: &Config, args: FromTemplate) -> Result<(), Failure> {
    let core = Core::open(config, Arc::new(SystemClock)).await?;
    let services = &core.services;
    let account = services
        .find_account(&args.account)
        .await
        .map_err(|_| Failure(2, format!("no account `{}`", args.account)))?;
    let caller = services
        .acting_user(account.id, args.acting_as.as_deref())
        .await
        .map_err(|error| match error {
            AppError::NotFound => Failure(
                2,
                match &args.acting_as {
                    Some(name) => format!("no user `{name}` in account `{}`", account.slug),
                    None => format!("account `{}` has no active admin to act as", account.slug),
                },
            ),
            other => Failure(2, format!("cannot act as that user: {other}")),
        })?;
    let template = services
        .find_user(account.id, &args.template)
        .await
        .map_err(|_| {
            Failure(
                2,
                format!("no user `{}` in account `{}`", args.template, account.slug),
            )
        })?;
    let file = std::fs::read(&args.csv)
        .map_err(|error| Failure(2, format!("cannot read {}: {error}", args.csv.display())))?;
    let rows = services.read_csv(&caller, file).await.map_err(refusal)?;
    let input = BulkUsersInput {
        template_user_id: template.id,
        source: BulkSource::Csv(rows),
        starting_agent_id: args.generate_agent_ids_from,
        idempotency_key: None,
    };

    let failed = if args.dry_run {
        let outcomes = services
            .preview_users_from_template(&caller, input)
            .await
            .map_err(refusal)?;
        print_header();
        outcomes.iter().for_each(print_row);
        let count = |status| outcomes.iter().filter(|r| r.status == status).count();
        let failed = count(RowStatus::Failed);
        println!(
            "{} row(s): {} would be created, {failed} would fail, {} would be skipped",
            outcomes.len(),
            count(RowStatus::Created),
            count(RowStatus::Skipped)
        );
        failed
    } else {
        let job = services
            .create_users_from_template(&caller, input)
            .await
            .map_err(refusal)?;
        let progress = ProgressBar::new(job.total as u64).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} rows, {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        loop {
            let finished = services
                .run_bulk_chunk(account.id, job.id)
                .await
                .map_err(|failure| Failure(1, failure.to_string()))?;
            let current = services.bulk_user_job(&caller, job.id).await?;
            progress.set_position(current.processed as u64);
            progress.set_message(format!(
                "{} created, {} failed",
                current.created, current.failed
            ));
            if finished {
                break;
            }
        }
        progress.finish_and_clear();
        let job = services.bulk_user_job(&caller, job.id).await?;
        print_header();
        let mut offset = 0;
        loop {
            let page = services
                .bulk_user_job_rows(&caller, job.id, None, offset, PAGE)
                .await?;
            page.iter().for_each(print_row);
            if (page.len() as u64) < PAGE {
                break;
            }
            offset += PAGE;
        }
        println!(
            "{} row(s): {} created, {} failed, {} skipped; job {} {}",
            job.total,
            job.created,
            job.failed,
            job.skipped,
            job.id,
            job.status.to_value()
        );
        job.failed as usize
    };
    if failed > 0 {
        return Err(Failure(1, format!("{failed} row(s) failed; see the table")));
    }
    Ok(())
}

fn print_header() {
    println!(
        "{:>6}  {:<24}  {:<8}  {:>12}  REASONS",
        "ROW", "USERNAME", "STATUS", "AGENT_ID"
    );
}

fn print_row(row: &RowOutcome) {
    let reasons: Vec<String> = row
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.code, e.message))
        .collect();
    println!(
        "{:>6}  {:<24}  {:<8}  {:>12}  {}",
        row.position,
        row.source.username.as_deref().unwrap_or("-"),
        status_name(row.status),
        row.agent_id.map(|a| a.to_string()).unwrap_or_default(),
        reasons.join("; ")
    );
}
