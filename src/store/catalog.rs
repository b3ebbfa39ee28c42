//! Mirrors the catalog into the `integrations` table (idempotent; every replica may run it).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{DbErr, EntityTrait, Set};

use super::Conn;
use super::entities::integration;
use crate::domain::catalog::Catalog;

pub async fn upsert(conn: &impl Conn, catalog: &Catalog, now: DateTime<Utc>) -> Result<(), DbErr> {
    let rows: Vec<integration::ActiveModel> = catalog
        .all()
        .map(|entry| integration::ActiveModel {
            key: Set(entry.key.clone()),
            name: Set(entry.name.clone()),
            category: Set(serde_json::to_value(entry.category)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()),
            description: Set(entry.description.clone()),
            settings_schema: Set(serde_json::to_value(&entry.settings).unwrap_or_default()),
            updated_at: Set(now),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    integration::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(integration::Column::Key)
                .update_columns([
                    integration::Column::Name,
                    integration::Column::Category,
                    integration::Column::Description,
                    integration::Column::SettingsSchema,
                    integration::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(conn)
        .await?;
    Ok(())
}
