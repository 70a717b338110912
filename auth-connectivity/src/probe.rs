//! Active probes: is the service's host reachable right now?

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::ConnectivityError;

/// One way of finding out whether the network works. The prober bounds each call with its
/// timeout, so an implementation need not.
#[async_trait]
pub trait Probe: fmt::Debug + Send + Sync + 'static {
    /// True if the target was reached.
    async fn probe(&self) -> bool;
}

/// Reachable if a TCP connection to `host:port` opens: for HTTPS endpoints, where the
/// question is whether the host can be reached, not whether TLS works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpProbe {
    host: String,
    port: u16,
}

impl TcpProbe {
    /// A probe of `host:port`.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self { host: host.into(), port }
    }
}

#[async_trait]
impl Probe for TcpProbe {
    async fn probe(&self) -> bool {
        TcpStream::connect((self.host.as_str(), self.port)).await.is_ok()
    }
}

/// Reachable if `HEAD <path>` over plain HTTP/1.1 gets any status line back: the server
/// answered, whatever it thought of the request. Unlike a TCP connect, this also sees a
/// proxy or server that accepts connections but drops them unanswered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpHeadProbe {
    host: String,
    port: u16,
    path: String,
}

impl HttpHeadProbe {
    /// A probe sending `HEAD path` to `host:port`. A `path` that does not start with `/`
    /// (or holds line breaks) is replaced by `/`.
    pub fn new(host: impl Into<String>, port: u16, path: impl Into<String>) -> Self {
        let path = path.into();
        let valid = path.starts_with('/') && !path.contains(['\r', '\n', ' ']);
        Self { host: host.into(), port, path: if valid { path } else { "/".to_owned() } }
    }
}

#[async_trait]
impl Probe for HttpHeadProbe {
    async fn probe(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect((self.host.as_str(), self.port)).await else {
            return false;
        };
        let host = if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let request = format!(
            "HEAD {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: auth-connectivity\r\nConnection: close\r\n\r\n",
            self.path
        );
        if stream.write_all(request.as_bytes()).await.is_err() {
            return false;
        }
        let mut status = [0_u8; 5];
        stream.read_exact(&mut status).await.is_ok() && &status == b"HTTP/"
    }
}

/// The default probe of an endpoint URL: [`HttpHeadProbe`] of `/` for `http://`,
/// [`TcpProbe`] of the host for `https://`.
pub fn probe_for_endpoint(endpoint: &str) -> Result<Arc<dyn Probe>, ConnectivityError> {
    let invalid = |reason: &str| ConnectivityError::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: http::Uri = endpoint.parse().map_err(|_| invalid("not a URL"))?;
    let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| invalid("no host"))?;
    // `http::Uri` keeps IPv6 literals in brackets; connecting needs them bare.
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    match uri.scheme_str() {
        Some("http") => Ok(Arc::new(HttpHeadProbe::new(host, uri.port_u16().unwrap_or(80), "/"))),
        Some("https") => Ok(Arc::new(TcpProbe::new(host, uri.port_u16().unwrap_or(443)))),
        _ => Err(invalid("the scheme must be http or https")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_pick_their_probe() {
        let probe = probe_for_endpoint("http://127.0.0.1:9229/").unwrap();
        assert_eq!(
            format!("{probe:?}"),
            format!("{:?}", HttpHeadProbe::new("127.0.0.1", 9229, "/"))
        );
        let probe = probe_for_endpoint("https://cognito-idp.eu-west-1.amazonaws.com/").unwrap();
        assert_eq!(
            format!("{probe:?}"),
            format!("{:?}", TcpProbe::new("cognito-idp.eu-west-1.amazonaws.com", 443))
        );
        let probe = probe_for_endpoint("http://[::1]:8080").unwrap();
        assert_eq!(format!("{probe:?}"), format!("{:?}", HttpHeadProbe::new("::1", 8080, "/")));
        for bad in ["", "ftp://host/", "not a url", "/relative"] {
            assert!(probe_for_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn head_paths_cannot_inject_lines() {
        let probe = HttpHeadProbe::new("h", 80, "/x\r\nEvil: 1");
        assert_eq!(probe, HttpHeadProbe::new("h", 80, "/"));
    }
}
