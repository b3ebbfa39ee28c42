use async_graphql::{Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::connection_request::ConnectionRequest;
use super::enums::{ConnectionStatus, IntegrationCategory, SettingType};
use super::user::User;
use crate::domain::catalog;
use crate::domain::permission::{Area, Level};
use crate::graphql::context::{caller, loaders, services};
use crate::graphql::errors::{deny_field, field_or_denial, guarded};
use crate::graphql::relay::encode_id;
use crate::store::entities::connection;

pub const INTEGRATION: &str = "Integration";

/// An entry of the global catalog, with this account's connection to it.
#[derive(Clone)]
pub struct Integration {
    pub entry: std::sync::Arc<catalog::Integration>,
    /// The account's connection, when the caller may read INTEGRATIONS and one exists.
    /// The account's connection when the resolver already read it (`Some(None)`: never
    /// connected); `None` to read it through the request's loader.
    pub connection: Option<Option<connection::Model>>,
}

/// One option of a SELECT setting.
#[derive(SimpleObject, Clone)]
pub struct SettingOption {
    /// The value stored when this option is chosen.
    pub value: String,
    /// The text to show for this option.
    pub label: String,
}

/// A field a connector fills in.
#[derive(SimpleObject, Clone)]
pub struct SettingField {
    /// The key settings are given under.
    pub key: String,
    /// The text to show beside the field.
    pub label: String,
    /// The kind of value the field holds.
    #[graphql(name = "type")]
    pub kind: SettingType,
    /// Whether the field must be filled in.
    pub required: bool,
    /// Where to find the value in the vendor's admin UI.
    pub help: Option<String>,
    /// The choices of a SELECT field.
    pub options: Vec<SettingOption>,
    /// An example value to show in the empty field.
    pub placeholder: Option<String>,
    /// The smallest value a NUMBER field accepts.
    pub min: Option<f64>,
    /// The largest value a NUMBER field accepts.
    pub max: Option<f64>,
    /// The value used when none is given.
    pub default: Option<Json<serde_json::Value>>,
}

impl From<&catalog::Setting> for SettingField {
    fn from(setting: &catalog::Setting) -> Self {
        Self {
            key: setting.key.clone(),
            label: setting.label.clone(),
            kind: setting.kind.into(),
            required: setting.required,
            help: setting.help.clone(),
            options: setting
                .options
                .iter()
                .map(|o| SettingOption {
                    value: o.value.clone(),
                    label: o.label.clone(),
                })
                .collect(),
            placeholder: setting.placeholder.clone(),
            min: setting.min,
            max: setting.max,
            default: setting.default.clone().map(Json),
        }
    }
}

/// An account's connection to an integration.
pub struct ConnectionState {
    model: connection::Model,
}

/// An account's connection to an integration: its state, its settings and who connected it.
#[Object]
impl ConnectionState {
    /// Whether the connection works.
    async fn status(&self) -> ConnectionStatus {
        self.model.status.into()
    }
    /// Non-secret settings. Secrets are never returned: see `secretsSet`.
    async fn settings(&self) -> Json<serde_json::Value> {
        Json(self.model.settings.clone())
    }
    /// The keys of the secret settings that have a value.
    async fn secrets_set(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        Ok(services(ctx).connection_secret_keys(&self.model)?)
    }
    /// When it was connected; absent if it never was.
    async fn connected_at(&self) -> Option<DateTime<Utc>> {
        self.model.connected_at
    }
    /// Who connected it: a username, or an invitee's email as entered (personal data: needs
    /// USER_PII READ then; see `connectedByVerified`).
    async fn connected_by_label(&self, ctx: &Context<'_>) -> Option<String> {
        let label = self.model.connected_by_label.clone();
        if self.model.connected_by_request_id.is_none() {
            return label;
        }
        let check = caller(ctx).and_then(|c| c.require(Area::UserPii, Level::Read));
        guarded(ctx, check, || label)
    }
    /// False when `connectedByLabel` is an email an invitee of a shareable link typed in,
    /// which nobody verified.
    async fn connected_by_verified(&self) -> bool {
        self.model.connected_by_verified
    }
    /// The connection request it was connected through, if any. Needs CONNECTION_REQUESTS
    /// READ.
    async fn connection_request(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<ConnectionRequest>> {
        let Some(id) = self.model.connected_by_request_id else {
            return Ok(None);
        };
        let caller = caller(ctx)?;
        let found = services(ctx).connection_request(caller, id).await;
        Ok(field_or_denial(ctx, found)?.map(ConnectionRequest))
    }
    /// The account user who connected it, if it was one. Needs USERS READ.
    async fn connected_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.model.connected_by_user_id else {
            return Ok(None);
        };
        if let Err(error) = caller(ctx).and_then(|c| c.require(Area::Users, Level::Read)) {
            deny_field(ctx, error);
            return Ok(None);
        }
        Ok(loaders(ctx)?.users().load_one(id).await?.map(User))
    }
}

impl Integration {
    async fn account_connection(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<connection::Model>> {
        match &self.connection {
            Some(preloaded) => Ok(preloaded.clone()),
            None => Ok(loaders(ctx)?
                .connection_of_integration()
                .load_one(self.entry.key.clone())
                .await?),
        }
    }
}

/// An entry of the global integration catalog, the same for every account, with this account's
/// connection to it.
#[Object]
impl Integration {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        encode_id(INTEGRATION, &self.entry.key)
    }
    /// Stable catalog key, e.g. `intercom`.
    async fn key(&self) -> &str {
        &self.entry.key
    }
    /// The product's name, e.g. `Intercom`.
    async fn name(&self) -> &str {
        &self.entry.name
    }
    /// The catalog category.
    async fn category(&self) -> IntegrationCategory {
        self.entry.category.into()
    }
    /// What the integration does.
    async fn description(&self) -> &str {
        &self.entry.description
    }
    /// The fields a connector fills in.
    async fn settings_schema(&self) -> Vec<SettingField> {
        self.entry.settings.iter().map(SettingField::from).collect()
    }
    /// This account's connection state. Needs INTEGRATIONS READ.
    async fn status(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ConnectionStatus>> {
        match caller(ctx).and_then(|c| c.require(Area::Integrations, Level::Read)) {
            Ok(()) => Ok(Some(
                self.account_connection(ctx)
                    .await?
                    .map_or(ConnectionStatus::NotConnected, |c| c.status.into()),
            )),
            Err(error) => {
                deny_field(ctx, error);
                Ok(None)
            }
        }
    }
    /// The account's contacts for this integration: the people who receive its technical
    /// notices. Needs INTEGRATION_CONTACTS READ.
    async fn contacts(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<User>>> {
        if let Err(error) =
            caller(ctx).and_then(|c| c.require(Area::IntegrationContacts, Level::Read))
        {
            deny_field(ctx, error);
            return Ok(None);
        }
        let contacts = loaders(ctx)?
            .contacts_of_integration()
            .load_one(self.entry.key.clone())
            .await?;
        Ok(Some(
            contacts.unwrap_or_default().into_iter().map(User).collect(),
        ))
    }
    /// This account's connection, if any. Needs INTEGRATIONS READ.
    async fn connection(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<ConnectionState>> {
        match caller(ctx).and_then(|c| c.require(Area::Integrations, Level::Read)) {
            Ok(()) => Ok(self
                .account_connection(ctx)
                .await?
                .map(|model| ConnectionState { model })),
            Err(error) => {
                deny_field(ctx, error);
                Ok(None)
            }
        }
    }
}
