//! Federated sign-in through the hosted UI over plain HTTP (no redirect followed): the app's
//! authorize request, the mock's OIDC issuer playing the external provider,
//! `/oauth2/idpresponse`, the federated user, provider links, and the refusals.

use aws_sdk_cognitoidentityprovider::types::{
    OAuthFlowType, ProviderUserIdentifierType, UserStatusType,
};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use serde_json::Value;

use crate::hosted::{CALLBACK, Hosted, assert_oauth_error, hosted, param};
use crate::support::claims;

/// A pool with a domain, the hosted `google` issuer as its Google provider (email and name
/// mapped), an OIDC provider `Corp` on the hosted issuer `corp` (identifier `corp.example`),
/// and a client `fed` allowing COGNITO, Google and Corp.
pub(crate) struct Fed {
    pub(crate) h: Hosted,
    pub(crate) fed: String,
}

pub(crate) async fn fed() -> Fed {
    let h = hosted().await;
    let sdk = &h.f.sdk;
    sdk.create_identity_provider()
        .user_pool_id(&h.f.pool)
        .provider_name("Google")
        .provider_type("Google".into())
        .provider_details("client_id", "google-client")
        .provider_details("client_secret", "google-secret")
        .provider_details("authorize_scopes", "openid email profile")
        .attribute_mapping("email", "email")
        .attribute_mapping("name", "name")
        .send()
        .await
        .unwrap();
    sdk.create_identity_provider()
        .user_pool_id(&h.f.pool)
        .provider_name("Corp")
        .provider_type("OIDC".into())
        .provider_details("client_id", "corp-client")
        .provider_details("authorize_scopes", "openid email")
        .provider_details("oidc_issuer", "mock:corp")
        .attribute_mapping("email", "email")
        .idp_identifiers("corp.example")
        .send()
        .await
        .unwrap();
    let client = sdk
        .create_user_pool_client()
        .user_pool_id(&h.f.pool)
        .client_name("fed")
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(OAuthFlowType::Code)
        .allowed_o_auth_scopes("openid")
        .allowed_o_auth_scopes("email")
        .allowed_o_auth_scopes("profile")
        .callback_urls(CALLBACK)
        .supported_identity_providers("COGNITO")
        .supported_identity_providers("Google")
        .supported_identity_providers("Corp")
        .send()
        .await
        .unwrap();
    let fed = client.user_pool_client().unwrap().client_id().unwrap().to_owned();
    Fed { h, fed }
}

async fn json(response: reqwest::Response) -> Value {
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get(LOCATION).expect("a redirect").to_str().unwrap().to_owned()
}

impl Fed {
    /// The app's authorize query through the `fed` client, with `extra` pairs.
    pub(crate) fn query(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![("client_id", self.fed.as_str()), ("scope", "openid email profile")];
        pairs.extend_from_slice(extra);
        self.h.authorize_query(&pairs)
    }

    async fn get(&self, url: &str) -> reqwest::Response {
        let url = if url.starts_with("http") { url.to_owned() } else { self.h.url(url) };
        self.h.http.get(url).send().await.unwrap()
    }

    /// `/oauth2/authorize` with `extra`: the provider's authorization URL it redirects to.
    async fn to_provider(&self, extra: &[(&str, &str)]) -> String {
        let authorize = self.get(&format!("/oauth2/authorize?{}", self.query(extra))).await;
        assert_eq!(authorize.status(), StatusCode::FOUND);
        location(&authorize)
    }

    /// The provider approves `user` (auto-approve query): the `/oauth2/idpresponse` URL.
    async fn approve(&self, provider_url: &str, user: &[(&str, &str)]) -> String {
        let approve = format!("{provider_url}&{}", serde_urlencoded::to_string(user).unwrap());
        let answer = self.get(&approve).await;
        assert_eq!(answer.status(), StatusCode::FOUND);
        location(&answer)
    }

    /// The whole dance through `provider` as `user`: the app's redirect.
    async fn sign_in(&self, provider: &str, user: &[(&str, &str)]) -> reqwest::Response {
        let provider_url = self.to_provider(&[("identity_provider", provider)]).await;
        let back = self.approve(&provider_url, user).await;
        self.get(&back).await
    }

    /// Sign in through `provider` as `user`, redeem the code: the ID token's claims.
    async fn id_claims(&self, provider: &str, user: &[(&str, &str)]) -> Value {
        let app = self.sign_in(provider, user).await;
        assert_eq!(app.status(), StatusCode::FOUND);
        let back = location(&app);
        assert!(back.starts_with(CALLBACK), "{back}");
        assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
        let code = param(&back, "code").expect("a code");
        let tokens = self.redeem(&code).await;
        claims(tokens["id_token"].as_str().expect("an ID token"))
    }

    /// Redeems the app's code with PKCE: the token response.
    pub(crate) async fn redeem(&self, code: &str) -> Value {
        let answer = self
            .h
            .post_form(
                "/oauth2/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", &self.fed),
                    ("code", code),
                    ("redirect_uri", CALLBACK),
                    ("code_verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXk-0E-cM"),
                ],
            )
            .await;
        json(answer).await
    }

    async fn user_attribute(&self, username: &str, name: &str) -> Option<String> {
        let user = self.h.f.sdk.admin_get_user().user_pool_id(&self.h.f.pool).username(username);
        let user = user.send().await.unwrap();
        user.user_attributes()
            .iter()
            .find(|a| a.name() == name)
            .and_then(|a| a.value().map(str::to_owned))
    }
}

#[tokio::test]
async fn google_sign_in_makes_a_federated_user_and_updates_it_on_the_next_sign_in() {
    let f = fed().await;
    let provider_url = f.to_provider(&[("identity_provider", "Google")]).await;
    let server = f.h.f.server.url();
    assert!(provider_url.starts_with(&format!("{server}/_mock/oidc/google/authorize?")));
    assert_eq!(param(&provider_url, "client_id").as_deref(), Some("google-client"));
    assert_eq!(param(&provider_url, "response_type").as_deref(), Some("code"));
    assert_eq!(param(&provider_url, "scope").as_deref(), Some("openid email profile"));
    assert_eq!(
        param(&provider_url, "redirect_uri").as_deref(),
        Some(format!("{server}/oauth2/idpresponse").as_str())
    );
    let kept_state = param(&provider_url, "state").unwrap();
    assert!(kept_state.len() >= 32 && kept_state != "st-1", "the mock's own state");

    let back = f
        .approve(
            &provider_url,
            &[("sub", "1234"), ("email", "jane@example.com"), ("claims", r#"{"name":"Jane"}"#)],
        )
        .await;
    assert!(back.starts_with(&format!("{server}/oauth2/idpresponse?")), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some(kept_state.as_str()));
    let app = f.get(&back).await;
    assert_eq!(app.status(), StatusCode::FOUND);
    assert!(
        app.headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("cognito=")),
        "a hosted-UI session"
    );
    let app_back = location(&app);
    assert!(app_back.starts_with(CALLBACK), "{app_back}");
    assert_eq!(param(&app_back, "state").as_deref(), Some("st-1"));

    let id = f.id_claims("Google", &[("sub", "1234"), ("email", "jane@example.com")]).await;
    assert_eq!(id["cognito:username"], "Google_1234");
    assert_eq!(id["email"], "jane@example.com");
    assert_eq!(id["nonce"], "n-1", "the app's nonce, not the provider's");
    let identities = id["identities"].as_array().expect("identities is an array");
    assert_eq!(identities.len(), 1);
    assert_eq!(identities[0]["userId"], "1234");
    assert_eq!(identities[0]["providerName"], "Google");
    assert_eq!(identities[0]["providerType"], "Google");
    assert_eq!(identities[0]["primary"], "true");
    assert!(identities[0]["dateCreated"].as_str().unwrap().parse::<u64>().is_ok());

    let user =
        f.h.f
            .sdk
            .admin_get_user()
            .user_pool_id(&f.h.f.pool)
            .username("Google_1234")
            .send()
            .await
            .unwrap();
    assert_eq!(user.user_status(), Some(&UserStatusType::ExternalProvider));
    assert_eq!(f.user_attribute("Google_1234", "name").await.as_deref(), Some("Jane"));
    let sub = f.user_attribute("Google_1234", "sub").await.unwrap();
    assert_eq!(id["sub"], sub.as_str());

    // The next sign-in updates the mapped attributes of the same user, who is now in a group.
    let sdk = &f.h.f.sdk;
    sdk.create_group().user_pool_id(&f.h.f.pool).group_name("admins").send().await.unwrap();
    sdk.admin_add_user_to_group()
        .user_pool_id(&f.h.f.pool)
        .username("Google_1234")
        .group_name("admins")
        .send()
        .await
        .unwrap();
    let again = f.id_claims("Google", &[("sub", "1234"), ("email", "jane@new.example")]).await;
    assert_eq!(again["sub"], sub.as_str());
    assert_eq!(again["cognito:groups"], serde_json::json!(["admins"]));
    assert_eq!(again["email"], "jane@new.example");
    assert_eq!(f.user_attribute("Google_1234", "email").await.as_deref(), Some("jane@new.example"));
}

#[tokio::test]
async fn a_linked_identity_signs_in_as_the_local_user_until_disabled() {
    let f = fed().await;
    let sdk = &f.h.f.sdk;
    let alice_sub = f.user_attribute("alice", "sub").await.unwrap();
    sdk.admin_link_provider_for_user()
        .user_pool_id(&f.h.f.pool)
        .destination_user(
            ProviderUserIdentifierType::builder()
                .provider_name("Cognito")
                .provider_attribute_value("alice")
                .build(),
        )
        .source_user(
            ProviderUserIdentifierType::builder()
                .provider_name("Google")
                .provider_attribute_name("Cognito_Subject")
                .provider_attribute_value("5678")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let id = f.id_claims("Google", &[("sub", "5678"), ("email", "a@example.com")]).await;
    assert_eq!(id["sub"], alice_sub.as_str());
    assert_eq!(id["cognito:username"], "alice");
    assert_eq!(id["identities"][0]["providerName"], "Google");
    assert_eq!(id["identities"][0]["userId"], "5678");

    let disable = || {
        sdk.admin_disable_provider_for_user().user_pool_id(&f.h.f.pool).user(
            ProviderUserIdentifierType::builder()
                .provider_name("Google")
                .provider_attribute_name("Cognito_Subject")
                .provider_attribute_value("5678")
                .build(),
        )
    };
    disable().send().await.unwrap();
    // Unlinked: the identity now signs in as a federated user of its own.
    let own = f.id_claims("Google", &[("sub", "5678"), ("email", "a@example.com")]).await;
    assert_eq!(own["cognito:username"], "Google_5678");
    assert_ne!(own["sub"], alice_sub.as_str());

    // Disabling it again disables that federated user: its sign-in is refused.
    disable().send().await.unwrap();
    let refused = f.sign_in("Google", &[("sub", "5678")]).await;
    let back = location(&refused);
    assert_oauth_error(&back, "invalid_request");
    assert_eq!(param(&back, "error_description").as_deref(), Some("User is disabled."));
}

#[tokio::test]
async fn unknown_or_tampered_state_and_replays_get_an_error_page() {
    let f = fed().await;
    let provider_url = f.to_provider(&[("identity_provider", "Google")]).await;
    let back = f.approve(&provider_url, &[("sub", "1")]).await;
    let state = param(&back, "state").unwrap();
    let code = param(&back, "code").unwrap();
    for query in [
        format!("code={code}&state={state}x"),
        format!("code={code}"),
        format!("code={code}&state=made-up"),
    ] {
        let page = f.get(&format!("/oauth2/idpresponse?{query}")).await;
        assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(page.headers().get(LOCATION).is_none());
        assert!(page.text().await.unwrap().contains("state is unknown"));
    }
    assert_eq!(f.get(&back).await.status(), StatusCode::FOUND);
    // The state is used up.
    assert_eq!(f.get(&back).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_provider_refusal_reaches_the_app_as_an_oauth_error() {
    let f = fed().await;
    let provider_url = f.to_provider(&[("identity_provider", "Google")]).await;
    let refusal = f.get(&format!("{provider_url}&error=access_denied")).await;
    assert_eq!(refusal.status(), StatusCode::FOUND);
    let back = location(&refusal);
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    let app = f.get(&back).await;
    let app_back = location(&app);
    assert_oauth_error(&app_back, "access_denied");
}

#[tokio::test]
async fn unsupported_unknown_and_unreachable_providers_are_refused() {
    let f = fed().await;
    // The `web` client supports COGNITO only.
    let query = f.h.authorize_query(&[("identity_provider", "Google")]);
    let refused = f.get(&format!("/oauth2/authorize?{query}")).await;
    let back = location(&refused);
    assert_oauth_error(&back, "unauthorized_client");

    let unknown = format!("/oauth2/authorize?{}", f.query(&[("identity_provider", "Nope")]));
    let back = location(&f.get(&unknown).await);
    assert_eq!(param(&back, "error").as_deref(), Some("unauthorized_client"));

    let no_identifier =
        format!("/oauth2/authorize?{}", f.query(&[("idp_identifier", "x.example")]));
    let back = location(&f.get(&no_identifier).await);
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"));

    // A provider outside the server: an error page, no redirect into the void.
    let sdk = &f.h.f.sdk;
    sdk.create_identity_provider()
        .user_pool_id(&f.h.f.pool)
        .provider_name("Elsewhere")
        .provider_type("OIDC".into())
        .provider_details("client_id", "x")
        .provider_details("authorize_scopes", "openid")
        .provider_details("oidc_issuer", "https://login.example.com")
        .send()
        .await
        .unwrap();
    let client = sdk
        .create_user_pool_client()
        .user_pool_id(&f.h.f.pool)
        .client_name("elsewhere")
        .allowed_o_auth_flows_user_pool_client(true)
        .allowed_o_auth_flows(OAuthFlowType::Code)
        .allowed_o_auth_scopes("openid")
        .callback_urls(CALLBACK)
        .supported_identity_providers("Elsewhere")
        .send()
        .await
        .unwrap();
    let elsewhere = client.user_pool_client().unwrap().client_id().unwrap();
    let query = f.h.authorize_query(&[
        ("client_id", elsewhere),
        ("scope", "openid"),
        ("identity_provider", "Elsewhere"),
    ]);
    let page = f.get(&format!("/oauth2/authorize?{query}")).await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.text().await.unwrap().contains("/_mock/oidc/"));
}

#[tokio::test]
async fn idp_identifiers_choose_the_provider_also_by_email_domain() {
    let f = fed().await;
    let server = f.h.f.server.url();
    for identifier in ["corp.example", "jane@corp.example"] {
        let provider_url = f.to_provider(&[("idp_identifier", identifier)]).await;
        assert!(
            provider_url.starts_with(&format!("{server}/_mock/oidc/corp/authorize?")),
            "{provider_url}"
        );
        assert_eq!(param(&provider_url, "client_id").as_deref(), Some("corp-client"));
    }
    let provider_url = f.to_provider(&[("idp_identifier", "corp.example")]).await;
    let back = f.approve(&provider_url, &[("sub", "c-1"), ("email", "c@corp.example")]).await;
    let app = location(&f.get(&back).await);
    assert!(param(&app, "code").is_some(), "{app}");
    assert_eq!(f.user_attribute("Corp_c-1", "email").await.as_deref(), Some("c@corp.example"));
}

#[tokio::test]
async fn the_provider_page_the_login_page_links_and_the_code_grant() {
    let f = fed().await;
    // The hosted login page offers each external provider, keeping the request.
    let login = f.get(&format!("/login?{}", f.query(&[]))).await;
    let html = login.text().await.unwrap();
    assert!(html.contains("Sign in with Google") && html.contains("Sign in with Corp"), "{html}");
    assert!(html.contains("identity_provider=Google"));

    // The provider's page: a form choosing the user; Deny refuses.
    let provider_url = f.to_provider(&[("identity_provider", "Corp")]).await;
    let page = f.get(&format!("{provider_url}&login_hint=x%40corp.example")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"sub\"") && html.contains("value=\"x@corp.example\""), "{html}");
    let action = provider_url.clone();
    let post = |body: &'static str| {
        f.h.http
            .post(action.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let denied = post("sub=&deny=access_denied").await.unwrap();
    assert_eq!(param(&location(&denied), "error").as_deref(), Some("access_denied"));
    let bad = post("sub=c-2&claims=not-json").await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let approved = post("sub=c-2&email=c2%40corp.example&approve=1").await.unwrap();
    let back = location(&approved);
    let code = param(&back, "code").unwrap();

    // A relying party redeems the code at the issuer's token endpoint.
    let redirect_uri = param(&provider_url, "redirect_uri").unwrap();
    let token = |code: String| {
        f.h.http
            .post(format!("{}/_mock/oidc/corp/token", f.h.f.server.url()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(
                serde_urlencoded::to_string([
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("client_id", "corp-client"),
                    ("redirect_uri", redirect_uri.as_str()),
                ])
                .unwrap(),
            )
            .send()
    };
    let tokens = json(token(code.clone()).await.unwrap()).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], "c-2");
    assert_eq!(id["aud"], "corp-client");
    assert_eq!(id["email"], "c2@corp.example");
    assert_eq!(id["nonce"].as_str(), param(&provider_url, "nonce").as_deref());
    assert!(tokens["access_token"].is_string());
    let replay = token(code).await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let replay = json(replay).await;
    assert_eq!(replay["error"], "invalid_grant");

    let discovery = json(f.get("/_mock/oidc/corp/.well-known/openid-configuration").await).await;
    assert_eq!(
        discovery["authorization_endpoint"],
        format!("{}/_mock/oidc/corp/authorize", f.h.f.server.url()).as_str()
    );
}

#[tokio::test]
async fn a_seeded_provider_on_a_mock_issuer_signs_users_in() {
    let seed: auth_mock_server::seed::Seed = toml::from_str(
        r#"
[[pools]]
name = "seeded"
id = "us-east-1_SeedFed01"
domain = "seeded-fed"

[[pools.clients]]
name = "spa"
id = "seededfedspa00000000000001"
settings = { AllowedOAuthFlowsUserPoolClient = true, AllowedOAuthFlows = ["code"], AllowedOAuthScopes = ["openid", "email"], CallbackURLs = ["http://localhost:5173/cb"], SupportedIdentityProviders = ["Corp"] }

[[pools.identity_providers]]
name = "Corp"
type = "OIDC"
details = { client_id = "corp", authorize_scopes = "openid email", oidc_issuer = "mock:corp" }
attribute_mapping = { email = "email" }
"#,
    )
    .unwrap();
    let server = auth_mock_server::MockServer::builder().seed(seed).start().await.unwrap();
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let hop = |url: String| {
        let http = http.clone();
        async move {
            let answer = http.get(url).send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::FOUND);
            answer.headers()[LOCATION].to_str().unwrap().to_owned()
        }
    };
    let query = "response_type=code&client_id=seededfedspa00000000000001&scope=openid+email\
&redirect_uri=http%3A%2F%2Flocalhost%3A5173%2Fcb&state=s&identity_provider=Corp";
    let provider = hop(format!("{}/oauth2/authorize?{query}", server.url())).await;
    assert!(provider.contains("/_mock/oidc/corp/authorize?"), "{provider}");
    let back = hop(format!("{provider}&sub=seed-1&email=s%40corp.example")).await;
    let app = hop(back).await;
    assert!(app.starts_with("http://localhost:5173/cb?"), "{app}");
    assert!(param(&app, "code").is_some(), "{app}");
    let user = server
        .call(
            "AdminGetUser",
            serde_json::json!({"UserPoolId": "us-east-1_SeedFed01", "Username": "Corp_seed-1"}),
        )
        .await
        .unwrap();
    assert_eq!(user["UserStatus"], "EXTERNAL_PROVIDER");
}
