//! Depth and complexity limits. The fast schema leaves them to async-graphql, whose refusal
//! [`refused`] recognises; [`QueryLimits`] checks them after validation on the instrumented
//! schema, so the refusal carries our code (QUERY_TOO_COMPLEX) and says the measured value.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{Response, ServerError, ValidationResult, Value};

pub struct QueryLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
}

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimitsExtension {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
        })
    }
}

struct QueryLimitsExtension {
    max_depth: usize,
    max_complexity: usize,
}

fn too_complex(message: String) -> Vec<ServerError> {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", "QUERY_TOO_COMPLEX");
    vec![error]
}

#[async_trait::async_trait]
impl Extension for QueryLimitsExtension {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|mut error| {
                    if error.extensions.is_none() {
                        error
                            .extensions
                            .get_or_insert_with(Default::default)
                            .set("code", "BAD_USER_INPUT");
                    }
                    error
                })
                .collect::<Vec<_>>()
        })?;
        if result.depth > self.max_depth {
            return Err(too_complex(format!(
                "the query is nested {} levels deep; the limit is {}",
                result.depth, self.max_depth
            )));
        }
        if result.complexity > self.max_complexity {
            return Err(too_complex(format!(
                "the query's complexity is {}; the limit is {}",
                result.complexity, self.max_complexity
            )));
        }
        Ok(result)
    }
}

/// Whether async-graphql refused a request for its depth or complexity: a request error with
/// one of its two messages (a test pins them, should a release reword them).
pub fn refused(response: &Response) -> bool {
    const MESSAGES: [&str; 2] = ["Query is too complex.", "Query is nested too deep."];
    response.data == Value::Null
        && response
            .errors
            .iter()
            .any(|error| error.path.is_empty() && MESSAGES.contains(&error.message.as_str()))
}
