//! `GET /oauth2/authorize`, the hosted sign-in pages (`/login`, `/resetpassword`, `/mfa`) and
//! `GET /logout`, with the hosted-UI session cookie.
//!
//! Errors before the client and its redirect URI are known show an error page and never
//! redirect; later errors go back to the (registered) redirect URI as `?error=...`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde::Deserialize;

use super::admin::ClientOAuth;
use super::token::{grant_scopes, issue_user_tokens, parse_form};
use super::{
    AuthCode, CODE_LIFETIME_SECS, CodeMedium, HostTarget, HostedSession, LoginStep, OAuthFlow,
    PendingLogin, SESSION_LIFETIME_SECS, pages,
};
use crate::Shared;
use crate::ops::tokens::{OAuthClaims, RefreshMode};
use crate::state::UserStatus;
use crate::triggers::{self, Trigger};

/// The name of the hosted-UI session cookie (as Cognito's).
const SESSION_COOKIE: &str = "cognito";

/// How long a sign-in may wait on one of its steps.
const STEP_LIFETIME_SECS: u64 = 300;

/// The parameters of an authorize request (also carried by `/login` and the step pages).
#[derive(Debug, Default, Deserialize)]
struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    scope: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    nonce: Option<String>,
    identity_provider: Option<String>,
    idp_identifier: Option<String>,
    login_hint: Option<String>,
}

/// What the client asked to get back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseType {
    /// An authorization code in the query.
    Code,
    /// Tokens in the fragment (implicit grant).
    Token,
}

impl ResponseType {
    fn flow(self) -> OAuthFlow {
        match self {
            Self::Code => OAuthFlow::Code,
            Self::Token => OAuthFlow::Implicit,
        }
    }
}

/// A checked authorize request.
#[derive(Debug, Clone)]
pub(super) struct AuthRequest {
    pub(super) pool_id: String,
    pub(super) client_id: String,
    redirect_uri: String,
    response_type: ResponseType,
    scopes: Vec<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    login_hint: Option<String>,
    /// The query string as received, carried by the pages' forms.
    pub(super) query: String,
    /// The pool lets users sign themselves up.
    pub(super) self_sign_up: bool,
    /// The external identity provider to sign in through (`identity_provider` or the
    /// provider of `idp_identifier`), already checked against the client's.
    pub(super) provider: Option<String>,
    /// The client's supported providers other than COGNITO (the login page's buttons).
    pub(super) federated_providers: Vec<String>,
}

/// Builds a redirect.
pub(super) fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `redirect_uri` with `pairs` added to its query.
fn with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (name, value) in pairs {
                    query.append_pair(name, value);
                }
            }
            url.to_string()
        }
        // Only registered URIs get here, and those parsed when registered.
        Err(_) => redirect_uri.to_owned(),
    }
}

/// Why an authorize-like request is refused, and how the refusal is shown.
#[derive(Debug)]
pub(super) enum Refusal {
    /// An error page on the server: the redirect URI is not (yet) trusted.
    Page { status: StatusCode, error: &'static str, description: String },
    /// Back to the registered redirect URI with `?error=...`.
    Redirect { location: String },
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Page { status, error, description } => {
                pages::error_page(status, error, &description)
            }
            Self::Redirect { location } => redirect(&location),
        }
    }
}

pub(super) fn redirect_error(request: &AuthRequest, error: &str, description: &str) -> Refusal {
    let mut pairs = vec![("error_description", description), ("error", error)];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    Refusal::Redirect { location: with_query(&request.redirect_uri, &pairs) }
}

fn bad_request(error: &'static str, description: &str) -> Refusal {
    Refusal::Page { status: StatusCode::BAD_REQUEST, error, description: description.to_owned() }
}

pub(super) fn bad_request_page(error: &'static str, description: &str) -> Response {
    bad_request(error, description).into_response()
}

/// Checks an authorize request: `Err` is the answer to give instead (an error page or an error
/// redirect to the registered URI).
pub(super) fn check(
    shared: &Shared,
    headers: &HeaderMap,
    query: &str,
) -> Result<AuthRequest, Refusal> {
    let params: AuthorizeParams = serde_urlencoded::from_str(query)
        .map_err(|_| bad_request("invalid_request", "The query string is malformed."))?;
    let client_id = params
        .client_id
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| bad_request("invalid_request", "client_id is required."))?;
    let state = shared.state.read();
    let (pool, client) = state
        .client(client_id)
        .map_err(|_| bad_request("invalid_request", "The client does not exist."))?;
    let pool_oauth = state.oauth.pool(&pool.id);
    if pool_oauth.is_none_or(|o| o.domain.is_none() && o.custom_domain.is_none()) {
        return Err(Refusal::Page {
            status: StatusCode::NOT_FOUND,
            error: "invalid_request",
            description: "The user pool has no domain.".to_owned(),
        });
    }
    match HostTarget::of(headers, &state.oauth) {
        HostTarget::Server => {}
        HostTarget::Pool(id) if id == pool.id => {}
        _ => return Err(bad_request("invalid_request", "The client is not on this domain.")),
    }
    let oauth = ClientOAuth::of(&client.settings);
    let redirect_uri = match params.redirect_uri.as_deref() {
        Some(uri) => uri.to_owned(),
        None => match (&oauth.default_redirect_uri, oauth.callback_urls.as_slice()) {
            (Some(default), _) => default.clone(),
            (None, [only]) => only.clone(),
            _ => return Err(bad_request("redirect_mismatch", "redirect_uri is required.")),
        },
    };
    if !oauth.enabled || !oauth.callback_urls.contains(&redirect_uri) {
        return Err(bad_request(
            "redirect_mismatch",
            "The redirect_uri is not registered for this client.",
        ));
    }
    let self_sign_up = !pool
        .settings
        .get("AdminCreateUserConfig")
        .and_then(|c| c.get("AllowAdminCreateUserOnly"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let mut request = AuthRequest {
        pool_id: pool.id.clone(),
        client_id: client.id.clone(),
        redirect_uri,
        response_type: ResponseType::Code,
        scopes: Vec::new(),
        state: params.state.clone(),
        nonce: params.nonce.clone(),
        code_challenge: None,
        login_hint: params.login_hint.clone(),
        query: query.to_owned(),
        self_sign_up,
        provider: None,
        federated_providers: Vec::new(),
    };
    // From here on the redirect URI is trusted: errors go back to it.
    request.response_type = match params.response_type.as_deref() {
        Some("code") => ResponseType::Code,
        Some("token") => ResponseType::Token,
        Some(_) => {
            return Err(redirect_error(
                &request,
                "unsupported_response_type",
                "response_type must be code or token",
            ));
        }
        None => {
            return Err(redirect_error(&request, "invalid_request", "response_type is required"));
        }
    };
    if !oauth.allows(request.response_type.flow()) {
        return Err(redirect_error(
            &request,
            "unauthorized_client",
            "The client may not use this response_type",
        ));
    }
    match (params.code_challenge_method.as_deref(), params.code_challenge.as_deref()) {
        (None, None) => {}
        (Some("S256"), Some(challenge))
            if (43..=128).contains(&challenge.len())
                && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)) =>
        {
            request.code_challenge = Some(challenge.to_owned());
        }
        _ => {
            return Err(redirect_error(
                &request,
                "invalid_request",
                "PKCE needs code_challenge_method=S256 and a valid code_challenge",
            ));
        }
    }
    request.scopes = grant_scopes(&state, &pool.id, &oauth.scopes, params.scope.as_deref())
        .map_err(|message| redirect_error(&request, "invalid_scope", &message))?;
    let has_openid = request.scopes.iter().any(|s| s == "openid");
    if !has_openid
        && request.scopes.iter().any(|s| matches!(s.as_str(), "email" | "phone" | "profile"))
    {
        return Err(redirect_error(
            &request,
            "invalid_scope",
            "email, phone and profile require openid",
        ));
    }
    if request.scopes.is_empty() {
        return Err(redirect_error(&request, "invalid_scope", "No scope to grant"));
    }
    let local_allowed = oauth.identity_providers.is_empty()
        || oauth.identity_providers.iter().any(|p| p == "COGNITO");
    request.federated_providers =
        oauth.identity_providers.iter().filter(|p| *p != "COGNITO").cloned().collect();
    let requested = match (params.identity_provider.as_deref(), params.idp_identifier.as_deref()) {
        (Some("COGNITO"), _) => None,
        (Some(name), _) => Some(name.to_owned()),
        (None, Some(identifier)) => {
            match pool_oauth.and_then(|o| super::federation::by_identifier(o, identifier)) {
                Some(name) => Some(name),
                None => {
                    return Err(redirect_error(
                        &request,
                        "invalid_request",
                        "No identity provider has this idp_identifier",
                    ));
                }
            }
        }
        (None, None) => None,
    };
    if let Some(name) = requested {
        let provider = pool_oauth.and_then(|o| o.providers.get(&name));
        match provider {
            Some(provider) if oauth.identity_providers.contains(&name) => {
                if provider.kind == super::ProviderType::Saml {
                    return Err(redirect_error(
                        &request,
                        "invalid_request",
                        "Sign-in through a SAML provider is not emulated",
                    ));
                }
                request.provider = Some(name);
                return Ok(request);
            }
            _ => {
                return Err(redirect_error(
                    &request,
                    "unauthorized_client",
                    &format!("{name} is not a supported identity provider of this client"),
                ));
            }
        }
    }
    if !local_allowed {
        return Err(redirect_error(
            &request,
            "unauthorized_client",
            "COGNITO is not a supported identity provider of this client",
        ));
    }
    Ok(request)
}

/// The session named by the request's `cognito` cookie, if valid for `pool_id`.
fn session_user(shared: &Shared, headers: &HeaderMap, pool_id: &str) -> Option<(String, u64)> {
    let cookie = session_cookie(headers)?;
    let now = shared.clock.now_secs();
    let state = shared.state.read();
    let session = state.oauth.sessions.get(&cookie)?;
    if session.pool_id != pool_id || session.expires_at <= now {
        return None;
    }
    let pool = state.pools.get(pool_id)?;
    let user = pool.users.get(&pool.user_key(&session.username)).filter(|u| u.enabled)?;
    Some((user.username.clone(), session.auth_time))
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Answers a signed-in authorize request: a code (query) or tokens (fragment).
fn finish(shared: &Shared, request: &AuthRequest, username: &str, auth_time: u64) -> Response {
    let now = shared.clock.now_secs();
    match request.response_type {
        ResponseType::Code => {
            let code = uuid::Uuid::new_v4().to_string();
            {
                let mut state = shared.state.write();
                state.oauth.sweep(now);
                state.oauth.codes.insert(
                    code.clone(),
                    AuthCode {
                        pool_id: request.pool_id.clone(),
                        client_id: request.client_id.clone(),
                        username: username.to_owned(),
                        redirect_uri: request.redirect_uri.clone(),
                        scopes: request.scopes.clone(),
                        nonce: request.nonce.clone(),
                        code_challenge: request.code_challenge.clone(),
                        auth_time,
                        expires_at: now + CODE_LIFETIME_SECS,
                    },
                );
            }
            let mut pairs = vec![("code", code.as_str())];
            if let Some(state) = &request.state {
                pairs.push(("state", state));
            }
            redirect(&with_query(&request.redirect_uri, &pairs))
        }
        ResponseType::Token => {
            let claims =
                OAuthClaims { scopes: request.scopes.clone(), nonce: request.nonce.clone() };
            // No refresh token in the implicit grant: the tokens start a family of their own.
            let refresh = RefreshMode::Keep { origin_jti: uuid::Uuid::new_v4().to_string() };
            let tokens = match issue_user_tokens(
                shared,
                &request.pool_id,
                &request.client_id,
                username,
                auth_time,
                refresh,
                &claims,
            ) {
                Ok(tokens) => tokens,
                Err(error) => {
                    let description = error.description.unwrap_or_default();
                    return redirect_error(request, "server_error", &description).into_response();
                }
            };
            let mut fragment = url::form_urlencoded::Serializer::new(String::new());
            fragment
                .append_pair("access_token", tokens["AccessToken"].as_str().unwrap_or_default());
            if let Some(id) = tokens.get("IdToken").and_then(serde_json::Value::as_str) {
                fragment.append_pair("id_token", id);
            }
            fragment.append_pair("token_type", "Bearer");
            fragment.append_pair("expires_in", &tokens["ExpiresIn"].to_string());
            if let Some(state) = &request.state {
                fragment.append_pair("state", state);
            }
            redirect(&format!("{}#{}", request.redirect_uri, fragment.finish()))
        }
    }
}

/// Runs the pool's Pre- or PostAuthentication trigger for a hosted sign-in, as the API does
/// (never under the state lock); `Err` is the message to show on the page.
fn authentication_trigger(
    shared: &Shared,
    request: &AuthRequest,
    username: &str,
    trigger: Trigger,
) -> Result<(), String> {
    let (arn, event) = {
        let state = shared.state.read();
        let Some(pool) = state.pools.get(&request.pool_id) else { return Ok(()) };
        let Some(arn) = triggers::arn(pool, trigger) else { return Ok(()) };
        let Some(user) = pool.user(username) else { return Ok(()) };
        let (source, body) = match trigger {
            Trigger::PreAuthentication => (
                "PreAuthentication_Authentication",
                serde_json::json!({
                    "userAttributes": triggers::user_attributes(user),
                    "validationData": {},
                    "userNotFound": false,
                }),
            ),
            _ => (
                "PostAuthentication_Authentication",
                serde_json::json!({
                    "userAttributes": triggers::user_attributes(user),
                    "newDeviceUsed": false,
                    "clientMetadata": {},
                }),
            ),
        };
        let origin = triggers::Origin::new(pool, &user.username, Some(&request.client_id));
        (arn, origin.event("1", source, body, serde_json::json!({})))
    };
    triggers::invoke(shared, trigger, &arn, &event).map(|_| ()).map_err(|e| e.message().to_owned())
}

/// Signs the user in: a session cookie, then [`finish`].
pub(super) fn signed_in(
    shared: &Shared,
    request: &AuthRequest,
    username: &str,
    auth_time: u64,
) -> Response {
    if let Err(message) =
        authentication_trigger(shared, request, username, Trigger::PostAuthentication)
    {
        return pages::error_page(StatusCode::BAD_REQUEST, "invalid_request", &message);
    }
    let cookie = crate::ops::random_token(32);
    let now = shared.clock.now_secs();
    shared.state.write().oauth.sessions.insert(
        cookie.clone(),
        HostedSession {
            pool_id: request.pool_id.clone(),
            username: username.to_owned(),
            auth_time,
            expires_at: now + SESSION_LIFETIME_SECS,
        },
    );
    let mut response = finish(shared, request, username, auth_time);
    let value = format!(
        "{SESSION_COOKIE}={cookie}; Path=/; Max-Age={SESSION_LIFETIME_SECS}; HttpOnly; SameSite=Lax"
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The `GET` route of an endpoint that reads its query itself (it is no hosted page), answered
/// on a blocking thread since it may issue codes and tokens or call triggers.
pub(super) fn get_blocking(
    answer: fn(&Shared, &HeaderMap, &str) -> Response,
) -> MethodRouter<Arc<Shared>> {
    get(move |State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery| {
        let query = query.unwrap_or_default();
        pages::blocking(move || answer(&shared, &headers, &query))
    })
}

/// `GET /oauth2/authorize`.
pub(super) fn authorize(shared: &Shared, headers: &HeaderMap, query: &str) -> Response {
    let request = match check(shared, headers, query) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    // A named provider always goes to the provider, as Cognito does, session or not.
    if let Some(provider) = &request.provider {
        return super::federation::start(shared, headers, &request, provider);
    }
    match session_user(shared, headers, &request.pool_id) {
        Some((username, auth_time)) => finish(shared, &request, &username, auth_time),
        None => redirect(&format!("/login?{query}")),
    }
}

/// `GET /login`: the sign-in form.
pub(crate) async fn login_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    match check(&shared, &headers, &query) {
        Ok(request) => pages::login(
            &request.query,
            request.login_hint.as_deref().unwrap_or_default(),
            None,
            None,
            request.self_sign_up,
            &request.federated_providers,
        ),
        Err(refusal) => refusal.into_response(),
    }
}

/// The form a hosted page posts; what a body that does not parse as it is answered with.
pub(super) trait HostedForm: serde::de::DeserializeOwned + Default + Send + 'static {
    /// The answer to a malformed form: by default a plain error page.
    fn malformed(_request: &AuthRequest) -> Response {
        bad_request_page("invalid_request", "The form is malformed.")
    }
}

/// A hosted page: renders the answer to the checked authorize request and its form.
pub(super) type Page<F> = fn(&Shared, &AuthRequest, &F) -> Response;

/// Answers a hosted page: checks the authorize parameters the page carries, reads its form
/// (`None` for a `GET`, whose form is empty), then renders the page on a blocking thread (the
/// operations behind it may call triggers).
async fn run_page<F: HostedForm>(
    shared: Arc<Shared>,
    headers: HeaderMap,
    query: Option<String>,
    body: Option<Bytes>,
    page: Page<F>,
) -> Response {
    let query = query.unwrap_or_default();
    let request = match check(&shared, &headers, &query) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let form = match body.as_deref().map(parse_form::<F>) {
        None => F::default(),
        Some(Ok(form)) => form,
        Some(Err(_)) => return F::malformed(&request),
    };
    pages::blocking(move || page(&shared, &request, &form)).await
}

/// The `GET` route of a hosted page.
pub(super) fn get_page<F: HostedForm>(page: Page<F>) -> MethodRouter<Arc<Shared>> {
    get(move |State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery| {
        run_page(shared, headers, query, None, page)
    })
}

/// The `POST` route of a hosted page.
pub(super) fn post_page<F: HostedForm>(page: Page<F>) -> MethodRouter<Arc<Shared>> {
    post(
        move |State(shared): State<Arc<Shared>>,
              headers: HeaderMap,
              RawQuery(query): RawQuery,
              body: Bytes| { run_page(shared, headers, query, Some(body), page) },
    )
}

/// The sign-in form's fields.
#[derive(Debug, Default, Deserialize)]
pub(super) struct LoginForm {
    username: Option<String>,
    password: Option<String>,
}

impl HostedForm for LoginForm {
    /// The sign-in form again, so that the user can retry.
    fn malformed(request: &AuthRequest) -> Response {
        pages::login(
            &request.query,
            "",
            Some("The form is malformed."),
            None,
            request.self_sign_up,
            &request.federated_providers,
        )
    }
}

/// `POST /login`: checks the password, then signs in or shows the next step.
pub(super) fn login_submit(shared: &Shared, request: &AuthRequest, form: &LoginForm) -> Response {
    let login = form.username.as_deref().unwrap_or_default().trim();
    let password = form.password.as_deref().unwrap_or_default();
    let fail = |message: &str| {
        pages::login(
            &request.query,
            login,
            Some(message),
            None,
            request.self_sign_up,
            &request.federated_providers,
        )
    };
    if login.is_empty() || password.is_empty() {
        return fail("Username and password are required.");
    }
    let now = shared.clock.now_secs();
    if let Err(message) = authentication_trigger(shared, request, login, Trigger::PreAuthentication)
    {
        return fail(&message);
    }
    let (username, status) = {
        let state = shared.state.read();
        let Ok(pool) = state.pool(&request.pool_id) else { return fail("The user pool is gone.") };
        let Some(user) = pool.user(login) else { return fail("Incorrect username or password.") };
        let Some(record) = &user.password else { return fail("Incorrect username or password.") };
        // Argon2 under a read lock is fine: it is light (see password.rs) and readers share.
        if !crate::password::verify(record, password) {
            tracing::info!(user = %user.username.escape_debug(), "hosted sign-in: wrong password");
            return fail("Incorrect username or password.");
        }
        if !user.enabled {
            return fail("User is disabled.");
        }
        (user.username.clone(), user.status)
    };
    match status {
        UserStatus::Unconfirmed => fail("User is not confirmed."),
        UserStatus::ResetRequired => fail("Password reset required for the user."),
        UserStatus::ForceChangePassword => {
            next_step(shared, request, &username, LoginStep::NewPassword, now, None)
        }
        UserStatus::Confirmed => after_password(shared, request, &username, now),
    }
}

/// After the password (and any new password): MFA if the pool and user need it, else done.
fn after_password(
    shared: &Shared,
    request: &AuthRequest,
    username: &str,
    auth_time: u64,
) -> Response {
    let now = shared.clock.now_secs();
    let step = {
        let mut state = shared.state.write();
        let Ok(pool) = state.pool_mut(&request.pool_id) else {
            return bad_request_page("invalid_request", "The user pool is gone.");
        };
        let mfa = pool.mfa_configuration().to_owned();
        let Some(user) = pool.user_mut(username) else {
            return bad_request_page("invalid_request", "The user is gone.");
        };
        let preferred = user.mfa.preferred.clone();
        let totp = user.mfa.totp && user.mfa.totp_secret.is_some();
        if mfa == "OFF" {
            None
        } else if totp
            && preferred.as_deref() != Some("SMS_MFA")
            && preferred.as_deref() != Some("EMAIL_OTP")
        {
            Some(LoginStep::Totp)
        } else if user.mfa.sms || user.mfa.email {
            let medium = if user.mfa.sms && preferred.as_deref() != Some("EMAIL_OTP") {
                CodeMedium::Sms
            } else {
                CodeMedium::Email
            };
            let code = crate::ops::new_code();
            let prefer = if medium == CodeMedium::Sms { "phone_number" } else { "email" };
            crate::ops::deliver_code(user, "mfa", &code, now + STEP_LIFETIME_SECS, prefer);
            Some(LoginStep::Code { medium, code })
        } else if totp {
            Some(LoginStep::Totp)
        } else if mfa == "ON" {
            Some(LoginStep::TotpSetup { secret: crate::totp::new_secret() })
        } else {
            None
        }
    };
    match step {
        Some(step) => next_step(shared, request, username, step, auth_time, None),
        None => signed_in(shared, request, username, auth_time),
    }
}

/// Records a pending step and shows its page.
fn next_step(
    shared: &Shared,
    request: &AuthRequest,
    username: &str,
    step: LoginStep,
    auth_time: u64,
    error: Option<&str>,
) -> Response {
    let session = crate::ops::random_token(32);
    let now = shared.clock.now_secs();
    shared.state.write().oauth.logins.insert(
        session.clone(),
        PendingLogin {
            pool_id: request.pool_id.clone(),
            username: username.to_owned(),
            query: request.query.clone(),
            step: step.clone(),
            auth_time,
            expires_at: now + STEP_LIFETIME_SECS,
        },
    );
    step_page(&request.query, &session, &step, error)
}

fn step_page(query: &str, session: &str, step: &LoginStep, error: Option<&str>) -> Response {
    match step {
        LoginStep::NewPassword => pages::step(
            "Change password",
            "/resetpassword",
            query,
            &[("session", session)],
            "Please enter a new password.",
            &[
                ("password", "New password", "password"),
                ("confirm_password", "Confirm new password", "password"),
            ],
            error,
        ),
        LoginStep::Code { medium, .. } => pages::step(
            "Multi-factor authentication",
            "/mfa",
            query,
            &[("session", session)],
            match medium {
                CodeMedium::Sms => "We have sent a code by text message. Enter it to sign in.",
                CodeMedium::Email => "We have sent a code by email. Enter it to sign in.",
            },
            &[("code", "Code", "text")],
            error,
        ),
        LoginStep::Totp => pages::step(
            "Multi-factor authentication",
            "/mfa",
            query,
            &[("session", session)],
            "Enter the code from your authenticator app.",
            &[("code", "Code", "text")],
            error,
        ),
        LoginStep::TotpSetup { secret } => pages::step(
            "Set up an authenticator app",
            "/mfa",
            query,
            &[("session", session)],
            &format!(
                "Add this secret key to your authenticator app, then enter a code from it: {secret}"
            ),
            &[("code", "Code", "text")],
            error,
        ),
    }
}

/// The fields of the step pages.
#[derive(Debug, Default, Deserialize)]
pub(super) struct StepForm {
    session: Option<String>,
    password: Option<String>,
    confirm_password: Option<String>,
    code: Option<String>,
}

impl HostedForm for StepForm {}

/// `POST /resetpassword` and `POST /mfa`: the answer to a pending step.
pub(super) fn step_submit(shared: &Shared, request: &AuthRequest, form: &StepForm) -> Response {
    let now = shared.clock.now_secs();
    let session = form.session.clone().unwrap_or_default();
    let pending = {
        let mut state = shared.state.write();
        state.oauth.sweep(now);
        state.oauth.logins.remove(&session)
    };
    let Some(pending) =
        pending.filter(|p| p.pool_id == request.pool_id && p.query == request.query)
    else {
        return pages::login(
            &request.query,
            "",
            Some("Your sign-in has expired. Please sign in again."),
            None,
            request.self_sign_up,
            &request.federated_providers,
        );
    };
    // A wrong answer shows the same step again, under a fresh session value.
    let retry = |message: &str| {
        next_step(
            shared,
            request,
            &pending.username,
            pending.step.clone(),
            pending.auth_time,
            Some(message),
        )
    };
    match &pending.step {
        LoginStep::NewPassword => {
            let password = form.password.as_deref().unwrap_or_default();
            if form.confirm_password.as_deref() != Some(password) {
                return retry("The passwords do not match.");
            }
            let mut state = shared.state.write();
            let Ok(pool) = state.pool_mut(&request.pool_id) else {
                return bad_request_page("invalid_request", "The user pool is gone.");
            };
            if let Err(error) = crate::password::Policy::of(pool).check(password) {
                drop(state);
                return retry(error.message());
            }
            let record = crate::password::record(pool, &pending.username, password, now, false);
            let Some(user) = pool.user_mut(&pending.username) else {
                return bad_request_page("invalid_request", "The user is gone.");
            };
            user.password = Some(record);
            user.status = UserStatus::Confirmed;
            user.modified = now as f64;
            drop(state);
            after_password(shared, request, &pending.username, pending.auth_time)
        }
        LoginStep::Code { code, .. } => {
            let given = form.code.as_deref().unwrap_or_default().trim();
            if given.is_empty() || given != code {
                return retry("Invalid code received for user.");
            }
            signed_in(shared, request, &pending.username, pending.auth_time)
        }
        LoginStep::Totp => {
            let given = form.code.as_deref().unwrap_or_default().trim();
            let secret = {
                let state = shared.state.read();
                state
                    .pools
                    .get(&request.pool_id)
                    .and_then(|p| p.user(&pending.username))
                    .and_then(|u| u.mfa.totp_secret.clone())
            };
            match secret {
                Some(secret) if crate::totp::verify(&secret, given, shared.clock.now()) => {
                    signed_in(shared, request, &pending.username, pending.auth_time)
                }
                _ => retry("Invalid code received for user."),
            }
        }
        LoginStep::TotpSetup { secret } => {
            let given = form.code.as_deref().unwrap_or_default().trim();
            if !crate::totp::verify(secret, given, shared.clock.now()) {
                return retry("Invalid code received for user.");
            }
            {
                let mut state = shared.state.write();
                let Some(user) = state
                    .pools
                    .get_mut(&request.pool_id)
                    .and_then(|p| p.user_mut(&pending.username))
                else {
                    return bad_request_page("invalid_request", "The user is gone.");
                };
                user.mfa.totp = true;
                user.mfa.totp_secret = Some(secret.clone());
                user.mfa.preferred = Some("SOFTWARE_TOKEN_MFA".into());
            }
            signed_in(shared, request, &pending.username, pending.auth_time)
        }
    }
}

/// The parameters of `/logout`.
#[derive(Debug, Default, Deserialize)]
struct LogoutParams {
    client_id: Option<String>,
    logout_uri: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    state: Option<String>,
    scope: Option<String>,
}

/// `GET /logout`: clears the session, then goes to a registered logout URI or back to `/login`.
pub(crate) async fn logout(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let Ok(params) = serde_urlencoded::from_str::<LogoutParams>(&query) else {
        return bad_request_page("invalid_request", "The query string is malformed.");
    };
    let Some(client_id) = params.client_id.as_deref() else {
        return bad_request_page("invalid_request", "client_id is required.");
    };
    let oauth = {
        let state = shared.state.read();
        match state.client(client_id) {
            Ok((_, client)) => ClientOAuth::of(&client.settings),
            Err(_) => return bad_request_page("invalid_request", "The client does not exist."),
        }
    };
    let target = if let Some(logout_uri) = params.logout_uri.as_deref() {
        if !oauth.logout_urls.iter().any(|u| u == logout_uri) {
            return bad_request_page(
                "redirect_mismatch",
                "The logout_uri is not registered for this client.",
            );
        }
        logout_uri.to_owned()
    } else if let (Some(redirect_uri), Some(response_type)) =
        (params.redirect_uri.as_deref(), params.response_type.as_deref())
    {
        if !oauth.callback_urls.iter().any(|u| u == redirect_uri) {
            return bad_request_page(
                "redirect_mismatch",
                "The redirect_uri is not registered for this client.",
            );
        }
        let mut login = url::form_urlencoded::Serializer::new(String::new());
        login.append_pair("client_id", client_id);
        login.append_pair("redirect_uri", redirect_uri);
        login.append_pair("response_type", response_type);
        for (name, value) in [("state", &params.state), ("scope", &params.scope)] {
            if let Some(value) = value {
                login.append_pair(name, value);
            }
        }
        format!("/login?{}", login.finish())
    } else {
        return bad_request_page(
            "invalid_request",
            "logout_uri, or redirect_uri and response_type, are required.",
        );
    };
    if let Some(cookie) = session_cookie(&headers) {
        shared.state.write().oauth.sessions.remove(&cookie);
    }
    let mut response = redirect(&target);
    let clear = format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::super::token::s256;
    use super::*;

    /// The challenge was computed with Python's `hashlib` and `base64.urlsafe_b64encode`.
    #[test]
    fn pkce_s256_matches_an_independent_computation() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXk-0E-cM"),
            "4EKdI__sRYJYq8VKmGv2gwrFb-oftawRPnMjURLvGO4"
        );
    }

    #[test]
    fn error_redirects_keep_the_registered_query_and_add_state() {
        let location = with_query(
            "https://app.example/cb?x=1",
            &[("error", "invalid_scope"), ("state", "a b")],
        );
        assert_eq!(location, "https://app.example/cb?x=1&error=invalid_scope&state=a+b");
    }
}
