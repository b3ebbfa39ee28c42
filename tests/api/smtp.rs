//! A real SMTP server on loopback for tests (mailin-embedded): it records what it receives and
//! can refuse chosen recipients permanently (550) or temporarily (451).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{Handler, Response, Server, SslConfig, response};

/// One message as the server received it.
#[derive(Clone, Debug, Default)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl ReceivedMail {
    /// A header's value (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }
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

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Refuses mail to `address` with `550 5.1.1`.
    pub fn refuse_permanently(&self, address: &str) {
        self.set_refusal(address, Some((550, "5.1.1 no such user")));
    }

    /// Refuses mail to `address` with `451 4.3.0`.
    pub fn refuse_temporarily(&self, address: &str) {
        self.set_refusal(address, Some((451, "4.3.0 try again later")));
    }

    pub fn accept(&self, address: &str) {
        self.set_refusal(address, None);
    }

    fn set_refusal(&self, address: &str, refusal: Option<(u16, &'static str)>) {
        let mut refusals = self.sink.refusals.lock().expect("refusals");
        match refusal {
            Some(refusal) => refusals.insert(address.to_lowercase(), refusal),
            None => refusals.remove(&address.to_lowercase()),
        };
    }

    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.sink
            .inbox
            .lock()
            .map(|inbox| inbox.clone())
            .unwrap_or_default()
    }

    /// Waits (at most `timeout`) until `count` messages have arrived.
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
