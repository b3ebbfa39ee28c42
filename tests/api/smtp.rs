//! A real SMTP server on loopback for tests (mailin-embedded, one per test: it has no shutdown
//! and lives until the test process ends). It records what it receives, can refuse chosen
//! recipients permanently (550) or temporarily (451), and reads messages back the way a mail
//! client would: headers with RFC 2047 words decoded, and the text and HTML parts with their
//! transfer encoding (quoted-printable, base64) undone. lettre picks that encoding itself and
//! keeps messages 7-bit clean, as any relay accepts them; decoding here keeps the transport
//! honest instead of forcing 8-bit bodies for the tests' sake.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use mailin_embedded::{Handler, Response, Server, SslConfig, response};

/// One message as the server received it (or as read from an `.eml` file).
#[derive(Clone, Debug, Default)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients the server accepted (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as transferred: headers, a blank line, the body.
    pub data: String,
}

impl ReceivedMail {
    /// A message read from an `.eml` file (no envelope).
    pub fn from_eml(data: String) -> Self {
        Self {
            data,
            ..Self::default()
        }
    }

    /// A header's raw value (first occurrence, unfolded, still encoded).
    pub fn header(&self, name: &str) -> Option<String> {
        header(split(&normalise(&self.data)).0, name)
    }

    /// A header's value with RFC 2047 encoded words decoded (`=?utf-8?b?…?=`).
    pub fn decoded_header(&self, name: &str) -> Option<String> {
        self.header(name).map(|value| decode_words(&value))
    }

    /// The subject, decoded; empty when there is none.
    pub fn subject(&self) -> String {
        self.decoded_header("Subject").unwrap_or_default()
    }

    /// The top-level media type, lower case: `multipart/alternative`, `text/plain`.
    pub fn content_type(&self) -> String {
        media_type(split(&normalise(&self.data)).0)
    }

    /// The decoded `text/plain` part (line ends as `\n`, without the trailing ones the transfer
    /// adds).
    pub fn text(&self) -> Option<String> {
        self.part("text/plain")
    }

    /// The decoded `text/html` part (line ends as in [`Self::text`]).
    pub fn html(&self) -> Option<String> {
        self.part("text/html")
    }

    /// The media types of the leaf parts, in order.
    pub fn part_types(&self) -> Vec<String> {
        let mut leaves = Vec::new();
        leaf_parts(&normalise(&self.data), &mut leaves);
        leaves.into_iter().map(|(kind, _)| kind).collect()
    }

    fn part(&self, kind: &str) -> Option<String> {
        let mut leaves = Vec::new();
        leaf_parts(&normalise(&self.data), &mut leaves);
        leaves
            .into_iter()
            .find(|(leaf, _)| leaf == kind)
            .map(|(_, body)| body)
    }
}

fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// (header block, body) of an entity.
fn split(entity: &str) -> (&str, &str) {
    entity.split_once("\n\n").unwrap_or((entity, ""))
}

fn header(head: &str, name: &str) -> Option<String> {
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

fn media_type(head: &str) -> String {
    header(head, "Content-Type")
        .and_then(|value| value.split(';').next().map(|t| t.trim().to_lowercase()))
        .unwrap_or_else(|| "text/plain".into())
}

/// A parameter of a header value: `boundary` of `multipart/alternative; boundary="x"`.
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|param| {
        let (key, raw) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| raw.trim().trim_matches('"').to_owned())
    })
}

/// Collects (media type, decoded body) of every non-multipart part of `entity`.
fn leaf_parts(entity: &str, leaves: &mut Vec<(String, String)>) {
    let (head, body) = split(entity);
    let kind = media_type(head);
    if kind.starts_with("multipart/") {
        let Some(boundary) = header(head, "Content-Type").and_then(|v| parameter(&v, "boundary"))
        else {
            return;
        };
        let delimiter = format!("--{boundary}");
        for part in body.split(&delimiter).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let part = part.strip_prefix('\n').unwrap_or(part);
            leaf_parts(part.strip_suffix('\n').unwrap_or(part), leaves);
        }
        return;
    }
    let encoding = header(head, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_lowercase();
    let bytes = match encoding.as_str() {
        "quoted-printable" => quoted_printable(&body.replace("=\n", "")),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .unwrap_or_default()
        }
        _ => body.as_bytes().to_vec(),
    };
    let text = normalise(&String::from_utf8_lossy(&bytes));
    leaves.push((kind, text.trim_end_matches('\n').to_owned()));
}

/// `=XX` escapes undone (soft line breaks already removed).
fn quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// RFC 2047: `=?utf-8?b?…?=` and `=?utf-8?q?…?=` words decoded (as UTF-8), the white space
/// between two adjacent words dropped.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        match encoded_word(candidate) {
            Some((decoded, length)) => {
                if !(after_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&decoded);
                rest = &candidate[length..];
                after_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &candidate[2..];
                after_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One encoded word at the start of `text`: its decoded text and its length.
fn encoded_word(text: &str) -> Option<(String, usize)> {
    let inner = text.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let payload = &inner[..end];
    let bytes = match encoding {
        "B" | "b" => base64::engine::general_purpose::STANDARD
            .decode(payload)
            .ok()?,
        "Q" | "q" => quoted_printable(&payload.replace('_', " ")),
        _ => return None,
    };
    let length = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    Some((String::from_utf8_lossy(&bytes).into_owned(), length))
}

#[derive(Clone, Default)]
struct Sink {
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    refusals: Arc<Mutex<HashMap<String, (u16, &'static str)>>>,
    current: ReceivedMail,
}

impl Handler for Sink {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.current = ReceivedMail {
            from: from.to_owned(),
            ..ReceivedMail::default()
        };
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let refusal = self
            .refusals
            .lock()
            .ok()
            .and_then(|r| r.get(&to.to_lowercase()).copied());
        match refusal {
            Some((code, text)) => Response::custom(code, text.to_owned()),
            None => {
                self.current.to.push(to.to_owned());
                response::OK
            }
        }
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.current.data.push_str(&String::from_utf8_lossy(buf));
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Ok(mut inbox) = self.inbox.lock() {
            inbox.push(std::mem::take(&mut self.current));
        }
        response::OK
    }
}

/// The server; its inbox and refusals are shared with the serving thread.
pub struct TestSmtp {
    port: u16,
    sink: Sink,
}

impl TestSmtp {
    /// Starts a server on a free loopback port; it lives until the test process ends.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind SMTP port");
        let port = listener.local_addr().expect("address").port();
        let sink = Sink::default();
        let mut server = Server::new(sink.clone());
        server
            .with_name("smtp.test")
            .with_ssl(SslConfig::None)
            .expect("plain SMTP")
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, sink }
    }

    /// `smtp://127.0.0.1:<port>`, for `LIAISON_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Refuses mail to `address` with `550 5.1.1 no such user`.
    pub fn refuse_permanently(&self, address: &str) {
        self.refuse(address, 550, "5.1.1 no such user");
    }

    /// Refuses mail to `address` with `451 4.3.0 try again later`.
    pub fn refuse_temporarily(&self, address: &str) {
        self.refuse(address, 451, "4.3.0 try again later");
    }

    /// Answers `RCPT TO:<address>` with `code text` from now on.
    pub fn refuse(&self, address: &str, code: u16, text: &'static str) {
        self.sink
            .refusals
            .lock()
            .expect("refusals")
            .insert(address.to_lowercase(), (code, text));
    }

    /// Accepts mail to `address` again.
    pub fn accept(&self, address: &str) {
        self.sink
            .refusals
            .lock()
            .expect("refusals")
            .remove(&address.to_lowercase());
    }

    /// Every message accepted so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.sink
            .inbox
            .lock()
            .map(|inbox| inbox.clone())
            .unwrap_or_default()
    }

    /// Waits (at most `timeout`) until `count` messages have arrived; returns what is there.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count || tokio::time::Instant::now() >= deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
