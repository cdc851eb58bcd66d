//! A scripted gateway: canned answers per method and path, in order (the last one repeats),
//! and `404 page not found` (Go's mux) for anything else. For hostile and odd answers the
//! reference gateway never gives, including the ones no canned body can be: bodies too large
//! to hold, bodies that never end, and answers that trickle (see [`Answer`]).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use super::proxy::read_request;

/// One answer of the scripted gateway.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A status and a whole body (`text/event-stream` when it looks like events).
    Body(u16, String),
    /// HTTP 200 with a declared length of `bytes`: `prefix`, then padding generated chunk by
    /// chunk, so the test never holds the body it sends.
    Huge {
        content_type: &'static str,
        prefix: String,
        bytes: u64,
    },
    /// HTTP 200, chunked, without end: `prefix`, then `unit` forever.
    Endless {
        content_type: &'static str,
        prefix: String,
        unit: String,
    },
    /// Slowloris: the whole answer, status line and headers included, one byte every
    /// `every`; the body is `prefix` and then padding that never completes a line.
    Trickle {
        content_type: &'static str,
        prefix: String,
        every: Duration,
    },
    /// HTTP 200 with its headers at once, then the body one byte every `every`: `prefix`,
    /// then padding that never completes a line.
    Drip {
        content_type: &'static str,
        prefix: String,
        every: Duration,
    },
    /// A redirect (`status` 3xx) to `location`.
    Redirect(u16, String),
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `"METHOD /path"`.
    pub route: String,
    pub body: String,
}

type Script = HashMap<String, VecDeque<Answer>>;

#[derive(Debug)]
pub struct Scripted {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
    log: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Scripted {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("addr");
        let script = Arc::new(Mutex::new(Script::new()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (shared, shared_log) = (Arc::clone(&script), Arc::clone(&log));
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let script = Arc::clone(&shared);
                let log = Arc::clone(&shared_log);
                tokio::spawn(async move {
                    let Some((head, raw)) = read_request(&mut socket).await else {
                        return;
                    };
                    let body = String::from_utf8_lossy(&raw[head.len()..]).into_owned();
                    let mut words = head.split_whitespace();
                    let method = words.next().unwrap_or("");
                    let path = words.next().unwrap_or("").split('?').next().unwrap_or("");
                    let route = format!("{method} {path}");
                    let answer = {
                        let mut script = script.lock().expect("script");
                        match script.get_mut(&route) {
                            Some(answers) if answers.len() > 1 => {
                                answers.pop_front().expect("answer")
                            }
                            Some(answers) => answers.front().cloned().expect("answer"),
                            None => Answer::Body(404, "404 page not found\n".to_owned()),
                        }
                    };
                    log.lock().expect("log").push(Received { route, body });
                    // A client that hangs up mid-answer is what the hostile answers expect.
                    let _ = write_answer(&mut socket, answer).await;
                });
            }
        });
        Self {
            addr,
            script,
            log,
            task,
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }

    /// Requests received so far with this method.
    pub fn received(&self, method: &str) -> Vec<String> {
        let prefix = format!("{method} ");
        self.requests()
            .into_iter()
            .filter(|r| r.route.starts_with(&prefix))
            .map(|r| r.route)
            .collect()
    }

    /// The bodies of the requests received for `"METHOD /path"`, in order.
    pub fn bodies(&self, route: &str) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r.route == route)
            .map(|r| r.body)
            .collect()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers for `"METHOD /path"`, given in order; the last one repeats.
    pub fn on(&self, route: &str, answers: &[(u16, &str)]) {
        self.answer(
            route,
            answers
                .iter()
                .map(|(s, b)| Answer::Body(*s, (*b).to_owned()))
                .collect(),
        );
    }

    /// [`Scripted::on`] with any kind of [`Answer`].
    pub fn answer(&self, route: &str, answers: Vec<Answer>) {
        self.script
            .lock()
            .expect("script")
            .insert(route.to_owned(), answers.into());
    }
}

/// Padding: 64 KiB of one byte, written again and again.
fn padding() -> Vec<u8> {
    vec![b'x'; 64 * 1024]
}

pub async fn write_answer<S: AsyncWrite + Unpin>(
    socket: &mut S,
    answer: Answer,
) -> std::io::Result<()> {
    match answer {
        Answer::Body(status, body) => {
            let content_type = if body.starts_with("id:") || body.starts_with("event:") {
                "text/event-stream"
            } else {
                "text/plain; charset=utf-8"
            };
            let answer = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await
        }
        Answer::Huge {
            content_type,
            prefix,
            bytes,
        } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {bytes}\r\nConnection: close\r\n\r\n{prefix}"
            );
            socket.write_all(head.as_bytes()).await?;
            let pad = padding();
            let mut left = bytes.saturating_sub(prefix.len() as u64);
            while left > 0 {
                let n = usize::try_from(left.min(pad.len() as u64)).expect("small");
                socket.write_all(&pad[..n]).await?;
                left -= n as u64;
            }
            socket.flush().await
        }
        Answer::Endless {
            content_type,
            prefix,
            unit,
        } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            );
            socket.write_all(head.as_bytes()).await?;
            write_chunk(socket, prefix.as_bytes()).await?;
            let block = unit.repeat((16 * 1024 / unit.len().max(1)).max(1));
            loop {
                write_chunk(socket, block.as_bytes()).await?;
            }
        }
        Answer::Trickle {
            content_type,
            prefix,
            every,
        } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: 1000000000\r\nConnection: close\r\n\r\n{prefix}"
            );
            let mut ticker = tokio::time::interval(every);
            for byte in head.bytes().chain(std::iter::repeat(b'x')) {
                ticker.tick().await;
                socket.write_all(&[byte]).await?;
                socket.flush().await?;
            }
            Ok(())
        }
        Answer::Drip {
            content_type,
            prefix,
            every,
        } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: 1000000000\r\nConnection: close\r\n\r\n"
            );
            socket.write_all(head.as_bytes()).await?;
            socket.flush().await?;
            let mut ticker = tokio::time::interval(every);
            for byte in prefix.bytes().chain(std::iter::repeat(b'x')) {
                ticker.tick().await;
                socket.write_all(&[byte]).await?;
                socket.flush().await?;
            }
            Ok(())
        }
        Answer::Redirect(status, location) => {
            let answer = format!(
                "HTTP/1.1 {status} X\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            socket.write_all(answer.as_bytes()).await
        }
    }
}

async fn write_chunk<S: AsyncWrite + Unpin>(socket: &mut S, data: &[u8]) -> std::io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    socket
        .write_all(format!("{:x}\r\n", data.len()).as_bytes())
        .await?;
    socket.write_all(data).await?;
    socket.write_all(b"\r\n").await
}

/// j1 as the reviewer saw it: the `/context` item, and the content of a job record that
/// carries no payload and no labels.
pub fn seen_j1() -> countersign_core::verify::SeenItem {
    let item = countersign_core::approval::ApprovalItem::from_value(serde_json::json!({
        "job": {"id": "j1", "state": "APPROVAL_REQUIRED"},
        "job_hash": "h1", "policy_snapshot": "s1|cfg:a", "decision": "REQUIRE_APPROVAL"
    }))
    .expect("item");
    let content = countersign_core::content::CardContent::new(
        &item,
        serde_json::Value::Null,
        &Default::default(),
    );
    countersign_core::verify::SeenItem::from(&item).with_content(content)
}
