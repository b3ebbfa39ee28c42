//! Subscriptions over WebSocket (graphql-transport-ws). The bearer token travels in the
//! `connection_init` payload (`{"Authorization": "Bearer …"}`) and is verified there; an
//! unauthenticated connection is closed.

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::response::Response;

use super::graphql::{Endpoint, limit_ip};
use super::state::AppState;
use crate::auth::authenticate::authenticate;
use crate::auth::principal::Principal;
use crate::error::AppError;
use crate::graphql::context::RequestPrincipal;
use crate::graphql::loaders::Loaders;

pub async fn graphql_ws(
    State(state): State<AppState>,
    ConnectInfo(socket): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(refused) = limit_ip(&state, &headers, socket, Endpoint::Main) {
        let retry = match refused {
            AppError::RateLimited {
                retry_after_seconds,
            } => retry_after_seconds,
            _ => 1,
        };
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry.to_string())],
        )
            .into_response();
    }
    let schema = state.schema.instrumented.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload| connection_init(state, payload))
                .serve()
        })
}

async fn connection_init(
    state: AppState,
    payload: serde_json::Value,
) -> async_graphql::Result<Data> {
    let header = ["Authorization", "authorization"]
        .iter()
        .find_map(|key| payload.get(key).and_then(|v| v.as_str()))
        .ok_or(AppError::Unauthenticated(
            "send `Authorization: Bearer <token>` in connection_init",
        ))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or(AppError::Unauthenticated("use `Bearer <token>`"))?;
    let principal = authenticate(&state.services.db, &state.tokens, Some(token)).await?;
    if let Err(limited) = state.limits.check_principal(&principal) {
        state.metrics.record_rate_limited(limited.policy);
        return Err(limited.to_error().into());
    }
    let mut data = Data::default();
    if let Principal::User(user) = &principal {
        data.insert(Loaders::new(&state.services.db, user.account_id));
    }
    data.insert(RequestPrincipal(principal));
    Ok(data)
}
