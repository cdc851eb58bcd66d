//! A scripted gateway: canned answers per method and path, in order (the last one repeats),
//! and `404 page not found` (Go's mux) for anything else. For hostile and odd answers the
//! reference gateway never gives.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use super::proxy::read_request;

type Script = HashMap<String, VecDeque<(u16, String)>>;

#[derive(Debug)]
pub struct Scripted {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
    /// Every request received, as `"METHOD /path"`, with its body.
    log: Arc<Mutex<Vec<(String, String)>>>,
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
                    let key = format!("{method} {path}");
                    log.lock().expect("log").push((key.clone(), body));
                    let (status, body) = {
                        let mut script = script.lock().expect("script");
                        match script.get_mut(&key) {
                            Some(answers) if answers.len() > 1 => {
                                answers.pop_front().expect("answer")
                            }
                            Some(answers) => answers.front().cloned().expect("answer"),
                            None => (404, "404 page not found\n".to_owned()),
                        }
                    };
                    let content_type = if body.starts_with("id:") || body.starts_with("event:") {
                        "text/event-stream"
                    } else {
                        "text/plain; charset=utf-8"
                    };
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
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

    /// Requests received so far with this method.
    pub fn received(&self, method: &str) -> Vec<String> {
        let prefix = format!("{method} ");
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|(line, _)| line.starts_with(&prefix))
            .map(|(line, _)| line.clone())
            .collect()
    }

    /// The bodies of the requests received for `"METHOD /path"`, in order.
    pub fn bodies(&self, route: &str) -> Vec<String> {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|(line, _)| line == route)
            .map(|(_, body)| body.clone())
            .collect()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers for `"METHOD /path"`, given in order; the last one repeats.
    pub fn on(&self, route: &str, answers: &[(u16, &str)]) {
        self.script.lock().expect("script").insert(
            route.to_owned(),
            answers.iter().map(|(s, b)| (*s, (*b).to_owned())).collect(),
        );
    }
}
