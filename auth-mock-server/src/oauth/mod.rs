//! The user-pool domain: the admin operations that configure it (domains, resource servers,
//! identity providers, app-client OAuth settings) and the OAuth 2.0 / hosted-UI endpoints
//! (`/oauth2/token`, `/oauth2/authorize`, `/oauth2/idpresponse`, `/login`, `/logout`,
//! `/oauth2/userInfo`, `/oauth2/revoke`).
//!
//! Its state lives in [`OAuthState`], one field of [`crate::state::State`], so that the rest of
//! the model (pools, clients, users) stays as it was and this module owns every OAuth fact.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

pub(crate) mod account;
pub(crate) mod admin;
pub(crate) mod authorize;
pub(crate) mod federation;
pub(crate) mod pages;
pub(crate) mod token;

/// The scope that lets an access token call the JSON user-pool API (GetUser & co.).
pub(crate) const SIGNIN_SCOPE: &str = "aws.cognito.signin.user.admin";

/// The scopes every pool knows without a resource server.
pub(crate) const STANDARD_SCOPES: &[&str] = &["openid", "email", "phone", "profile", SIGNIN_SCOPE];

/// How long an authorization code stays valid (Cognito: 5 minutes).
pub(crate) const CODE_LIFETIME_SECS: u64 = 300;

/// How long the hosted-UI session cookie stays valid (Cognito: 1 hour, not extended by use).
pub(crate) const SESSION_LIFETIME_SECS: u64 = 3600;

/// An OAuth 2.0 grant an app client may be allowed (`AllowedOAuthFlows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OAuthFlow {
    /// Authorization code grant (`response_type=code`).
    Code,
    /// Implicit grant (`response_type=token`).
    Implicit,
    /// Machine-to-machine client credentials grant.
    ClientCredentials,
}

impl OAuthFlow {
    /// Every flow, in the order Cognito's validation message lists them.
    pub(crate) const ALL: [Self; 3] = [Self::Implicit, Self::ClientCredentials, Self::Code];

    /// Cognito's spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Implicit => "implicit",
            Self::ClientCredentials => "client_credentials",
        }
    }

    /// The flow named `name`, if it is one.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|flow| flow.as_str() == name)
    }
}

/// A kind of identity provider (`ProviderType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProviderType {
    /// A generic OpenID Connect provider.
    Oidc,
    /// SAML 2.0 (stored and described; sign-in through it is not emulated).
    Saml,
    /// Google (OIDC-shaped).
    Google,
    /// Facebook.
    Facebook,
    /// Login with Amazon.
    LoginWithAmazon,
    /// Sign in with Apple (OIDC-shaped).
    SignInWithApple,
}

impl ProviderType {
    const ALL: [Self; 6] = [
        Self::Saml,
        Self::Facebook,
        Self::Google,
        Self::LoginWithAmazon,
        Self::SignInWithApple,
        Self::Oidc,
    ];

    /// Cognito's spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Oidc => "OIDC",
            Self::Saml => "SAML",
            Self::Google => "Google",
            Self::Facebook => "Facebook",
            Self::LoginWithAmazon => "LoginWithAmazon",
            Self::SignInWithApple => "SignInWithApple",
        }
    }

    /// The type named `name`, if it is one.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// Social providers have a fixed name equal to their type.
    pub(crate) fn is_social(self) -> bool {
        !matches!(self, Self::Oidc | Self::Saml)
    }
}

/// A domain of a pool (a prefix `<prefix>.auth.<region>.amazoncognito.com` or a custom FQDN).
#[derive(Debug, Clone)]
pub(crate) struct Domain {
    /// The bare prefix or the custom FQDN, as created.
    pub(crate) name: String,
    pub(crate) pool_id: String,
    /// `CustomDomainConfig` as sent (custom domains only).
    pub(crate) custom_config: Option<Value>,
    /// 1: classic hosted UI, 2: managed login (same pages here).
    pub(crate) managed_login_version: i64,
}

impl Domain {
    /// Custom domains are fully qualified; prefixes have no dot.
    pub(crate) fn is_custom(&self) -> bool {
        self.name.contains('.')
    }
}

/// A resource server: an identifier and the custom scopes it defines.
#[derive(Debug, Clone)]
pub(crate) struct ResourceServer {
    pub(crate) identifier: String,
    pub(crate) name: String,
    /// `(ScopeName, ScopeDescription)`, in the order given.
    pub(crate) scopes: Vec<(String, String)>,
}

/// An identity provider of a pool.
#[derive(Debug, Clone)]
pub(crate) struct Provider {
    pub(crate) name: String,
    pub(crate) kind: ProviderType,
    pub(crate) details: BTreeMap<String, String>,
    /// Pool attribute → provider claim.
    pub(crate) attribute_mapping: BTreeMap<String, String>,
    pub(crate) idp_identifiers: Vec<String>,
    pub(crate) created: f64,
    pub(crate) modified: f64,
}

/// A federated identity linked to a local user with AdminLinkProviderForUser.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LinkedIdentity {
    pub(crate) provider: String,
    /// The provider's subject (`Cognito_Subject` value).
    pub(crate) subject: String,
}

/// Everything OAuth-related of one pool.
#[derive(Debug, Default)]
pub(crate) struct PoolOAuth {
    pub(crate) domain: Option<Domain>,
    pub(crate) custom_domain: Option<Domain>,
    pub(crate) resource_servers: BTreeMap<String, ResourceServer>,
    pub(crate) providers: BTreeMap<String, Provider>,
    /// Federated identity → the local username it signs in as.
    pub(crate) links: BTreeMap<LinkedIdentity, String>,
}

impl PoolOAuth {
    /// Whether `scope` is a standard scope or `<identifier>/<name>` of a resource server.
    pub(crate) fn scope_exists(&self, scope: &str) -> bool {
        STANDARD_SCOPES.contains(&scope) || self.custom_scope_exists(scope)
    }

    /// Whether `scope` is `<identifier>/<name>` of one of the pool's resource servers.
    pub(crate) fn custom_scope_exists(&self, scope: &str) -> bool {
        // Identifiers may themselves contain `/` (URLs), scope names never do.
        scope.rsplit_once('/').is_some_and(|(identifier, name)| {
            self.resource_servers
                .get(identifier)
                .is_some_and(|server| server.scopes.iter().any(|(n, _)| n == name))
        })
    }
}

/// An issued, not yet redeemed authorization code.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub(crate) pool_id: String,
    pub(crate) client_id: String,
    pub(crate) username: String,
    pub(crate) redirect_uri: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) nonce: Option<String>,
    /// PKCE S256 challenge, if one was sent.
    pub(crate) code_challenge: Option<String>,
    pub(crate) auth_time: u64,
    pub(crate) expires_at: u64,
}

/// A hosted-UI session (the `cognito` cookie).
#[derive(Debug, Clone)]
pub(crate) struct HostedSession {
    pub(crate) pool_id: String,
    pub(crate) username: String,
    pub(crate) auth_time: u64,
    pub(crate) expires_at: u64,
}

/// OAuth state of the whole server.
#[derive(Debug, Default)]
pub(crate) struct OAuthState {
    /// Pool id → its OAuth configuration.
    pub(crate) pools: HashMap<String, PoolOAuth>,
    /// Authorization code → what it grants.
    pub(crate) codes: HashMap<String, AuthCode>,
    /// Session cookie value → session.
    pub(crate) sessions: HashMap<String, HostedSession>,
    /// `session` form field → a sign-in waiting for its next step.
    pub(crate) logins: HashMap<String, PendingLogin>,
    /// `state` sent to an external identity provider → the sign-in waiting for its answer.
    pub(crate) federations: HashMap<String, federation::PendingFederation>,
}

impl OAuthState {
    /// The OAuth configuration of `pool_id` (empty if none was made).
    pub(crate) fn pool(&self, pool_id: &str) -> Option<&PoolOAuth> {
        self.pools.get(pool_id)
    }

    /// The pool a domain (prefix or custom FQDN) belongs to.
    pub(crate) fn domain(&self, name: &str) -> Option<&Domain> {
        self.pools.values().find_map(|p| {
            [p.domain.as_ref(), p.custom_domain.as_ref()]
                .into_iter()
                .flatten()
                .find(|d| d.name.eq_ignore_ascii_case(name))
        })
    }

    /// Drops everything of a deleted pool.
    pub(crate) fn forget_pool(&mut self, pool_id: &str) {
        self.pools.remove(pool_id);
        self.codes.retain(|_, c| c.pool_id != pool_id);
        self.sessions.retain(|_, s| s.pool_id != pool_id);
        self.logins.retain(|_, l| l.pool_id != pool_id);
        self.federations.retain(|_, f| f.pool_id != pool_id);
    }

    /// Drops expired codes, sessions and pending sign-ins.
    pub(crate) fn sweep(&mut self, now: u64) {
        self.codes.retain(|_, c| c.expires_at > now);
        self.sessions.retain(|_, s| s.expires_at > now);
        self.logins.retain(|_, l| l.expires_at > now);
        self.federations.retain(|_, f| f.expires_at > now);
    }
}

/// A hosted sign-in waiting for its next step (new password, MFA code), found by the
/// `session` field of the page's form.
#[derive(Debug, Clone)]
pub(crate) struct PendingLogin {
    pub(crate) pool_id: String,
    pub(crate) username: String,
    /// The query string of the authorize request the sign-in answers.
    pub(crate) query: String,
    pub(crate) step: LoginStep,
    pub(crate) auth_time: u64,
    pub(crate) expires_at: u64,
}

/// The next step of a hosted sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LoginStep {
    /// The user must choose a new password (NEW_PASSWORD_REQUIRED).
    NewPassword,
    /// A code was sent by SMS or email.
    Code { medium: CodeMedium, code: String },
    /// A code from the user's authenticator app.
    Totp,
    /// MFA is required and no factor is set up: the user sets up TOTP with this secret.
    TotpSetup { secret: String },
}

/// Where a one-time code was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeMedium {
    /// Text message (`SMS_MFA`).
    Sms,
    /// Email (`EMAIL_OTP`).
    Email,
}

/// Whom a request's `Host` names: the server itself (path-based use), or a pool's domain
/// (`<prefix>.auth.<region>.localhost[:port]` or a custom domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostTarget {
    /// Any other host: the pool comes from `client_id`.
    Server,
    /// A domain of this pool.
    Pool(String),
    /// Looks like a pool domain, but no pool has it.
    Unknown,
}

impl HostTarget {
    /// Reads the `Host` header against the configured domains.
    pub(crate) fn of(headers: &axum::http::HeaderMap, oauth: &OAuthState) -> Self {
        let Some(host) = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()) else {
            return Self::Server;
        };
        // Strip the port (IPv6 literals keep their brackets and are never domains).
        let name = match host.rsplit_once(':') {
            Some((name, port))
                if !name.ends_with(']') && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                name
            }
            _ => host,
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(domain) = oauth.domain(&name) {
            return Self::Pool(domain.pool_id.clone());
        }
        // `<prefix>.auth.<region>.localhost`
        let labels: Vec<&str> = name.split('.').collect();
        if let [prefix, "auth", _region, "localhost"] = labels.as_slice() {
            return match oauth.domain(prefix) {
                Some(domain) if !domain.is_custom() => Self::Pool(domain.pool_id.clone()),
                _ => Self::Unknown,
            };
        }
        Self::Server
    }
}

/// The routes of the OAuth 2.0 endpoints and the hosted UI.
pub(crate) fn router() -> axum::Router<std::sync::Arc<crate::Shared>> {
    use authorize::{get_blocking, get_page, post_page};
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/oauth2/token", post(token::token))
        .route("/oauth2/userInfo", get(token::user_info).post(token::user_info))
        .route("/oauth2/revoke", post(token::revoke))
        .route("/oauth2/authorize", get_blocking(authorize::authorize))
        .route("/oauth2/idpresponse", get_blocking(federation::idp_response))
        .route("/login", get(authorize::login_page).merge(post_page(authorize::login_submit)))
        .route("/signup", get_page(account::sign_up_get).merge(post_page(account::sign_up_post)))
        .route("/confirm", post_page(account::confirm_post))
        .route(
            "/forgotPassword",
            get_page(account::forgot_get).merge(post_page(account::forgot_post)),
        )
        .route("/confirmforgotPassword", post_page(account::confirm_forgot_post))
        .route("/resetpassword", post_page(authorize::step_submit))
        .route("/mfa", post_page(authorize::step_submit))
        .route("/logout", get(authorize::logout))
}

/// The discovery-document members of the OAuth endpoints, `None` when the pool has no domain
/// (then none of them is served). Scopes are pool-wide, as in Cognito: the standard OIDC ones
/// and every resource server's.
pub(crate) fn discovery_members(
    state: &crate::state::State,
    pool_id: &str,
    base: &str,
) -> Option<serde_json::Value> {
    let oauth = state.oauth.pool(pool_id)?;
    if oauth.domain.is_none() && oauth.custom_domain.is_none() {
        return None;
    }
    let mut scopes: Vec<String> =
        ["openid", "email", "phone", "profile"].iter().map(|s| (*s).to_owned()).collect();
    for server in oauth.resource_servers.values() {
        scopes
            .extend(server.scopes.iter().map(|(name, _)| format!("{}/{name}", server.identifier)));
    }
    Some(serde_json::json!({
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "end_session_endpoint": format!("{base}/logout"),
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "scopes_supported": scopes,
        "token_endpoint": format!("{base}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "userinfo_endpoint": format!("{base}/oauth2/userInfo"),
    }))
}
