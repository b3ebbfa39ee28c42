use async_graphql::connection::Connection;
use async_graphql::{Context, Object};

use crate::auth::principal::{AccountUser, Principal};
use crate::domain::permission::{Area, Level};
use crate::error::AppError;
use crate::graphql::context::{max_page, principal, services};
use crate::graphql::loaders::prime_integration_contacts;
use crate::graphql::relay::{self, CursorScope, PageArgs, TotalCount};
use crate::graphql::types::enums::IntegrationCategory;
use crate::graphql::types::integration::Integration;
use crate::service::integrations::{AccountCatalog, IntegrationFilter};

/// Who reads the catalog: an account user (`Some`), or a platform operator (`None`).
fn catalog_reader<'a>(ctx: &Context<'a>) -> Result<Option<&'a AccountUser>, AppError> {
    let principal = principal(ctx);
    match principal.account_user() {
        Ok(user) => Ok(Some(user)),
        Err(error) => match principal {
            Principal::Operator(_) => Ok(None),
            _ => Err(error),
        },
    }
}

#[derive(Default)]
pub struct IntegrationQuery;

#[Object]
impl IntegrationQuery {
    /// The whole catalog, by name, with this account's connection state. Filtering by
    /// `connected` needs INTEGRATIONS READ. Platform operators read the catalog too (without
    /// any account's connections or contacts).
    #[graphql(complexity = "relay::page_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn integrations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this catalog category.")] category: Option<IntegrationCategory>,
        #[graphql(
            desc = "`true`: only integrations the account has CONNECTED; `false`: only the others \
                   (NOT_CONNECTED or ERROR). Needs INTEGRATIONS READ."
        )]
        connected: Option<bool>,
        #[graphql(
            desc = "How many items to return from the start, or after `after`: 1 to the maximum \
                   page size (100 by default); 20 when neither `first` nor `last` is given. \
                   Cannot be combined with `last`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this edge `cursor`, taken from this list with the same arguments."
        )]
        after: Option<String>,
        #[graphql(
            desc = "How many items to return from the end, or before `before`: 1 to the maximum \
                   page size (100 by default). Cannot be combined with `first`."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "End before this edge `cursor`, taken from this list with the same arguments."
        )]
        before: Option<String>,
    ) -> async_graphql::Result<Connection<relay::Cursor, Integration, TotalCount>> {
        let caller = catalog_reader(ctx)?;
        let services = services(ctx);
        let filter = IntegrationFilter {
            category: category.map(Into::into),
            connected,
        };
        let AccountCatalog {
            entries,
            mut connections,
        } = services.integrations(caller, &filter).await?;
        let items = entries
            .into_iter()
            .map(|entry| Integration {
                connection: Some(connections.remove(&entry.key)),
                entry,
            })
            .collect();
        let scope = CursorScope {
            list: "integrations",
            ordering: format!("NAME{category:?}{connected:?}"),
            account: caller.map(|c| c.account_id),
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = relay::connection_from_vec(&args, &scope, max_page(ctx), items).await?;
        prime_integration_contacts(ctx, page.edges.iter().map(|e| e.node.entry.key.clone()))
            .await?;
        Ok(page)
    }

    /// One catalog entry by key, e.g. `intercom`.
    async fn integration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The catalog key, e.g. `intercom`. An unknown key is NOT_FOUND.")]
        key: String,
    ) -> async_graphql::Result<Option<Integration>> {
        let caller = catalog_reader(ctx)?;
        let services = services(ctx);
        let entry = services.integration(&key)?;
        let connection = match caller {
            Some(caller) if caller.can(Area::Integrations, Level::Read) => {
                services.connections(caller).await?.remove(&entry.key)
            }
            _ => None,
        };
        Ok(Some(Integration {
            entry,
            connection: Some(connection),
        }))
    }
}
