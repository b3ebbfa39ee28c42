//! Delivering one message: over SMTP with lettre (rustls; `smtp://`, `smtps://`, STARTTLS via
//! `?tls=required`, credentials in the URL), or into `.eml` files when development has no SMTP
//! server. Failures say whether they are permanent (a 5xx reply: the address is refused) or
//! transient (4xx, no connection, a timeout). Errors never carry the URL or its credentials.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use thiserror::Error;

use crate::config::Config;

/// One email, ready to send.
#[derive(Clone, Debug)]
pub struct OutgoingMessage {
    pub from: String,
    pub to_address: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// `<id@domain>`, the same for every attempt.
    pub message_id: String,
    pub language: Option<String>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SendError {
    /// The server refused for good (5xx), or the message cannot be built (a bad address).
    #[error("permanent failure: {reply}")]
    Permanent { reply: String },
    /// Try again later.
    #[error("temporary failure: {reply}")]
    Transient { reply: String },
}

pub enum MailTransport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

impl MailTransport {
    /// SMTP when `LIAISON_SMTP_URL` is set; `.eml` files otherwise (refused in production by
    /// the configuration check).
    pub fn from_config(config: &Config) -> Result<Self, String> {
        match &config.smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|_| {
                        "LIAISON_SMTP_URL is not a valid smtp:// or smtps:// URL".to_owned()
                    })?
                    .timeout(Some(Duration::from_secs(30)))
                    .build();
                Ok(MailTransport::Smtp(transport))
            }
            None => {
                let dir = config
                    .mail_dir
                    .clone()
                    .unwrap_or_else(|| config.data_dir().join("outbox"));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot create the mail folder {}: {e}", dir.display()))?;
                tracing::info!(folder = %dir.display(), "no SMTP server configured: emails are written as .eml files");
                Ok(MailTransport::Files(dir))
            }
        }
    }

    pub async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        let email = build(message)?;
        match self {
            MailTransport::Smtp(smtp) => smtp.send(email).await.map(drop).map_err(classify),
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
    let permanent = |what: &str| SendError::Permanent {
        reply: format!("{what} is not a valid address"),
    };
    let from: Mailbox = message.from.parse().map_err(|_| permanent("the sender"))?;
    let to = Mailbox::new(
        message.to_name.clone(),
        message
            .to_address
            .parse()
            .map_err(|_| permanent("the recipient"))?,
    );
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(message.subject.clone())
        .message_id(Some(message.message_id.clone()));
    if let Some(language) = &message.language {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Content-Language"),
            language.clone(),
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
    built.map_err(|e| SendError::Permanent {
        reply: format!("the message cannot be built: {e}"),
    })
}

fn classify(error: lettre::transport::smtp::Error) -> SendError {
    let reply = match error.status() {
        Some(code) => format!("{code} {}", source_text(&error)),
        None => source_text(&error),
    };
    if error.is_permanent() {
        SendError::Permanent { reply }
    } else {
        SendError::Transient { reply }
    }
}

/// The server's reply or the connection problem, without anything of the URL.
fn source_text(error: &lettre::transport::smtp::Error) -> String {
    use std::error::Error as _;
    let text = error
        .source()
        .map(ToString::to_string)
        .unwrap_or_else(|| error.to_string());
    text.trim().to_owned()
}
