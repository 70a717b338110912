//! The OAuth 2.0 endpoints and the hosted UI over plain HTTP: authorize, the sign-in pages,
//! the token endpoint's three grants, userInfo, revocation, the session cookie and logout.

use aws_sdk_cognitoidentityprovider::types::{
    OAuthFlowType, ResourceServerScopeType, SmsMfaSettingsType, UserPoolMfaType,
};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};

use crate::support::{Fixture, PASSWORD, assert_code, claims, fixture};

pub(crate) const CALLBACK: &str = "http://localhost:3000/callback";
pub(crate) const LOGOUT: &str = "http://localhost:3000/bye";
const API_READ: &str = "https://api.example.com/read";
/// A PKCE pair; the challenge computed independently (Python's hashlib and base64).
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXk-0E-cM";
const CHALLENGE: &str = "4EKdI__sRYJYq8VKmGv2gwrFb-oftawRPnMjURLvGO4";

/// A pool with a domain, a resource server, a public web client and a confidential M2M client.
pub(crate) struct Hosted {
    pub(crate) f: Fixture,
    pub(crate) web: String,
    pub(crate) m2m: String,
    pub(crate) m2m_secret: String,
    pub(crate) http: reqwest::Client,
}

pub(crate) async fn hosted() -> Hosted {
    let f = fixture().await;
    let sdk = &f.sdk;
    sdk.create_user_pool_domain().user_pool_id(&f.pool).domain("test-app").send().await.unwrap();
    sdk.create_resource_server()
        .user_pool_id(&f.pool)
        .identifier("https://api.example.com")
        .name("API")
        .scopes(
            ResourceServerScopeType::builder()
                .scope_name("read")
                .scope_description("r")
                .build()
                .unwrap(),
        )
        .scopes(
            ResourceServerScopeType::builder()
                .scope_name("write")
                .scope_description("w")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let web = sdk
        .create_user_pool_client()
        .user_pool_id(&f.pool)
        .client_name("web")
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(OAuthFlowType::Code)
        .allowed_o_auth_flows(OAuthFlowType::Implicit)
        .allowed_o_auth_scopes("openid")
        .allowed_o_auth_scopes("email")
        .allowed_o_auth_scopes("profile")
        .allowed_o_auth_scopes("aws.cognito.signin.user.admin")
        .allowed_o_auth_scopes(API_READ)
        .callback_urls(CALLBACK)
        .logout_urls(LOGOUT)
        .supported_identity_providers("COGNITO")
        .send()
        .await
        .unwrap();
    let m2m = sdk
        .create_user_pool_client()
        .user_pool_id(&f.pool)
        .client_name("m2m")
        .generate_secret(true)
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(OAuthFlowType::ClientCredentials)
        .allowed_o_auth_scopes(API_READ)
        .allowed_o_auth_scopes("https://api.example.com/write")
        .send()
        .await
        .unwrap();
    let m2m = m2m.user_pool_client().unwrap();
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Hosted {
        web: web.user_pool_client().unwrap().client_id().unwrap().to_owned(),
        m2m: m2m.client_id().unwrap().to_owned(),
        m2m_secret: m2m.client_secret().unwrap().to_owned(),
        f,
        http,
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

/// The query pairs of a URL (absolute or server-relative).
pub(crate) fn query_of(location: &str) -> Vec<(String, String)> {
    let url = url::Url::parse(location)
        .or_else(|_| url::Url::parse("http://server").unwrap().join(location))
        .unwrap();
    url.query_pairs().into_owned().collect()
}

pub(crate) fn param(location: &str, name: &str) -> Option<String> {
    query_of(location).into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// Asserts that `back` brings the OAuth error `error` to the app's callback: with the app's
/// state, so the app can match it to its request, and without a code.
#[track_caller]
pub(crate) fn assert_oauth_error(back: &str, error: &str) {
    assert!(back.starts_with(CALLBACK), "{back}");
    assert_eq!(param(back, "error").as_deref(), Some(error));
    assert_eq!(param(back, "state").as_deref(), Some("st-1"));
    assert!(param(back, "code").is_none(), "{back}");
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get(LOCATION).expect("a redirect").to_str().unwrap().to_owned()
}

/// The `cognito=...` pair of a response's Set-Cookie.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("cognito=") && !v.starts_with("cognito=;"))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

impl Hosted {
    /// A user `bob` with the temporary password `Temp0rary!`, a phone number and SMS MFA
    /// preferred, in a pool where MFA is optional: his first sign-in asks for a new
    /// password, then an SMS code.
    pub(crate) async fn create_bob_with_sms_mfa(&self) {
        let sdk = &self.f.sdk;
        sdk.admin_create_user()
            .user_pool_id(&self.f.pool)
            .username("bob")
            .temporary_password("Temp0rary!")
            .user_attributes(crate::sdk_attr("phone_number", "+15555550100"))
            .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
            .send()
            .await
            .unwrap();
        sdk.update_user_pool()
            .user_pool_id(&self.f.pool)
            .mfa_configuration(UserPoolMfaType::Optional)
            .send()
            .await
            .unwrap();
        sdk.admin_set_user_mfa_preference()
            .user_pool_id(&self.f.pool)
            .username("bob")
            .sms_mfa_settings(
                SmsMfaSettingsType::builder().enabled(true).preferred_mfa(true).build(),
            )
            .send()
            .await
            .unwrap();
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.f.server.url())
    }

    pub(crate) fn authorize_query(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", self.web.as_str()),
            ("redirect_uri", CALLBACK),
            ("state", "st-1"),
            ("scope", "openid email aws.cognito.signin.user.admin"),
            ("code_challenge_method", "S256"),
            ("code_challenge", CHALLENGE),
            ("nonce", "n-1"),
        ];
        for (name, value) in extra {
            pairs.retain(|(n, _)| n != name);
            pairs.push((name, value));
        }
        form(&pairs)
    }

    async fn get(&self, path_and_query: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path_and_query));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    pub(crate) async fn post_form(
        &self,
        path_and_query: &str,
        body: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(self.url(path_and_query))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(body))
            .send()
            .await
            .unwrap()
    }

    /// Authorize, then the login form: the response to the password POST.
    pub(crate) async fn sign_in(
        &self,
        query: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let authorize = self.get(&format!("/oauth2/authorize?{query}"), None).await;
        assert_eq!(authorize.status(), StatusCode::FOUND);
        let login = location(&authorize);
        assert!(login.starts_with("/login?"), "{login}");
        let page = self.get(&login, None).await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("name=\"username\"") && html.contains("name=\"password\""));
        assert!(!html.contains("<script"), "no JavaScript");
        self.post_form(&login, &[("username", username), ("password", password)]).await
    }

    /// Exchanges a code with PKCE.
    pub(crate) async fn exchange(&self, code: &str) -> reqwest::Response {
        self.post_form(
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &self.web),
                ("code", code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", VERIFIER),
            ],
        )
        .await
    }
}

async fn json(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn code_flow_with_pkce_refresh_userinfo_and_revocation() {
    let h = hosted().await;
    let signed_in = h.sign_in(&h.authorize_query(&[]), "alice", PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    let back = location(&signed_in);
    assert!(back.starts_with(CALLBACK), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
    assert!(session_cookie(&signed_in).is_some());
    let code = param(&back, "code").unwrap();

    let tokens = json(h.exchange(&code).await).await;
    assert!(tokens["access_token"].is_string(), "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-1");
    assert!(id["at_hash"].is_string());
    assert!(id["auth_time"].is_u64());
    assert_eq!(id["aud"], h.web.as_str());
    let access_claims = claims(access);
    assert_eq!(access_claims["scope"], "openid email aws.cognito.signin.user.admin");
    assert_eq!(access_claims["username"], "alice");

    // Single use.
    let again = json(h.exchange(&code).await).await;
    assert_eq!(again["error"], "invalid_grant");

    // The JSON API accepts the token: it carries the sign-in scope.
    let user = h.f.sdk.get_user().access_token(access).send().await.unwrap();
    assert_eq!(user.username(), "alice");

    let info = h
        .http
        .get(h.url("/oauth2/userInfo"))
        .header(AUTHORIZATION, format!("Bearer {access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::OK);
    let info = json(info).await;
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(info["email_verified"], "true");
    assert_eq!(info["username"], "alice");
    let bad = h
        .http
        .get(h.url("/oauth2/userInfo"))
        .header(AUTHORIZATION, "Bearer nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let refreshed = h
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &h.web),
                ("refresh_token", refresh_token),
            ],
        )
        .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let refreshed = json(refreshed).await;
    assert!(refreshed.get("refresh_token").is_none());
    assert_eq!(
        claims(refreshed["access_token"].as_str().unwrap())["scope"],
        "openid email aws.cognito.signin.user.admin"
    );
    assert!(refreshed["id_token"].is_string());

    let revoked =
        h.post_form("/oauth2/revoke", &[("token", refresh_token), ("client_id", &h.web)]).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let after = json(
        h.post_form(
            "/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &h.web),
                ("refresh_token", refresh_token),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(after["error"], "invalid_grant");
    assert_code(h.f.sdk.get_user().access_token(access).send().await, "NotAuthorizedException");
}

#[tokio::test]
async fn client_credentials_with_basic_and_post_authentication() {
    use base64::Engine as _;
    let h = hosted().await;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", h.m2m, h.m2m_secret));
    let response = h
        .http
        .post(h.url("/oauth2/token"))
        .header(AUTHORIZATION, format!("Basic {basic}"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
    let token = claims(body["access_token"].as_str().unwrap());
    assert_eq!(token["sub"], h.m2m.as_str());
    assert_eq!(token["client_id"], h.m2m.as_str());
    assert!(token.get("username").is_none());
    assert_eq!(token["scope"], "https://api.example.com/read https://api.example.com/write");

    let post = h
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &h.m2m),
                ("client_secret", &h.m2m_secret),
                ("scope", API_READ),
            ],
        )
        .await;
    assert_eq!(claims(json(post).await["access_token"].as_str().unwrap())["scope"], API_READ);

    let wrong = h
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &h.m2m),
                ("client_secret", "nope"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(wrong).await["error"], "invalid_client");
    let scope = h
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &h.m2m),
                ("client_secret", &h.m2m_secret),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(json(scope).await["error"], "invalid_scope");
    let grant = h
        .post_form(
            "/oauth2/token",
            &[("grant_type", "password"), ("client_id", &h.m2m), ("client_secret", &h.m2m_secret)],
        )
        .await;
    assert_eq!(json(grant).await["error"], "unsupported_grant_type");
    let public = h
        .post_form("/oauth2/token", &[("grant_type", "client_credentials"), ("client_id", &h.web)])
        .await;
    assert_eq!(json(public).await["error"], "unauthorized_client");
}

#[tokio::test]
async fn errors_before_the_redirect_uri_is_trusted_are_pages_never_redirects() {
    let h = hosted().await;
    for query in [
        h.authorize_query(&[("client_id", "nobody")]),
        h.authorize_query(&[("redirect_uri", "https://evil.example/cb")]),
        "client_id=%ZZ".to_owned(),
        String::new(),
    ] {
        let response = h.get(&format!("/oauth2/authorize?{query}"), None).await;
        assert!(response.status().is_client_error(), "{query}: {}", response.status());
        assert!(response.headers().get(LOCATION).is_none(), "{query}");
        assert!(response.text().await.unwrap().contains("id=\"error\""));
    }
    // Once the client and redirect URI are known, errors go back to the app.
    for (extra, error) in [
        (("scope", "https://api.example.com/write"), "invalid_scope"),
        (("code_challenge_method", "plain"), "invalid_request"),
        (("response_type", "id_token"), "unsupported_response_type"),
    ] {
        let response =
            h.get(&format!("/oauth2/authorize?{}", h.authorize_query(&[extra])), None).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let back = location(&response);
        assert_oauth_error(&back, error);
    }
}

#[tokio::test]
async fn wrong_password_pkce_mismatch_and_a_token_without_the_api_scope() {
    let h = hosted().await;
    let wrong = h.sign_in(&h.authorize_query(&[]), "alice", "not-it").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(wrong.text().await.unwrap().contains("Incorrect username or password."));

    let signed_in =
        h.sign_in(&h.authorize_query(&[("scope", "openid profile")]), "alice", PASSWORD).await;
    let code = param(&location(&signed_in), "code").unwrap();
    let mismatch = h
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &h.web),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", "x".repeat(43).as_str()),
            ],
        )
        .await;
    assert_eq!(json(mismatch).await["error"], "invalid_grant");

    let signed_in =
        h.sign_in(&h.authorize_query(&[("scope", "openid profile")]), "alice", PASSWORD).await;
    let code = param(&location(&signed_in), "code").unwrap();
    let tokens = json(h.exchange(&code).await).await;
    assert_code(
        h.f.sdk.get_user().access_token(tokens["access_token"].as_str().unwrap()).send().await,
        "NotAuthorizedException",
    );
    // Without openid: no ID token.
    let signed_in = h.sign_in(&h.authorize_query(&[("scope", API_READ)]), "alice", PASSWORD).await;
    let code = param(&location(&signed_in), "code").unwrap();
    let tokens = json(h.exchange(&code).await).await;
    assert!(tokens.get("id_token").is_none());
    assert_eq!(claims(tokens["access_token"].as_str().unwrap())["scope"], API_READ);
}

#[tokio::test]
async fn the_session_cookie_signs_in_again_until_logout() {
    let h = hosted().await;
    let signed_in = h.sign_in(&h.authorize_query(&[]), "alice", PASSWORD).await;
    let cookie = session_cookie(&signed_in).unwrap();
    let again =
        h.get(&format!("/oauth2/authorize?{}", h.authorize_query(&[])), Some(&cookie)).await;
    assert_eq!(again.status(), StatusCode::FOUND);
    let back = location(&again);
    assert!(back.starts_with(CALLBACK) && param(&back, "code").is_some(), "{back}");

    let bad_logout = h
        .get(
            &format!("/logout?client_id={}&logout_uri=https%3A%2F%2Fevil.example", h.web),
            Some(&cookie),
        )
        .await;
    assert_eq!(bad_logout.status(), StatusCode::BAD_REQUEST);
    assert!(bad_logout.headers().get(LOCATION).is_none());
    let logout = h
        .get(
            &format!("/logout?client_id={}&logout_uri={}", h.web, urlencode(LOGOUT)),
            Some(&cookie),
        )
        .await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    assert_eq!(location(&logout), LOGOUT);
    let after =
        h.get(&format!("/oauth2/authorize?{}", h.authorize_query(&[])), Some(&cookie)).await;
    assert!(location(&after).starts_with("/login?"));
}

fn urlencode(value: &str) -> String {
    form(&[("v", value)]).trim_start_matches("v=").to_owned()
}

#[tokio::test]
async fn implicit_grant_returns_tokens_in_the_fragment() {
    let h = hosted().await;
    let query = h.authorize_query(&[("response_type", "token"), ("scope", "openid email")]);
    let signed_in = h.sign_in(&query, "alice", PASSWORD).await;
    let back = location(&signed_in);
    let (_, fragment) = back.split_once('#').expect("a fragment");
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(fragment).unwrap();
    let get = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert!(get("access_token").is_some() && get("id_token").is_some());
    assert_eq!(get("state").as_deref(), Some("st-1"));
    assert!(get("refresh_token").is_none());
}

#[tokio::test]
async fn new_password_and_sms_mfa_on_the_pages() {
    let h = hosted().await;
    h.create_bob_with_sms_mfa().await;
    let query = h.authorize_query(&[]);
    let page = h.sign_in(&query, "bob", "Temp0rary!").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("action=\"/resetpassword?"), "{html}");
    let session = hidden_value(&html, "session");
    let mismatch = h
        .post_form(
            &format!("/resetpassword?{query}"),
            &[("session", &session), ("password", "N3w-Passw0rd!"), ("confirm_password", "other")],
        )
        .await;
    assert!(mismatch.text().await.unwrap().contains("do not match"));
    // Wrong answers re-issue the step under a new session value; start again for a fresh one.
    let html = h.sign_in(&query, "bob", "Temp0rary!").await.text().await.unwrap();
    let session = hidden_value(&html, "session");
    let mfa = h
        .post_form(
            &format!("/resetpassword?{query}"),
            &[
                ("session", &session),
                ("password", "N3w-Passw0rd!"),
                ("confirm_password", "N3w-Passw0rd!"),
            ],
        )
        .await;
    let html = mfa.text().await.unwrap();
    assert!(html.contains("action=\"/mfa?"), "{html}");
    let session = hidden_value(&html, "session");
    let code = h.f.server.last_code(&h.f.pool, "bob").unwrap();
    assert_eq!(code.purpose, "mfa");
    let done =
        h.post_form(&format!("/mfa?{query}"), &[("session", &session), ("code", &code.code)]).await;
    assert_eq!(done.status(), StatusCode::FOUND);
    let back = location(&done);
    let tokens = json(h.exchange(&param(&back, "code").unwrap()).await).await;
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["cognito:username"], "bob");
}

/// The value of a hidden form field.
pub(crate) fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn sign_up_and_forgot_password_on_the_pages() {
    let h = hosted().await;
    let query = h.authorize_query(&[]);
    let login = h.get(&format!("/login?{query}"), None).await.text().await.unwrap();
    assert!(login.contains("id=\"sign-up\"") && login.contains("id=\"forgot-password\""));

    let form = h.get(&format!("/signup?{query}"), None).await;
    assert_eq!(form.status(), StatusCode::OK);
    let weak = h
        .post_form(
            &format!("/signup?{query}"),
            &[("username", "carol"), ("email", "carol@example.com"), ("password", "short")],
        )
        .await;
    assert!(weak.text().await.unwrap().contains("Password did not conform with policy"));
    let confirm = h
        .post_form(
            &format!("/signup?{query}"),
            &[("username", "carol"), ("email", "carol@example.com"), ("password", PASSWORD)],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("action=\"/confirm?"), "{confirm}");
    let code = h.f.server.last_code(&h.f.pool, "carol").unwrap();
    let bad = h
        .post_form(&format!("/confirm?{query}"), &[("username", "carol"), ("code", "000000")])
        .await;
    assert!(bad.headers().get(LOCATION).is_none());
    let done = h
        .post_form(&format!("/confirm?{query}"), &[("username", "carol"), ("code", &code.code)])
        .await;
    assert_eq!(done.status(), StatusCode::FOUND);
    assert!(param(&location(&done), "code").is_some());

    let page = h
        .post_form(&format!("/forgotPassword?{query}"), &[("username", "alice")])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("action=\"/confirmforgotPassword?"), "{page}");
    let code = h.f.server.last_code(&h.f.pool, "alice").unwrap();
    let reset = h
        .post_form(
            &format!("/confirmforgotPassword?{query}"),
            &[
                ("username", "alice"),
                ("code", &code.code),
                ("password", "An0ther-Pass!"),
                ("confirm_password", "An0ther-Pass!"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(reset.contains("id=\"notice\""), "{reset}");
    let signed_in = h
        .post_form(
            &format!("/login?{query}"),
            &[("username", "alice"), ("password", "An0ther-Pass!")],
        )
        .await;
    assert_eq!(signed_in.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn discovery_advertises_the_served_endpoints_and_domains_route_by_host() {
    let h = hosted().await;
    let discovery: serde_json::Value = h
        .http
        .get(h.url(&format!("/{}/.well-known/openid-configuration", h.f.pool)))
        .send()
        .await
        .map(json)
        .unwrap()
        .await;
    let base = h.f.server.url();
    assert_eq!(discovery["token_endpoint"], format!("{base}/oauth2/token"));
    assert_eq!(discovery["authorization_endpoint"], format!("{base}/oauth2/authorize"));
    assert!(discovery["scopes_supported"].as_array().unwrap().iter().any(|s| s == API_READ));
    // Each advertised endpoint answers (with an OAuth error or a page, never a 404).
    for member in ["token_endpoint", "revocation_endpoint"] {
        let url = discovery[member].as_str().unwrap();
        let status = h.http.post(url).send().await.unwrap().status();
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED,
            "{member}: {status}"
        );
    }
    for member in ["authorization_endpoint", "userinfo_endpoint", "end_session_endpoint"] {
        let url = discovery[member].as_str().unwrap();
        let status = h.http.get(url).send().await.unwrap().status();
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED,
            "{member}: {status}"
        );
    }

    // By Host: the pool's prefix domain on *.auth.<region>.localhost, and no other pool's client.
    let port = h.f.server.addr().port();
    let host = format!("test-app.auth.us-east-1.localhost:{port}");
    let on_domain = h
        .http
        .get(h.url(&format!("/oauth2/authorize?{}", h.authorize_query(&[]))))
        .header(reqwest::header::HOST, &host)
        .send()
        .await
        .unwrap();
    assert_eq!(on_domain.status(), StatusCode::FOUND);
    let other = h
        .http
        .get(h.url(&format!("/oauth2/authorize?{}", h.authorize_query(&[]))))
        .header(reqwest::header::HOST, format!("nobody.auth.us-east-1.localhost:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);

    // Without a domain, nothing OAuth is served or advertised.
    h.f.sdk
        .delete_user_pool_domain()
        .user_pool_id(&h.f.pool)
        .domain("test-app")
        .send()
        .await
        .unwrap();
    let discovery: serde_json::Value = h
        .http
        .get(h.url(&format!("/{}/.well-known/openid-configuration", h.f.pool)))
        .send()
        .await
        .map(json)
        .unwrap()
        .await;
    assert!(discovery.get("token_endpoint").is_none());
    let gone = h.get(&format!("/oauth2/authorize?{}", h.authorize_query(&[])), None).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_seed_declares_the_domain_resource_servers_providers_and_oauth_clients() {
    let seed: auth_mock_server::seed::Seed = toml::from_str(
        r#"
[[pools]]
name = "seeded"
id = "us-east-1_Seeded01"
domain = "seeded"

[[pools.clients]]
name = "spa"
id = "seededspa00000000000000001"
settings = { AllowedOAuthFlowsUserPoolClient = true, AllowedOAuthFlows = ["code"], AllowedOAuthScopes = ["openid", "https://api.example.com/read"], CallbackURLs = ["http://localhost:5173/cb"], SupportedIdentityProviders = ["COGNITO", "Corp"] }

[[pools.clients]]
name = "worker"
id = "seededworker00000000000001"
secret = "seededworkersecret000000000000000000"
settings = { AllowedOAuthFlowsUserPoolClient = true, AllowedOAuthFlows = ["client_credentials"], AllowedOAuthScopes = ["https://api.example.com/read"] }

[[pools.resource_servers]]
identifier = "https://api.example.com"
name = "API"
scopes = { read = "Read access" }

[[pools.identity_providers]]
name = "Corp"
type = "OIDC"
details = { client_id = "corp", authorize_scopes = "openid email", oidc_issuer = "https://login.corp.example" }
attribute_mapping = { email = "email" }
"#,
    )
    .unwrap();
    let server = auth_mock_server::MockServer::builder().seed(seed).start().await.unwrap();
    let seeded = server.seeded().unwrap();
    let (name, path) = &seeded.pools[0].hosted_sign_in[0];
    assert_eq!(name, "spa");
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let authorize = http.get(format!("{}{path}", server.url())).send().await.unwrap();
    assert_eq!(authorize.status(), StatusCode::FOUND);
    assert!(location(&authorize).starts_with("/login?"));
    let token = http
        .post(format!("{}/oauth2/token", server.url()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "seededworker00000000000001"),
            ("client_secret", "seededworkersecret000000000000000000"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);

    // A client naming a scope no resource server defines is refused at start.
    let bad: auth_mock_server::seed::Seed = toml::from_str(
        r#"
[[pools]]
name = "bad"
domain = "bad"
[[pools.clients]]
name = "spa"
settings = { AllowedOAuthFlowsUserPoolClient = true, AllowedOAuthFlows = ["code"], AllowedOAuthScopes = ["https://nowhere/x"], CallbackURLs = ["https://app.example/cb"] }
"#,
    )
    .unwrap();
    let error = auth_mock_server::MockServer::builder().seed(bad).start().await.unwrap_err();
    assert!(error.to_string().contains("Invalid scope requested: https://nowhere/x"), "{error}");
}

#[tokio::test]
async fn totp_set_up_then_totp_codes_on_the_pages() {
    let h = hosted().await;
    h.f.set_mfa_with_totp(UserPoolMfaType::On).await;
    let query = h.authorize_query(&[]);
    // MFA is required and alice has no factor: she sets up an authenticator app.
    let html = h.sign_in(&query, "alice", PASSWORD).await.text().await.unwrap();
    assert!(html.contains("Set up an authenticator app"), "{html}");
    let session = hidden_value(&html, "session");
    let wrong =
        h.post_form(&format!("/mfa?{query}"), &[("session", &session), ("code", "000000")]).await;
    assert!(wrong.text().await.unwrap().contains("Invalid code received for user."));
    // The page shows the secret as text; the test plays the authenticator app.
    let html = h.sign_in(&query, "alice", PASSWORD).await.text().await.unwrap();
    let intro = html.split("id=\"intro\">").nth(1).unwrap().split('<').next().unwrap();
    let secret = intro.rsplit(' ').next().unwrap().to_owned();
    let session = hidden_value(&html, "session");
    let code = auth_mock_server::totp_code(&secret, std::time::SystemTime::now()).unwrap();
    let done =
        h.post_form(&format!("/mfa?{query}"), &[("session", &session), ("code", &code)]).await;
    assert_eq!(done.status(), StatusCode::FOUND);

    // Next time the app's code is asked for.
    let html = h.sign_in(&query, "alice", PASSWORD).await.text().await.unwrap();
    assert!(html.contains("Enter the code from your authenticator app."), "{html}");
    let session = hidden_value(&html, "session");
    let code = auth_mock_server::totp_code(&secret, std::time::SystemTime::now()).unwrap();
    let done =
        h.post_form(&format!("/mfa?{query}"), &[("session", &session), ("code", &code)]).await;
    assert_eq!(done.status(), StatusCode::FOUND);
    assert!(param(&location(&done), "code").is_some());
}
