//! The `Node` interface and `node(id:)`: an unknown id and another account's id answer the same.

use async_graphql::{Context, ID, Interface};
use uuid::Uuid;

use super::account::{ACCOUNT, Account};
use super::audit::{AUDIT_EVENT, AuditEvent};
use super::connection_request::{CONNECTION_REQUEST, ConnectionRequest};
use super::directory::{GROUP, Group, SKILL, Skill};
use super::integration::{INTEGRATION, Integration};
use super::role::{ROLE, Role};
use super::telephony::{TELEPHONY_RESOURCE, TelephonyResource};
use super::user::{USER, User};
use super::user_view::{USER_VIEW, UserView};
use crate::domain::permission::{Area, Level};
use crate::error::{AppError, AppResult};
use crate::graphql::context::{caller, services};
use crate::graphql::relay::decode_id;
use crate::service::directory::Directory;

/// An object with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global id."))]
pub enum Node {
    User(User),
    Role(Role),
    Group(Group),
    Skill(Skill),
    Integration(Integration),
    AuditEvent(AuditEvent),
    Account(Account),
    ConnectionRequest(ConnectionRequest),
    TelephonyResource(TelephonyResource),
    UserView(UserView),
}

fn parse<T: std::str::FromStr>(key: &str) -> AppResult<T> {
    key.parse().map_err(|_| AppError::NotFound)
}

pub async fn resolve(ctx: &Context<'_>, id: &ID) -> AppResult<Node> {
    let caller = caller(ctx)?;
    let services = services(ctx);
    let (type_name, key) = decode_id(id)?;
    Ok(match type_name.as_str() {
        USER => Node::User(User::from(services.user(caller, parse(&key)?).await?)),
        CONNECTION_REQUEST => Node::ConnectionRequest(ConnectionRequest(
            services.connection_request(caller, parse(&key)?).await?,
        )),
        ROLE => {
            let role = services.role(caller, parse(&key)?).await?;
            Node::Role(Role::with_grants(role.role, role.grants))
        }
        GROUP => Node::Group(Group(
            services
                .directory_find(caller, Directory::Groups, parse::<Uuid>(&key)?)
                .await?,
        )),
        SKILL => Node::Skill(Skill(
            services
                .directory_find(caller, Directory::Skills, parse::<Uuid>(&key)?)
                .await?,
        )),
        TELEPHONY_RESOURCE => Node::TelephonyResource(TelephonyResource(
            services.telephony_resource(caller, parse(&key)?).await?,
        )),
        USER_VIEW => Node::UserView(UserView(services.user_view(caller, parse(&key)?).await?)),
        INTEGRATION => {
            let entry = services.integration(&key)?;
            let connection = if caller.can(Area::Integrations, Level::Read) {
                services.connections(caller).await?.remove(&entry.key)
            } else {
                None
            };
            Node::Integration(Integration {
                entry,
                connection: Some(connection),
            })
        }
        AUDIT_EVENT => Node::AuditEvent(AuditEvent(
            services.audit_event(caller, parse(&key)?).await?,
        )),
        ACCOUNT if parse::<crate::domain::ids::AccountId>(&key)? == caller.account_id => {
            Node::Account(Account(services.account(caller).await?))
        }
        _ => return Err(AppError::NotFound),
    })
}
