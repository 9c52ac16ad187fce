//! The HTTP/1.1 server loop: a bounded number of connections, each with a
//! deadline for its request head and for idleness, and a shutdown that ends
//! within a grace period whatever clients do.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

/// How long and how many clients may hold the server.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// For a request head to arrive in full: from the first byte of the
    /// head, or from the connection's opening for its first request.
    pub header_read_timeout: Duration,
    /// For a request to be answered once its head has arrived (a problem
    /// response answers one that takes longer).
    pub request_timeout: Duration,
    /// How long a connection may stay open, between requests, with nothing
    /// sent on it either way.
    pub keep_alive_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How long a shutdown waits for requests in flight before closing
    /// the connections that are still open.
    pub shutdown_grace: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(30),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Accepts and serves connections until `shutdown` resolves, then lets
/// requests in flight finish for at most `limits.shutdown_grace`. Returns
/// when the grace period ends (or ended).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: impl std::future::Future<Output = ()>,
) -> Instant {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (drain, draining) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // The permit is taken before `accept`: when all are in use, new
        // connections wait in the kernel's listen backlog, costing the
        // process no file descriptor, and are served in order as slots free.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {}
        match accepted {
            Ok((stream, peer)) => {
                let connection = Connection {
                    app: app.clone(),
                    limits: limits.clone(),
                    peer,
                    _permit: permit,
                };
                connections.spawn(connection.serve(stream, draining.clone()));
            }
            Err(error) => accept_failed(error).await,
        }
    }
    drop(listener);
    let deadline = Instant::now() + limits.shutdown_grace;
    let _ = drain.send(true);
    let drained = tokio::time::timeout_at(deadline, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            grace_ms = limits.shutdown_grace.as_millis() as u64,
            "closing the connections still open after the shutdown grace period"
        );
        connections.shutdown().await;
    }
    deadline
}

/// Out of file descriptors (or another passing failure): wait a little
/// rather than spin, and keep serving the connections already open.
async fn accept_failed(error: io::Error) {
    tracing::warn!(%error, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

struct Connection {
    app: Router,
    limits: HttpLimits,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn serve(self, stream: TcpStream, mut draining: watch::Receiver<bool>) {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            inner: stream,
            activity: activity.clone(),
        });
        let (app, peer, requests) = (self.app.clone(), self.peer, activity.clone());
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let in_flight = requests.request_started();
            let app = app.clone();
            async move {
                let response = app.oneshot(request.map(axum::body::Body::new)).await;
                drop(in_flight);
                response
            }
        });
        // hyper's own header timeout also runs while a connection waits
        // between requests; the watchdog below times heads and idleness
        // apart instead.
        let connection = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .header_read_timeout(None)
            .serve_connection(io, service);
        tokio::pin!(connection);
        let mut closing = *draining.borrow();
        if closing {
            connection.as_mut().graceful_shutdown();
        }
        loop {
            let check = activity.next_check(&self.limits);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, peer = %self.peer, "connection ended with an error");
                    }
                    return;
                }
                () = tokio::time::sleep_until(check) => match activity.state(&self.limits) {
                    State::HeadTooSlow => {
                        tracing::debug!(peer = %self.peer, "closing a connection: request head not received in time");
                        return;
                    }
                    State::Idle if !closing => {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    // Graceful shutdown closes an idle connection at once;
                    // one that is still open here is stuck.
                    State::Idle => return,
                    State::Busy => {}
                },
                () = activity.changed.notified() => {}
                _ = draining.changed(), if !closing => {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

const NONE: u64 = u64::MAX;

/// What a connection is doing, as its watchdog sees it. Times are
/// milliseconds since the connection was accepted.
struct Activity {
    accepted: Instant,
    in_flight: AtomicUsize,
    /// When the first byte of the next request head arrived (for the first
    /// request, when the connection opened), or `NONE`.
    head_started: AtomicU64,
    /// When the connection last had a request or sent a byte.
    last_busy: AtomicU64,
    /// Wakes the watchdog when a head starts or a request begins or ends.
    changed: Notify,
}

enum State {
    /// A request head has been arriving for longer than allowed.
    HeadTooSlow,
    /// No request and nothing sent for longer than the keep-alive timeout.
    Idle,
    Busy,
}

impl Activity {
    fn new() -> Self {
        Activity {
            accepted: Instant::now(),
            in_flight: AtomicUsize::new(0),
            head_started: AtomicU64::new(0),
            last_busy: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        self.accepted.elapsed().as_millis() as u64
    }

    fn at(&self, millis: u64) -> Instant {
        self.accepted + Duration::from_millis(millis)
    }

    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            let now = self.now();
            let started =
                self.head_started
                    .compare_exchange(NONE, now, Ordering::Relaxed, Ordering::Relaxed);
            if started.is_ok() {
                self.changed.notify_one();
            }
        }
    }

    fn bytes_written(&self) {
        self.last_busy.store(self.now(), Ordering::Relaxed);
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(NONE, Ordering::Relaxed);
        self.changed.notify_one();
        InFlight(self.clone())
    }

    fn state(&self, limits: &HttpLimits) -> State {
        let now = self.now();
        let head_started = self.head_started.load(Ordering::Relaxed);
        if head_started != NONE {
            if now.saturating_sub(head_started) >= limits.header_read_timeout.as_millis() as u64 {
                return State::HeadTooSlow;
            }
            return State::Busy;
        }
        let idle_for = now.saturating_sub(self.last_busy.load(Ordering::Relaxed));
        if self.in_flight.load(Ordering::Relaxed) == 0
            && idle_for >= limits.keep_alive_timeout.as_millis() as u64
        {
            return State::Idle;
        }
        State::Busy
    }

    /// When `state` may next change by itself; other changes notify.
    fn next_check(&self, limits: &HttpLimits) -> Instant {
        let head_started = self.head_started.load(Ordering::Relaxed);
        if head_started != NONE {
            return self.at(head_started) + limits.header_read_timeout;
        }
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            // Only the end of the request, which notifies, changes the state.
            return Instant::now() + Duration::from_secs(3600);
        }
        let idle_deadline =
            self.at(self.last_busy.load(Ordering::Relaxed)) + limits.keep_alive_timeout;
        idle_deadline.max(Instant::now() + Duration::from_millis(10))
    }
}

struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.bytes_written();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.changed.notify_one();
    }
}

/// A TCP stream that reports its traffic to the connection's watchdog.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_read();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.bytes_written();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.bytes_written();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
