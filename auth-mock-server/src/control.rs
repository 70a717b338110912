//! The test-control API: clock, lifetimes, faults, codes, custom-auth answers, token
//! revocation, counters and reset. Served under `/_mock/` and mirrored by methods of
//! [`crate::MockServerHandle`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::Response;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Shared;
use crate::state::{CustomAuth, Lifetimes};
use crate::wire::{CognitoError, ControlJson, ok, result};

/// The path prefix of the test-control API.
pub const CONTROL_PREFIX: &str = "/_mock";

/// An injected fault for an operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Fault {
    /// Operation name (`InitiateAuth`), or `*` for every operation. A `*` fault that drops
    /// connections drops every request on every route but the test-control API's (S3,
    /// discovery documents, `GET /`, OIDC issuers too), so the whole server looks
    /// unreachable, as it would to a device that lost its network.
    pub operation: String,
    /// Answer with this error instead of running the operation.
    pub error: Option<FaultError>,
    /// Wait this long before answering (or dropping).
    pub latency_ms: u64,
    /// Close the connection without answering (a client sees a network failure).
    pub drop_connection: bool,
    /// Apply to this many requests, then disappear; `None` = until cleared.
    pub times: Option<u32>,
}

/// The error an injected fault answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FaultError {
    /// Exception name, e.g. `TooManyRequestsException`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Message text.
    #[serde(default)]
    pub message: String,
    /// HTTP status (default 400, or 500 for `InternalErrorException`).
    #[serde(default)]
    pub status: Option<u16>,
}

impl Fault {
    /// A fault that answers `operation` with an error.
    pub fn error(
        operation: impl Into<String>,
        kind: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            operation: operation.into(),
            error: Some(FaultError { kind: kind.into(), message: message.into(), status: None }),
            ..Self::default()
        }
    }

    /// A fault that drops the connection of `operation` requests.
    pub fn drop_connection(operation: impl Into<String>) -> Self {
        Self { operation: operation.into(), drop_connection: true, ..Self::default() }
    }

    /// A fault that delays `operation` requests.
    pub fn latency(operation: impl Into<String>, millis: u64) -> Self {
        Self { operation: operation.into(), latency_ms: millis, ..Self::default() }
    }

    /// Limits the fault to the next `times` requests.
    pub fn times(mut self, times: u32) -> Self {
        self.times = Some(times);
        self
    }

    /// Sets the HTTP status of an error fault.
    pub fn status(mut self, status: u16) -> Self {
        if let Some(error) = &mut self.error {
            error.status = Some(status);
        }
        self
    }
}

/// What the request path does with a fault it took.
#[derive(Debug)]
pub(crate) struct ActiveFault {
    pub(crate) latency_ms: u64,
    pub(crate) drop_connection: bool,
    pub(crate) error: Option<CognitoError>,
}

/// Faults and counters.
#[derive(Debug, Default)]
pub(crate) struct Control {
    faults: Mutex<Vec<Fault>>,
    counters: Mutex<HashMap<String, u64>>,
}

impl Control {
    pub(crate) fn count(&self, key: &str) {
        let mut counters = self.counters.lock();
        match counters.get_mut(key) {
            Some(count) => *count += 1,
            None => {
                counters.insert(key.to_owned(), 1);
            }
        }
    }

    pub(crate) fn counters(&self) -> BTreeMap<String, u64> {
        self.counters.lock().iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    pub(crate) fn reset_counters(&self) {
        self.counters.lock().clear();
    }

    pub(crate) fn add_fault(&self, fault: Fault) {
        self.faults.lock().push(fault);
    }

    pub(crate) fn clear_faults(&self) {
        self.faults.lock().clear();
    }

    pub(crate) fn faults(&self) -> Vec<Fault> {
        self.faults.lock().clone()
    }

    pub(crate) fn take_fault(&self, operation: &str) -> Option<ActiveFault> {
        self.take_first(|f| f.operation == operation || f.operation == "*")
    }

    /// The first `*` fault that drops connections, for requests that name no operation
    /// (S3, discovery documents, the OIDC issuers, `GET /`).
    pub(crate) fn take_outage(&self) -> Option<ActiveFault> {
        self.take_first(|f| f.operation == "*" && f.drop_connection)
    }

    /// Takes the first fault that `applies`, counting down its `times`.
    fn take_first(&self, applies: impl Fn(&Fault) -> bool) -> Option<ActiveFault> {
        let mut faults = self.faults.lock();
        if faults.is_empty() {
            return None;
        }
        let index = faults.iter().position(applies)?;
        let fault = &mut faults[index];
        let active = ActiveFault {
            latency_ms: fault.latency_ms,
            drop_connection: fault.drop_connection,
            error: fault.error.as_ref().map(|e| {
                let error = CognitoError::new(e.kind.clone(), e.message.clone());
                match e.status {
                    Some(status) => error.with_status(status),
                    None => error,
                }
            }),
        };
        if let Some(times) = &mut fault.times {
            *times = times.saturating_sub(1);
            if *times == 0 {
                faults.remove(index);
            }
        }
        Some(active)
    }
}

/// The last code "delivered" to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeliveredCode {
    /// The code itself.
    pub code: String,
    /// Why it was sent: `signup`, `forgot_password`, `mfa`, `attribute:<name>`.
    pub purpose: String,
}

impl Shared {
    /// Sets lifetime overrides on one client, every client of a pool, or every client.
    pub(crate) fn set_lifetimes(
        &self,
        pool_id: Option<&str>,
        client_id: Option<&str>,
        lifetimes: Lifetimes,
    ) -> Result<usize, CognitoError> {
        // `ExpiresIn` is a 32-bit integer on the wire; keep lifetimes within Cognito's range.
        for value in [
            lifetimes.access_token_seconds,
            lifetimes.id_token_seconds,
            lifetimes.refresh_token_seconds,
        ]
        .into_iter()
        .flatten()
        {
            if !(1..=315_360_000).contains(&value) {
                return Err(CognitoError::invalid_parameter(
                    "Token lifetimes must be between 1 second and 10 years (315360000 seconds).",
                ));
            }
        }
        let mut state = self.state.write();
        let mut changed = 0;
        for pool in state.pools.values_mut() {
            if pool_id.is_some_and(|id| id != pool.id) {
                continue;
            }
            for client in pool.clients.values_mut() {
                if client_id.is_some_and(|id| id != client.id) {
                    continue;
                }
                client.lifetime_override = lifetimes;
                changed += 1;
            }
        }
        if changed == 0 && (pool_id.is_some() || client_id.is_some()) {
            return Err(CognitoError::resource_not_found("No matching pool or client."));
        }
        Ok(changed)
    }

    pub(crate) fn last_code(
        &self,
        pool_id: &str,
        username: &str,
    ) -> Result<DeliveredCode, CognitoError> {
        let state = self.state.read();
        let user = state.pool(pool_id)?.user(username).ok_or_else(crate::state::user_not_found)?;
        user.last_code
            .clone()
            .map(|(purpose, code)| DeliveredCode { code, purpose })
            .ok_or_else(|| CognitoError::resource_not_found("No code was delivered to this user."))
    }

    pub(crate) fn set_custom_auth(
        &self,
        pool_id: &str,
        username: &str,
        custom: Option<CustomAuth>,
    ) -> Result<(), CognitoError> {
        let mut state = self.state.write();
        let user =
            state.pool_mut(pool_id)?.user_mut(username).ok_or_else(crate::state::user_not_found)?;
        user.custom_auth = custom;
        Ok(())
    }

    /// Revokes (or expires) every refresh token of a user issued so far; returns how many
    /// were issued since the last revoke or expire of this user's refresh tokens.
    pub(crate) fn end_refresh_tokens(
        &self,
        pool_id: &str,
        username: &str,
        revoke: bool,
    ) -> Result<usize, CognitoError> {
        let now = self.clock.now_millis();
        let mut state = self.state.write();
        let internal = state
            .pool(pool_id)?
            .user(username)
            .map(|u| u.username.clone())
            .ok_or_else(crate::state::user_not_found)?;
        Ok(state.tokens.end_user_refresh(pool_id, &internal, revoke, now))
    }

    /// Counts of what the server holds, after sweeping what has expired (so the counts are
    /// what a long-running server really keeps, not what the next sweep would drop).
    pub(crate) fn stats(&self) -> Stats {
        let mut state = self.state.write();
        crate::ops::sweep(&mut state, self.clock.now_secs());
        Stats {
            pools: state.pools.len(),
            clients: state.client_index.len(),
            users: state.pools.values().map(|p| p.users.len()).sum(),
            pending_sessions: state.sessions.len() + state.srp.len(),
            token_records: state.tokens.stored(),
            cached_access_tokens: state.tokens.cached(),
            attempt_counters: state.limits.len(),
            identities: self.identity.state.read().identities.len(),
        }
    }

    /// Forgets every pool, token, fault and counter and resets the clock.
    pub(crate) fn reset(&self) {
        *self.state.write() = crate::state::State::default();
        self.control.clear_faults();
        self.control.reset_counters();
        self.clock.set_offset(0);
        crate::identity::reset(self);
        self.oidc.reset();
        self.s3.reset();
    }
}

/// What the server holds, from `GET /_mock/stats` or [`crate::MockServerHandle::stats`].
/// Everything that can grow with traffic is counted here, so a long run can show it stays
/// flat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// User pools.
    pub pools: usize,
    /// App clients of every pool.
    pub clients: usize,
    /// Users of every pool.
    pub users: usize,
    /// Unfinished sign-ins: challenge sessions plus pending SRP exchanges.
    pub pending_sessions: usize,
    /// Stored token bookkeeping: revoked token families, rotated refresh tokens and per-user
    /// sign-out times. Issued tokens themselves are not stored (see the user guide).
    pub token_records: usize,
    /// Access tokens remembered after a first check (bounded; the cache starts over when
    /// full).
    pub cached_access_tokens: usize,
    /// Sign-in lockouts and code attempt counters.
    pub attempt_counters: usize,
    /// Identity-pool identities. Like Cognito's, they outlive the users they were made
    /// for, so they grow with the users a run signs up, not with its sign-ins.
    pub identities: usize,
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_mock/health", get(|| async { ok(json!({"ok": true})) }))
        .route("/_mock/clock", get(get_clock).post(post_clock))
        .route("/_mock/lifetimes", post(post_lifetimes))
        .route("/_mock/faults", get(get_faults).post(post_fault).delete(delete_faults))
        .route("/_mock/requests", get(get_requests).delete(delete_requests))
        .route("/_mock/codes/{pool_id}/{username}", get(get_code))
        .route("/_mock/custom-auth", post(post_custom_auth))
        .route("/_mock/refresh-tokens/revoke", post(post_revoke))
        .route("/_mock/refresh-tokens/expire", post(post_expire))
        .route("/_mock/reset", post(post_reset))
        .route("/_mock/attempt-limits", delete(delete_attempt_limits))
        .route("/_mock/stats", get(get_stats))
        .route("/_mock/lambdas", get(get_lambdas).put(put_lambda).delete(delete_lambdas))
}

async fn get_clock(State(shared): State<Arc<Shared>>) -> Response<Body> {
    ok(json!({
        "now": shared.clock.now_f64(),
        "offset_seconds": shared.clock.offset_millis() as f64 / 1000.0,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockRequest {
    advance_seconds: Option<f64>,
    offset_seconds: Option<f64>,
}

async fn post_clock(
    State(shared): State<Arc<Shared>>,
    ControlJson(request): ControlJson<ClockRequest>,
) -> Response<Body> {
    let to_millis = |s: f64| if s.is_finite() { (s * 1000.0) as i64 } else { 0 };
    if let Some(offset) = request.offset_seconds {
        shared.clock.set_offset(to_millis(offset));
    }
    if let Some(advance) = request.advance_seconds {
        shared.clock.advance(to_millis(advance));
    }
    get_clock(State(shared)).await
}

#[derive(Deserialize)]
struct LifetimesRequest {
    user_pool_id: Option<String>,
    client_id: Option<String>,
    #[serde(flatten)]
    lifetimes: Lifetimes,
}

async fn post_lifetimes(
    State(shared): State<Arc<Shared>>,
    ControlJson(request): ControlJson<LifetimesRequest>,
) -> Response<Body> {
    result(
        shared
            .set_lifetimes(
                request.user_pool_id.as_deref(),
                request.client_id.as_deref(),
                request.lifetimes,
            )
            .map(|clients| json!({ "clients": clients })),
    )
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response<Body> {
    ok(json!({ "faults": shared.control.faults() }))
}

async fn post_fault(
    State(shared): State<Arc<Shared>>,
    ControlJson(fault): ControlJson<Fault>,
) -> Response<Body> {
    if fault.operation.is_empty() {
        return CognitoError::invalid_parameter("operation is required (an operation name or *)")
            .into_response();
    }
    shared.control.add_fault(fault);
    ok(json!({ "faults": shared.control.faults() }))
}

async fn delete_faults(State(shared): State<Arc<Shared>>) -> Response<Body> {
    shared.control.clear_faults();
    ok(json!({ "faults": [] }))
}

async fn get_requests(State(shared): State<Arc<Shared>>) -> Response<Body> {
    ok(json!({ "requests": shared.control.counters() }))
}

async fn delete_requests(State(shared): State<Arc<Shared>>) -> Response<Body> {
    shared.control.reset_counters();
    ok(json!({ "requests": {} }))
}

async fn get_code(
    State(shared): State<Arc<Shared>>,
    Path((pool_id, username)): Path<(String, String)>,
) -> Response<Body> {
    result(shared.last_code(&pool_id, &username).map(|code| json!(code)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomAuthRequest {
    user_pool_id: String,
    username: String,
    /// `null` removes the challenge.
    answer: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
}

async fn post_custom_auth(
    State(shared): State<Arc<Shared>>,
    ControlJson(request): ControlJson<CustomAuthRequest>,
) -> Response<Body> {
    let custom = request.answer.map(|answer| CustomAuth { answer, parameters: request.parameters });
    result(
        shared
            .set_custom_auth(&request.user_pool_id, &request.username, custom)
            .map(|()| json!({})),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserRef {
    user_pool_id: String,
    username: String,
}

async fn post_revoke(
    State(shared): State<Arc<Shared>>,
    ControlJson(user): ControlJson<UserRef>,
) -> Response<Body> {
    end_user_refresh_tokens(&shared, &user, true)
}

async fn post_expire(
    State(shared): State<Arc<Shared>>,
    ControlJson(user): ControlJson<UserRef>,
) -> Response<Body> {
    end_user_refresh_tokens(&shared, &user, false)
}

/// Revokes (`revoke`) or expires a user's refresh tokens; answers how many there were.
fn end_user_refresh_tokens(shared: &Shared, user: &UserRef, revoke: bool) -> Response<Body> {
    result(
        shared
            .end_refresh_tokens(&user.user_pool_id, &user.username, revoke)
            .map(|n| json!({ "refresh_tokens": n })),
    )
}

async fn post_reset(State(shared): State<Arc<Shared>>) -> Response<Body> {
    shared.reset();
    ok(json!({}))
}

async fn get_stats(State(shared): State<Arc<Shared>>) -> Response<Body> {
    ok(json!(shared.stats()))
}

/// Ends every sign-in lockout and forgets every code attempt counter.
async fn delete_attempt_limits(State(shared): State<Arc<Shared>>) -> Response<Body> {
    shared.state.write().limits.clear();
    ok(json!({}))
}

async fn get_lambdas(State(shared): State<Arc<Shared>>) -> Response<Body> {
    ok(json!({ "lambdas": shared.lambdas.all() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LambdaMapping {
    arn: String,
    /// `null` removes the mapping.
    url: Option<String>,
}

async fn put_lambda(
    State(shared): State<Arc<Shared>>,
    ControlJson(mapping): ControlJson<LambdaMapping>,
) -> Response<Body> {
    match mapping.url {
        Some(url) => result(
            shared
                .lambdas
                .set(&mapping.arn, &url)
                .map(|()| json!({ "lambdas": shared.lambdas.all() })),
        ),
        None => {
            let removed = shared.lambdas.remove(&mapping.arn);
            ok(json!({ "removed": removed, "lambdas": shared.lambdas.all() }))
        }
    }
}

async fn delete_lambdas(State(shared): State<Arc<Shared>>) -> Response<Body> {
    shared.lambdas.clear();
    ok(json!({ "lambdas": {} }))
}
