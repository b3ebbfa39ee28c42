//! Email: templates rendered per language, the outbox that records every message with the change
//! that causes it, and the transport (SMTP, or `.eml` files in development) that delivers it.

pub mod outbox;
pub mod templates;
pub mod transport;
