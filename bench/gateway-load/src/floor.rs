//! The HTTP floor: an axum server whose one handler reads the whole body and answers 202,
//! on any path. What the gateway's numbers are compared with: the same HTTP stack and
//! runtime doing no work.

use std::net::SocketAddr;

use anyhow::Context;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::Router;
use tokio::net::TcpListener;

async fn accept(body: Bytes) -> StatusCode {
    // The body has been read in full by the extractor; nothing else to do.
    drop(body);
    StatusCode::ACCEPTED
}

/// Serves until SIGTERM or Ctrl-C; prints `floor listening on http://ADDR` once bound.
pub async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr().context("local address")?;
    println!("floor listening on http://{addr}");
    let app = Router::new().fallback(accept);
    axum::serve(listener, app)
        .with_graceful_shutdown(stopped())
        .await
        .context("serving")
}

async fn stopped() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
