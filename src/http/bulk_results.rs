//! `GET /bulk-jobs/{id}/results.csv`: a bulk user job's rows with their results, as a file an
//! admin opens in a spreadsheet to fix the failed rows. Same bearer token and limits as the API;
//! needs BULK_USERS READ, and the email and phone columns are there only for callers who may
//! read USER_PII. Rows are read and sent a page at a time, so a 50,000-row job costs no more
//! memory than a small one.

use std::net::SocketAddr;

use async_graphql::ID;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::graphql::{account_user, refusal};
use super::state::AppState;
use crate::domain::bulk_csv::{ResultLine, ResultsWriter};
use crate::domain::ids::BulkUserJobId;
use crate::domain::permission::{Area, Level};
use crate::error::AppError;
use crate::graphql::relay::{decode_typed, encode_id};
use crate::graphql::types::bulk_users::BULK_USER_JOB;
use crate::graphql::types::user::USER;

/// Rows read per query.
const PAGE: u64 = 1_000;

pub async fn results_csv(
    State(state): State<AppState>,
    ConnectInfo(socket): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match account_user(&state, &headers, socket).await {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let services = state.services.clone();
    let job = match decode_typed::<BulkUserJobId>(&ID(id), BULK_USER_JOB) {
        Ok(id) => services.bulk_user_job(&caller, id).await,
        Err(error) => Err(error),
    };
    let job = match job {
        Ok(job) => job,
        Err(error) => return refusal(&headers, &error),
    };
    let with_pii = caller.require(Area::UserPii, Level::Read).is_ok();
    let body = async_stream::try_stream! {
        let mut writer = ResultsWriter::new(with_pii);
        let mut offset = 0;
        loop {
            let rows = services
                .bulk_user_job_rows(&caller, job.id, None, offset, PAGE)
                .await?;
            for row in &rows {
                writer.push(&ResultLine {
                    position: row.position,
                    source: &row.source,
                    status: row.status,
                    user: row.user_id.map(|user| encode_id(USER, &user.to_string()).0),
                    agent_id: row.agent_id,
                    errors: &row.errors,
                });
            }
            yield Bytes::from(writer.take());
            if (rows.len() as u64) < PAGE {
                break;
            }
            offset += PAGE;
        }
    };
    let body = Body::from_stream(futures_util::StreamExt::map(
        body,
        |piece: Result<Bytes, AppError>| {
            piece.map_err(|error| {
                // The status line is gone: all a failure can do is cut the file short.
                tracing::error!(?error, "a results file could not be read to its end");
                std::io::Error::other("the results file could not be read")
            })
        },
    ));
    let file_name = format!("attachment; filename=\"bulk-user-job-{}.csv\"", job.id);
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&file_name) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
