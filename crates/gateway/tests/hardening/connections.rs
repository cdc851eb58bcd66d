//! Item 8: slow and idle connections are closed, open connections are capped, and a graceful
//! shutdown does not wait for a half-sent request forever. Limits are set short here; nothing
//! asserts how long anything took, only that it happened.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// Generous: the test waits this long for what should take a second.
const EVENTUALLY: Duration = Duration::from_secs(30);

async fn connect(h: &Harness) -> TcpStream {
    TcpStream::connect(h.running.addr).await.expect("connects")
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let read = async {
        let mut buf = [0_u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(EVENTUALLY, read)
        .await
        .expect("the server closed the connection");
    String::from_utf8_lossy(&all).into_owned()
}

async fn short_timeouts() -> Harness {
    Harness::start_with(|c| {
        c.connection_limits.header_read_timeout = Duration::from_secs(1);
    })
    .await
}

#[tokio::test]
async fn a_half_sent_request_is_closed() {
    let h = short_timeouts().await;
    let mut stream = connect(&h).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("writes");
    let answer = read_to_close(&mut stream).await;
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let h = short_timeouts().await;
    let mut stream = connect(&h).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("writes");
    // The answer arrives, then the connection is closed for idling, not kept forever.
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn open_connections_are_capped() {
    let h = Harness::start_with(|c| {
        c.connection_limits.max_connections = 2;
        c.connection_limits.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(connect(&h).await);
    }
    let settled = async {
        while h.running.open_connections() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(EVENTUALLY, settled)
        .await
        .expect("two accepted");
    for _ in 0..10 {
        assert!(h.running.open_connections() <= 2);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Closing the held ones lets the waiting ones in.
    let mut waiting = idle.split_off(2);
    drop(idle);
    let last = waiting.last_mut().expect("a waiting connection");
    last.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("writes");
    let answer = read_to_close(last).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_half_sent_request() {
    let h = Harness::start_with(|c| {
        c.connection_limits.header_read_timeout = Duration::from_secs(3600);
        c.connection_limits.shutdown_grace = Duration::from_millis(200);
    })
    .await;
    let mut stream = connect(&h).await;
    stream
        .write_all(b"POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("writes");
    let settled = async {
        while h.running.open_connections() < 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(EVENTUALLY, settled)
        .await
        .expect("accepted");
    let Harness { running, dir, .. } = h;
    tokio::time::timeout(EVENTUALLY, running.shutdown())
        .await
        .expect("shutdown finished")
        .expect("clean shutdown");
    read_to_close(&mut stream).await;
    drop(dir);
}
