//! Protection of the test-control API (`/_mock/*`) and the moto/LocalStack compatibility
//! endpoints, which can read codes and wipe state.
//!
//! - No CORS: a web page cannot read their answers, and a preflight is refused.
//! - Host check: only requests addressed to a loopback name (`localhost`, `*.localhost`,
//!   `127.0.0.0/8`, `[::1]`, `0.0.0.0`, `[::]`), the address the server is bound to, or a host
//!   configured with
//!   `--control-host` are answered. This defeats DNS rebinding, where a web page's own name
//!   resolves to 127.0.0.1.
//! - Origin check: a request a browser sent from a page whose origin is not such a host is
//!   refused, so a page cannot fire cross-site "simple" POSTs (CSRF) at a local server.
//! - Optional bearer token (`--control-token`): then every control request must carry
//!   `Authorization: Bearer <token>`, except the public documents of the hosted OIDC issuers
//!   (discovery and JWKS), which token verifiers fetch without credentials, and their sign-in
//!   page (`/_mock/oidc/<name>/authorize`), which browsers drive.
//!
//! The Cognito API itself (`POST /`, the pools' JWKS and discovery documents, S3) keeps the
//! CORS answers browsers need and accepts any Host, as the real service does.

use std::net::IpAddr;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Response, header};
use axum::response::IntoResponse as _;
use sha2::{Digest as _, Sha256};

use crate::wire::CognitoError;

/// What the control API accepts, fixed at start-up.
#[derive(Debug, Clone)]
pub(crate) struct ControlAccess {
    /// Required bearer token, if configured.
    pub(crate) token: Option<String>,
    /// Host names accepted besides loopback names (lower case, without port).
    pub(crate) hosts: Vec<String>,
    /// The address the server is bound to (accepted as a Host when it is a specific one).
    pub(crate) bound: IpAddr,
}

/// Whether `path` belongs to the protected control surface.
pub(crate) fn is_control_path(path: &str) -> bool {
    path == "/_mock"
        || path.starts_with("/_mock/")
        || path.starts_with("/moto-api/")
        || path == "/moto-api"
        || path.starts_with("/_aws/")
}

/// The hosted OIDC issuers' discovery documents and keys, fetched by token verifiers, and
/// their sign-in page, which a browser drives (it cannot send the bearer token): public.
fn is_public_document(method: &Method, path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/_mock/oidc/") else { return false };
    let read = method == Method::GET || method == Method::HEAD;
    (read && (rest.ends_with("/.well-known/openid-configuration") || rest.ends_with("/jwks.json")))
        || ((read || method == Method::POST) && rest.ends_with("/authorize"))
}

/// The host name of a `Host` header value (or an origin's authority), lower case and
/// without port or IPv6 brackets; `None` when it is malformed.
fn host_name(authority: &str) -> Option<String> {
    let authority = authority.trim();
    let name = if let Some(rest) = authority.strip_prefix('[') {
        rest.split_once(']')?.0
    } else {
        authority.rsplit_once(':').map_or(authority, |(name, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) { name } else { authority }
        })
    };
    (!name.is_empty()).then(|| name.to_ascii_lowercase())
}

impl ControlAccess {
    fn host_allowed(&self, name: &str) -> bool {
        if name == "localhost" || name.ends_with(".localhost") {
            return true;
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            // 0.0.0.0 and [::] are what a client of a server bound to every interface is
            // told (its URL); a connection to them stays on this machine, and a web page
            // aiming there is stopped by the Origin check.
            if ip.is_loopback() || ip.is_unspecified() || ip == self.bound {
                return true;
            }
        }
        self.hosts.iter().any(|h| h == name)
    }

    /// Checks a request for the control surface; `Some` is the answer to send instead.
    pub(crate) fn refusal(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Option<Response<Body>> {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).and_then(host_name);
        if !host.as_deref().is_some_and(|h| self.host_allowed(h)) {
            return Some(refuse(
                403,
                "AccessDeniedException",
                "The test-control API answers only requests addressed to localhost, a loopback address or a host given with --control-host.",
            ));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let allowed = origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .and_then(|(_, authority)| host_name(authority))
                .is_some_and(|h| self.host_allowed(&h));
            if !allowed {
                return Some(refuse(
                    403,
                    "AccessDeniedException",
                    "The test-control API does not answer requests from web pages of other origins.",
                ));
            }
        }
        if method == Method::OPTIONS {
            return Some(refuse(
                405,
                "MethodNotAllowedException",
                "The test-control API does not answer CORS preflight requests.",
            ));
        }
        if let Some(token) = &self.token {
            if !is_public_document(method, path) && !bearer_matches(headers, token) {
                let mut answer = refuse(
                    401,
                    "UnauthorizedException",
                    "The test-control API needs Authorization: Bearer <the --control-token value>.",
                );
                answer
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
                return Some(answer);
            }
        }
        None
    }
}

/// Compares the bearer token by digest, so the time taken does not depend on the token.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    given.is_some_and(|g| Sha256::digest(g.as_bytes()) == Sha256::digest(token.as_bytes()))
}

fn refuse(status: u16, kind: &'static str, message: &str) -> Response<Body> {
    CognitoError::new(kind, message).with_status(status).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(token: Option<&str>) -> ControlAccess {
        ControlAccess {
            token: token.map(str::to_owned),
            hosts: vec!["auth-mock".into()],
            bound: IpAddr::from([0, 0, 0, 0]),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn status(refusal: Option<Response<Body>>) -> u16 {
        refusal.map_or(200, |r| r.status().as_u16())
    }

    #[test]
    fn loopback_and_configured_hosts_pass_others_are_refused() {
        let a = access(None);
        for host in [
            "localhost",
            "localhost:9229",
            "app.localhost:1",
            "127.0.0.1:9",
            "[::1]:9229",
            "Auth-Mock:9229",
            "0.0.0.0:9229",
        ] {
            assert_eq!(
                status(a.refusal(&Method::GET, "/_mock/health", &headers(&[("host", host)]))),
                200,
                "{host}"
            );
        }
        for host in ["evil.example", "localhost.evil.example", "10.0.0.1:9229", "[fe80::1]"] {
            assert_eq!(
                status(a.refusal(&Method::GET, "/_mock/health", &headers(&[("host", host)]))),
                403,
                "{host}"
            );
        }
        assert_eq!(status(a.refusal(&Method::GET, "/_mock/health", &HeaderMap::new())), 403);
    }

    #[test]
    fn foreign_origins_and_preflights_are_refused() {
        let a = access(None);
        let page = headers(&[("host", "127.0.0.1:9229"), ("origin", "https://evil.example")]);
        assert_eq!(status(a.refusal(&Method::POST, "/_mock/reset", &page)), 403);
        let local = headers(&[("host", "127.0.0.1:9229"), ("origin", "http://localhost:3000")]);
        assert_eq!(status(a.refusal(&Method::POST, "/_mock/reset", &local)), 200);
        let preflight = headers(&[("host", "localhost")]);
        assert_eq!(status(a.refusal(&Method::OPTIONS, "/_mock/reset", &preflight)), 405);
    }

    #[test]
    fn a_configured_token_is_required_except_for_public_issuer_documents() {
        let a = access(Some("s3cret"));
        let bare = headers(&[("host", "localhost")]);
        assert_eq!(status(a.refusal(&Method::POST, "/_mock/reset", &bare)), 401);
        assert_eq!(status(a.refusal(&Method::POST, "/moto-api/reset", &bare)), 401);
        let wrong = headers(&[("host", "localhost"), ("authorization", "Bearer nope")]);
        assert_eq!(status(a.refusal(&Method::POST, "/_mock/reset", &wrong)), 401);
        let right = headers(&[("host", "localhost"), ("authorization", "Bearer s3cret")]);
        assert_eq!(status(a.refusal(&Method::POST, "/_mock/reset", &right)), 200);
        let jwks = "/_mock/oidc/google/jwks.json";
        assert_eq!(status(a.refusal(&Method::GET, jwks, &bare)), 200);
        assert_eq!(status(a.refusal(&Method::POST, "/_mock/oidc/google/token", &bare)), 401);
        // The provider's sign-in page is driven by a browser, which has no token.
        let page = "/_mock/oidc/google/authorize";
        assert_eq!(status(a.refusal(&Method::GET, page, &bare)), 200);
        assert_eq!(status(a.refusal(&Method::POST, page, &bare)), 200);
        assert_eq!(status(a.refusal(&Method::DELETE, page, &bare)), 401);
        // Still only for loopback hosts.
        let foreign = headers(&[("host", "evil.example")]);
        assert_eq!(status(a.refusal(&Method::GET, page, &foreign)), 403);
    }

    #[test]
    fn control_paths() {
        assert!(is_control_path("/_mock/health"));
        assert!(is_control_path("/moto-api/reset"));
        assert!(is_control_path("/_aws/ses"));
        assert!(!is_control_path("/"));
        assert!(!is_control_path("/_mockery"));
        assert!(!is_control_path("/us-east-1_x/.well-known/jwks.json"));
    }
}
