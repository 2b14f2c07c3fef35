//! Serving a listener: the connection cap, the request-head read timeout, and JSON bodies on
//! the refusals the HTTP/1.1 parser makes before any handler runs.
//!
//! * At most `limits.max_connections` connections per listener are served at once; one over
//!   it is answered `503 too_many_connections` (with `Retry-After: 1`) and closed at once, so
//!   clients that hold connections open (a byte at a time) cannot take every descriptor.
//! * A connection that has not sent a complete request head within
//!   `limits.header_read_timeout_ms` (on a new connection, or idle between keep-alive
//!   requests) is closed. The body's own timeout is the handlers' (`ingest::read_body`).
//! * hyper answers a request it cannot parse (bad request line, bad `Content-Length`, too many
//!   or too large headers, over-long URL) with an empty 400, 431 or 414 of its own.
//!   [`RefusalBodies`] rewrites those responses on their way out to carry the documented
//!   `{"error", "message"}` body, as every other refusal does.
//! * On an HTTPS listener (`server.tls_cert_file`) the same holds for each TLS connection:
//!   it takes a slot from accept, its handshake must end within the head's time (then the
//!   head has that time again), and one over the cap gets the 503 after a handshake.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::outcome::RejectReason;
use crate::telemetry::{Counter, Listener, Telemetry};

/// Most headers in one request; more gets `431 headers_too_large` (hyper's default).
pub const MAX_HEADERS: usize = 100;
/// Largest request head (request line and headers) in bytes; larger gets
/// `431 headers_too_large`.
pub const MAX_HEAD_BYTES: usize = 128 * 1024;

/// How one listener serves its connections.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// Accepts connections on `listener` and serves `router` on each until `shutdown` resolves,
/// then lets in-flight requests finish. With `tls`, each connection is HTTPS: the cap counts
/// it from accept, and its TLS handshake must end within the head's time,
/// `limits.header_read_timeout`, before that time starts again for the request head.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    which: Listener,
    telemetry: Arc<Telemetry>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let acceptor = tls.map(TlsAcceptor::from);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_headers(MAX_HEADERS)
        .max_buf_size(MAX_HEAD_BYTES);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors or a connection reset before accept: keep serving the
                // others, after a pause so a full descriptor table is not spun on.
                Err(e) => {
                    tracing::warn!(listener = which.as_str(), error = %e, "Accepting a connection failed.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            telemetry.add(Counter::ConnectionsRefused(which), 1);
            tokio::spawn(refuse_over_cap(stream, acceptor.clone()));
            continue;
        };
        let _ = stream.set_nodelay(true);
        telemetry.connection_opened(which);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // What `into_make_service_with_connect_info` would insert: the enrich stage's
            // client address and the per-client rate limit read it.
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            async move { Ok::<_, Infallible>(router.call(request).await.unwrap_or_else(|e| match e {})) }
        });
        let telemetry = Arc::clone(&telemetry);
        let Some(acceptor) = acceptor.clone() else {
            let io = TokioIo::new(RefusalBodies::new(stream, which, Arc::clone(&telemetry)));
            let connection = graceful.watch(builder.serve_connection(io, service));
            tokio::spawn(async move {
                ended(connection.await, which, peer, &telemetry);
                telemetry.connection_closed(which);
                drop(slot);
            });
            continue;
        };
        // Taken now, so that shutdown waits for a connection still in its handshake too.
        let watcher = graceful.watcher();
        let builder = builder.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => {
                    let io =
                        TokioIo::new(RefusalBodies::new(stream, which, Arc::clone(&telemetry)));
                    let connection = watcher.watch(builder.serve_connection(io, service));
                    ended(connection.await, which, peer, &telemetry);
                }
                Ok(Err(e)) => {
                    telemetry.add(Counter::TlsHandshakeFailures(which), 1);
                    tracing::debug!(listener = which.as_str(), %peer, error = %e, "TLS handshake failed.");
                }
                Err(_) => {
                    telemetry.add(Counter::HeaderTimeouts(which), 1);
                    tracing::debug!(listener = which.as_str(), %peer, "TLS handshake timed out.");
                }
            }
            telemetry.connection_closed(which);
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Counts and logs how a served connection ended.
fn ended(
    result: Result<(), hyper::Error>,
    which: Listener,
    peer: SocketAddr,
    telemetry: &Telemetry,
) {
    if let Err(e) = result {
        if e.is_timeout() {
            telemetry.add(Counter::HeaderTimeouts(which), 1);
        }
        tracing::debug!(listener = which.as_str(), %peer, error = %e, "Connection ended with an error.");
    }
}

/// A whole `connection: close` response with the documented JSON refusal body, written
/// below hyper (for a connection hyper never serves, or in place of hyper's own refusal).
fn raw_refusal(status_line: &str, reason: RejectReason, message: &str, headers: &str) -> Vec<u8> {
    let body = serde_json::json!({ "error": reason.as_str(), "message": message }).to_string();
    format!(
        "HTTP/1.1 {status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answers a connection over the cap without reading its request, then closes it; over
/// TLS, after the handshake. Either way within 1 s.
async fn refuse_over_cap(stream: TcpStream, tls: Option<TlsAcceptor>) {
    let response = raw_refusal(
        "503 Service Unavailable",
        RejectReason::TooManyConnections,
        "the gateway is serving limits.max_connections connections; retry in 1 s",
        "retry-after: 1\r\n",
    );
    async fn write(mut stream: impl AsyncWrite + Unpin, response: &[u8]) -> io::Result<()> {
        stream.write_all(response).await?;
        stream.shutdown().await
    }
    let refuse = async {
        match tls {
            None => write(stream, &response).await,
            Some(acceptor) => write(acceptor.accept(stream).await?, &response).await,
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), refuse).await;
}

/// The connection's stream, with hyper's own empty parse-error responses replaced on the
/// way out by ones with the documented JSON body.
pub struct RefusalBodies<S> {
    inner: S,
    /// A replacement response not yet fully written, and how much of it was.
    pending: Vec<u8>,
    written: usize,
    which: Listener,
    telemetry: Arc<Telemetry>,
}

impl<S> RefusalBodies<S> {
    pub fn new(inner: S, which: Listener, telemetry: Arc<Telemetry>) -> Self {
        RefusalBodies {
            inner,
            pending: Vec::new(),
            written: 0,
            which,
            telemetry,
        }
    }
}

impl<S: AsyncWrite + Unpin> RefusalBodies<S> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for RefusalBodies<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for RefusalBodies<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        if let Some((replacement, reason)) = parser_refusal_with_body(buf) {
            this.telemetry
                .add(Counter::ParserRefusals(this.which, reason), 1);
            this.pending = replacement;
            // The whole of hyper's response is taken; ours goes out by the next flush.
            if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    // Without vectored writes hyper hands over each response head in one buffer, which is
    // what [`parser_refusal_with_body`] looks at.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// When `bytes` is one of hyper's automatic parse-error responses (a 400, 414 or 431 head
/// with `content-length: 0` and nothing after it: every response of the gateway's own
/// handlers has a body), the same status with the JSON body and `connection: close`, and its
/// reason code.
fn parser_refusal_with_body(bytes: &[u8]) -> Option<(Vec<u8>, RejectReason)> {
    let (status_line, reason, message) = if bytes.starts_with(b"HTTP/1.1 400 ") {
        (
            "400 Bad Request",
            RejectReason::MalformedRequest,
            "the request line, a header or Content-Length is not valid HTTP/1.1",
        )
    } else if bytes.starts_with(b"HTTP/1.1 431 ") {
        (
            "431 Request Header Fields Too Large",
            RejectReason::HeadersTooLarge,
            "more than 100 headers, or a request head over 131072 bytes",
        )
    } else if bytes.starts_with(b"HTTP/1.1 414 ") {
        (
            "414 URI Too Long",
            RejectReason::UriTooLong,
            "the request target is too long",
        )
    } else {
        return None;
    };
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..head_end]).ok()?;
    let empty = head
        .split("\r\n")
        .any(|line| line.eq_ignore_ascii_case("content-length: 0"));
    if head_end != bytes.len() || !empty {
        return None;
    }
    let date = head
        .split("\r\n")
        .find(|line| line.len() > 5 && line[..5].eq_ignore_ascii_case("date:"))
        .map(|line| format!("{line}\r\n"))
        .unwrap_or_default();
    Some((raw_refusal(status_line, reason, message, &date), reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_empty_parse_error_heads_are_rewritten() {
        let hyper_400 = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Thu, 26 Nov 2026 09:00:00 GMT\r\n\r\n";
        let (out, reason) = parser_refusal_with_body(hyper_400).expect("rewritten");
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(reason, RejectReason::MalformedRequest);
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(
            text.contains("date: Thu, 26 Nov 2026 09:00:00 GMT\r\n"),
            "{text}"
        );
        let (head, body) = text.split_once("\r\n\r\n").expect("head");
        let json: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(json["error"], "malformed_request");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        for (bytes, reason) in [
            (
                &b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n"[..],
                RejectReason::HeadersTooLarge,
            ),
            (
                &b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n"[..],
                RejectReason::UriTooLong,
            ),
        ] {
            assert_eq!(
                parser_refusal_with_body(bytes).map(|(_, r)| r),
                Some(reason)
            );
        }
        // The handlers' own refusals carry a body and pass untouched.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 13\r\n\r\n{\"error\":\"x\"}";
        assert!(parser_refusal_with_body(ours).is_none());
        assert!(
            parser_refusal_with_body(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none()
        );
    }
}
