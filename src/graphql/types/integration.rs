use async_graphql::{Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::enums::{ConnectionStatus, IntegrationCategory, SettingType};
use super::user::User;
use crate::domain::catalog;
use crate::domain::permission::{Area, Level};
use crate::graphql::context::{caller, loaders};
use crate::graphql::errors::deny_field;
use crate::graphql::relay::encode_id;
use crate::store::entities::connection;

pub const INTEGRATION: &str = "Integration";

/// An entry of the global catalog, with this account's connection to it.
#[derive(Clone)]
pub struct Integration {
    pub entry: catalog::Integration,
    /// The account's connection, when the caller may read INTEGRATIONS and one exists.
    pub connection: Option<connection::Model>,
}

/// One option of a SELECT setting.
#[derive(SimpleObject, Clone)]
pub struct SettingOption {
    pub value: String,
    pub label: String,
}

/// A field a connector fills in.
#[derive(SimpleObject, Clone)]
pub struct SettingField {
    /// The key settings are given under.
    pub key: String,
    pub label: String,
    #[graphql(name = "type")]
    pub kind: SettingType,
    pub required: bool,
    /// Where to find the value in the vendor's admin UI.
    pub help: Option<String>,
    /// The choices of a SELECT field.
    pub options: Vec<SettingOption>,
    pub placeholder: Option<String>,
    pub min: Option<f64>,
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
    entry: catalog::Integration,
}

#[Object]
impl ConnectionState {
    async fn status(&self) -> ConnectionStatus {
        self.model.status.into()
    }
    /// Non-secret settings. Secrets are never returned: see `secretsSet`.
    async fn settings(&self) -> Json<serde_json::Value> {
        Json(self.model.settings.clone())
    }
    /// The keys of the secret settings that have a value.
    async fn secrets_set(&self) -> Vec<String> {
        if self.model.secrets.is_none() {
            return Vec::new();
        }
        self.entry
            .settings
            .iter()
            .filter(|s| s.kind == catalog::SettingType::Secret)
            .map(|s| s.key.clone())
            .collect()
    }
    async fn connected_at(&self) -> Option<DateTime<Utc>> {
        self.model.connected_at
    }
    /// Who connected it, as entered (an invitee's email is marked unverified elsewhere).
    async fn connected_by_label(&self) -> Option<&str> {
        self.model.connected_by_label.as_deref()
    }
    /// The account user who connected it, if it was one.
    async fn connected_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.model.connected_by_user_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User))
    }
}

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
    async fn name(&self) -> &str {
        &self.entry.name
    }
    async fn category(&self) -> IntegrationCategory {
        self.entry.category.into()
    }
    async fn description(&self) -> &str {
        &self.entry.description
    }
    /// The fields a connector fills in.
    async fn settings_schema(&self) -> Vec<SettingField> {
        self.entry.settings.iter().map(SettingField::from).collect()
    }
    /// This account's connection state. Needs INTEGRATIONS READ.
    async fn status(&self, ctx: &Context<'_>) -> Option<ConnectionStatus> {
        match caller(ctx).and_then(|c| c.require(Area::Integrations, Level::Read)) {
            Ok(()) => Some(
                self.connection
                    .as_ref()
                    .map_or(ConnectionStatus::NotConnected, |c| c.status.into()),
            ),
            Err(error) => {
                deny_field(ctx, error);
                None
            }
        }
    }
    /// This account's connection, if any. Needs INTEGRATIONS READ.
    async fn connection(&self, ctx: &Context<'_>) -> Option<ConnectionState> {
        match caller(ctx).and_then(|c| c.require(Area::Integrations, Level::Read)) {
            Ok(()) => self.connection.clone().map(|model| ConnectionState {
                model,
                entry: self.entry.clone(),
            }),
            Err(error) => {
                deny_field(ctx, error);
                None
            }
        }
    }
}
