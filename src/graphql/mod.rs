//! The GraphQL layer: schema building, context accessors, loaders, error codes and limits.
//! Resolvers are thin: read the principal, convert, call a service, convert back.

pub mod context;
pub mod errors;
pub mod invitee;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod relay;
pub mod subscription;
pub mod types;

use async_graphql::{Schema, SchemaBuilder};

use crate::service::Services;

pub type AppSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// Schema settings from configuration.
#[derive(Clone, Debug)]
pub struct SchemaSettings {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_page_size: u64,
    pub introspection: bool,
    pub suggestions: bool,
}

impl Default for SchemaSettings {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 1000,
            max_page_size: 100,
            introspection: true,
            suggestions: true,
        }
    }
}

pub fn build_schema(services: Option<Services>, settings: &SchemaSettings) -> AppSchema {
    configure(
        Schema::build(
            query::Query::default(),
            mutation::Mutation::default(),
            subscription::Subscription,
        ),
        services,
        settings,
    )
    .extension(loaders::FreshAfterMutations)
    .data(context::MaxPageSize(settings.max_page_size))
    .finish()
}

/// What every schema of ours has: error codes, depth and complexity limits, the services, and
/// introspection and suggestions as configured.
fn configure<Q, M, S>(
    mut builder: SchemaBuilder<Q, M, S>,
    services: Option<Services>,
    settings: &SchemaSettings,
) -> SchemaBuilder<Q, M, S> {
    builder = builder
        .extension(errors::ErrorCodes)
        .extension(limits::QueryLimits {
            max_depth: settings.max_depth,
            max_complexity: settings.max_complexity,
        });
    if let Some(services) = services {
        builder = builder.data(services);
    }
    if !settings.introspection {
        builder = builder.disable_introspection();
    }
    if !settings.suggestions {
        builder = builder.disable_suggestions();
    }
    builder
}

/// The public schema's SDL, as `schema.graphql` holds it.
pub fn sdl() -> String {
    build_schema(None, &SchemaSettings::default()).sdl()
}
