//! Connecting an account to a catalog integration: settings are validated against the
//! integration's schema; secret fields are encrypted with the key ring, bound to the connection,
//! and never returned (the API says only which are set). A provider's connector check then asks
//! the provider whether the credentials work, outside any transaction (it waits on the network);
//! only then is the connection saved. Users with INTEGRATIONS FULL connect here; invitees of
//! connection requests go through the same two steps.

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};

use super::audit::{Actor, Event};
use super::{Rejections, Services};
use crate::auth::principal::AccountUser;
use crate::connectors::CheckedSettings;
use crate::crypto::keyring::Binding;
use crate::domain::catalog::{Integration, Setting, SettingType};
use crate::domain::ids::{AccountId, ConnectionId, ConnectionRequestId, UserId};
use crate::domain::permission::{Area, Level};
use crate::error::{AppError, AppResult, UserError};
use crate::store::entities::connection::{self, ConnectionStatus};
use crate::store::{self, Conn, begin_write};

/// Longest text or secret value accepted.
const MAX_VALUE_LENGTH: usize = 4000;

/// Who is connecting.
#[derive(Clone, Debug)]
pub struct Connector {
    pub user_id: Option<UserId>,
    /// As shown in `connectedByLabel`: a username, or an invitee's email as entered.
    pub label: String,
    /// False for an email an invitee of a shareable link typed in.
    pub verified: bool,
    /// The connection request it goes through, for an invitee.
    pub request_id: Option<ConnectionRequestId>,
    pub actor: Actor,
}

/// Settings validated against the schema and accepted by the provider's check: ready to save.
#[derive(Debug)]
pub struct CheckedConnection {
    pub integration: Arc<Integration>,
    valid: ValidSettings,
    /// The keys the caller gave (the audit event lists them, never the values).
    given: Vec<String>,
}

/// Validated settings: the plain values, and the secrets (merged with those already stored).
#[derive(Debug, Default)]
struct ValidSettings {
    plain: Map<String, Value>,
    secrets: BTreeMap<String, String>,
}

fn field(key: &str) -> [String; 3] {
    ["input".into(), "settings".into(), key.into()]
}

fn reject(rejections: &mut Rejections, key: &str, code: &str, message: String) {
    let path = field(key);
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    rejections.push(UserError::new(&parts, code, message));
}

/// Checks every given value against the schema and reports every problem at once.
fn validate(
    integration: &Integration,
    given: &Map<String, Value>,
    stored_secrets: &BTreeMap<String, String>,
) -> AppResult<ValidSettings> {
    let mut rejections = Rejections::default();
    let mut valid = ValidSettings::default();
    for key in given.keys() {
        if !integration.settings.iter().any(|s| &s.key == key) {
            reject(
                &mut rejections,
                key,
                "UNKNOWN_SETTING",
                format!("{} has no setting `{key}`", integration.name),
            );
        }
    }
    for setting in &integration.settings {
        let value = given.get(&setting.key).filter(|v| !v.is_null());
        match (value, setting.kind) {
            (Some(value), SettingType::Secret) => match value.as_str().map(str::trim) {
                Some(secret) if !secret.is_empty() && secret.len() <= MAX_VALUE_LENGTH => {
                    valid.secrets.insert(setting.key.clone(), secret.to_owned());
                }
                _ => reject(
                    &mut rejections,
                    &setting.key,
                    "INVALID_SETTING",
                    format!(
                        "{} is a non-empty text of at most {MAX_VALUE_LENGTH} characters",
                        setting.label
                    ),
                ),
            },
            (Some(value), _) => match check_plain(setting, value) {
                Ok(value) => {
                    valid.plain.insert(setting.key.clone(), value);
                }
                Err(message) => reject(&mut rejections, &setting.key, "INVALID_SETTING", message),
            },
            (None, SettingType::Secret) => match stored_secrets.get(&setting.key) {
                // Write-only: an omitted secret keeps the stored value.
                Some(stored) => {
                    valid.secrets.insert(setting.key.clone(), stored.clone());
                }
                None if setting.required => reject(
                    &mut rejections,
                    &setting.key,
                    "REQUIRED",
                    format!("{} is required", setting.label),
                ),
                None => {}
            },
            (None, _) => match &setting.default {
                Some(default) => {
                    valid.plain.insert(setting.key.clone(), default.clone());
                }
                None if setting.required => reject(
                    &mut rejections,
                    &setting.key,
                    "REQUIRED",
                    format!("{} is required", setting.label),
                ),
                None => {}
            },
        }
    }
    rejections.finish()?;
    Ok(valid)
}

fn check_plain(setting: &Setting, value: &Value) -> Result<Value, String> {
    match setting.kind {
        SettingType::Text => match value.as_str().map(str::trim) {
            Some(text)
                if text.len() <= MAX_VALUE_LENGTH && !(setting.required && text.is_empty()) =>
            {
                Ok(Value::String(text.to_owned()))
            }
            _ => Err(format!(
                "{} is a text of at most {MAX_VALUE_LENGTH} characters",
                setting.label
            )),
        },
        SettingType::Number => {
            let number = value
                .as_f64()
                .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| format!("{} is a number", setting.label))?;
            if setting.min.is_some_and(|min| number < min)
                || setting.max.is_some_and(|max| number > max)
            {
                return Err(format!(
                    "{} is between {} and {}",
                    setting.label,
                    setting.min.map_or("-∞".into(), |m| m.to_string()),
                    setting.max.map_or("∞".into(), |m| m.to_string())
                ));
            }
            Ok(json!(number))
        }
        SettingType::Boolean => value
            .as_bool()
            .or_else(|| match value.as_str() {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            })
            .map(Value::Bool)
            .ok_or_else(|| format!("{} is true or false", setting.label)),
        SettingType::Select => match value.as_str() {
            Some(choice) if setting.options.iter().any(|o| o.value == choice) => {
                Ok(Value::String(choice.to_owned()))
            }
            _ => Err(format!(
                "{} is one of: {}",
                setting.label,
                setting
                    .options
                    .iter()
                    .map(|o| o.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
        SettingType::Secret => Err("secrets are handled separately".into()),
    }
}

fn binding(account: AccountId, connection: ConnectionId) -> Binding<'static> {
    Binding {
        table: "connections",
        field: "secrets",
        account_id: Some(account),
        record_id: connection.0,
    }
}

impl Services {
    /// The secret values stored for a connection (empty when none).
    pub fn connection_secrets(
        &self,
        connection: &connection::Model,
    ) -> AppResult<BTreeMap<String, String>> {
        let Some(stored) = &connection.secrets else {
            return Ok(BTreeMap::new());
        };
        let plain = self
            .keyring
            .decrypt(stored, &binding(connection.account_id, connection.id))
            .map_err(|error| {
                AppError::Internal(format!("connection {}: {error}", connection.id))
            })?;
        serde_json::from_str(plain.expose_secret()).map_err(|_| {
            AppError::Internal(format!(
                "connection {}: secrets are not a map",
                connection.id
            ))
        })
    }

    /// Which secret settings of a connection have a value.
    pub fn connection_secret_keys(&self, connection: &connection::Model) -> AppResult<Vec<String>> {
        Ok(self.connection_secrets(connection)?.into_keys().collect())
    }

    /// Connects (or reconnects) as an account user with INTEGRATIONS FULL.
    pub async fn connect_integration(
        &self,
        caller: &AccountUser,
        key: &str,
        settings: &Map<String, Value>,
    ) -> AppResult<(Arc<Integration>, connection::Model)> {
        caller.require(Area::Integrations, Level::Full)?;
        let checked = self
            .check_connection(caller.account_id, key, settings)
            .await?;
        let connector = Connector {
            user_id: Some(caller.user_id),
            label: caller.username.clone(),
            verified: true,
            request_id: None,
            actor: Actor::user(caller),
        };
        let txn = begin_write(&self.db).await?;
        let connection = self
            .connect_in(&txn, caller.account_id, &checked, &connector)
            .await?;
        txn.commit().await?;
        Ok((checked.integration, connection))
    }

    /// The first step of connecting: validates the settings against the integration's schema
    /// (an omitted secret keeps its stored value) and runs the provider's check, if it has one.
    /// Reads only; call it before opening the transaction that saves.
    pub async fn check_connection(
        &self,
        account: AccountId,
        key: &str,
        settings: &Map<String, Value>,
    ) -> AppResult<CheckedConnection> {
        let integration = self.catalog.get(key).cloned().ok_or_else(|| {
            AppError::rejected(UserError::new(
                &["input", "integrationKey"],
                "UNKNOWN_INTEGRATION",
                format!("no integration `{key}` in the catalog"),
            ))
        })?;
        let stored_secrets = match store::connections::find(&self.db, account, key).await? {
            Some(existing) => self.connection_secrets(&existing)?,
            None => BTreeMap::new(),
        };
        let valid = validate(&integration, settings, &stored_secrets)?;
        if let Some(check) = self.connectors.check(key) {
            let checked = CheckedSettings {
                plain: &valid.plain,
                secrets: &valid.secrets,
            };
            check.verify(&checked).await.map_err(|failure| {
                AppError::rejected(UserError::new(
                    &["input", "settings"],
                    failure.code(),
                    failure.to_string(),
                ))
            })?;
        }
        Ok(CheckedConnection {
            integration,
            valid,
            given: settings.keys().cloned().collect(),
        })
    }

    /// The second step: saves a checked connection inside the caller's transaction.
    pub async fn connect_in(
        &self,
        txn: &impl Conn,
        account: AccountId,
        checked: &CheckedConnection,
        connector: &Connector,
    ) -> AppResult<connection::Model> {
        let key = checked.integration.key.as_str();
        let existing = store::connections::find(txn, account, key).await?;
        let now = self.clock.now();
        let id = existing.as_ref().map_or_else(ConnectionId::new, |c| c.id);
        let secrets = (!checked.valid.secrets.is_empty()).then(|| {
            let plain = serde_json::to_string(&checked.valid.secrets).unwrap_or_default();
            self.keyring
                .encrypt(plain.as_bytes(), &binding(account, id))
        });
        let connection = store::connections::save(
            txn,
            connection::Model {
                id,
                account_id: account,
                integration_key: key.to_owned(),
                status: ConnectionStatus::Connected,
                settings: Value::Object(checked.valid.plain.clone()),
                secrets,
                connected_by_user_id: connector.user_id,
                connected_by_label: Some(connector.label.clone()),
                connected_at: Some(now),
                connected_by_request_id: connector.request_id,
                connected_by_verified: connector.verified,
                created_at: existing.as_ref().map_or(now, |c| c.created_at),
                updated_at: now,
            },
            existing.is_some(),
        )
        .await?;
        self.record(
            txn,
            Some(account),
            &connector.actor,
            Event {
                action: "integration.connected",
                target_type: "Integration",
                target_id: Some(key.to_owned()),
                details: json!({
                    "settings": checked.given,
                    "secretsSet": checked.valid.secrets.keys().collect::<Vec<_>>(),
                    "connectionRequestId": connector.request_id.map(|id| id.to_string()),
                }),
                pii: None,
            },
        )
        .await?;
        Ok(connection)
    }

    /// Disconnects: the status becomes NOT_CONNECTED and the secrets are erased.
    pub async fn disconnect_integration(
        &self,
        caller: &AccountUser,
        key: &str,
    ) -> AppResult<(Arc<Integration>, connection::Model)> {
        caller.require(Area::Integrations, Level::Full)?;
        let txn = begin_write(&self.db).await?;
        let existing = store::connections::find(&txn, caller.account_id, key)
            .await?
            .filter(|c| c.status != ConnectionStatus::NotConnected)
            .ok_or_else(|| {
                AppError::rejected(UserError::new(
                    &["input", "integrationKey"],
                    "NOT_CONNECTED",
                    "this integration is not connected",
                ))
            })?;
        let now = self.clock.now();
        let connection = store::connections::save(
            &txn,
            connection::Model {
                status: ConnectionStatus::NotConnected,
                secrets: None,
                updated_at: now,
                ..existing
            },
            true,
        )
        .await?;
        self.record(
            &txn,
            Some(caller.account_id),
            &Actor::user(caller),
            Event {
                action: "integration.disconnected",
                target_type: "Integration",
                target_id: Some(key.to_owned()),
                details: json!({}),
                pii: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok((self.integration(key)?, connection))
    }

    /// Re-encrypts every stored secret under the active key. Returns how many were rewritten.
    pub async fn rotate_secrets(&self) -> AppResult<usize> {
        let mut rotated = 0;
        for connection in store::connections::with_secrets(&self.db).await? {
            let Some(stored) = &connection.secrets else {
                continue;
            };
            if self.keyring.is_current(stored) {
                continue;
            }
            let plain = self
                .keyring
                .decrypt(stored, &binding(connection.account_id, connection.id))
                .map_err(|error| {
                    AppError::Internal(format!("connection {}: {error}", connection.id))
                })?;
            let fresh = self.keyring.encrypt(
                plain.expose_secret().as_bytes(),
                &binding(connection.account_id, connection.id),
            );
            if store::connections::replace_secrets(&self.db, connection.id, stored, &fresh).await? {
                rotated += 1;
            }
        }
        Ok(rotated)
    }
}
