//! Relay conventions: opaque versioned global ids, opaque cursors bound to their list, ordering
//! and account, and the page arithmetic shared by every connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::{ID, Object, OutputType};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::ids::AccountId;
use crate::error::{AppError, AppResult};
use crate::service::Services;

/// Global id: base64url of `v1:<Type>:<key>`. The version lets the format change later.
pub fn encode_id(type_name: &str, key: &str) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("v1:{type_name}:{key}")))
}

/// The type and key of a global id; anything malformed is NOT_FOUND, like an unknown id.
pub fn decode_id(id: &ID) -> AppResult<(String, String)> {
    let bytes = URL_SAFE_NO_PAD
        .decode(id.as_str())
        .map_err(|_| AppError::NotFound)?;
    let text = String::from_utf8(bytes).map_err(|_| AppError::NotFound)?;
    let mut parts = text.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(type_name), Some(key)) => Ok((type_name.to_owned(), key.to_owned())),
        _ => Err(AppError::NotFound),
    }
}

/// The key of a global id that must be of `type_name`, parsed.
pub fn decode_typed<T: std::str::FromStr>(id: &ID, type_name: &str) -> AppResult<T> {
    match decode_id(id)? {
        (found, key) if found == type_name => key.parse().map_err(|_| AppError::NotFound),
        _ => Err(AppError::NotFound),
    }
}

/// The global ids of an input list, parsed, or BAD_USER_INPUT naming the first bad one.
pub fn decode_all<T: std::str::FromStr>(ids: &[ID], type_name: &str) -> AppResult<Vec<T>> {
    ids.iter()
        .map(|id| {
            decode_typed(id, type_name).map_err(|_| {
                AppError::BadInput(format!("`{}` is not a {type_name} id", id.as_str()))
            })
        })
        .collect()
}

/// What a cursor is bound to: a list, its ordering (and filter), and the account.
#[derive(Clone, Debug)]
pub struct CursorScope {
    pub list: &'static str,
    pub ordering: String,
    pub account: Option<AccountId>,
}

impl CursorScope {
    fn prefix(&self) -> String {
        let account = self.account.map(|a| a.to_string()).unwrap_or_default();
        format!("v1|{}|{}|{}|", self.list, self.ordering, account)
    }

    pub fn encode(&self, offset: u64) -> String {
        self.cursors().at(offset).encode_cursor()
    }

    /// The cursors of one page: the scope's part is formatted once for all of them.
    fn cursors(&self) -> PageCursors {
        PageCursors(self.prefix().into())
    }

    /// The offset in a cursor of this scope; a cursor of another list, ordering or account is
    /// refused.
    pub fn decode(&self, cursor: &str) -> AppResult<u64> {
        let invalid = || {
            AppError::BadInput("the cursor is invalid for this list, ordering or account".into())
        };
        match Cursor::decode_cursor(cursor) {
            Ok(cursor) if *cursor.scope == self.prefix() => Ok(cursor.offset),
            _ => Err(invalid()),
        }
    }
}

/// The cursors of one page, sharing their scope's part.
struct PageCursors(Arc<str>);

impl PageCursors {
    fn at(&self, offset: u64) -> Cursor {
        Cursor {
            scope: self.0.clone(),
            offset,
        }
    }
}

/// An edge's cursor, encoded only when a client asks for it (`cursor`, `pageInfo`): most pages
/// are read through `nodes`, and encoding every edge's cursor was a cost of every list.
pub struct Cursor {
    scope: Arc<str>,
    offset: u64,
}

impl CursorType for Cursor {
    type Error = &'static str;

    fn decode_cursor(text: &str) -> Result<Self, Self::Error> {
        let invalid = "the cursor is invalid";
        let text = URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(invalid)?;
        let (scope, offset) = text.rsplit_once('|').ok_or(invalid)?;
        Ok(Self {
            scope: format!("{scope}|").into(),
            offset: offset.parse().map_err(|_| invalid)?,
        })
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}{}", self.scope, self.offset))
    }
}

/// The arguments every connection takes.
#[derive(Clone, Debug, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// A window into a list: where it starts, how many rows to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub offset: u64,
    pub limit: u64,
}

/// The default page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE: u64 = 20;

/// Computes the window. `count` is called only for `last` without `before`.
pub async fn window<F, Fut>(
    args: &PageArgs,
    scope: &CursorScope,
    max: u64,
    count: F,
) -> AppResult<Window>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = AppResult<u64>>,
{
    let size = |value: Option<i32>, name: &str| -> AppResult<Option<u64>> {
        match value {
            None => Ok(None),
            Some(n) if n >= 1 && (n as u64) <= max => Ok(Some(n as u64)),
            Some(_) => Err(AppError::BadInput(format!(
                "`{name}` must be between 1 and {max}"
            ))),
        }
    };
    let first = size(args.first, "first")?;
    let last = size(args.last, "last")?;
    if first.is_some() && last.is_some() {
        return Err(AppError::BadInput(
            "pass `first` or `last`, not both".into(),
        ));
    }
    let after = args.after.as_deref().map(|c| scope.decode(c)).transpose()?;
    let before = args
        .before
        .as_deref()
        .map(|c| scope.decode(c))
        .transpose()?;
    let start = after.map_or(0, |a| a + 1);
    let end = match (before, last) {
        (Some(before), _) => Some(before),
        (None, Some(_)) => Some(count().await?),
        (None, None) => None,
    };
    Ok(match (last, end) {
        (Some(last), Some(end)) => {
            let from = end.saturating_sub(last).max(start);
            Window {
                offset: from,
                limit: end.saturating_sub(from),
            }
        }
        (_, Some(end)) => Window {
            offset: start,
            limit: first.unwrap_or(DEFAULT_PAGE).min(end.saturating_sub(start)),
        },
        (_, None) => Window {
            offset: start,
            limit: first.unwrap_or(DEFAULT_PAGE),
        },
    })
}

/// Complexity of a connection field: its children cost once per requested item.
pub fn page_complexity(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let items = first
        .or(last)
        .map_or(DEFAULT_PAGE as usize, |n| n.max(1) as usize);
    items.saturating_mul(child_complexity).saturating_add(1)
}

type CountFuture = Pin<Box<dyn Future<Output = AppResult<u64>> + Send>>;

/// `totalCount`, computed only when the client asks for it.
pub struct TotalCount(Arc<dyn Fn() -> CountFuture + Send + Sync>);

impl TotalCount {
    pub fn new<F, Fut>(count: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = AppResult<u64>> + Send + 'static,
    {
        Self(Arc::new(move || Box::pin(count())))
    }

    /// A count already known.
    pub fn known(count: u64) -> Self {
        Self::new(move || async move { Ok(count) })
    }
}

#[Object]
impl TotalCount {
    /// How many items the whole list holds across all pages, with the same filter.
    async fn total_count(&self) -> async_graphql::Result<i64> {
        let count = (self.0)().await?;
        Ok(i64::try_from(count).unwrap_or(i64::MAX))
    }
}

/// A page of `nodes`, read with one row more than the window so `hasNextPage` needs no count.
pub fn connection<T: OutputType>(
    scope: &CursorScope,
    window: Window,
    mut nodes: Vec<T>,
    total: TotalCount,
) -> Connection<Cursor, T, TotalCount> {
    let has_next = nodes.len() as u64 > window.limit;
    nodes.truncate(window.limit as usize);
    let mut connection = Connection::with_additional_fields(window.offset > 0, has_next, total);
    let cursors = scope.cursors();
    connection.edges.extend(
        nodes
            .into_iter()
            .enumerate()
            .map(|(index, node)| Edge::new(cursors.at(window.offset + index as u64), node)),
    );
    connection
}

/// Pages a list already in memory (the catalog, roles): same cursors and arithmetic.
pub async fn connection_from_vec<T: OutputType>(
    args: &PageArgs,
    scope: &CursorScope,
    max: u64,
    items: Vec<T>,
) -> AppResult<Connection<Cursor, T, TotalCount>> {
    let total = items.len() as u64;
    let window = window(args, scope, max, || async move { Ok(total) }).await?;
    let nodes: Vec<T> = items
        .into_iter()
        .skip(window.offset as usize)
        .take(window.limit as usize + 1)
        .collect();
    Ok(connection(scope, window, nodes, TotalCount::known(total)))
}

/// A forward page (`first`/`after`) of a list whose rows and count the services give: `fetch`
/// reads the window (one row more than asked, for `hasNextPage`); `count` answers `totalCount`
/// when the client asks for it.
pub async fn forward_page<T, C, FutC, F, FutF>(
    (first, after): (Option<i32>, Option<String>),
    scope: &CursorScope,
    max: u64,
    count: C,
    fetch: F,
) -> AppResult<Connection<Cursor, T, TotalCount>>
where
    T: OutputType,
    C: Fn() -> FutC + Clone + Send + Sync + 'static,
    FutC: Future<Output = AppResult<u64>> + Send + 'static,
    F: FnOnce(u64, u64) -> FutF,
    FutF: Future<Output = AppResult<Vec<T>>>,
{
    let args = PageArgs {
        first,
        after,
        last: None,
        before: None,
    };
    let window = window(&args, scope, max, count.clone()).await?;
    let nodes = fetch(window.offset, window.limit + 1).await?;
    Ok(connection(scope, window, nodes, TotalCount::new(count)))
}

/// A forward page of a list the services read for `who` (an account user, an operator): the
/// services and `who` are handed to `count` (for `totalCount`, when asked) and to `fetch`.
pub async fn services_page<P, T, C, FutC, F, FutF>(
    ctx: &async_graphql::Context<'_>,
    who: P,
    page: (Option<i32>, Option<String>),
    scope: CursorScope,
    count: C,
    fetch: F,
) -> async_graphql::Result<Connection<Cursor, T, TotalCount>>
where
    P: Clone + Send + Sync + 'static,
    T: OutputType,
    C: Fn(Services, P) -> FutC + Clone + Send + Sync + 'static,
    FutC: Future<Output = AppResult<u64>> + Send + 'static,
    F: FnOnce(Services, P, u64, u64) -> FutF,
    FutF: Future<Output = AppResult<Vec<T>>>,
{
    let services = super::context::services(ctx).clone();
    let counted = {
        let (services, who) = (services.clone(), who.clone());
        move || count(services.clone(), who.clone())
    };
    let max = super::context::max_page(ctx);
    Ok(forward_page(page, &scope, max, counted, |offset, limit| {
        fetch(services, who, offset, limit)
    })
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> CursorScope {
        CursorScope {
            list: "users",
            ordering: "USERNAME".into(),
            account: Some(AccountId::new()),
        }
    }

    #[test]
    fn global_ids_round_trip_and_reject_garbage() {
        let id = encode_id("User", "abc");
        assert_eq!(decode_id(&id).unwrap(), ("User".into(), "abc".into()));
        assert!(decode_id(&ID("not-base64!".into())).is_err());
        assert!(decode_typed::<String>(&id, "Role").is_err());
    }

    #[test]
    fn page_cursors_decode_in_their_scope_and_as_cursors() {
        let a = scope();
        let encoded = a.cursors().at(7).encode_cursor();
        assert_eq!(a.decode(&encoded).unwrap(), 7);
        let decoded = Cursor::decode_cursor(&encoded).unwrap();
        assert_eq!(decoded.offset, 7);
        assert_eq!(decoded.encode_cursor(), encoded);
        assert!(Cursor::decode_cursor("not-base64!").is_err());
        assert!(Cursor::decode_cursor(&URL_SAFE_NO_PAD.encode("v1|users|x")).is_err());
    }

    #[test]
    fn cursors_are_bound_to_their_scope() {
        let a = scope();
        let cursor = a.encode(41);
        assert_eq!(a.decode(&cursor).unwrap(), 41);
        let other_ordering = CursorScope {
            ordering: "CREATED_AT".into(),
            ..a.clone()
        };
        assert!(other_ordering.decode(&cursor).is_err());
        let other_account = CursorScope {
            account: Some(AccountId::new()),
            ..a
        };
        assert!(other_account.decode(&cursor).is_err());
    }

    #[tokio::test]
    async fn windows_follow_first_after_last_before() {
        let s = scope();
        let args = |first, after: Option<u64>, last, before: Option<u64>| PageArgs {
            first,
            after: after.map(|o| s.encode(o)),
            last,
            before: before.map(|o| s.encode(o)),
        };
        let count = || async { Ok(50) };
        assert_eq!(
            window(&args(Some(10), None, None, None), &s, 100, count)
                .await
                .unwrap(),
            Window {
                offset: 0,
                limit: 10
            }
        );
        assert_eq!(
            window(&args(Some(10), Some(9), None, None), &s, 100, count)
                .await
                .unwrap(),
            Window {
                offset: 10,
                limit: 10
            }
        );
        assert_eq!(
            window(&args(None, None, Some(5), None), &s, 100, count)
                .await
                .unwrap(),
            Window {
                offset: 45,
                limit: 5
            }
        );
        assert_eq!(
            window(&args(None, None, Some(5), Some(3)), &s, 100, count)
                .await
                .unwrap(),
            Window {
                offset: 0,
                limit: 3
            }
        );
        assert!(
            window(&args(Some(101), None, None, None), &s, 100, count)
                .await
                .is_err()
        );
        assert!(
            window(&args(Some(0), None, None, None), &s, 100, count)
                .await
                .is_err()
        );
    }
}
