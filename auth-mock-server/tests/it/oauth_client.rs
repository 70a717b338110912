//! The hosted UI and token endpoint through an independent OAuth 2.0 client (the `oauth2`
//! crate): code flow with PKCE, refresh, and client credentials with RFC 6749 §2.3.1 Basic
//! authentication; and property tests: random query strings and form bodies on every endpoint
//! never get a 5xx or a redirect to an unregistered URI.

use std::sync::OnceLock;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl,
    Scope, TokenResponse as _, TokenUrl,
};
use proptest::prelude::*;
use reqwest::header::{CONTENT_TYPE, LOCATION};

use crate::hosted::{CALLBACK, Hosted, LOGOUT, hosted, param};
use crate::support::{PASSWORD, claims};

/// The `oauth2` crate's HTTP through the workspace's reqwest, without following redirects.
fn http_client() -> impl Fn(
    oauth2::HttpRequest,
) -> std::pin::Pin<
    Box<dyn Future<Output = Result<oauth2::HttpResponse, reqwest::Error>> + Send>,
> {
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    move |request: oauth2::HttpRequest| {
        let client = client.clone();
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = client.execute(request).await?;
            let mut builder = oauth2::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await?.to_vec();
            Ok(builder.body(body).expect("a valid response"))
        })
    }
}

#[tokio::test]
async fn the_oauth2_crate_signs_in_with_pkce_refreshes_and_gets_client_credentials() {
    let h = hosted().await;
    let base = h.f.server.url();
    let client = BasicClient::new(ClientId::new(h.web.clone()))
        .set_auth_uri(AuthUrl::new(format!("{base}/oauth2/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(format!("{base}/oauth2/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(CALLBACK.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .add_scope(Scope::new("aws.cognito.signin.user.admin".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser's part: follow to the login page and post the form.
    let login = h.http.get(authorize_url.as_str()).send().await.unwrap();
    let login = login.headers()[LOCATION].to_str().unwrap().to_owned();
    let back = h.post_form(&login, &[("username", "alice"), ("password", PASSWORD)]).await;
    let back = back.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(param(&back, "state").as_deref(), Some(csrf.secret().as_str()));
    let code = param(&back, "code").unwrap();

    let http = http_client();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let access = claims(tokens.access_token().secret());
    assert_eq!(access["scope"], "openid aws.cognito.signin.user.admin");
    let refresh = tokens.refresh_token().expect("a refresh token");
    let refreshed =
        client.exchange_refresh_token(refresh).request_async(&http).await.expect("refresh");
    assert_eq!(claims(refreshed.access_token().secret())["username"], "alice");

    // Client credentials with a secret that RFC 6749 §2.3.1 form-encodes (`+` → `%2B`).
    let secret = "Confidential+Secret+0123456789";
    let created =
        h.f.server
            .call(
                "CreateUserPoolClient",
                serde_json::json!({
                    "UserPoolId": h.f.pool,
                    "ClientName": "plus",
                    "ClientSecret": secret,
                    "AllowedOAuthFlowsUserPoolClient": true,
                    "AllowedOAuthFlows": ["client_credentials"],
                    "AllowedOAuthScopes": ["https://api.example.com/read"],
                }),
            )
            .await
            .unwrap();
    let plus_id = created["UserPoolClient"]["ClientId"].as_str().unwrap().to_owned();
    for (id, secret) in [(plus_id.as_str(), secret), (h.m2m.as_str(), h.m2m_secret.as_str())] {
        let machine = BasicClient::new(ClientId::new(id.to_owned()))
            .set_client_secret(ClientSecret::new(secret.to_owned()))
            .set_token_uri(TokenUrl::new(format!("{base}/oauth2/token")).unwrap());
        let token = machine
            .exchange_client_credentials()
            .add_scope(Scope::new("https://api.example.com/read".into()))
            .request_async(&http)
            .await
            .expect("client credentials");
        let token = claims(token.access_token().secret());
        assert_eq!(token["sub"], id);
        assert_eq!(token["scope"], "https://api.example.com/read");
    }
}

/// Every hosted-UI and OAuth endpoint, with its method.
const ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/oauth2/authorize"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/oauth2/token"),
    ("GET", "/oauth2/userInfo"),
    ("POST", "/oauth2/userInfo"),
    ("POST", "/oauth2/revoke"),
    ("GET", "/logout"),
    ("POST", "/resetpassword"),
    ("POST", "/mfa"),
    ("GET", "/signup"),
    ("POST", "/signup"),
    ("POST", "/confirm"),
    ("GET", "/forgotPassword"),
    ("POST", "/forgotPassword"),
    ("POST", "/confirmforgotPassword"),
];

const NAMES: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "logout_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "identity_provider",
    "grant_type",
    "client_secret",
    "code",
    "code_verifier",
    "refresh_token",
    "token",
    "username",
    "password",
    "confirm_password",
    "session",
    "email",
];

struct Env {
    runtime: tokio::runtime::Runtime,
    hosted: Hosted,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let runtime = crate::support::shared_runtime();
        let hosted = runtime.block_on(hosted());
        Env { runtime, hosted }
    })
}

fn value(web: &'static str) -> impl Strategy<Value = String> {
    // Values the server gives meaning to; weighted by their count, each is as likely as
    // either random form.
    let meaningful = vec![
        web,
        "code",
        "token",
        "S256",
        "authorization_code",
        "client_credentials",
        "refresh_token",
        CALLBACK,
        LOGOUT,
        "https://evil.example/cb",
        "openid email",
        "alice",
        PASSWORD,
        "4EKdI__sRYJYq8VKmGv2gwrFb-oftawRPnMjURLvGO4",
    ];
    prop_oneof![
        1 => "\\PC{0,40}",
        1 => "[a-zA-Z0-9%&=+._~-]{0,40}",
        14 => proptest::sample::select(meaningful).prop_map(str::to_owned),
    ]
}

/// A form-encoded parameter list, or raw garbage.
fn params(web: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::collection::vec((proptest::sample::select(NAMES), value(web)), 0..8)
            .prop_map(|pairs| serde_urlencoded::to_string(pairs).unwrap()),
        1 => "[ -~]{0,80}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn random_requests_never_get_a_5xx_or_an_unregistered_redirect(
        endpoint in 0..ENDPOINTS.len(),
        (query, body) in {
            let web: &'static str = Box::leak(env().hosted.web.clone().into_boxed_str());
            (params(web), params(web))
        },
    ) {
        let env = env();
        let (method, path) = ENDPOINTS[endpoint];
        let url = format!("{}{path}?{query}", env.hosted.f.server.url());
        prop_assume!(reqwest::Url::parse(&url).is_ok());
        let response = env.runtime.block_on(async {
            let request = if method == "GET" { env.hosted.http.get(&url) } else { env.hosted.http.post(&url) };
            request.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body.clone()).send().await
        }).expect("an answer");
        let status = response.status();
        prop_assert!(!status.is_server_error(), "{method} {path}?{query} body {body}: {status}");
        if status.is_redirection() {
            let location = response.headers().get(LOCATION).and_then(|l| l.to_str().ok()).unwrap_or_default().to_owned();
            let registered = location.starts_with(CALLBACK)
                || location.starts_with(LOGOUT)
                || (location.starts_with('/') && !location.starts_with("//"));
            prop_assert!(registered, "{method} {path}?{query}: redirect to {location}");
        }
    }
}
