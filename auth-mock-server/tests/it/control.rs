//! The test-control API over HTTP and through the handle.

use std::time::Duration;

use auth_mock_server::{Fault, Lifetimes};

use crate::raw::{RawResponse, get, request};
use crate::support::{PASSWORD, assert_code, claims, fixture};

/// GET /_mock/health, which must answer 200 (the server is up and still serving).
async fn health(url: &str) -> RawResponse {
    let health = get(url, "/_mock/health").await;
    assert_eq!(health.status, 200);
    health
}

#[tokio::test]
async fn clock_lifetimes_and_counters_over_http() {
    let f = fixture().await;
    let url = f.server.url();
    let health = health(&url).await;
    assert!(health.header("x-amzn-requestid").is_some());

    let set = request(
        &url,
        "POST",
        "/_mock/lifetimes",
        &[],
        format!(
            r#"{{"user_pool_id":"{}","access_token_seconds":60,"id_token_seconds":120}}"#,
            f.pool
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(set.status, 200, "{}", set.body);
    let (access, id, refresh) = f.password_login("alice", PASSWORD).await;
    let (a, i) = (claims(&access), claims(&id));
    assert_eq!(a["exp"].as_u64().unwrap() - a["iat"].as_u64().unwrap(), 60);
    assert_eq!(i["exp"].as_u64().unwrap() - i["iat"].as_u64().unwrap(), 120);

    let moved =
        request(&url, "POST", "/_mock/clock", &[], br#"{"advance_seconds":61}"#).await.unwrap();
    assert_eq!(moved.status, 200);
    assert!(moved.json()["offset_seconds"].as_f64().unwrap() >= 61.0);
    assert_code(f.sdk.get_user().access_token(&access).send().await, "NotAuthorizedException");

    request(&url, "DELETE", "/_mock/requests", &[], b"").await.unwrap();
    f.refresh_auth(&refresh).send().await.unwrap();
    let counts = get(&url, "/_mock/requests").await.json();
    assert_eq!(counts["requests"]["InitiateAuth"], 1);
    assert_eq!(counts["requests"]["InitiateAuth:REFRESH_TOKEN_AUTH"], 1);
    assert_eq!(f.server.request_count("InitiateAuth:REFRESH_TOKEN_AUTH"), 1);
}

#[tokio::test]
async fn faults_errors_latency_and_dropped_connections() {
    let f = fixture().await;
    let url = f.server.url();
    let added = request(
        &url,
        "POST",
        "/_mock/faults",
        &[],
        br#"{"operation":"InitiateAuth","error":{"type":"TooManyRequestsException","message":"slow down"},"times":1}"#,
    )
    .await
    .unwrap();
    assert_eq!(added.status, 200, "{}", added.body);
    assert_code(f.password_auth("alice", PASSWORD).send().await, "TooManyRequestsException");
    // `times: 1` — the next call goes through.
    let (access, _, _) = f.password_login("alice", PASSWORD).await;

    f.server.add_fault(Fault::drop_connection("GetUser").times(1));
    let dropped = f.sdk.get_user().access_token(&access).send().await.unwrap_err();
    assert!(
        matches!(dropped, aws_sdk_cognitoidentityprovider::error::SdkError::DispatchFailure(_)),
        "a dropped connection is a network failure, not a service error: {dropped:?}"
    );
    f.sdk.get_user().access_token(&access).send().await.unwrap();

    f.server.add_fault(Fault::error("*", "InternalErrorException", "outage").times(1));
    let raw = crate::raw::call(&url, "GetUser", b"{}", false).await.unwrap();
    assert_eq!(raw.status, 500);
    assert_eq!(raw.json()["__type"], "InternalErrorException");

    f.server.add_fault(Fault::latency("GetUser", 300).times(1));
    let started = std::time::Instant::now();
    f.sdk.get_user().access_token(&access).send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));

    let listed = get(&url, "/_mock/faults").await.json();
    assert_eq!(listed["faults"], serde_json::json!([]));
    let bad = request(&url, "POST", "/_mock/faults", &[], b"{not json").await.unwrap();
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn a_star_drop_fault_is_an_outage_of_every_route_but_the_control_api() {
    let f = fixture().await;
    let url = f.server.url();
    let (access, _, _) = f.password_login("alice", PASSWORD).await;
    let added =
        request(&url, "POST", "/_mock/faults", &[], br#"{"operation":"*","drop_connection":true}"#)
            .await
            .unwrap();
    assert_eq!(added.status, 200, "{}", added.body);

    // Operations, the discovery documents, `GET /` and S3-looking paths all go unanswered.
    let dropped = f.sdk.get_user().access_token(&access).send().await.unwrap_err();
    assert!(
        matches!(dropped, aws_sdk_cognitoidentityprovider::error::SdkError::DispatchFailure(_)),
        "{dropped:?}"
    );
    let jwks = format!("/{}/.well-known/jwks.json", f.pool);
    for (method, path) in
        [("GET", "/"), ("HEAD", "/"), ("GET", jwks.as_str()), ("GET", "/bucket/key")]
    {
        let answer = request(&url, method, path, &[], b"").await;
        assert!(answer.is_err(), "{method} {path} was answered during the outage");
    }
    // The control API still answers, so the outage can be ended.
    let listed = get(&url, "/_mock/faults").await.json();
    assert_eq!(listed["faults"][0]["operation"], "*");
    let cleared = request(&url, "DELETE", "/_mock/faults", &[], b"").await.unwrap();
    assert_eq!(cleared.status, 200);
    assert_eq!(get(&url, "/").await.status, 200);
    assert_eq!(get(&url, &jwks).await.status, 200);
    f.sdk.get_user().access_token(&access).send().await.unwrap();
}

#[tokio::test]
async fn codes_custom_auth_refresh_tokens_and_reset_over_http() {
    let f = fixture().await;
    let url = f.server.url();
    f.sdk.forgot_password().client_id(&f.client.client_id).username("alice").send().await.unwrap();
    let delivered = get(&url, &format!("/_mock/codes/{}/alice", f.pool)).await.json();
    assert_eq!(delivered["purpose"], "forgot_password");
    assert_eq!(delivered["code"].as_str().unwrap().len(), 6);
    let none = get(&url, &format!("/_mock/codes/{}/nobody", f.pool)).await;
    assert_eq!(none.status, 400);
    assert_eq!(none.json()["__type"], "UserNotFoundException");

    let set = request(
        &url,
        "POST",
        "/_mock/custom-auth",
        &[],
        format!(r#"{{"user_pool_id":"{}","username":"alice","answer":"blue","parameters":{{"question":"colour?"}}}}"#, f.pool).as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(set.status, 200, "{}", set.body);
    let challenge = f.custom_auth("alice").send().await.unwrap();
    assert_eq!(challenge.challenge_parameters().unwrap()["question"], "colour?");

    let (_, _, refresh) = f.password_login("alice", PASSWORD).await;
    let revoked = request(
        &url,
        "POST",
        "/_mock/refresh-tokens/revoke",
        &[],
        format!(r#"{{"user_pool_id":"{}","username":"alice"}}"#, f.pool).as_bytes(),
    )
    .await
    .unwrap()
    .json();
    assert!(revoked["refresh_tokens"].as_u64().unwrap() >= 1);
    assert_code(f.refresh_auth(&refresh).send().await, "NotAuthorizedException");

    let (_, _, refresh) = f.password_login("alice", PASSWORD).await;
    f.server.expire_refresh_tokens(&f.pool, "alice").unwrap();
    assert_code(f.refresh_auth(&refresh).send().await, "NotAuthorizedException");

    assert_eq!(f.server.set_lifetimes(None, None, Lifetimes::default()).unwrap(), 1);
    let reset = request(&url, "POST", "/_mock/reset", &[], b"").await.unwrap();
    assert_eq!(reset.status, 200);
    assert_code(
        f.sdk.describe_user_pool().user_pool_id(&f.pool).send().await,
        "ResourceNotFoundException",
    );
}

#[tokio::test]
async fn jwks_and_openid_configuration_verify_tokens() {
    let f = fixture().await;
    let (access, id, _) = f.password_login("alice", PASSWORD).await;
    let jwks = get(&f.server.url(), &format!("/{}/.well-known/jwks.json", f.pool)).await.json();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for token in [&access, &id] {
        assert!(verify_rs256(token, keys), "token verifies against the JWKS");
    }
    let header = |t: &str| -> serde_json::Value {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t.split('.').next().unwrap())
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    assert_ne!(
        header(&access)["kid"],
        header(&id)["kid"],
        "ID and access tokens use different keys"
    );
    assert_eq!(header(&access)["alg"], "RS256");

    let discovery =
        get(&f.server.url(), &format!("/{}/.well-known/openid-configuration", f.pool)).await.json();
    assert_eq!(discovery["issuer"], claims(&id)["iss"]);
    assert!(discovery["jwks_uri"].as_str().unwrap().ends_with("/.well-known/jwks.json"));
    let missing = get(&f.server.url(), "/us-east-1_nope/.well-known/jwks.json").await;
    assert_eq!(missing.status, 404);
}

/// Verifies an RS256 JWT against a JWKS with aws-lc-rs (independent of the server's code).
pub(crate) fn verify_rs256(token: &str, keys: &[serde_json::Value]) -> bool {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&b64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    let Some(key) = keys.iter().find(|k| k["kid"] == header["kid"]) else { return false };
    let n = b64.decode(key["n"].as_str().unwrap()).unwrap();
    let e = b64.decode(key["e"].as_str().unwrap()).unwrap();
    let public = aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e };
    public
        .verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &b64.decode(signature).unwrap(),
        )
        .is_ok()
}

#[tokio::test]
async fn issuer_base_makes_iss_point_at_the_server() {
    let server = auth_mock_server::MockServer::builder()
        .issuer_base("http://127.0.0.1:1")
        .start()
        .await
        .unwrap();
    let pool = server.create_pool("p").await.unwrap();
    assert_eq!(server.issuer(&pool).unwrap(), format!("http://127.0.0.1:1/{pool}"));
    server.shutdown().await;

    let server = auth_mock_server::MockServer::builder().issuer_base("self").start().await.unwrap();
    let pool = server.create_pool("p").await.unwrap();
    assert_eq!(server.issuer(&pool).unwrap(), format!("{}/{pool}", server.url()));
    server.shutdown().await;
}

#[tokio::test]
async fn absurd_control_values_do_not_break_the_server() {
    let f = fixture().await;
    let url = f.server.url();
    let lifetimes =
        format!(r#"{{"user_pool_id":"{}","access_token_seconds":18446744073709551615}}"#, f.pool);
    let refused =
        request(&url, "POST", "/_mock/lifetimes", &[], lifetimes.as_bytes()).await.unwrap();
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["__type"], "InvalidParameterException");
    let (access, _, _) = f.password_login("alice", PASSWORD).await;
    f.sdk.get_user().access_token(&access).send().await.unwrap();
    for body in [
        r#"{"offset_seconds":1e300}"#,
        r#"{"advance_seconds":-1e300}"#,
        r#"{"offset_seconds":"x"}"#,
    ] {
        let answer = request(&url, "POST", "/_mock/clock", &[], body.as_bytes()).await.unwrap();
        assert!(answer.status == 200 || answer.status == 400, "{body}: {}", answer.status);
        health(&url).await;
    }
    f.server.set_clock_offset(0);
    f.password_login("alice", PASSWORD).await;
}

#[tokio::test]
async fn stats_count_what_the_server_holds_and_abandoned_sign_ins_expire() {
    use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
    let f = fixture().await;
    let before = f.server.stats();
    assert_eq!((before.pools, before.clients, before.users), (1, 1, 1));
    assert_eq!(before.pending_sessions, 0);
    for _ in 0..3 {
        f.initiate(AuthFlowType::UserSrpAuth, &f.client.client_id)
            .auth_parameters("USERNAME", "alice")
            .auth_parameters("SRP_A", "0a")
            .send()
            .await
            .unwrap();
    }
    let over_http = get(&f.server.url(), "/_mock/stats").await;
    assert_eq!(over_http.status, 200);
    assert_eq!(over_http.json()["pending_sessions"], 3);
    // Cognito's sessions last three minutes (the client's AuthSessionValidity).
    f.server.advance_clock(Duration::from_secs(181));
    assert_eq!(f.server.stats().pending_sessions, 0);
}

#[tokio::test]
async fn the_control_api_answers_no_cors_and_only_loopback_hosts() {
    let f = fixture().await;
    let url = f.server.url();
    let health = health(&url).await;
    assert_eq!(health.header("access-control-allow-origin"), None);
    let compat = get(&url, "/_aws/ses").await;
    assert_eq!(compat.header("access-control-allow-origin"), None);
    // The Cognito API keeps what browsers need.
    let api = request(
        &url,
        "POST",
        "/",
        &[("X-Amz-Target", "AWSCognitoIdentityProviderService.InitiateAuth")],
        b"{}",
    )
    .await
    .unwrap();
    assert_eq!(api.header("access-control-allow-origin"), Some("*"));

    // `request` sends `Host: 127.0.0.1:<port>`; a rebound name is refused.
    let rebound = request(&url, "POST", "/_mock/reset", &[("Host", "evil.example")], b"").await;
    let rebound = rebound.unwrap();
    assert_eq!(rebound.status, 403, "{}", rebound.body);
    assert_eq!(rebound.json()["__type"], "AccessDeniedException");
    let csrf =
        request(&url, "POST", "/_mock/reset", &[("Origin", "https://evil.example")], b"").await;
    assert_eq!(csrf.unwrap().status, 403);
    let preflight = request(&url, "OPTIONS", "/_mock/reset", &[], b"").await.unwrap();
    assert_eq!(preflight.status, 405);
    assert_eq!(preflight.header("access-control-allow-origin"), None);
    assert!(f.sdk.describe_user_pool().user_pool_id(&f.pool).send().await.is_ok());
}

#[tokio::test]
async fn a_control_token_is_required_when_configured() {
    let server =
        auth_mock_server::MockServer::builder().control_token("t0ken").start().await.unwrap();
    let url = server.url();
    let bare = get(&url, "/_mock/stats").await;
    assert_eq!(bare.status, 401);
    assert_eq!(bare.json()["__type"], "UnauthorizedException");
    assert_eq!(bare.header("www-authenticate"), Some("Bearer"));
    let wrong =
        request(&url, "GET", "/_mock/stats", &[("Authorization", "Bearer nope")], b"").await;
    assert_eq!(wrong.unwrap().status, 401);
    let right =
        request(&url, "GET", "/_mock/stats", &[("Authorization", "Bearer t0ken")], b"").await;
    assert_eq!(right.unwrap().status, 200);
    let moto = request(&url, "POST", "/moto-api/reset", &[], b"").await.unwrap();
    assert_eq!(moto.status, 401);
    // The Cognito API does not need it.
    let api = request(
        &url,
        "POST",
        "/",
        &[("X-Amz-Target", "AWSCognitoIdentityProviderService.ListUserPools")],
        br#"{"MaxResults": 1}"#,
    )
    .await
    .unwrap();
    assert_ne!(api.status, 401);
}
