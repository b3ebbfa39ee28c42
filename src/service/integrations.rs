//! The catalog as an account sees it: every integration, with this account's connection state for
//! callers who may read INTEGRATIONS.

use std::collections::HashMap;
use std::sync::Arc;

use super::Services;
use crate::auth::principal::AccountUser;
use crate::domain::catalog::{Category, Integration};
use crate::domain::permission::{Area, Level};
use crate::error::{AppError, AppResult};
use crate::store;
use crate::store::entities::connection;

#[derive(Clone, Debug, Default)]
pub struct IntegrationFilter {
    pub category: Option<Category>,
    /// Only connected (true) or only not connected (false) integrations; needs INTEGRATIONS READ.
    pub connected: Option<bool>,
}

/// Catalog entries with the account's connections, loaded once for both the filter and the
/// connection state.
pub struct AccountCatalog {
    pub entries: Vec<Arc<Integration>>,
    /// The account's connections by integration key; empty unless the caller may read
    /// INTEGRATIONS.
    pub connections: HashMap<String, connection::Model>,
}

impl Services {
    /// Catalog entries matching the filter, by name, with the account's connections. Any account
    /// user may list the catalog, and so may platform operators (`caller` is `None` for them),
    /// who cannot filter by an account's connections.
    pub async fn integrations(
        &self,
        caller: Option<&AccountUser>,
        filter: &IntegrationFilter,
    ) -> AppResult<AccountCatalog> {
        let connections = match (filter.connected, caller) {
            (Some(_), Some(caller)) => {
                caller.require(Area::Integrations, Level::Read)?;
                self.connections(caller).await?
            }
            (Some(_), None) => {
                return Err(AppError::ForbiddenBecause(
                    "platform operators see the catalog, not an account's connections",
                ));
            }
            (None, Some(caller)) if caller.can(Area::Integrations, Level::Read) => {
                self.connections(caller).await?
            }
            (None, _) => HashMap::new(),
        };
        let entries = self
            .catalog
            .all()
            .filter(|entry| {
                filter
                    .category
                    .is_none_or(|category| entry.category == category)
            })
            .filter(|entry| {
                filter.connected.is_none_or(|wanted| {
                    let connected = connections
                        .get(&entry.key)
                        .is_some_and(|c| c.status == connection::ConnectionStatus::Connected);
                    connected == wanted
                })
            })
            .cloned()
            .collect();
        Ok(AccountCatalog {
            entries,
            connections,
        })
    }

    pub fn integration(&self, key: &str) -> AppResult<Arc<Integration>> {
        self.catalog.get(key).cloned().ok_or(AppError::NotFound)
    }

    /// The account's connections by integration key (needs INTEGRATIONS READ).
    pub async fn connections(
        &self,
        caller: &AccountUser,
    ) -> AppResult<HashMap<String, connection::Model>> {
        caller.require(Area::Integrations, Level::Read)?;
        Ok(store::connections::by_integration(&self.db, caller.account_id).await?)
    }
}
