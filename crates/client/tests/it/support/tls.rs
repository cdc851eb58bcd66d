//! A gateway on loopback behind a self-signed certificate (made fresh by `rcgen`), answering
//! every request it can read with one canned body: the client must refuse its certificate
//! unless told to trust it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rcgen::{generate_simple_self_signed, CertifiedKey};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use super::proxy::read_request;
use super::scripted::{write_answer, Answer};

pub struct SelfSigned {
    pub addr: SocketAddr,
    /// The certificate, for a client told to trust it.
    pub cert_pem: String,
    /// Requests that got through a completed handshake.
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SelfSigned {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SelfSigned {
    pub async fn start(body: &str) -> Self {
        let CertifiedKey { cert, signing_key } =
            generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("self-signed certificate");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
        let config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&requests);
        let body = body.to_owned();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (acceptor, counted, body) =
                    (acceptor.clone(), Arc::clone(&counted), body.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake here.
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    if read_request(&mut tls).await.is_some() {
                        counted.fetch_add(1, Ordering::SeqCst);
                        if write_answer(&mut tls, Answer::Body(200, body))
                            .await
                            .is_ok()
                        {
                            let _ = tls.shutdown().await;
                        }
                    }
                });
            }
        });
        Self {
            addr,
            cert_pem: cert.pem(),
            requests,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}
