//! Snapshot traces of the canonical scenarios: every API call, its outcome, the
//! transitions it caused (event, state change, effects), what listeners heard and what
//! the store holds. Times are redacted: outcomes show lifetimes relative to the test clock.

use std::fmt::Write as _;
use std::time::Duration;

use auth_core::machine::{Effect, Event};
use auth_core::{
    AuthClient, AuthError, ProviderToken, SignInRequest, SignOutOptions, StateChanges, UserState,
};

use crate::support::{
    Harness, MARGIN, PASSWORD, REFRESH_LIFETIME, TOKEN_LIFETIME, USER, drain, settle,
    spawn_credentials, spawn_tokens,
};

const PAST_EXPIRY: Duration = Duration::from_secs(TOKEN_LIFETIME.as_secs() - MARGIN.as_secs() + 1);

/// Writes the trace of a scenario.
struct Trace {
    h: Harness,
    text: String,
    changes: Option<StateChanges>,
}

impl Trace {
    fn new(h: Harness) -> Self {
        Trace { h, text: String::new(), changes: None }
    }

    /// Starts a client (or restarts one) and records its initialisation.
    async fn start(&mut self) -> AuthClient {
        let client = self.h.builder().build();
        self.changes = Some(client.state_changes());
        let result = client.initialize().await.map(|d| d.state);
        self.record("initialize()", format!("{result:?}")).await;
        client
    }

    fn note(&mut self, text: &str) {
        writeln!(self.text, "# {text}").unwrap();
    }

    /// Records a call and everything that followed from it.
    async fn record(&mut self, call: &str, outcome: String) {
        settle().await;
        writeln!(self.text, "- call: {call}").unwrap();
        writeln!(self.text, "  outcome: {outcome}").unwrap();
        let transitions = std::mem::take(&mut *self.h.transitions.lock().unwrap());
        for t in transitions {
            let effects: Vec<String> = t.effects.iter().map(effect).collect();
            writeln!(
                self.text,
                "  - {}: {} -> {} [{}]",
                event(&t.event),
                t.from.user_state(),
                t.to.user_state(),
                effects.join(", ")
            )
            .unwrap();
        }
        if let Some(changes) = &mut self.changes {
            let heard: Vec<String> = drain(changes).iter().map(|d| d.state.to_string()).collect();
            if !heard.is_empty() {
                writeln!(self.text, "  listeners: [{}]", heard.join(", ")).unwrap();
            }
        }
        let store = match self.h.store.peek() {
            None => "empty".to_owned(),
            Some(s) => {
                let mut parts = Vec::new();
                if let Some(up) = &s.user_pool {
                    parts.push(format!("user pool session of {}", up.username));
                }
                if let Some(f) = &s.federated {
                    parts.push(format!("federated session with {}", f.provider));
                }
                if s.identity_id.is_some() {
                    parts.push("identity id".to_owned());
                }
                if s.aws_credentials.is_some() {
                    parts.push("AWS credentials".to_owned());
                }
                parts.join(", ")
            }
        };
        writeln!(self.text, "  store: {store}").unwrap();
    }

    async fn tokens(&mut self, client: &AuthClient) {
        let outcome = self.token_outcome(client.tokens().await);
        self.record("tokens()", outcome).await;
    }

    fn token_outcome(&self, result: Result<auth_core::UserPoolTokens, AuthError>) -> String {
        match result {
            Ok(tokens) => {
                let left = tokens.expires_at().duration_since(self.h.now()).unwrap_or_default();
                format!("tokens valid for {}s", left.as_secs())
            }
            Err(error) => format!("error: {error}"),
        }
    }

    fn advance(&mut self, by: Duration) {
        self.h.advance(by);
        writeln!(self.text, "- clock: +{}s", by.as_secs()).unwrap();
    }

    fn set_online(&mut self, online: bool) {
        writeln!(self.text, "- connectivity: {}", if online { "online" } else { "offline" })
            .unwrap();
        self.h.set_online(online);
    }
}

fn event(event: &Event) -> String {
    format!("{event:?}")
}

fn effect(effect: &Effect) -> String {
    match effect {
        Effect::Notify(details) => {
            let provider = details.provider.iter().map(|p| format!("provider={p}"));
            let reason = details.reason.iter().map(|r| format!("reason={r}"));
            let extra: Vec<String> = provider.chain(reason).collect();
            if extra.is_empty() {
                format!("Notify({})", details.state)
            } else {
                format!("Notify({} {})", details.state, extra.join(" "))
            }
        }
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn sign_in_expiry_silent_refresh() {
    let mut t = Trace::new(Harness::new());
    let client = t.start().await;
    let result = client.sign_in(SignInRequest::password(USER, PASSWORD)).await;
    t.record("sign_in(alice)", format!("{result:?}")).await;
    t.tokens(&client).await;
    t.advance(PAST_EXPIRY);
    t.tokens(&client).await;
    t.tokens(&client).await;
    insta::assert_snapshot!(t.text);
}

#[tokio::test]
async fn refresh_token_expiry_then_re_sign_in_completes_the_waiting_request() {
    let mut t = Trace::new(Harness::new());
    let client = t.start().await;
    client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap();
    t.record("sign_in(alice)", "Done".into()).await;
    t.advance(REFRESH_LIFETIME);
    let waiting = spawn_tokens(&client);
    t.record("tokens() [spawned]", "waiting".into()).await;
    let result = client.sign_in(SignInRequest::password(USER, PASSWORD)).await;
    t.record("sign_in(alice)", format!("{result:?}")).await;
    let outcome = t.token_outcome(waiting.await.unwrap());
    t.record("tokens() [the waiting request]", outcome).await;
    insta::assert_snapshot!(t.text);
}

#[tokio::test]
async fn release_fails_the_waiting_request_then_sign_out() {
    let mut t = Trace::new(Harness::new());
    let client = t.start().await;
    client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap();
    t.record("sign_in(alice)", "Done".into()).await;
    t.h.idp.revoke_user(USER);
    t.note("the server revokes alice's refresh tokens");
    t.advance(PAST_EXPIRY);
    let waiting = spawn_tokens(&client);
    t.record("tokens() [spawned]", "waiting".into()).await;
    let released = client.release_sign_in_wait();
    t.record("release_sign_in_wait()", format!("released {released}")).await;
    let outcome = t.token_outcome(waiting.await.unwrap());
    t.record("tokens() [the waiting request]", outcome).await;
    let result = client.sign_out(SignOutOptions::local()).await;
    t.record("sign_out(local)", format!("{result:?}")).await;
    insta::assert_snapshot!(t.text);
}

#[tokio::test]
async fn offline_with_valid_tokens() {
    let mut t = Trace::new(Harness::new());
    let client = t.start().await;
    client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap();
    t.record("sign_in(alice)", "Done".into()).await;
    t.set_online(false);
    t.advance(Duration::from_secs(120));
    t.tokens(&client).await;
    insta::assert_snapshot!(t.text);
}

#[tokio::test]
async fn offline_with_invalid_tokens_blocks_then_refreshes_when_online() {
    let mut t = Trace::new(Harness::new());
    let client = t.start().await;
    client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap();
    t.record("sign_in(alice)", "Done".into()).await;
    t.set_online(false);
    t.advance(PAST_EXPIRY);
    let blocked = spawn_tokens(&client);
    t.record("tokens() [spawned]", "blocked".into()).await;
    t.set_online(true);
    let outcome = t.token_outcome(blocked.await.unwrap());
    t.record("tokens() [the blocked request]", outcome).await;
    insta::assert_snapshot!(t.text);
}

#[tokio::test]
async fn guest_then_sign_in() {
    let mut t = Trace::new(Harness::new().with_guest());
    let client = t.start().await;
    let result = client.aws_credentials().await.map(|c| c.access_key_id);
    t.record("aws_credentials()", format!("{result:?}")).await;
    let result = client.sign_in(SignInRequest::password(USER, PASSWORD)).await;
    t.record("sign_in(alice)", format!("{result:?}")).await;
    let result = client.aws_credentials().await.map(|c| c.access_key_id);
    t.record("aws_credentials()", format!("{result:?}")).await;
    let result = client.sign_out(SignOutOptions::local()).await;
    t.record("sign_out(local)", format!("{result:?}")).await;
    insta::assert_snapshot!(t.text);
}

#[tokio::test]
async fn federated_token_expiry() {
    let mut t = Trace::new(Harness::new());
    t.h.pool.set_lifetime(Duration::from_secs(900));
    let client = t.start().await;
    let token = |h: &Harness| {
        let exp = auth_core::testing::epoch_seconds(h.now() + Duration::from_secs(1200));
        ProviderToken::new(auth_core::testing::unsigned_jwt(
            &serde_json::json!({"sub": "g-1", "exp": exp}),
        ))
    };
    let result =
        client.federated_sign_in("accounts.google.com", token(&t.h), None).await.map(|d| d.state);
    t.record("federated_sign_in(accounts.google.com)", format!("{result:?}")).await;
    t.advance(Duration::from_secs(1200));
    t.note("both the credentials and the Google token have expired");
    let waiting = spawn_credentials(&client);
    t.record("aws_credentials() [spawned]", "waiting".into()).await;
    let result =
        client.federated_sign_in("accounts.google.com", token(&t.h), None).await.map(|d| d.state);
    t.record("federated_sign_in(accounts.google.com) [fresh token]", format!("{result:?}")).await;
    let outcome = waiting.await.unwrap().map(|c| c.access_key_id);
    t.record("aws_credentials() [the waiting request]", format!("{outcome:?}")).await;
    insta::assert_snapshot!(t.text);
}

#[tokio::test]
async fn restart_resumes() {
    let mut t = Trace::new(Harness::new());
    let client = t.start().await;
    client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap();
    t.record("sign_in(alice)", "Done".into()).await;
    drop(client);
    t.note("the app restarts: a new client over the same store");
    let client = t.start().await;
    assert_eq!(client.current_user_state().state, UserState::SignedIn);
    t.tokens(&client).await;
    insta::assert_snapshot!(t.text);
}
