//! Parsed GraphQL documents, kept by their text. Frontends and partner integrations send the same
//! few documents over and over with other variables; parsing one (async-graphql's pest grammar)
//! was a tenth of the time of a small query under load. Validation still runs on every request:
//! it depends on the schema, the variables and the limits, not on the text alone.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerError};
use lru::LruCache;

/// How many documents are kept: far more than an application's distinct operations.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(512).unwrap();
/// Longer texts are parsed each time, so the cache stays small whatever clients send.
const MAX_TEXT_BYTES: usize = 8 * 1024;

/// The most recently used documents, by their exact text.
pub struct DocumentCache {
    documents: Mutex<LruCache<String, ExecutableDocument>>,
}

impl Default for DocumentCache {
    fn default() -> Self {
        Self {
            documents: Mutex::new(LruCache::new(CAPACITY)),
        }
    }
}

impl DocumentCache {
    /// The request's document: a copy of the one parsed earlier from the same text, or the
    /// request's own, parsed now (and kept when its text is short enough).
    pub fn parse<'r>(
        &self,
        request: &'r mut Request,
    ) -> Result<&'r ExecutableDocument, ServerError> {
        if request.query.len() > MAX_TEXT_BYTES {
            return request.parsed_query();
        }
        let known = self.lock().get(&request.query).cloned();
        match known {
            Some(document) => request.set_parsed_query(document),
            None => {
                let document = request.parsed_query()?.clone();
                self.lock().put(request.query.clone(), document);
            }
        }
        request.parsed_query()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, ExecutableDocument>> {
        // A panic while holding the lock leaves a consistent cache: recover it.
        self.documents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_text_gives_the_same_document_and_a_bad_one_its_error() {
        let cache = DocumentCache::default();
        let text = "query A($id: ID!) { node(id: $id) { id } }";
        let first = format!(
            "{:?}",
            cache.parse(&mut Request::new(text)).expect("parses")
        );
        assert_eq!(cache.lock().len(), 1);
        let second = format!(
            "{:?}",
            cache.parse(&mut Request::new(text)).expect("cached")
        );
        assert_eq!(first, second);
        assert_eq!(cache.lock().len(), 1);

        assert!(cache.parse(&mut Request::new("{ node(")).is_err());
        assert_eq!(
            cache.lock().len(),
            1,
            "a document that does not parse is not kept"
        );

        let long = format!("{{ {} }}", "viewer { id } ".repeat(MAX_TEXT_BYTES / 10));
        assert!(cache.parse(&mut Request::new(long)).is_ok());
        assert_eq!(cache.lock().len(), 1, "a long text is parsed but not kept");
    }
}
