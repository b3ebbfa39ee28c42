//! Delivering one message: over SMTP with lettre (rustls; `smtp://`, `smtps://`, STARTTLS via
//! `?tls=required`, credentials in the URL), or into `.eml` files when development has no SMTP
//! server. A send either succeeds or says whether the failure is permanent (a 5xx reply or an
//! address that cannot be written: the outbox marks the address invalid) or transient (4xx, no
//! connection, a timeout: try again). The reply text is kept for the outbox; neither errors nor
//! logs ever carry the SMTP URL or its credentials.
//!
//! Every SMTP send gets a fresh connection and one deadline for the whole exchange. lettre's async
//! client bounds only the TCP connect, so the deadline is ours; a send cut off by it must not
//! leave a half-finished conversation in a pool for the next message to read replies out of
//! order (a refused message could then pass as accepted), hence no connection reuse.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::config::Config;

/// How long one SMTP send (connect, TLS, login, transfer) may take before it counts as a
/// transient failure.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// One email, ready to send.
#[derive(Clone, Debug)]
pub struct OutgoingMessage {
    /// The sender mailbox (`LIAISON_MAIL_FROM`), e.g. `Liaison <no-reply@example.com>`.
    pub from: String,
    pub to_address: String,
    /// The recipient's display name, when known.
    pub to_name: Option<String>,
    pub subject: String,
    /// The plain-text part; always sent.
    pub text: String,
    /// The HTML part: with it, the message is `multipart/alternative` (text first).
    pub html: Option<String>,
    /// `<id@domain>`, chosen by the caller and the same for every attempt, so receivers can
    /// de-duplicate a message delivered twice.
    pub message_id: String,
    /// The language of the content, sent as `Content-Language`.
    pub language: Option<String>,
}

/// Why a message was not delivered; `reply` is the server's answer (`550 5.1.1 no such user`)
/// or the connection problem, without the URL.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SendError {
    /// The server refused for good (5xx), or the recipient's address cannot be written: do not
    /// retry, and the address may be marked invalid.
    #[error("permanent failure: {reply}")]
    Permanent { reply: String },
    /// Try again later: a 4xx reply, no connection, a timeout, or a local problem (the mail
    /// folder, the sender address).
    #[error("temporary failure: {reply}")]
    Transient { reply: String },
}

/// Where messages go.
pub enum MailTransport {
    /// An SMTP server; `timeout` bounds each whole send.
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        timeout: Duration,
    },
    /// `<uuid>.eml` files in a folder (development without an SMTP server).
    Files(PathBuf),
}

impl std::fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailTransport::Smtp { timeout, .. } => f
                .debug_struct("Smtp")
                .field("timeout", timeout)
                .finish_non_exhaustive(),
            MailTransport::Files(dir) => f.debug_tuple("Files").field(dir).finish(),
        }
    }
}

impl MailTransport {
    /// SMTP when `LIAISON_SMTP_URL` is set; `.eml` files in `LIAISON_MAIL_DIR` (default
    /// `<data dir>/outbox`) otherwise, which production refuses earlier, in `Config::check`.
    /// The sender must be a valid mailbox: a bad one would fail every message, so it fails here.
    pub fn from_config(config: &Config) -> Result<Self, String> {
        config.mail_from.parse::<Mailbox>().map_err(|e| {
            format!(
                "LIAISON_MAIL_FROM `{}` is not a valid sender: {e}",
                config.mail_from
            )
        })?;
        match &config.smtp_url {
            Some(url) => Self::smtp(url, SMTP_TIMEOUT),
            None => {
                let dir = config
                    .mail_dir
                    .clone()
                    .unwrap_or_else(|| config.data_dir().join("outbox"));
                let transport = Self::files(dir.clone())?;
                tracing::info!(folder = %dir.display(), "no SMTP server configured: emails are written as .eml files");
                Ok(transport)
            }
        }
    }

    /// An SMTP transport for `url` whose sends give up after `timeout`.
    pub fn smtp(url: &SecretString, timeout: Duration) -> Result<Self, String> {
        let url = url.expose_secret();
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| {
                format!(
                    "LIAISON_SMTP_URL is not a usable smtp:// or smtps:// URL: {}",
                    redact(&e.to_string(), url)
                )
            })?
            .timeout(Some(timeout))
            // Never park a connection: see the module comment.
            .pool_config(PoolConfig::new().max_size(0))
            .build();
        Ok(MailTransport::Smtp { transport, timeout })
    }

    /// `.eml` files in `dir`, created if missing.
    pub fn files(dir: PathBuf) -> Result<Self, String> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create the mail folder {}: {e}", dir.display()))?;
        Ok(MailTransport::Files(dir))
    }

    /// Sends one message; `Ok` means the server (or the folder) has taken it.
    pub async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        let email = build(message)?;
        match self {
            MailTransport::Smtp { transport, timeout } => {
                match tokio::time::timeout(*timeout, transport.send(email)).await {
                    Ok(result) => result.map(drop).map_err(classify),
                    Err(_) => Err(SendError::Transient {
                        reply: format!(
                            "no answer from the SMTP server within {} s",
                            timeout.as_secs_f32()
                        ),
                    }),
                }
            }
            MailTransport::Files(dir) => AsyncFileTransport::<Tokio1Executor>::new(dir)
                .send(email)
                .await
                .map(drop)
                .map_err(|e| SendError::Transient {
                    reply: format!("cannot write the .eml file: {e}"),
                }),
        }
    }
}

fn build(message: &OutgoingMessage) -> Result<Message, SendError> {
    // A bad sender is our configuration, not the recipient's fault: never permanent.
    let from: Mailbox = message.from.parse().map_err(|e| SendError::Transient {
        reply: format!("the sender is not a valid address: {e}"),
    })?;
    let name = message.to_name.as_deref().map(one_line);
    let to = Mailbox::new(
        name.filter(|name| !name.is_empty()),
        message
            .to_address
            .parse()
            .map_err(|e| SendError::Permanent {
                reply: format!("the recipient is not a valid address: {e}"),
            })?,
    );
    // Header values are encoded by lettre (RFC 2047), so a line break cannot start a header.
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(one_line(&message.subject))
        .message_id(Some(message.message_id.clone()));
    if let Some(language) = &message.language {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Content-Language"),
            one_line(language),
        ));
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(message.text.clone());
    let built = match &message.html {
        Some(html) => builder.multipart(
            MultiPart::alternative().singlepart(text).singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html.clone()),
            ),
        ),
        None => builder.singlepart(text),
    };
    // Only a missing sender or recipient fails here, and both are set above.
    built.map_err(|e| SendError::Transient {
        reply: format!("the message cannot be built: {e}"),
    })
}

/// `value` on one line: lettre encodes line breaks in most headers but fails (and would panic
/// while formatting) on one in a display name.
fn one_line(value: &str) -> String {
    value
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn classify(error: lettre::transport::smtp::Error) -> SendError {
    use std::error::Error as _;
    let reply = match (error.status(), error.source()) {
        // The server's own words, as it said them: `550 5.1.1 no such user`.
        (Some(code), Some(text)) => format!("{code} {}", text.to_string().trim()),
        // `Connection error: Connection refused (os error 111)`, `network error: …`.
        _ => error.to_string().trim().to_owned(),
    };
    if error.is_permanent() {
        SendError::Permanent { reply }
    } else {
        SendError::Transient { reply }
    }
}

/// `text` without the credentials of `url`, should a library ever quote them.
fn redact(text: &str, url: &str) -> String {
    let userinfo = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .and_then(|authority| authority.rsplit_once('@'))
        .map(|(userinfo, _)| userinfo);
    let mut text = text.to_owned();
    if let Some(userinfo) = userinfo {
        for secret in std::iter::once(userinfo).chain(userinfo.split(':')) {
            if !secret.is_empty() {
                text = text.replace(secret, "***");
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> OutgoingMessage {
        OutgoingMessage {
            from: "Liaison <no-reply@example.com>".into(),
            to_address: "ann@example.com".into(),
            to_name: Some("Ann".into()),
            subject: "Hello".into(),
            text: "Hi".into(),
            html: None,
            message_id: "<42@example.com>".into(),
            language: Some("en".into()),
        }
    }

    fn headers(message: &OutgoingMessage) -> String {
        let formatted = String::from_utf8(build(message).unwrap().formatted()).unwrap();
        formatted
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn a_line_break_in_the_subject_or_name_cannot_add_a_header() {
        let head = headers(&OutgoingMessage {
            subject: "Hi\r\nBcc: eve@example.com".into(),
            to_name: Some("Ann\r\nBcc: eve@example.com".into()),
            ..message()
        });
        assert!(
            !head
                .lines()
                .any(|line| line.to_ascii_lowercase().starts_with("bcc:")),
            "{head}"
        );
    }

    #[test]
    fn any_display_name_can_be_written() {
        for name in [
            "Ann \"The Boss\" O'Neil",
            "Jörg Müller",
            "back\\slash",
            "<ann@example.com>, Eve",
            "Ann\u{0}\t\u{7f}Lee",
            "\r\n",
        ] {
            let head = headers(&OutgoingMessage {
                to_name: Some(name.into()),
                ..message()
            });
            assert!(head.contains("ann@example.com"), "{name}: {head}");
        }
    }

    #[test]
    fn the_message_id_and_language_are_sent_as_given() {
        let head = headers(&message());
        assert!(head.contains("Message-ID: <42@example.com>"), "{head}");
        assert!(head.contains("Content-Language: en"), "{head}");
    }

    #[test]
    fn a_bad_recipient_is_permanent_and_a_bad_sender_is_not() {
        let bad_recipient = build(&OutgoingMessage {
            to_address: "not-an-address".into(),
            ..message()
        });
        let bad_sender = build(&OutgoingMessage {
            from: "nobody".into(),
            ..message()
        });
        assert!(matches!(bad_recipient, Err(SendError::Permanent { .. })));
        assert!(matches!(bad_sender, Err(SendError::Transient { .. })));
    }

    #[test]
    fn credentials_are_redacted() {
        let url = "smtps://ann%40corp:s3cr%3At@mail.example.com:465/?tls=required";
        let text = format!("failed for ann%40corp:s3cr%3At and s3cr%3At, {url}");
        let redacted = redact(&text, url);
        assert!(!redacted.contains("s3cr"), "{redacted}");
        assert!(!redacted.contains("ann%40corp"), "{redacted}");
        assert_eq!(
            redact("nothing here", "smtp://mail.example.com"),
            "nothing here"
        );
    }
}
