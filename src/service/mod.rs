//! Use cases, one module per capability. Each public method starts by asking for the permission it
//! needs, validates its input into domain values, and does its writes in one transaction.

pub mod accounts;
pub mod audit;
pub mod bulk_users;
pub mod connection_requests;
pub mod connections;
pub mod contacts;
pub mod directory;
pub mod integrations;
pub mod notices;
pub mod platform;
pub mod roles;
pub mod seed;
pub mod telephony;
pub mod topics;
pub mod user_sync;
pub mod user_views;
pub mod users;

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::connectors::Connectors;
use crate::connectors::upstream::Directories;
use crate::crypto::keyring::KeyRing;
use crate::domain::catalog::Catalog;
use crate::mail::outbox::Mailer;

/// What every service needs: the database, the clock, the catalog, the key ring, the mailer,
/// the providers' connector checks and directories, and the settings services follow.
#[derive(Clone)]
pub struct Services {
    pub db: crate::store::Db,
    pub clock: SharedClock,
    pub catalog: Arc<Catalog>,
    pub keyring: Arc<KeyRing>,
    pub mailer: Arc<Mailer>,
    pub connectors: Arc<Connectors>,
    /// The upstream directories user sync reads.
    pub directories: Arc<Directories>,
    pub settings: Arc<ServiceSettings>,
}

impl Services {
    /// The services as one request uses them: its statements share one database connection.
    pub fn for_request(&self) -> Self {
        Self {
            db: self.db.for_request(),
            ..self.clone()
        }
    }
}

/// Configuration the services follow.
#[derive(Clone, Debug)]
pub struct ServiceSettings {
    /// The externally visible base URL, without a trailing slash: links are built from it.
    pub public_url: String,
    /// Connection requests a user, and an account, may create per hour.
    pub connection_requests_per_user_per_hour: u32,
    pub connection_requests_per_account_per_hour: u32,
    /// Rows a bulk user job writes per transaction.
    pub bulk_chunk_rows: usize,
}

impl ServiceSettings {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            public_url: config.public_url(),
            connection_requests_per_user_per_hour: config.connection_requests_per_user_per_hour,
            connection_requests_per_account_per_hour: config
                .connection_requests_per_account_per_hour,
            bulk_chunk_rows: config.bulk_chunk_rows.max(1),
        }
    }
}

/// A change to an optional field: leave it, clear it, or set it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }

    /// Applies a parse to the value being set.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Patch<U>, E> {
        Ok(match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(value) => Patch::Set(f(value)?),
        })
    }
}

/// Collects every rejected field of an input before failing, so a client sees all of them.
#[derive(Debug, Default)]
pub struct Rejections(Vec<crate::error::UserError>);

impl Rejections {
    /// Keeps the parsed value, or records the failure at `field` and yields `None`.
    pub fn check<T>(
        &mut self,
        field: &[&str],
        parsed: Result<T, crate::domain::values::ValueError>,
    ) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(crate::error::UserError::invalid(field, &error));
                None
            }
        }
    }

    pub fn push(&mut self, error: crate::error::UserError) {
        self.0.push(error);
    }

    /// `Err(Rejected)` with every recorded failure, or `Ok` when there were none.
    pub fn finish(self) -> Result<(), crate::error::AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::error::AppError::Rejected(self.0))
        }
    }
}
