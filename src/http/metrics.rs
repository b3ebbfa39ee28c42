//! Prometheus metrics, one registry per server (several servers in one test process stay apart).
//! Labels are bounded: operations by known root field names, errors by our codes.

use std::collections::HashSet;
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::StatementCounter;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PolicyLabels {
    pub policy: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<OperationLabels, Counter>,
    pub latency: Family<OperationLabels, Histogram>,
    pub errors: Family<CodeLabels, Counter>,
    pub rate_limited: Family<PolicyLabels, Counter>,
    pub timeouts: Counter,
    statements: Gauge,
    failed_statements: Gauge,
    pool_size: Gauge,
    pool_idle: Gauge,
    known_operations: HashSet<String>,
    counter: Arc<StatementCounter>,
}

impl Metrics {
    /// `known_operations`: the schema's root field names, the only operation labels used.
    pub fn new(known_operations: HashSet<String>, counter: Arc<StatementCounter>) -> Self {
        let mut registry = Registry::with_prefix("liaison");
        let requests = Family::<OperationLabels, Counter>::default();
        let latency = Family::<OperationLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let errors = Family::<CodeLabels, Counter>::default();
        let rate_limited = Family::<PolicyLabels, Counter>::default();
        let timeouts = Counter::default();
        let statements = Gauge::default();
        let failed_statements = Gauge::default();
        let pool_size = Gauge::default();
        let pool_idle = Gauge::default();
        registry.register(
            "graphql_requests",
            "GraphQL operations by root field",
            requests.clone(),
        );
        registry.register(
            "graphql_request_duration_seconds",
            "GraphQL operation latency",
            latency.clone(),
        );
        registry.register("graphql_errors", "GraphQL errors by code", errors.clone());
        registry.register(
            "rate_limited_requests",
            "Requests refused by a rate limit, by policy",
            rate_limited.clone(),
        );
        registry.register(
            "timed_out_requests",
            "Requests that hit the request timeout",
            timeouts.clone(),
        );
        registry.register(
            "db_statements",
            "SQL statements sent (total)",
            statements.clone(),
        );
        registry.register(
            "db_failed_statements",
            "SQL statements that failed (total)",
            failed_statements.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open database connections",
            pool_size.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            pool_idle.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            errors,
            rate_limited,
            timeouts,
            statements,
            failed_statements,
            pool_size,
            pool_idle,
            known_operations,
            counter,
        }
    }

    /// A bounded label for an operation: its root field when known, else `other`.
    pub fn operation_label(&self, root_field: Option<&str>) -> String {
        match root_field {
            Some(name) if self.known_operations.contains(name) => name.to_owned(),
            _ => "other".to_owned(),
        }
    }

    pub fn record_error(&self, code: &str) {
        self.errors
            .get_or_create(&CodeLabels {
                code: code.to_owned(),
            })
            .inc();
    }

    pub fn record_rate_limited(&self, policy: super::rate_limit::Policy) {
        self.rate_limited
            .get_or_create(&PolicyLabels {
                policy: policy.as_str().to_owned(),
            })
            .inc();
        self.record_error("RATE_LIMITED");
    }

    /// The text exposition, with the database gauges read now.
    pub fn render(&self, pool: (u32, usize)) -> String {
        self.statements.set(self.counter.statements() as i64);
        self.failed_statements.set(self.counter.failed() as i64);
        self.pool_size.set(i64::from(pool.0));
        self.pool_idle.set(pool.1 as i64);
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}
