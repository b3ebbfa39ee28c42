//! The integration catalog: global, shipped with the product as data, the same for every account.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The catalog shipped in the repository; a deployment may point `LIAISON_CATALOG_FILE` elsewhere.
pub const BUILT_IN: &str = include_str!("../../data/integrations.json");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    Crm,
    EmailMarketing,
    Helpdesk,
    Payments,
    Ads,
    Telephony,
    Analytics,
    Directory,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SettingType {
    Text,
    Number,
    Boolean,
    Select,
    /// Write-only, encrypted at rest.
    Secret,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
}

/// One field a connector fills in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: SettingType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub help: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<SelectOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Integration {
    pub key: String,
    pub name: String,
    pub category: Category,
    pub description: String,
    pub settings: Vec<Setting>,
}

#[derive(Debug, Deserialize)]
struct CatalogFile {
    integrations: Vec<Integration>,
}

#[derive(Debug, Error)]
pub enum CatalogError {
    #[error("the integration catalog is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the integration catalog is inconsistent: {0}")]
    Inconsistent(String),
}

/// The catalog, ordered by name, looked up by key. Entries are shared, not copied: every
/// request that lists integrations hands them to its resolvers.
#[derive(Clone, Debug)]
pub struct Catalog {
    by_key: BTreeMap<String, Arc<Integration>>,
    ordered: Vec<String>,
}

impl Catalog {
    pub fn parse(json: &str) -> Result<Self, CatalogError> {
        let file: CatalogFile = serde_json::from_str(json)?;
        let mut by_key = BTreeMap::new();
        for integration in file.integrations {
            check(&integration).map_err(CatalogError::Inconsistent)?;
            let key = integration.key.clone();
            if by_key.insert(key.clone(), Arc::new(integration)).is_some() {
                return Err(CatalogError::Inconsistent(format!("duplicate key `{key}`")));
            }
        }
        let mut ordered: Vec<&Arc<Integration>> = by_key.values().collect();
        ordered.sort_by_key(|integration| integration.name.to_lowercase());
        let ordered = ordered.into_iter().map(|i| i.key.clone()).collect();
        Ok(Self { by_key, ordered })
    }

    pub fn get(&self, key: &str) -> Option<&Arc<Integration>> {
        self.by_key.get(key)
    }

    /// Every integration, by name.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Integration>> {
        self.ordered.iter().filter_map(|key| self.by_key.get(key))
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

fn check(integration: &Integration) -> Result<(), String> {
    let valid_key = |key: &str| {
        !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    };
    if !valid_key(&integration.key) {
        return Err(format!("bad integration key `{}`", integration.key));
    }
    let mut seen = std::collections::HashSet::new();
    for setting in &integration.settings {
        if !valid_key(&setting.key) || !seen.insert(setting.key.as_str()) {
            return Err(format!(
                "{}: bad or repeated setting key `{}`",
                integration.key, setting.key
            ));
        }
        let has_options = !setting.options.is_empty();
        if (setting.kind == SettingType::Select) != has_options {
            return Err(format!(
                "{}.{}: options belong to SELECT fields, and SELECT fields need them",
                integration.key, setting.key
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalog_is_valid_and_broad() {
        let catalog = Catalog::parse(BUILT_IN).expect("built-in catalog");
        assert!(catalog.len() >= 15);
        assert!(catalog.get("intercom").is_some());
        let categories: std::collections::HashSet<_> = catalog.all().map(|i| i.category).collect();
        for needed in [
            Category::Crm,
            Category::EmailMarketing,
            Category::Helpdesk,
            Category::Payments,
            Category::Ads,
            Category::Telephony,
        ] {
            assert!(categories.contains(&needed), "{needed:?} missing");
        }
    }

    #[test]
    fn select_fields_need_options() {
        let json = r#"{"integrations":[{"key":"x","name":"X","category":"CRM","description":"d",
            "settings":[{"key":"region","label":"Region","type":"SELECT","required":true}]}]}"#;
        assert!(Catalog::parse(json).is_err());
    }
}
