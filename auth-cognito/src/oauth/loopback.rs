//! The loopback redirect receiver of a native app's browser sign-in (RFC 8252 section 7.3):
//! a one-shot HTTP server on `localhost:<port>` that waits for the authorization server to
//! send the browser back to `http://localhost:<port>/<path>?code=...&state=...`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

/// What the browser brought back: the redirect's query parameters.
#[derive(Debug)]
pub(crate) struct Redirect {
    pub(crate) params: BTreeMap<String, String>,
}

/// A listening receiver; dropping it stops the server.
pub(crate) struct Loopback {
    redirect_uri: String,
    received: oneshot::Receiver<Redirect>,
    _stop: watch::Sender<()>,
}

const DONE_PAGE: &str = "<!doctype html><html lang=en><meta charset=utf-8><title>Signed in</title>\
<body style=\"font-family:sans-serif;margin:3em\"><h1>You are signed in</h1>\
<p>You can close this tab and return to the application.</p></body></html>";

const ERROR_PAGE: &str = "<!doctype html><html lang=en><meta charset=utf-8><title>Sign-in failed</title>\
<body style=\"font-family:sans-serif;margin:3em\"><h1>The sign-in did not complete</h1>\
<p>You can close this tab; the application says what happened.</p></body></html>";

impl Loopback {
    /// Listens on `127.0.0.1:port` (and `[::1]:port` where IPv6 is available, since browsers
    /// may resolve `localhost` to either); `port` 0 takes a free port. The redirect URI is
    /// `http://localhost:<port><path>`, which must be registered in the app client exactly.
    pub(crate) async fn bind(port: u16, path: &str) -> std::io::Result<Self> {
        let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        let port = v4.local_addr()?.port();
        let v6 = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await.ok();
        let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
        let redirect_uri = format!("http://localhost:{port}{path}");
        let (sender, received) = oneshot::channel();
        let sender = Arc::new(Mutex::new(Some(sender)));
        let (stop, stopped) = watch::channel(());
        for listener in std::iter::once(v4).chain(v6) {
            tokio::spawn(serve(listener, path.clone(), Arc::clone(&sender), stopped.clone()));
        }
        Ok(Self { redirect_uri, received, _stop: stop })
    }

    /// The redirect URI to send in the authorization request.
    pub(crate) fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the browser to come back (the caller bounds the wait).
    pub(crate) async fn wait(self) -> Option<Redirect> {
        self.received.await.ok()
    }
}

type Sender = Arc<Mutex<Option<oneshot::Sender<Redirect>>>>;

async fn serve(
    listener: TcpListener,
    path: String,
    sender: Sender,
    mut stopped: watch::Receiver<()>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = stopped.changed() => return,
        };
        let (path, sender) = (path.clone(), Arc::clone(&sender));
        let service = service_fn(move |request: Request<Incoming>| {
            let answer = answer(&request, &path, &sender);
            async move { Ok::<_, Infallible>(answer) }
        });
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = stopped.changed() => {}
            }
        });
    }
}

/// The redirect on `path` is handed over once and answered with a small page; anything
/// else (a favicon, a second tab) gets a 404.
fn answer(request: &Request<Incoming>, path: &str, sender: &Sender) -> Response<Full<Bytes>> {
    if request.uri().path() != path {
        return page(StatusCode::NOT_FOUND, "<!doctype html><title>Not found</title>");
    }
    let params: BTreeMap<String, String> =
        url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let failed = params.contains_key("error") || !params.contains_key("code");
    let taken = sender.lock().ok().and_then(|mut sender| sender.take());
    match taken {
        Some(sender) => {
            let _ = sender.send(Redirect { params });
            page(StatusCode::OK, if failed { ERROR_PAGE } else { DONE_PAGE })
        }
        None => page(StatusCode::OK, ERROR_PAGE),
    }
}

fn page(status: StatusCode, html: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(html.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(hyper::header::CACHE_CONTROL, hyper::header::HeaderValue::from_static("no-store"));
    response
}
