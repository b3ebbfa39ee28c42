//! The GraphQL layer: schema building, context accessors, loaders, error codes and limits.
//! Resolvers are thin: read the principal, convert, call a service, convert back.

pub mod context;
pub mod documents;
pub mod errors;
pub mod invitee;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod relay;
pub mod subscription;
pub mod types;

use async_graphql::{ObjectType, Request, Response, Schema, SchemaBuilder, SubscriptionType};

use crate::service::Services;

pub type AppSchemas = Schemas<
    query::Query,
    loaders::FreshAfterEachField<mutation::Mutation>,
    subscription::Subscription,
>;

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

/// One schema, built twice. `fast` has no extension, so async-graphql resolves each field
/// directly (with any extension, every field and list item goes through the extension chain;
/// without it Q1 of the load benchmark went from 392 to 539 req/s); it serves HTTP, whose handler codes the errors
/// itself, and its depth and complexity limits are async-graphql's own. `instrumented` carries
/// the extensions ([`errors::ErrorCodes`], [`limits::QueryLimits`]): it serves WebSocket
/// subscriptions, whose errors never pass the HTTP handler, and re-validates a request that
/// `fast` refused for a limit, so the refusal says the measured value.
pub struct Schemas<Q, M, S> {
    pub fast: Schema<Q, M, S>,
    pub instrumented: Schema<Q, M, S>,
}

// By hand: a derive would ask the roots to be `Clone`; a schema is an `Arc` inside.
impl<Q, M, S> Clone for Schemas<Q, M, S> {
    fn clone(&self) -> Self {
        Self {
            fast: self.fast.clone(),
            instrumented: self.instrumented.clone(),
        }
    }
}

impl<Q, M, S> Schemas<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    /// Builds both from one recipe: `build(instrumented)`.
    fn build(build: impl Fn(bool) -> Schema<Q, M, S>) -> Self {
        Self {
            fast: build(false),
            instrumented: build(true),
        }
    }

    /// Executes on `fast`; every error gets its code, a refused limit its measured value.
    pub async fn execute(&self, mut request: Request, request_id: Option<&str>) -> Response {
        // A parsed request no longer needs its text: keep it for a re-validation.
        let retry = request.parsed_query().is_ok().then(|| {
            let mut retry = Request::new(std::mem::take(&mut request.query))
                .variables(request.variables.clone());
            retry.operation_name = request.operation_name.clone();
            retry
        });
        let mut response = self.fast.execute(request).await;
        if let Some(retry) = retry
            && limits::refused(&response)
        {
            // Refused at validation again, with our message: nothing resolves.
            response = self.instrumented.execute(retry).await;
        }
        errors::classify_response(&mut response, request_id);
        response
    }
}

pub fn build_schema(services: Option<Services>, settings: &SchemaSettings) -> AppSchemas {
    Schemas::build(|instrumented| {
        configure(
            Schema::build(
                query::Query::default(),
                loaders::FreshAfterEachField::default(),
                subscription::Subscription,
            ),
            services.clone(),
            settings,
            instrumented,
        )
        .data(context::MaxPageSize(settings.max_page_size))
        .finish()
    })
}

/// What every schema of ours has: depth and complexity limits (and error codes when
/// `instrumented`), the services, and introspection and suggestions as configured.
fn configure<Q, M, S>(
    mut builder: SchemaBuilder<Q, M, S>,
    services: Option<Services>,
    settings: &SchemaSettings,
    instrumented: bool,
) -> SchemaBuilder<Q, M, S> {
    builder = if instrumented {
        builder
            .extension(errors::ErrorCodes)
            .extension(limits::QueryLimits {
                max_depth: settings.max_depth,
                max_complexity: settings.max_complexity,
            })
    } else {
        builder
            .limit_depth(settings.max_depth)
            .limit_complexity(settings.max_complexity)
    };
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
    build_schema(None, &SchemaSettings::default()).fast.sdl()
}
