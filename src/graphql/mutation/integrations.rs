use async_graphql::{Context, InputObject, Json, Object};

use crate::graphql::context::{caller, services};
use crate::graphql::types::integration::Integration;
use crate::graphql::types::payload::payload;

/// Settings for an integration, checked against its settings schema.
#[derive(InputObject)]
pub struct ConnectIntegrationInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The catalog key, e.g. `intercom`.
    pub integration_key: String,
    /// An object of setting values by key (see `Integration.settingsSchema`). Secret fields are
    /// write-only: an omitted secret keeps its stored value when reconnecting.
    pub settings: Json<serde_json::Map<String, serde_json::Value>>,
}

/// Names the integration to disconnect.
#[derive(InputObject)]
pub struct DisconnectIntegrationInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The catalog key, e.g. `intercom`.
    pub integration_key: String,
}

payload!(
    /// The integration with the account's connection after the change.
    IntegrationPayload { integration: Integration }
);

#[derive(Default)]
pub struct IntegrationMutation;

#[Object]
impl IntegrationMutation {
    /// Connects (or reconnects) an integration with its settings. Secrets are encrypted at rest
    /// and never returned. Needs INTEGRATIONS FULL.
    async fn connect_integration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The integration and its settings.")] input: ConnectIntegrationInput,
    ) -> async_graphql::Result<IntegrationPayload> {
        let services = services(ctx);
        let result = services
            .connect_integration(caller(ctx)?, &input.integration_key, &input.settings.0)
            .await;
        IntegrationPayload::from_result(input.client_mutation_id, result, |(entry, connection)| {
            Integration {
                entry,
                connection: Some(Some(connection)),
            }
        })
    }

    /// Disconnects an integration and erases its secrets. Needs INTEGRATIONS FULL.
    async fn disconnect_integration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The integration to disconnect.")] input: DisconnectIntegrationInput,
    ) -> async_graphql::Result<IntegrationPayload> {
        let services = services(ctx);
        let result = services
            .disconnect_integration(caller(ctx)?, &input.integration_key)
            .await;
        IntegrationPayload::from_result(input.client_mutation_id, result, |(entry, connection)| {
            Integration {
                entry,
                connection: Some(Some(connection)),
            }
        })
    }
}
