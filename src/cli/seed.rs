//! `liaison dev seed`: the load benchmark's dataset, and a manifest of how to address it (signed
//! tokens, ids, integration keys and invitation links) for a load generator.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use liaison::clock::SystemClock;
use liaison::config::Config;
use liaison::domain::permission::ScopeSet;
use liaison::graphql::relay::encode_id;
use liaison::graphql::types::user::USER;
use liaison::service::seed::{SeedPlan, SeededAccount};
use liaison::startup::Core;

use crate::Failure;

/// What `liaison dev seed` is asked to do.
#[derive(clap::Args)]
pub struct Seed {
    /// Accounts to create: `load-01`, `load-02`, …
    #[arg(long, default_value_t = 20)]
    accounts: usize,
    /// Users per account (one in fifty a non-login contact; the first five Account Admins).
    #[arg(long, default_value_t = 5000)]
    users_per_account: usize,
    /// Integrations each account connects, in catalog order, each with 2 to 4 contacts; at most
    /// the catalog's size (the built-in catalog holds 20; see LIAISON_CATALOG_FILE).
    #[arg(long, default_value_t = 30)]
    integrations_per_account: usize,
    /// Shareable invitation links each account issues.
    #[arg(long, default_value_t = 10)]
    invitations_per_account: usize,
    /// Write a JSON manifest here: per account, tokens of its admins (valid for --token-ttl),
    /// global ids of its users, its connected integrations, users who are no contact yet, and
    /// its invitation links' tokens. It holds credentials: it is written readable by its owner
    /// only.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Lifetime of the manifest's tokens.
    #[arg(long, default_value = "12h")]
    token_ttl: String,
}

pub async fn seed(config: &Config, args: Seed) -> Result<(), Failure> {
    let ttl = humantime::parse_duration(&args.token_ttl)
        .ok()
        .and_then(|ttl| chrono::Duration::from_std(ttl).ok())
        .ok_or_else(|| Failure(2, format!("`{}` is not a duration", args.token_ttl)))?;
    // The invitations are issued through the engine, whose hourly limits a seed would exceed.
    let mut config = config.clone();
    config.connection_requests_per_user_per_hour = u32::MAX;
    config.connection_requests_per_account_per_hour = u32::MAX;
    let core = Core::open(&config, Arc::new(SystemClock)).await?;
    let catalog_size = core.services.catalog.len();
    if args.integrations_per_account > catalog_size {
        eprintln!(
            "liaison: the catalog holds {catalog_size} integrations: each account connects \
             {catalog_size}, not {}",
            args.integrations_per_account
        );
    }
    let started = Instant::now();
    let seeded = core
        .services
        .seed(SeedPlan {
            accounts: args.accounts,
            users_per_account: args.users_per_account,
            connections_per_account: args.integrations_per_account,
            invitations_per_account: args.invitations_per_account,
        })
        .await
        .map_err(|error| Failure(2, error.to_string()))?;
    println!(
        "seeded {} accounts × {} users, {} connected integrations each, in {:.1} s",
        seeded.len(),
        args.users_per_account,
        seeded.first().map_or(0, |a| a.integrations.len()),
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.manifest {
        let accounts = seeded
            .iter()
            .map(|account| manifest_entry(&core, account, ttl))
            .collect::<Result<Vec<_>, Failure>>()?;
        write_private(path, &serde_json::to_vec(&json!({ "accounts": accounts }))?)?;
        println!("manifest: {}", path.display());
    }
    Ok(())
}

fn manifest_entry(
    core: &Core,
    account: &SeededAccount,
    ttl: chrono::Duration,
) -> Result<serde_json::Value, Failure> {
    let node_id = |id: &liaison::domain::ids::UserId| encode_id(USER, &id.to_string()).0;
    let tokens = account
        .admins
        .iter()
        .map(|admin| core.user_token(account.id, *admin, ScopeSet::unrestricted(), ttl))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "slug": account.slug,
        "tokens": tokens,
        "users": account.users.iter().map(node_id).collect::<Vec<_>>(),
        "integrations": account.integrations,
        "spareContacts": account.spare_contacts.iter().map(node_id).collect::<Vec<_>>(),
        "invitations": account.invitation_tokens,
    }))
}

/// Writes `bytes` to a new file only its owner may read.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}
