//! Identity pools through the official `aws-sdk-cognitoidentity` crate: every operation, guest
//! and federated logins checked for real (the mock's own user pool, its hosted OIDC issuer,
//! registered opaque tokens, developer-authenticated identities), forged, expired and
//! wrongly addressed tokens, merges, role mappings and the OpenID tokens.

use std::time::Duration;

use auth_mock_server::{
    IdTokenRequest, IdentityPoolOptions, Lifetimes, OidcIssuerOptions, user_pool_login_key,
};
use aws_sdk_cognitoidentity::types::{
    AmbiguousRoleResolutionType, CognitoIdentityProvider, MappingRule, MappingRuleMatchType,
    RoleMapping, RoleMappingType, RulesConfigurationType,
};

use crate::control::verify_rs256;
use crate::raw::{get, request};
use crate::support::{Fixture, PASSWORD, assert_code, claims, code, fixture, identity_sdk};

const GOOGLE_CLIENT: &str = "1234-google-client.apps.googleusercontent.com";

/// A user pool with `alice`, and an identity pool trusting its client, Google and guests.
pub(crate) struct Federation {
    pub(crate) f: Fixture,
    pub(crate) ids: aws_sdk_cognitoidentity::Client,
    pub(crate) pool_id: String,
    pub(crate) login_key: String,
}

pub(crate) async fn federation() -> Federation {
    let f = fixture().await;
    let ids = identity_sdk(&f.server);
    let pool_id = f
        .server
        .create_identity_pool(
            "app",
            IdentityPoolOptions::default()
                .allow_unauthenticated(true)
                .user_pool(&f.pool, &f.client.client_id)
                .login_provider("accounts.google.com", GOOGLE_CLIENT),
        )
        .await
        .unwrap();
    let login_key = user_pool_login_key(&f.pool);
    Federation { f, ids, pool_id, login_key }
}

impl Federation {
    async fn get_id(&self, logins: &[(&str, &str)]) -> Result<String, String> {
        let mut call = self.ids.get_id().identity_pool_id(&self.pool_id);
        for (key, token) in logins {
            call = call.logins(*key, *token);
        }
        call.send().await.map(|o| o.identity_id.unwrap_or_default()).map_err(|e| code(&e))
    }

    /// An ID token minted by the server's mock OIDC issuer `issuer`.
    async fn mint(&self, issuer: &str, request: IdTokenRequest) -> String {
        self.f.server.mint_id_token(issuer, request).await.unwrap()
    }

    async fn credentials(
        &self,
        identity_id: &str,
        logins: &[(&str, &str)],
    ) -> Result<(String, aws_sdk_cognitoidentity::types::Credentials), String> {
        let mut call = self.ids.get_credentials_for_identity().identity_id(identity_id);
        for (key, token) in logins {
            call = call.logins(*key, *token);
        }
        call.send()
            .await
            .map(|o| (o.identity_id.clone().unwrap_or_default(), o.credentials.clone().unwrap()))
            .map_err(|e| code(&e))
    }

    async fn id_token(&self, username: &str) -> String {
        self.f.password_login(username, PASSWORD).await.1
    }
}

fn now_secs(server: &auth_mock_server::MockServerHandle) -> i64 {
    server.now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn guests_get_sts_like_credentials() {
    let fed = federation().await;
    let id = fed.get_id(&[]).await.unwrap();
    let (region, uuid) = id.split_once(':').unwrap();
    assert_eq!(region, "us-east-1");
    assert_eq!(uuid.len(), 36, "{id}");
    assert_ne!(fed.get_id(&[]).await.unwrap(), id, "every unauthenticated GetId makes a new guest");

    let (returned, credentials) = fed.credentials(&id, &[]).await.unwrap();
    assert_eq!(returned, id);
    let key = credentials.access_key_id().unwrap();
    assert!(key.starts_with("ASIA") && key.len() == 20, "{key}");
    assert!(key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{key}");
    assert_eq!(credentials.secret_key().unwrap().len(), 40);
    assert!(credentials.session_token().unwrap().len() > 100);
    let expiration = credentials.expiration().unwrap().secs();
    assert!((expiration - now_secs(&fed.f.server) - 3600).abs() <= 2, "one hour by default");
    let (owner, _) = fed.f.server.credentials_owner(key).unwrap();
    assert_eq!(owner, id);

    // The lifetime is settable over HTTP and through the handle.
    let set = request(
        &fed.f.server.url(),
        "POST",
        "/_mock/identity/credentials-lifetime",
        &[],
        br#"{"seconds": 900}"#,
    )
    .await
    .unwrap();
    assert_eq!(set.status, 200, "{}", set.body);
    let (_, credentials) = fed.credentials(&id, &[]).await.unwrap();
    let expiration = credentials.expiration().unwrap().secs();
    assert!((expiration - now_secs(&fed.f.server) - 900).abs() <= 2);
    fed.f.server.set_credentials_lifetime(Duration::from_secs(60)).unwrap();
    let (_, credentials) = fed.credentials(&id, &[]).await.unwrap();
    assert!((credentials.expiration().unwrap().secs() - now_secs(&fed.f.server) - 60).abs() <= 2);
    assert!(fed.f.server.set_credentials_lifetime(Duration::ZERO).is_err());
    let description = request(
        &fed.f.server.url(),
        "GET",
        &format!("/_mock/identity/credentials/{}", credentials.access_key_id().unwrap()),
        &[],
        b"",
    )
    .await
    .unwrap()
    .json();
    assert_eq!(description["identity_id"], id.as_str());
    assert_eq!(description["role_arn"], "arn:aws:iam::000000000000:role/app-unauthenticated");
    assert!(description.get("secret_access_key").is_none());
}

#[tokio::test]
async fn unauthenticated_access_can_be_refused() {
    let fed = federation().await;
    let guest = fed.get_id(&[]).await.unwrap();
    let closed = fed
        .f
        .server
        .create_identity_pool(
            "closed",
            IdentityPoolOptions::default().user_pool(&fed.f.pool, &fed.f.client.client_id),
        )
        .await
        .unwrap();
    assert_code(fed.ids.get_id().identity_pool_id(&closed).send().await, "NotAuthorizedException");
    // A guest of a pool that stops allowing guests gets no more credentials.
    fed.ids
        .update_identity_pool()
        .identity_pool_id(&fed.pool_id)
        .identity_pool_name("app")
        .allow_unauthenticated_identities(false)
        .cognito_identity_providers(
            CognitoIdentityProvider::builder()
                .provider_name(&fed.login_key)
                .client_id(&fed.f.client.client_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(fed.credentials(&guest, &[]).await.unwrap_err(), "NotAuthorizedException");
    let token = fed.id_token("alice").await;
    assert!(fed.get_id(&[(&fed.login_key, &token)]).await.is_ok(), "signed-in users still pass");
}

#[tokio::test]
async fn user_pool_logins_are_verified() {
    let fed = federation().await;
    let server = &fed.f.server;
    let token = fed.id_token("alice").await;
    let id = fed.get_id(&[(&fed.login_key, &token)]).await.unwrap();
    let again = fed.id_token("alice").await;
    assert_eq!(
        fed.get_id(&[(&fed.login_key, &again)]).await.unwrap(),
        id,
        "same user, same identity"
    );
    let (returned, credentials) = fed.credentials(&id, &[(&fed.login_key, &token)]).await.unwrap();
    assert_eq!(returned, id);
    assert!(credentials.access_key_id().unwrap().starts_with("ASIA"));
    assert_eq!(
        fed.credentials(&id, &[]).await.unwrap_err(),
        "NotAuthorizedException",
        "an authenticated identity needs its login"
    );

    server.create_user(&fed.f.pool, "bob", PASSWORD, &[]).await.unwrap();
    let bob = fed.id_token("bob").await;
    let bob_id = fed.get_id(&[(&fed.login_key, &bob)]).await.unwrap();
    assert_ne!(bob_id, id);
    assert_eq!(
        fed.credentials(&id, &[(&fed.login_key, &bob)]).await.unwrap_err(),
        "NotAuthorizedException",
        "another user's token does not open alice's identity (\"Logins don't match\")"
    );

    // An access token is not an ID token.
    let (access, _, _) = fed.f.password_login("alice", PASSWORD).await;
    assert_eq!(
        fed.get_id(&[(&fed.login_key, &access)]).await.unwrap_err(),
        "NotAuthorizedException"
    );
    // A changed payload breaks the signature.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload = claims(&token);
    payload["sub"] = serde_json::json!("someone-else");
    use base64::Engine as _;
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string());
    assert_eq!(
        fed.get_id(&[(&fed.login_key, &parts.join("."))]).await.unwrap_err(),
        "NotAuthorizedException"
    );
    // A token signed with another key, claiming to be the pool's.
    let forged = fed
        .mint(
            "evil",
            IdTokenRequest::new(claims(&token)["sub"].as_str().unwrap(), &fed.f.client.client_id)
                .claim("iss", server.issuer(&fed.f.pool).unwrap())
                .claim("token_use", "id"),
        )
        .await;
    assert_eq!(
        fed.get_id(&[(&fed.login_key, &forged)]).await.unwrap_err(),
        "NotAuthorizedException"
    );
    // Garbage.
    for junk in ["x", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        assert_eq!(
            fed.get_id(&[(&fed.login_key, junk)]).await.unwrap_err(),
            "NotAuthorizedException"
        );
    }
    // A client the identity pool does not list (wrong audience).
    let other = server
        .create_client(&fed.f.pool, "other", auth_mock_server::ClientOptions::default())
        .await
        .unwrap();
    let other_token = fed
        .f
        .password_auth_via(&other.client_id, "alice", PASSWORD)
        .send()
        .await
        .unwrap()
        .authentication_result()
        .unwrap()
        .id_token()
        .unwrap()
        .to_owned();
    assert_eq!(
        fed.get_id(&[(&fed.login_key, &other_token)]).await.unwrap_err(),
        "NotAuthorizedException"
    );
    // A user pool the identity pool does not trust.
    let foreign = user_pool_login_key("us-east-1_Foreign01");
    assert_eq!(fed.get_id(&[(&foreign, &token)]).await.unwrap_err(), "NotAuthorizedException");

    // Expired on the server clock.
    server
        .set_lifetimes(
            Some(&fed.f.pool),
            None,
            Lifetimes { id_token_seconds: Some(60), ..Lifetimes::default() },
        )
        .unwrap();
    let short = fed.id_token("alice").await;
    assert!(fed.get_id(&[(&fed.login_key, &short)]).await.is_ok());
    server.advance_clock(Duration::from_secs(61));
    assert_eq!(
        fed.get_id(&[(&fed.login_key, &short)]).await.unwrap_err(),
        "NotAuthorizedException"
    );
    assert_eq!(
        fed.credentials(&id, &[(&fed.login_key, &short)]).await.unwrap_err(),
        "NotAuthorizedException"
    );
}

/// Tokens of a user who signed out globally: accepted until they expire, as in Cognito,
/// unless the provider has `ServerSideTokenCheck`.
#[tokio::test]
async fn server_side_token_check_refuses_signed_out_users() {
    let fed = federation().await;
    let server = &fed.f.server;
    let checked = server
        .create_identity_pool(
            "checked",
            IdentityPoolOptions::default()
                .user_pool(&fed.f.pool, &fed.f.client.client_id)
                .server_side_token_check(true),
        )
        .await
        .unwrap();
    let (access, token, _) = fed.f.password_login("alice", PASSWORD).await;
    let checked_id = |logins: &str| {
        let call = fed.ids.get_id().identity_pool_id(&checked).logins(&fed.login_key, logins);
        async move { call.send().await.map_err(|e| code(&e)) }
    };
    assert!(checked_id(&token).await.is_ok());
    fed.f.sdk.global_sign_out().access_token(&access).send().await.unwrap();
    assert_eq!(checked_id(&token).await.unwrap_err(), "NotAuthorizedException");
    assert!(
        fed.get_id(&[(&fed.login_key, &token)]).await.is_ok(),
        "no server-side check: still valid"
    );
    let fresh = fed.id_token("alice").await;
    assert!(checked_id(&fresh).await.is_ok(), "a new sign-in works again");
    server
        .call(
            "AdminDisableUser",
            serde_json::json!({"UserPoolId": fed.f.pool, "Username": "alice"}),
        )
        .await
        .unwrap();
    assert_eq!(checked_id(&fresh).await.unwrap_err(), "NotAuthorizedException");
}

#[tokio::test]
async fn hosted_oidc_issuer_logins() {
    let fed = federation().await;
    let server = &fed.f.server;
    let google = fed
        .mint(
            "google",
            IdTokenRequest::new("google-user-1", GOOGLE_CLIENT).claim("email", "a@gmail.com"),
        )
        .await;
    let c = claims(&google);
    assert_eq!(c["iss"], "https://accounts.google.com");
    assert_eq!(c["aud"], GOOGLE_CLIENT);
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 3600);
    let id = fed.get_id(&[("accounts.google.com", &google)]).await.unwrap();
    let again = fed.mint("google", IdTokenRequest::new("google-user-1", GOOGLE_CLIENT)).await;
    assert_eq!(fed.get_id(&[("accounts.google.com", &again)]).await.unwrap(), id);
    assert!(fed.credentials(&id, &[("accounts.google.com", &google)]).await.is_ok());

    // Discovery and JWKS, verified independently.
    let url = server.url();
    let discovery = get(&url, "/_mock/oidc/google/.well-known/openid-configuration").await.json();
    assert_eq!(discovery["issuer"], "https://accounts.google.com");
    let jwks_path = discovery["jwks_uri"].as_str().unwrap().trim_start_matches(&url).to_owned();
    let jwks = get(&url, &jwks_path).await.json();
    assert!(verify_rs256(&google, jwks["keys"].as_array().unwrap()));

    // Wrong audience, expired, forged, unknown provider.
    let wrong_aud = fed.mint("google", IdTokenRequest::new("google-user-1", "someone-else")).await;
    assert_eq!(
        fed.get_id(&[("accounts.google.com", &wrong_aud)]).await.unwrap_err(),
        "NotAuthorizedException"
    );
    let expired = fed
        .mint(
            "google",
            IdTokenRequest::new("google-user-1", GOOGLE_CLIENT).expires_in(Duration::ZERO),
        )
        .await;
    assert_eq!(
        fed.get_id(&[("accounts.google.com", &expired)]).await.unwrap_err(),
        "NotAuthorizedException"
    );
    let forged = fed
        .mint(
            "evil",
            IdTokenRequest::new("google-user-1", GOOGLE_CLIENT)
                .claim("iss", "https://accounts.google.com"),
        )
        .await;
    assert_eq!(
        fed.get_id(&[("accounts.google.com", &forged)]).await.unwrap_err(),
        "NotAuthorizedException"
    );
    assert_eq!(
        fed.get_id(&[("appleid.apple.com", &google)]).await.unwrap_err(),
        "NotAuthorizedException"
    );

    // A token that expires while the identity holds it.
    let short = fed
        .mint(
            "google",
            IdTokenRequest::new("google-user-2", GOOGLE_CLIENT)
                .expires_in(Duration::from_secs(300)),
        )
        .await;
    let short_id = fed.get_id(&[("accounts.google.com", &short)]).await.unwrap();
    server.advance_clock(Duration::from_secs(301));
    assert_eq!(
        fed.credentials(&short_id, &[("accounts.google.com", &short)]).await.unwrap_err(),
        "NotAuthorizedException"
    );

    // Minting over HTTP.
    let minted = request(
        &url,
        "POST",
        "/_mock/oidc/google/token",
        &[],
        format!(
            r#"{{"sub": "google-user-3", "aud": "{GOOGLE_CLIENT}", "expires_in_seconds": 120}}"#
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(minted.status, 200, "{}", minted.body);
    let minted = minted.json();
    assert_eq!(minted["login_key"], "accounts.google.com");
    assert!(
        fed.get_id(&[("accounts.google.com", minted["id_token"].as_str().unwrap())]).await.is_ok()
    );
    let bad =
        request(&url, "POST", "/_mock/oidc/bad%20name/token", &[], br#"{"sub":"a","aud":"b"}"#)
            .await
            .unwrap();
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn oidc_providers_by_arn() {
    let fed = federation().await;
    let server = &fed.f.server;
    let corp = server
        .configure_oidc_issuer("corp", OidcIssuerOptions::default().audience("corp-app"))
        .unwrap();
    assert_eq!(corp.issuer, format!("{}/_mock/oidc/corp", server.url()));
    assert_eq!(corp.login_key, corp.issuer.trim_start_matches("http://"));
    let pool = server
        .create_identity_pool(
            "corp",
            IdentityPoolOptions::default().oidc_provider(&corp.provider_arn),
        )
        .await
        .unwrap();
    let get_id = |token: String| {
        let call = fed.ids.get_id().identity_pool_id(&pool).logins(&corp.login_key, token);
        async move { call.send().await.map_err(|e| code(&e)) }
    };
    let good = fed.mint("corp", IdTokenRequest::new("emp-7", "corp-app")).await;
    assert!(get_id(good).await.is_ok());
    let wrong = fed.mint("corp", IdTokenRequest::new("emp-7", "other-app")).await;
    assert_eq!(get_id(wrong).await.unwrap_err(), "NotAuthorizedException");

    // A custom issuer URL, and the HTTP description of an issuer.
    let custom = server
        .configure_oidc_issuer(
            "okta",
            OidcIssuerOptions::default().issuer("https://login.example.com"),
        )
        .unwrap();
    assert_eq!(custom.login_key, "login.example.com");
    let described = get(&server.url(), "/_mock/oidc/okta").await.json();
    assert_eq!(described["issuer"], "https://login.example.com");
    assert!(
        server
            .configure_oidc_issuer(
                "dup",
                OidcIssuerOptions::default().issuer("https://login.example.com")
            )
            .is_err()
    );
    assert!(
        server
            .configure_oidc_issuer("bad", OidcIssuerOptions::default().issuer("ftp://x"))
            .is_err()
    );
}

#[tokio::test]
async fn opaque_provider_tokens() {
    let fed = federation().await;
    let server = &fed.f.server;
    let pool = server
        .create_identity_pool(
            "social",
            IdentityPoolOptions::default().login_provider("graph.facebook.com", "fb-app-1"),
        )
        .await
        .unwrap();
    let get_id = |token: &str| {
        let call = fed.ids.get_id().identity_pool_id(&pool).logins("graph.facebook.com", token);
        async move { call.send().await.map_err(|e| code(&e)) }
    };
    assert_eq!(get_id("EAAB-unknown").await.unwrap_err(), "NotAuthorizedException");
    server.register_provider_token("graph.facebook.com", "EAAB-token-1", "fb-42").unwrap();
    let id = get_id("EAAB-token-1").await.unwrap();
    let registered = request(
        &server.url(),
        "POST",
        "/_mock/identity/provider-tokens",
        &[],
        br#"{"provider": "graph.facebook.com", "token": "EAAB-token-2", "subject": "fb-42", "app_id": "fb-app-1"}"#,
    )
    .await
    .unwrap();
    assert_eq!(registered.status, 200, "{}", registered.body);
    assert_eq!(
        get_id("EAAB-token-2").await.unwrap().identity_id,
        id.identity_id,
        "same Facebook user"
    );
    server
        .register_provider_token_with(
            "graph.facebook.com",
            "EAAB-other-app",
            "fb-43",
            Some("fb-app-2"),
            Duration::from_secs(60),
        )
        .unwrap();
    assert_eq!(get_id("EAAB-other-app").await.unwrap_err(), "NotAuthorizedException");
    server.advance_clock(Duration::from_secs(3601));
    assert_eq!(get_id("EAAB-token-1").await.unwrap_err(), "NotAuthorizedException", "expired");
}

#[tokio::test]
async fn guest_identities_keep_their_id_when_signing_in() {
    let fed = federation().await;
    let token = fed.id_token("alice").await;
    let guest = fed.get_id(&[]).await.unwrap();
    let (returned, _) = fed.credentials(&guest, &[(&fed.login_key, &token)]).await.unwrap();
    assert_eq!(returned, guest, "the login is linked to the guest identity");
    let described = fed.ids.describe_identity().identity_id(&guest).send().await.unwrap();
    assert_eq!(described.logins(), std::slice::from_ref(&fed.login_key));
    assert_eq!(fed.get_id(&[(&fed.login_key, &token)]).await.unwrap(), guest);

    // A second guest presenting the same login is merged into the first identity.
    let second = fed.get_id(&[]).await.unwrap();
    let (merged, _) = fed.credentials(&second, &[(&fed.login_key, &token)]).await.unwrap();
    assert_eq!(merged, guest);
    assert_code(
        fed.ids.describe_identity().identity_id(&second).send().await,
        "ResourceNotFoundException",
    );

    // A Google login can be added to alice's identity by presenting both.
    let google = fed.mint("google", IdTokenRequest::new("g-alice", GOOGLE_CLIENT)).await;
    let both =
        fed.get_id(&[(&fed.login_key, &token), ("accounts.google.com", &google)]).await.unwrap();
    assert_eq!(both, guest);
    assert_eq!(fed.get_id(&[("accounts.google.com", &google)]).await.unwrap(), guest);
    // Logins of two different identities in one request conflict.
    let other_google = fed.mint("google", IdTokenRequest::new("g-other", GOOGLE_CLIENT)).await;
    let other = fed.get_id(&[("accounts.google.com", &other_google)]).await.unwrap();
    assert_ne!(other, guest);
    assert_eq!(
        fed.get_id(&[(&fed.login_key, &token), ("accounts.google.com", &other_google)])
            .await
            .unwrap_err(),
        "ResourceConflictException"
    );
}

#[tokio::test]
async fn open_id_tokens_verify_against_the_servers_jwks() {
    let fed = federation().await;
    let guest = fed.get_id(&[]).await.unwrap();
    let out = fed.ids.get_open_id_token().identity_id(&guest).send().await.unwrap();
    assert_eq!(out.identity_id(), Some(guest.as_str()));
    let token = out.token().unwrap();
    let c = claims(token);
    assert_eq!(c["sub"], guest.as_str());
    assert_eq!(c["aud"], fed.pool_id.as_str());
    assert_eq!(c["iss"], "https://cognito-identity.amazonaws.com");
    assert_eq!(c["iss"], fed.f.server.identity_openid_issuer().as_str());
    assert_eq!(c["amr"], serde_json::json!(["unauthenticated"]));
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 600);
    let url = fed.f.server.url();
    let discovery = get(&url, "/.well-known/openid-configuration").await.json();
    assert_eq!(discovery["issuer"], c["iss"]);
    let jwks = get(&url, "/.well-known/jwks_uri").await.json();
    assert!(verify_rs256(token, jwks["keys"].as_array().unwrap()));

    let alice = fed.id_token("alice").await;
    let signed_in = fed.get_id(&[(&fed.login_key, &alice)]).await.unwrap();
    let out = fed
        .ids
        .get_open_id_token()
        .identity_id(&signed_in)
        .logins(&fed.login_key, &alice)
        .send()
        .await
        .unwrap();
    let c = claims(out.token().unwrap());
    assert_eq!(c["amr"][0], "authenticated");
    assert_eq!(c["amr"][1], fed.login_key.as_str());
    // An unauthenticated OpenID token is no login.
    assert_eq!(
        fed.get_id(&[("cognito-identity.amazonaws.com", token)]).await.unwrap_err(),
        "NotAuthorizedException"
    );
}

#[tokio::test]
async fn developer_authenticated_identities() {
    let fed = federation().await;
    let ids = &fed.ids;
    let created = ids
        .create_identity_pool()
        .identity_pool_name("dev pool")
        .allow_unauthenticated_identities(false)
        .developer_provider_name("login.myapp")
        .send()
        .await
        .unwrap();
    let pool = created.identity_pool_id().to_owned();
    assert_eq!(created.developer_provider_name(), Some("login.myapp"));
    ids.set_identity_pool_roles()
        .identity_pool_id(&pool)
        .roles("authenticated", "arn:aws:iam::000000000000:role/dev-auth")
        .send()
        .await
        .unwrap();
    let out = ids
        .get_open_id_token_for_developer_identity()
        .identity_pool_id(&pool)
        .logins("login.myapp", "user-42")
        .token_duration(120)
        .send()
        .await
        .unwrap();
    let identity = out.identity_id().unwrap().to_owned();
    let token = out.token().unwrap().to_owned();
    let c = claims(&token);
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 120);
    let again = developer_token(ids, &pool, "login.myapp", "user-42").await;
    assert_eq!(again.identity_id(), Some(identity.as_str()));

    let credentials = ids
        .get_credentials_for_identity()
        .identity_id(&identity)
        .logins("cognito-identity.amazonaws.com", &token)
        .send()
        .await
        .unwrap();
    assert!(credentials.credentials().is_some());
    // The developer provider itself is no login for clients.
    assert_code(
        ids.get_id().identity_pool_id(&pool).logins("login.myapp", "user-42").send().await,
        "NotAuthorizedException",
    );

    let found = ids
        .lookup_developer_identity()
        .identity_pool_id(&pool)
        .developer_user_identifier("user-42")
        .max_results(10)
        .send()
        .await
        .unwrap();
    assert_eq!(found.identity_id(), Some(identity.as_str()));
    assert_eq!(found.developer_user_identifier_list(), ["user-42".to_owned()]);

    let other = developer_token(ids, &pool, "login.myapp", "user-43").await;
    assert_ne!(other.identity_id(), Some(identity.as_str()));
    let merged = ids
        .merge_developer_identities()
        .identity_pool_id(&pool)
        .developer_provider_name("login.myapp")
        .source_user_identifier("user-43")
        .destination_user_identifier("user-42")
        .send()
        .await
        .unwrap();
    assert_eq!(merged.identity_id(), Some(identity.as_str()));
    let by_identity = ids
        .lookup_developer_identity()
        .identity_pool_id(&pool)
        .identity_id(&identity)
        .max_results(10)
        .send()
        .await
        .unwrap();
    assert_eq!(by_identity.developer_user_identifier_list().len(), 2);
    ids.unlink_developer_identity()
        .identity_pool_id(&pool)
        .identity_id(&identity)
        .developer_provider_name("login.myapp")
        .developer_user_identifier("user-43")
        .send()
        .await
        .unwrap();
    assert_code(
        ids.lookup_developer_identity()
            .identity_pool_id(&pool)
            .developer_user_identifier("user-43")
            .max_results(10)
            .send()
            .await,
        "ResourceNotFoundException",
    );
}

#[tokio::test]
async fn roles_and_role_mappings() {
    let fed = federation().await;
    let server = &fed.f.server;
    let ids = &fed.ids;
    server
        .call(
            "CreateGroup",
            serde_json::json!({"UserPoolId": fed.f.pool, "GroupName": "admins", "Precedence": 1,
                "RoleArn": "arn:aws:iam::000000000000:role/admins"}),
        )
        .await
        .unwrap();
    // A second group whose role a client may pick with CustomRoleArn; admins (precedence
    // 1) stays the default.
    server
        .call(
            "CreateGroup",
            serde_json::json!({"UserPoolId": fed.f.pool, "GroupName": "readers", "Precedence": 5,
                "RoleArn": "arn:aws:iam::000000000000:role/readers"}),
        )
        .await
        .unwrap();
    for group in ["admins", "readers"] {
        server
            .call(
                "AdminAddUserToGroup",
                serde_json::json!({"UserPoolId": fed.f.pool, "Username": "alice", "GroupName": group}),
            )
            .await
            .unwrap();
    }
    let mapping_key = format!("{}:{}", fed.login_key, fed.f.client.client_id);
    ids.set_identity_pool_roles()
        .identity_pool_id(&fed.pool_id)
        .roles("authenticated", "arn:aws:iam::000000000000:role/auth")
        .roles("unauthenticated", "arn:aws:iam::000000000000:role/guest")
        .role_mappings(
            &mapping_key,
            RoleMapping::builder()
                .r#type(RoleMappingType::Token)
                .ambiguous_role_resolution(AmbiguousRoleResolutionType::AuthenticatedRole)
                .build()
                .unwrap(),
        )
        .role_mappings(
            "accounts.google.com",
            RoleMapping::builder()
                .r#type(RoleMappingType::Rules)
                .ambiguous_role_resolution(AmbiguousRoleResolutionType::Deny)
                .rules_configuration(
                    RulesConfigurationType::builder()
                        .rules(
                            MappingRule::builder()
                                .claim("email")
                                .match_type(MappingRuleMatchType::Contains)
                                .value("@example.com")
                                .role_arn("arn:aws:iam::000000000000:role/staff")
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let roles = ids.get_identity_pool_roles().identity_pool_id(&fed.pool_id).send().await.unwrap();
    assert_eq!(roles.roles().unwrap().len(), 2);
    assert_eq!(roles.role_mappings().unwrap().len(), 2);

    let role_of = |key: String| {
        let url = server.url();
        async move {
            get(&url, &format!("/_mock/identity/credentials/{key}")).await.json()["role_arn"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let token = fed.id_token("alice").await;
    let id = fed.get_id(&[(&fed.login_key, &token)]).await.unwrap();
    let (_, credentials) = fed.credentials(&id, &[(&fed.login_key, &token)]).await.unwrap();
    assert_eq!(
        role_of(credentials.access_key_id().unwrap().to_owned()).await,
        "arn:aws:iam::000000000000:role/admins"
    );
    let custom = ids
        .get_credentials_for_identity()
        .identity_id(&id)
        .logins(&fed.login_key, &token)
        .custom_role_arn("arn:aws:iam::000000000000:role/readers")
        .send()
        .await
        .unwrap();
    assert_eq!(
        role_of(custom.credentials().unwrap().access_key_id().unwrap().to_owned()).await,
        "arn:aws:iam::000000000000:role/readers"
    );
    // The roles come from the token, as in Cognito: its claims, not the groups now.
    let token_claims = claims(&token);
    assert_eq!(token_claims["cognito:preferred_role"], "arn:aws:iam::000000000000:role/admins");
    assert_eq!(
        token_claims["cognito:roles"],
        serde_json::json!([
            "arn:aws:iam::000000000000:role/admins",
            "arn:aws:iam::000000000000:role/readers"
        ])
    );
    server
        .call(
            "AdminRemoveUserFromGroup",
            serde_json::json!({"UserPoolId": fed.f.pool, "Username": "alice", "GroupName": "readers"}),
        )
        .await
        .unwrap();
    let still = ids
        .get_credentials_for_identity()
        .identity_id(&id)
        .logins(&fed.login_key, &token)
        .custom_role_arn("arn:aws:iam::000000000000:role/readers")
        .send()
        .await;
    assert!(still.is_ok(), "the token still lists the role: {still:?}");
    assert_code(
        ids.get_credentials_for_identity()
            .identity_id(&id)
            .logins(&fed.login_key, &token)
            .custom_role_arn("arn:aws:iam::000000000000:role/root")
            .send()
            .await,
        "NotAuthorizedException",
    );

    let staff = fed
        .mint("google", IdTokenRequest::new("g-1", GOOGLE_CLIENT).claim("email", "x@example.com"))
        .await;
    let staff_id = fed.get_id(&[("accounts.google.com", &staff)]).await.unwrap();
    let (_, credentials) =
        fed.credentials(&staff_id, &[("accounts.google.com", &staff)]).await.unwrap();
    assert_eq!(
        role_of(credentials.access_key_id().unwrap().to_owned()).await,
        "arn:aws:iam::000000000000:role/staff"
    );
    let outsider = fed
        .mint("google", IdTokenRequest::new("g-2", GOOGLE_CLIENT).claim("email", "x@gmail.com"))
        .await;
    let outsider_id = fed.get_id(&[("accounts.google.com", &outsider)]).await.unwrap();
    assert_eq!(
        fed.credentials(&outsider_id, &[("accounts.google.com", &outsider)]).await.unwrap_err(),
        "NotAuthorizedException",
        "no rule matched and the mapping says Deny"
    );

    // Mappings must name the pool's providers; pools without roles cannot issue credentials.
    assert_code(
        ids.set_identity_pool_roles()
            .identity_pool_id(&fed.pool_id)
            .roles("authenticated", "arn:aws:iam::000000000000:role/auth")
            .role_mappings(
                "graph.facebook.com",
                RoleMapping::builder()
                    .r#type(RoleMappingType::Token)
                    .ambiguous_role_resolution(AmbiguousRoleResolutionType::Deny)
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        "InvalidParameterException",
    );
    let bare = ids
        .create_identity_pool()
        .identity_pool_name("no roles")
        .allow_unauthenticated_identities(true)
        .send()
        .await
        .unwrap();
    let guest = ids.get_id().identity_pool_id(bare.identity_pool_id()).send().await.unwrap();
    assert_code(
        ids.get_credentials_for_identity().identity_id(guest.identity_id().unwrap()).send().await,
        "InvalidIdentityPoolConfigurationException",
    );
}

/// The administration operations, and the shapes they echo.
async fn administration(fed: &Federation) {
    let ids = &fed.ids;
    let created = ids
        .create_identity_pool()
        .identity_pool_name("admin pool")
        .allow_unauthenticated_identities(true)
        .allow_classic_flow(true)
        .supported_login_providers("accounts.google.com", GOOGLE_CLIENT)
        .cognito_identity_providers(
            CognitoIdentityProvider::builder()
                .provider_name(&fed.login_key)
                .client_id(&fed.f.client.client_id)
                .server_side_token_check(false)
                .build(),
        )
        .identity_pool_tags("team", "auth")
        .send()
        .await
        .unwrap();
    let pool = created.identity_pool_id().to_owned();
    assert!(pool.starts_with("us-east-1:"));
    assert_eq!(created.allow_classic_flow(), Some(true));
    assert_eq!(created.cognito_identity_providers().len(), 1);
    let described = ids.describe_identity_pool().identity_pool_id(&pool).send().await.unwrap();
    assert_eq!(described.identity_pool_name(), "admin pool");
    assert_eq!(
        described.supported_login_providers().unwrap()["accounts.google.com"],
        GOOGLE_CLIENT
    );
    let updated = ids
        .update_identity_pool()
        .identity_pool_id(&pool)
        .identity_pool_name("renamed")
        .allow_unauthenticated_identities(false)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.identity_pool_name(), "renamed");
    assert!(updated.supported_login_providers().is_none(), "omitted settings are removed");
    let listed = ids.list_identity_pools().max_results(60).send().await.unwrap();
    assert!(listed.identity_pools().iter().any(|p| p.identity_pool_id() == Some(pool.as_str())));
    let first = ids.list_identity_pools().max_results(1).send().await.unwrap();
    assert_eq!(first.identity_pools().len(), 1);
    assert!(first.next_token().is_some());
    ids.set_identity_pool_roles()
        .identity_pool_id(&pool)
        .roles("authenticated", "arn:aws:iam::000000000000:role/a")
        .send()
        .await
        .unwrap();
    let roles = ids.get_identity_pool_roles().identity_pool_id(&pool).send().await.unwrap();
    assert_eq!(roles.roles().unwrap()["authenticated"], "arn:aws:iam::000000000000:role/a");

    // Identities: list, describe, unlink, delete.
    let token = fed.id_token("alice").await;
    let id = fed.get_id(&[(&fed.login_key, &token)]).await.unwrap();
    let guest = fed.get_id(&[]).await.unwrap();
    let listed =
        ids.list_identities().identity_pool_id(&fed.pool_id).max_results(1).send().await.unwrap();
    assert_eq!(listed.identities().len(), 1);
    assert!(listed.next_token().is_some());
    let rest = ids
        .list_identities()
        .identity_pool_id(&fed.pool_id)
        .max_results(60)
        .next_token(listed.next_token().unwrap())
        .send()
        .await
        .unwrap();
    let mut all: Vec<&str> = listed
        .identities()
        .iter()
        .chain(rest.identities())
        .filter_map(|i| i.identity_id())
        .collect();
    all.sort_unstable();
    let mut expected = vec![id.as_str(), guest.as_str()];
    expected.sort_unstable();
    assert_eq!(all, expected);
    let described = ids.describe_identity().identity_id(&id).send().await.unwrap();
    assert_eq!(described.logins(), std::slice::from_ref(&fed.login_key));
    assert!(described.creation_date().is_some());
    assert_code(
        ids.unlink_identity()
            .identity_id(&id)
            .logins("accounts.google.com", "x")
            .logins_to_remove(&fed.login_key)
            .send()
            .await,
        "NotAuthorizedException",
    );
    ids.unlink_identity()
        .identity_id(&id)
        .logins(&fed.login_key, &token)
        .logins_to_remove(&fed.login_key)
        .send()
        .await
        .unwrap();
    assert!(ids.describe_identity().identity_id(&id).send().await.unwrap().logins().is_empty());
    assert_ne!(
        fed.get_id(&[(&fed.login_key, &token)]).await.unwrap(),
        id,
        "the login was unlinked"
    );
    let deleted = ids.delete_identities().identity_ids_to_delete(&guest).send().await.unwrap();
    assert!(deleted.unprocessed_identity_ids().is_empty());
    assert_code(
        ids.describe_identity().identity_id(&guest).send().await,
        "ResourceNotFoundException",
    );
    ids.delete_identity_pool().identity_pool_id(&pool).send().await.unwrap();
    assert_code(
        ids.describe_identity_pool().identity_pool_id(&pool).send().await,
        "ResourceNotFoundException",
    );
}

async fn flows(fed: &Federation) {
    let guest = fed.get_id(&[]).await.unwrap();
    fed.credentials(&guest, &[]).await.unwrap();
    fed.ids.get_open_id_token().identity_id(&guest).send().await.unwrap();
    let created = fed
        .ids
        .create_identity_pool()
        .identity_pool_name("dev")
        .allow_unauthenticated_identities(false)
        .developer_provider_name("dev.example")
        .send()
        .await
        .unwrap();
    let out = developer_token(&fed.ids, created.identity_pool_id(), "dev.example", "u1").await;
    developer_token(&fed.ids, created.identity_pool_id(), "dev.example", "u2").await;
    fed.ids
        .lookup_developer_identity()
        .identity_pool_id(created.identity_pool_id())
        .identity_id(out.identity_id().unwrap())
        .max_results(5)
        .send()
        .await
        .unwrap();
    fed.ids
        .merge_developer_identities()
        .identity_pool_id(created.identity_pool_id())
        .developer_provider_name("dev.example")
        .source_user_identifier("u2")
        .destination_user_identifier("u1")
        .send()
        .await
        .unwrap();
    fed.ids
        .unlink_developer_identity()
        .identity_pool_id(created.identity_pool_id())
        .identity_id(out.identity_id().unwrap())
        .developer_provider_name("dev.example")
        .developer_user_identifier("u2")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn every_identity_operation_is_exercised() {
    let fed = federation().await;
    fed.f.server.reset_request_counts();
    administration(&fed).await;
    flows(&fed).await;
    crate::support::assert_every_operation_called(
        &fed.f.server,
        auth_mock_server::IDENTITY_OPERATIONS,
    );
}

#[tokio::test]
async fn admin_operations_need_a_signature_and_validate_input() {
    let fed = federation().await;
    let url = fed.f.server.url();
    let call = |op: &str, body: &'static [u8], signed: bool| {
        let url = url.clone();
        let target = format!("AWSCognitoIdentityService.{op}");
        async move {
            let mut headers = vec![
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", target.as_str()),
            ];
            let auth = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/eu-west-1/cognito-identity/aws4_request, SignedHeaders=host, Signature=00";
            if signed {
                headers.push(("Authorization", auth));
            }
            request(&url, "POST", "/", &headers, body).await.unwrap()
        }
    };
    let unsigned = call(
        "CreateIdentityPool",
        br#"{"IdentityPoolName":"x","AllowUnauthenticatedIdentities":true}"#,
        false,
    )
    .await;
    assert_eq!(unsigned.status, 400);
    assert_eq!(unsigned.json()["__type"], "MissingAuthenticationTokenException");
    let signed = call(
        "CreateIdentityPool",
        br#"{"IdentityPoolName":"x","AllowUnauthenticatedIdentities":true}"#,
        true,
    )
    .await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert!(
        signed.json()["IdentityPoolId"].as_str().unwrap().starts_with("eu-west-1:"),
        "region of the SigV4 scope"
    );
    let public = call(
        "GetId",
        br#"{"IdentityPoolId":"us-east-1:00000000-0000-0000-0000-000000000000"}"#,
        false,
    )
    .await;
    assert_eq!(public.json()["__type"], "ResourceNotFoundException", "GetId needs no signature");
    for (op, body, kind) in [
        ("CreateIdentityPool", &br#"{"IdentityPoolName":"bad/name","AllowUnauthenticatedIdentities":true}"#[..], "InvalidParameterException"),
        ("CreateIdentityPool", br#"{"IdentityPoolName":"x"}"#, "InvalidParameterException"),
        ("CreateIdentityPool", br#"{"IdentityPoolName":"x","AllowUnauthenticatedIdentities":"yes"}"#, "SerializationException"),
        ("CreateIdentityPool", br#"{"IdentityPoolName":"x","AllowUnauthenticatedIdentities":true,"CognitoIdentityProviders":[{"ProviderName":"nope","ClientId":"c"}]}"#, "InvalidParameterException"),
        ("GetId", br#"{"IdentityPoolId":"not-an-id"}"#, "InvalidParameterException"),
        ("GetCredentialsForIdentity", br#"{}"#, "InvalidParameterException"),
        ("ListIdentityPools", br#"{"MaxResults":0}"#, "InvalidParameterException"),
        ("ListIdentityPools", br#"{}"#, "InvalidParameterException"),
        ("NoSuchOperation", br#"{}"#, "UnknownOperationException"),
    ] {
        let response = call(op, body, true).await;
        assert_eq!(response.status, 400, "{op}: {}", response.body);
        assert_eq!(response.json()["__type"], kind, "{op} {}", String::from_utf8_lossy(body));
        assert_eq!(response.header("x-amzn-errortype"), Some(kind));
    }
}

#[tokio::test]
async fn identity_pools_survive_a_restart_with_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let start = || auth_mock_server::MockServer::builder().state_file(&path).start();
    let server = start().await.unwrap();
    let pool = server
        .create_identity_pool(
            "kept",
            IdentityPoolOptions::default()
                .allow_unauthenticated(true)
                .login_provider("accounts.google.com", GOOGLE_CLIENT),
        )
        .await
        .unwrap();
    let ids = identity_sdk(&server);
    let google =
        server.mint_id_token("google", IdTokenRequest::new("g-1", GOOGLE_CLIENT)).await.unwrap();
    let id = ids
        .get_id()
        .identity_pool_id(&pool)
        .logins("accounts.google.com", &google)
        .send()
        .await
        .unwrap();
    let id = id.identity_id().unwrap().to_owned();
    let guest = ids.get_id().identity_pool_id(&pool).send().await.unwrap().identity_id.unwrap();
    let open_id = ids.get_open_id_token().identity_id(&guest).send().await.unwrap().token.unwrap();
    let credentials = ids.get_credentials_for_identity().identity_id(&guest).send().await.unwrap();
    let key = credentials.credentials().unwrap().access_key_id().unwrap().to_owned();
    server.shutdown().await;

    let server = start().await.unwrap();
    let ids = identity_sdk(&server);
    let described = ids.describe_identity_pool().identity_pool_id(&pool).send().await.unwrap();
    assert_eq!(described.identity_pool_name(), "kept");
    let again = ids
        .get_id()
        .identity_pool_id(&pool)
        .logins("accounts.google.com", &google)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.identity_id(),
        Some(id.as_str()),
        "the token minted before the restart still verifies"
    );
    assert_eq!(server.credentials_owner(&key).unwrap().0, guest);
    let jwks = get(&server.url(), "/.well-known/jwks_uri").await.json();
    assert!(verify_rs256(&open_id, jwks["keys"].as_array().unwrap()), "same OpenID key");
    ids.get_credentials_for_identity().identity_id(&guest).send().await.unwrap();
}

/// GetOpenIdTokenForDeveloperIdentity for `user` of the developer provider `provider` in
/// `pool`, which must succeed.
async fn developer_token(
    ids: &aws_sdk_cognitoidentity::Client,
    pool: &str,
    provider: &str,
    user: &str,
) -> aws_sdk_cognitoidentity::operation::get_open_id_token_for_developer_identity::GetOpenIdTokenForDeveloperIdentityOutput{
    ids.get_open_id_token_for_developer_identity()
        .identity_pool_id(pool)
        .logins(provider, user)
        .send()
        .await
        .expect("a developer identity token")
}
