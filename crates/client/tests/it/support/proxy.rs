//! A loopback HTTP/1.1 proxy the tests control: one request per connection, forwarded to the
//! gateway with `Connection: close`. Decision POSTs can be given faults per job, any request
//! can be held at a chosen point of the protocol ([`Proxy::intercept`]), and a v0.9 mode makes
//! the gateway look like Cordum v0.9 (no extensions, 409 on repeats, an oldest-first list with
//! an upper-bound cursor and `/decisions`: see `v09.rs`).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// What happens to one decision POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection without forwarding: the gateway never sees the request.
    DropBeforeCommit,
    /// Forward, let the gateway commit, then close without answering.
    DropAfterCommit,
    /// Answer this status (502, 503, 504) without forwarding.
    Status(u16),
    /// Forward, let the gateway commit, then answer this status instead (a load balancer
    /// that gave up waiting).
    StatusAfterCommit(u16),
    /// Forward, let the gateway commit, then hold the answer this long.
    Stall(Duration),
    /// Forward the request twice, as a network that repeats it would; the client gets the
    /// second answer.
    Duplicate,
}

/// Which request [`Proxy::intercept`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intercept {
    /// The n-th request (0-based) the proxy receives from now on.
    Nth(usize),
    /// The next decision POST for this job.
    DecisionOf(String),
}

/// A request held by the proxy. Send [`Resume`] to go on.
#[derive(Debug)]
pub struct Held {
    pub resume: oneshot::Sender<Resume>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    Forward,
    /// Close the connection without forwarding.
    Drop,
}

/// What became of one decision POST that reached the proxy, judged by the gateway's own
/// answer (before any fault or v0.9 rewrite hides it from the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Post {
    /// The gateway committed this decision now (a 2xx without `status: already_*`).
    Fresh,
    /// The gateway answered an idempotent replay: the decision was already in effect.
    Replay,
    /// Any other answer, or none (not forwarded, or the gateway did not answer).
    Other,
}

#[derive(Debug, Default)]
struct Plan {
    faults: HashMap<String, VecDeque<Fault>>,
    v09: bool,
    posts: HashMap<String, Vec<Post>>,
    /// Faults that met a request.
    applied: usize,
    /// Request lines received so far, in order (what [`Intercept::Nth`] counts).
    received: Vec<String>,
    intercepts: Vec<(Intercept, oneshot::Sender<Held>)>,
}

#[derive(Debug)]
pub struct Proxy {
    pub addr: SocketAddr,
    plan: Arc<Mutex<Plan>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub async fn start(upstream: SocketAddr, v09: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy addr");
        let plan = Arc::new(Mutex::new(Plan {
            v09,
            ..Plan::default()
        }));
        let shared = Arc::clone(&plan);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, upstream, Arc::clone(&shared)));
            }
        });
        Self { addr, plan, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Faults for the next decision POSTs of `job_id`, in order.
    pub fn set_faults(&self, job_id: &str, faults: Vec<Fault>) {
        self.plan
            .lock()
            .expect("plan")
            .faults
            .insert(job_id.to_owned(), faults.into());
    }

    /// The decision POSTs seen for `job_id`, in order.
    pub fn posts(&self, job_id: &str) -> Vec<Post> {
        self.plan
            .lock()
            .expect("plan")
            .posts
            .get(job_id)
            .cloned()
            .unwrap_or_default()
    }

    /// How many faults met a request so far.
    pub fn faults_applied(&self) -> usize {
        self.plan.lock().expect("plan").applied
    }

    /// Holds the request `which` names before it goes upstream (or meets its fault) and hands
    /// it over; nothing is held when the receiver is dropped first.
    pub fn intercept(&self, which: Intercept) -> oneshot::Receiver<Held> {
        let (tx, rx) = oneshot::channel();
        let mut plan = self.plan.lock().expect("plan");
        let which = match which {
            Intercept::Nth(n) => Intercept::Nth(plan.received.len() + n),
            other => other,
        };
        plan.intercepts.push((which, tx));
        rx
    }

    /// The request lines received so far, in order.
    pub fn received(&self) -> Vec<String> {
        self.plan.lock().expect("plan").received.clone()
    }
}

/// Notes the request; the interception that wants it, if any.
fn arrive(
    plan: &Mutex<Plan>,
    line: &str,
    is_decision: bool,
    job: &str,
) -> Option<oneshot::Sender<Held>> {
    let mut plan = plan.lock().expect("plan");
    let index = plan.received.len();
    plan.received.push(line.to_owned());
    let at = plan.intercepts.iter().position(|(which, _)| match which {
        Intercept::Nth(n) => *n == index,
        Intercept::DecisionOf(of) => is_decision && of == job,
    })?;
    Some(plan.intercepts.swap_remove(at).1)
}

pub async fn read_request<S: AsyncRead + Unpin>(socket: &mut S) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((head, buf))
}

/// The request with `Connection: close` added after the request line.
fn with_close(head: &str, raw: &[u8]) -> Vec<u8> {
    let line_end = head.find("\r\n").unwrap_or(0) + 2;
    let mut out = raw[..line_end].to_vec();
    out.extend_from_slice(b"Connection: close\r\n");
    out.extend_from_slice(&raw[line_end..]);
    out
}

async fn forward(upstream: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).await.ok()?;
    up.write_all(request).await.ok()?;
    let mut response = Vec::new();
    up.read_to_end(&mut response).await.ok()?;
    Some(response)
}

/// A GET of `target` upstream with the original request's headers (its credentials); the
/// answer's body as JSON, or `None` for anything but a readable 2xx.
pub async fn forward_get(
    upstream: SocketAddr,
    head: &str,
    target: &str,
) -> Option<serde_json::Value> {
    let mut request = format!("GET {target} HTTP/1.1\r\nConnection: close\r\n");
    for line in head.split("\r\n").skip(1) {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        if line.is_empty() || ["connection", "content-length"].contains(&name.as_str()) {
            continue;
        }
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let response = forward(upstream, request.as_bytes()).await?;
    if !response.starts_with(b"HTTP/1.1 2") {
        return None;
    }
    let at = response.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    serde_json::from_slice(response.get(at..)?).ok()
}

pub fn respond_json(status: &str, body: &serde_json::Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn plain(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn serve(mut socket: TcpStream, upstream: SocketAddr, plan: Arc<Mutex<Plan>>) {
    let Some((head, raw)) = read_request(&mut socket).await else {
        return;
    };
    let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
    let path = target.split('?').next().unwrap_or("").to_owned();
    let is_decision =
        head.starts_with("POST ") && (path.ends_with("/approve") || path.ends_with("/reject"));
    let job = path.split('/').nth(4).unwrap_or("").to_owned();
    let line = head.lines().next().unwrap_or("").to_owned();
    if let Some(to) = arrive(&plan, &line, is_decision, &job) {
        let (resume, decided) = oneshot::channel();
        if to.send(Held { resume }).is_ok() && decided.await == Ok(Resume::Drop) {
            note_post(&plan, is_decision, &job, Post::Other);
            return;
        }
    }
    let (fault, v09) = {
        let mut plan = plan.lock().expect("plan");
        let fault = if is_decision {
            plan.faults.get_mut(&job).and_then(VecDeque::pop_front)
        } else {
            None
        };
        plan.applied += usize::from(fault.is_some());
        (fault, plan.v09)
    };
    let v09_missing = [
        "/context",
        "/request",
        "/payload",
        "/events",
        "/auth/session",
    ];
    if v09 && v09_missing.iter().any(|suffix| path.ends_with(suffix)) {
        let _ = socket
            .write_all(&plain("404 Not Found", "404 page not found\n"))
            .await;
        return;
    }
    if v09 && head.starts_with("GET ") {
        let answer = if path == "/api/v1/approvals" {
            Some(super::v09::list(upstream, &head, &target).await)
        } else if path.starts_with("/api/v1/jobs/") && path.ends_with("/decisions") {
            Some(super::v09::decisions(upstream, &head, &job).await)
        } else {
            None
        };
        if let Some(answer) = answer {
            let _ = socket.write_all(&answer).await;
            return;
        }
    }
    match fault {
        Some(Fault::DropBeforeCommit) => {
            note_post(&plan, is_decision, &job, Post::Other);
            return;
        }
        Some(Fault::Status(status)) => {
            note_post(&plan, is_decision, &job, Post::Other);
            let _ = socket
                .write_all(&plain(&status_line(status), "upstream error"))
                .await;
            return;
        }
        _ => {}
    }
    let request = with_close(&head, &raw);
    let copies = if fault == Some(Fault::Duplicate) {
        2
    } else {
        1
    };
    let mut answer = None;
    for _ in 0..copies {
        answer = forward(upstream, &request).await;
        let post = answer.as_deref().map_or(Post::Other, judge);
        note_post(&plan, is_decision, &job, post);
    }
    let Some(mut response) = answer else {
        return;
    };
    if v09 && is_decision && contains(&response, b"\"status\":\"already_") {
        // v0.9 answers a repeat with a plain 409 that does not say who decided.
        response = plain("409 Conflict", "job not awaiting approval\n");
    }
    match fault {
        Some(Fault::DropAfterCommit) => {}
        Some(Fault::StatusAfterCommit(status)) => {
            let _ = socket
                .write_all(&plain(&status_line(status), "upstream timed out"))
                .await;
        }
        Some(Fault::Stall(how_long)) => {
            tokio::time::sleep(how_long).await;
            let _ = socket.write_all(&response).await;
        }
        _ => {
            let _ = socket.write_all(&response).await;
        }
    }
}

/// A decision POST by the gateway's own answer.
fn judge(response: &[u8]) -> Post {
    if contains(response, b"\"status\":\"already_") {
        Post::Replay
    } else if response.starts_with(b"HTTP/1.1 2") {
        Post::Fresh
    } else {
        Post::Other
    }
}

fn status_line(status: u16) -> String {
    let words = match status {
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    };
    format!("{status} {words}")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn note_post(plan: &Mutex<Plan>, is_decision: bool, job: &str, post: Post) {
    if is_decision {
        let mut plan = plan.lock().expect("plan");
        plan.posts.entry(job.to_owned()).or_default().push(post);
    }
}
