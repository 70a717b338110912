//! The JWT verifier against tokens signed with the tests' own RSA keys, served from a local
//! JWKS endpoint: every check, every forgery, and the JWKS cache's refetch rules.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use auth_cognito::{JwtError, JwtVerifier, JwtVerifierBuilder, TokenUse};
use auth_core::ManualClock;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{Action, RsaKey, ScriptedServer};

const POOL: &str = "us-east-1_TestPool1";
const CLIENT: &str = "client1234";
const NOW: u64 = 1_750_000_000;

fn issuer() -> String {
    format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL}")
}

fn jwks(keys: &[&RsaKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

fn id_claims() -> Value {
    json!({
        "sub": "0f1e2d3c-aaaa-bbbb-cccc-000000000001",
        "aud": CLIENT,
        "iss": issuer(),
        "token_use": "id",
        "cognito:username": "alice",
        "cognito:groups": ["admins", "staff"],
        "email": "alice@example.com",
        "auth_time": NOW - 10,
        "iat": NOW - 10,
        "exp": NOW + 3600,
    })
}

fn access_claims() -> Value {
    json!({
        "sub": "0f1e2d3c-aaaa-bbbb-cccc-000000000001",
        "client_id": CLIENT,
        "iss": issuer(),
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "username": "alice",
        "iat": NOW - 10,
        "exp": NOW + 3600,
    })
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(NOW)))
}

/// A verifier for `CLIENT` that downloads its keys from `server`, at the time of [`clock`].
fn served_by(server: &ScriptedServer) -> JwtVerifierBuilder {
    JwtVerifier::builder(POOL)
        .client_id(CLIENT)
        .jwks_url(format!("{}jwks.json", server.url))
        .clock(clock())
}

async fn setup(keys: &[&RsaKey]) -> (ScriptedServer, JwtVerifier, Arc<ManualClock>) {
    let server = ScriptedServer::start(vec![Action::ok(jwks(keys))]).await;
    let clock = clock();
    let verifier = served_by(&server).clock(clock.clone()).build().unwrap();
    (server, verifier, clock)
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

#[tokio::test]
async fn accepts_valid_id_and_access_tokens() {
    let (key, _) = RsaKey::pair();
    let (server, verifier, _) = setup(&[key]).await;
    let claims = verifier.verify_id_token(&key.token(&id_claims())).await.unwrap();
    assert_eq!(claims.token_use(), TokenUse::Id);
    assert_eq!(claims.subject(), "0f1e2d3c-aaaa-bbbb-cccc-000000000001");
    assert_eq!(claims.username(), Some("alice"));
    assert_eq!(claims.client_id(), Some(CLIENT));
    assert_eq!(claims.groups(), ["admins", "staff"]);
    assert!(claims.in_group("admins") && !claims.in_group("root"));
    assert_eq!(claims.string("email"), Some("alice@example.com"));
    let printed = format!("{claims:?}");
    assert!(!printed.contains("alice@example.com"), "Debug must not print claim values: {printed}");

    let claims = verifier.verify_access_token(&key.token(&access_claims())).await.unwrap();
    assert_eq!(claims.scopes(), ["aws.cognito.signin.user.admin"]);
    assert_eq!(claims.client_id(), Some(CLIENT));
    assert_eq!(server.requests().len(), 1, "the JWKS is downloaded once and cached");
    assert_eq!(server.requests()[0].method, "GET");
}

#[tokio::test]
async fn expiry_and_not_before_respect_the_leeway() {
    let (key, _) = RsaKey::pair();
    let (_server, verifier, clock) = setup(&[key]).await;
    let token = key.token(&id_claims());
    clock.set(UNIX_EPOCH + Duration::from_secs(NOW + 3600));
    assert!(matches!(verifier.verify_id_token(&token).await, Err(JwtError::Expired)));
    clock.set(UNIX_EPOCH + Duration::from_secs(NOW + 3599));
    verifier.verify_id_token(&token).await.expect("valid one second before exp");

    let future = key.token(&with(id_claims(), "nbf", json!(NOW + 30)));
    clock.set(UNIX_EPOCH + Duration::from_secs(NOW));
    assert!(matches!(verifier.verify_id_token(&future).await, Err(JwtError::NotYetValid)));
    let issued_later = key.token(&with(id_claims(), "iat", json!(NOW + 30)));
    assert!(matches!(verifier.verify_id_token(&issued_later).await, Err(JwtError::NotYetValid)));

    let lenient = JwtVerifier::builder(POOL)
        .client_id(CLIENT)
        .jwks_json(jwks(&[key]).to_string())
        .jwks_url("http://127.0.0.1:1/unused")
        .leeway(Duration::from_secs(60))
        .clock(clock.clone())
        .build()
        .unwrap();
    lenient.verify_id_token(&future).await.expect("nbf within the leeway");
    clock.set(UNIX_EPOCH + Duration::from_secs(NOW + 3600 + 59));
    lenient.verify_id_token(&token).await.expect("exp within the leeway");
    clock.set(UNIX_EPOCH + Duration::from_secs(NOW + 3600 + 60));
    assert!(matches!(lenient.verify_id_token(&token).await, Err(JwtError::Expired)));
}

#[tokio::test]
async fn rejects_wrong_issuer_audience_and_token_use() {
    let (key, _) = RsaKey::pair();
    let (_server, verifier, _) = setup(&[key]).await;
    let other_pool = with(
        id_claims(),
        "iss",
        json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"),
    );
    assert!(matches!(
        verifier.verify_id_token(&key.token(&other_pool)).await,
        Err(JwtError::WrongIssuer { expected, found })
            if found.ends_with("us-east-1_Other") && expected == issuer()
    ));
    assert!(matches!(
        verifier.verify_id_token(&key.token(&without(id_claims(), "iss"))).await,
        Err(JwtError::MissingClaim("iss"))
    ));
    let other_client = with(id_claims(), "aud", json!("someone-else"));
    assert!(matches!(
        verifier.verify_id_token(&key.token(&other_client)).await,
        Err(JwtError::WrongAudience)
    ));
    let other_client = with(access_claims(), "client_id", json!("someone-else"));
    assert!(matches!(
        verifier.verify_access_token(&key.token(&other_client)).await,
        Err(JwtError::WrongAudience)
    ));
    // An access token has no `aud`: it must not pass as an ID token, nor the reverse.
    assert!(matches!(
        verifier.verify_id_token(&key.token(&access_claims())).await,
        Err(JwtError::WrongTokenUse { expected: TokenUse::Id, found }) if found == "access"
    ));
    assert!(matches!(
        verifier.verify_access_token(&key.token(&id_claims())).await,
        Err(JwtError::WrongTokenUse { expected: TokenUse::Access, .. })
    ));
    assert!(matches!(
        verifier.verify_id_token(&key.token(&without(id_claims(), "exp"))).await,
        Err(JwtError::MissingClaim("exp"))
    ));
    assert!(matches!(
        verifier.verify_id_token(&key.token(&with(id_claims(), "exp", json!("tomorrow")))).await,
        Err(JwtError::MissingClaim("exp"))
    ));
}

#[tokio::test]
async fn rejects_tampered_and_forged_tokens() {
    let (key, other) = RsaKey::pair();
    let (_server, verifier, _) = setup(&[key]).await;
    let token = key.token(&id_claims());
    let parts: Vec<&str> = token.split('.').collect();

    // A changed payload with the original signature.
    let forged_claims = with(id_claims(), "cognito:groups", json!(["root"]));
    let tampered =
        format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(forged_claims.to_string()), parts[2]);
    assert!(matches!(verifier.verify_id_token(&tampered).await, Err(JwtError::BadSignature)));

    // A flipped bit in the signature.
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[10] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(signature));
    assert!(matches!(verifier.verify_id_token(&flipped).await, Err(JwtError::BadSignature)));

    // Signed by another key that claims the trusted key's kid.
    let impostor = other.sign(&json!({"alg": "RS256", "kid": key.kid}), &id_claims());
    assert!(matches!(verifier.verify_id_token(&impostor).await, Err(JwtError::BadSignature)));

    // `alg: none`, with and without a signature.
    let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": key.kid}).to_string());
    let body = URL_SAFE_NO_PAD.encode(id_claims().to_string());
    for token in [format!("{none_header}.{body}."), format!("{none_header}.{body}.{}", parts[2])] {
        let result = verifier.verify_id_token(&token).await;
        assert!(
            matches!(result, Err(JwtError::UnsupportedAlgorithm(_)) | Err(JwtError::Malformed(_))),
            "alg none must be refused: {result:?}"
        );
    }
    let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": key.kid}).to_string());
    assert!(matches!(
        verifier.verify_id_token(&format!("{none_header}.{body}.{}", parts[2])).await,
        Err(JwtError::UnsupportedAlgorithm(alg)) if alg == "none"
    ));

    // HS256 "signed" with the RSA public key as the HMAC secret (key confusion), in the
    // encodings an attacker would try.
    let jwk = key.jwk();
    let modulus = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    for secret in [key.public_der(), jwk.to_string().into_bytes(), modulus] {
        for alg in ["HS256", "HS384", "HS512"] {
            let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "kid": key.kid}).to_string());
            let message = format!("{header}.{body}");
            let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
            mac.update(message.as_bytes());
            let token =
                format!("{message}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
            assert!(
                matches!(
                    verifier.verify_id_token(&token).await,
                    Err(JwtError::UnsupportedAlgorithm(found)) if found == alg
                ),
                "{alg} must be refused"
            );
        }
    }
    for alg in ["PS256", "ES256", "RS512", "rs256", ""] {
        let header = key.sign(&json!({"alg": alg, "kid": key.kid}), &id_claims());
        assert!(
            matches!(
                verifier.verify_id_token(&header).await,
                Err(JwtError::UnsupportedAlgorithm(_))
            ),
            "{alg:?} must be refused"
        );
    }
    let no_alg = key.sign(&json!({"kid": key.kid}), &id_claims());
    assert!(matches!(
        verifier.verify_id_token(&no_alg).await,
        Err(JwtError::UnsupportedAlgorithm(_))
    ));
    let critical =
        key.sign(&json!({"alg": "RS256", "kid": key.kid, "crit": ["exp"]}), &id_claims());
    assert!(matches!(verifier.verify_id_token(&critical).await, Err(JwtError::Malformed(_))));
    let no_kid = key.sign(&json!({"alg": "RS256"}), &id_claims());
    assert!(matches!(verifier.verify_id_token(&no_kid).await, Err(JwtError::Malformed(_))));
}

#[tokio::test]
async fn garbage_is_malformed_without_panicking() {
    let (key, _) = RsaKey::pair();
    let (server, verifier, _) = setup(&[key]).await;
    let valid = key.token(&id_claims());
    let long = "a".repeat(20_000);
    for token in [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "..",
        "!!!.!!!.!!!",
        long.as_str(),
        &format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode("[]")),
        &format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode("not json")),
    ] {
        let result = verifier.verify_id_token(token).await;
        assert!(matches!(result, Err(JwtError::Malformed(_))), "{token:.40}: {result:?}");
    }
    // A valid signature over a payload that is not a JSON object.
    let array_payload = key.sign(&json!({"alg": "RS256", "kid": key.kid}), &json!([1, 2]));
    assert!(matches!(verifier.verify_id_token(&array_payload).await, Err(JwtError::Malformed(_))));
    verifier.verify_id_token(&valid).await.unwrap();
    assert_eq!(server.requests().len(), 1, "malformed tokens never cause a JWKS download");
}

#[tokio::test]
async fn unknown_kid_refetches_once_then_is_rate_limited() {
    let (key1, key2) = RsaKey::pair();
    let (server, verifier, _) = setup(&[key1]).await;
    verifier.verify_id_token(&key1.token(&id_claims())).await.unwrap();
    assert_eq!(server.requests().len(), 1);

    // Cognito rotates: key2 appears in the JWKS. The first token signed with it triggers
    // one download and passes.
    server.push([Action::ok(jwks(&[key1, key2]))]);
    verifier.verify_id_token(&key2.token(&id_claims())).await.unwrap();
    assert_eq!(server.requests().len(), 2);

    // A forged kid: one download that does not find it, then no more downloads within the
    // interval, even under concurrency.
    server.push([Action::ok(jwks(&[key1, key2]))]);
    let forged = key1.sign(&json!({"alg": "RS256", "kid": "forged-kid"}), &id_claims());
    assert!(matches!(verifier.verify_id_token(&forged).await, Err(JwtError::UnknownKey(_))));
    assert_eq!(server.requests().len(), 3);
    let attempts = (0..20).map(|_| {
        let verifier = verifier.clone();
        let forged = forged.clone();
        tokio::spawn(async move { verifier.verify_id_token(&forged).await })
    });
    for attempt in attempts {
        assert!(
            matches!(attempt.await.unwrap(), Err(JwtError::UnknownKey(kid)) if kid == "forged-kid")
        );
    }
    assert_eq!(server.requests().len(), 3, "unknown kids must not hammer the JWKS endpoint");
    // Known keys still verify from the cache.
    verifier.verify_id_token(&key1.token(&id_claims())).await.unwrap();
    verifier.verify_id_token(&key2.token(&id_claims())).await.unwrap();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn unknown_kid_after_the_interval_downloads_again() {
    let (key1, key2) = RsaKey::pair();
    let server = ScriptedServer::start(vec![Action::ok(jwks(&[key1]))]).await;
    let verifier = served_by(&server).min_refetch_interval(Duration::ZERO).build().unwrap();
    verifier.verify_id_token(&key1.token(&id_claims())).await.unwrap();
    server.push([Action::ok(jwks(&[key1]))]);
    assert!(matches!(
        verifier.verify_id_token(&key2.token(&id_claims())).await,
        Err(JwtError::UnknownKey(_))
    ));
    assert_eq!(server.requests().len(), 2);
    server.push([Action::ok(jwks(&[key2]))]);
    verifier.verify_id_token(&key2.token(&id_claims())).await.unwrap();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn unusable_jwks_is_a_verifier_problem_not_a_token_problem() {
    let (key, _) = RsaKey::pair();
    let server = ScriptedServer::start(vec![
        Action::raw(503, &[], "maintenance"),
        Action::ok(json!({"keys": [{"kid": "x", "kty": "EC", "crv": "P-256"}]})),
    ])
    .await;
    let verifier = served_by(&server).min_refetch_interval(Duration::ZERO).build().unwrap();
    let token = key.token(&id_claims());
    let error = verifier.verify_id_token(&token).await.unwrap_err();
    assert!(matches!(error, JwtError::KeysUnavailable(_)), "{error:?}");
    assert!(!error.is_token_rejected());
    let error = verifier.verify_id_token(&token).await.unwrap_err();
    assert!(
        matches!(&error, JwtError::KeysUnavailable(m) if m.contains("no usable RS256 key")),
        "non-RSA keys are ignored: {error:?}"
    );
    server.push([Action::ok(jwks(&[key]))]);
    verifier.refresh_keys().await.unwrap();
    verifier.verify_id_token(&token).await.unwrap();
}

#[tokio::test]
async fn group_requirements() {
    let (key, _) = RsaKey::pair();
    let keys = jwks(&[key]).to_string();
    let build = |f: fn(auth_cognito::JwtVerifierBuilder) -> auth_cognito::JwtVerifierBuilder| {
        f(JwtVerifier::builder(POOL)
            .client_id(CLIENT)
            .jwks_json(keys.clone())
            .jwks_url("http://127.0.0.1:1/unused")
            .clock(clock()))
        .build()
        .unwrap()
    };
    let token = key.token(&id_claims());
    let no_groups = key.token(&without(id_claims(), "cognito:groups"));
    let any = build(|b| b.require_any_group(["root", "staff"]));
    any.verify_id_token(&token).await.unwrap();
    assert!(matches!(any.verify_id_token(&no_groups).await, Err(JwtError::GroupRequired)));
    let all = build(|b| b.require_all_groups(["admins", "staff"]));
    all.verify_id_token(&token).await.unwrap();
    let all = build(|b| b.require_all_groups(["admins", "root"]));
    assert!(matches!(all.verify_id_token(&token).await, Err(JwtError::GroupRequired)));
}

#[tokio::test]
async fn configuration_is_checked() {
    assert!(JwtVerifier::builder(POOL).build().is_err(), "a client id (or any_client) is required");
    assert!(JwtVerifier::builder("not-a-pool").client_id(CLIENT).build().is_err());
    let verifier = JwtVerifier::builder(POOL).any_client().build().unwrap();
    assert_eq!(verifier.issuer(), issuer());
    let verifier = JwtVerifier::builder("cn-north-1_abc").any_client().build().unwrap();
    assert_eq!(verifier.issuer(), "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_abc");
}

/// OpenID Connect: an ID token whose `aud` also names other parties is not this client's
/// alone, and every token must name its user in `sub`.
#[tokio::test]
async fn id_token_audiences_must_all_be_ours_and_sub_is_required() {
    let (key, _) = RsaKey::pair();
    let (_server, verifier, _) = setup(&[key]).await;
    let ours = with(id_claims(), "aud", json!([CLIENT]));
    verifier.verify_id_token(&key.token(&ours)).await.expect("an array of our client only");
    for aud in [
        json!([CLIENT, "someone-else"]),
        json!(["someone-else", CLIENT]),
        json!([CLIENT, 5]),
        json!([]),
        json!(null),
    ] {
        let shared = with(id_claims(), "aud", aud.clone());
        assert!(
            matches!(
                verifier.verify_id_token(&key.token(&shared)).await,
                Err(JwtError::WrongAudience)
            ),
            "aud {aud} must be refused"
        );
    }
    for (claims, expected) in [(id_claims(), TokenUse::Id), (access_claims(), TokenUse::Access)] {
        for sub in [None, Some(json!("")), Some(json!(42))] {
            let claims = match &sub {
                None => without(claims.clone(), "sub"),
                Some(value) => with(claims.clone(), "sub", value.clone()),
            };
            assert!(
                matches!(
                    verifier.verify(&key.token(&claims), expected).await,
                    Err(JwtError::MissingClaim("sub"))
                ),
                "{expected} token with sub {sub:?} must be refused"
            );
        }
    }
}

/// A JWKS larger than the cap is refused unread, even though it holds the right key.
#[tokio::test]
async fn an_oversized_jwks_is_refused() {
    let (key, _) = RsaKey::pair();
    let mut document = jwks(&[key]);
    document["padding"] = json!("x".repeat(auth_cognito::jwt::MAX_JWKS_BYTES));
    let (server, verifier, _) = setup(&[]).await;
    server.push([Action::ok(document.clone())]);
    // The scripted first answer (an empty JWKS) is used up by a refresh first.
    let _ = verifier.refresh_keys().await;
    let error = verifier.refresh_keys().await.unwrap_err();
    assert!(
        matches!(&error, JwtError::KeysUnavailable(m) if m.contains("larger than")),
        "{error:?}"
    );
    let error = verifier.verify_id_token(&key.token(&id_claims())).await.unwrap_err();
    assert!(matches!(error, JwtError::KeysUnavailable(_)), "{error:?}");
    // A normal JWKS from the same endpoint still works.
    server.push([Action::ok(jwks(&[key]))]);
    verifier.refresh_keys().await.unwrap();
    verifier.verify_id_token(&key.token(&id_claims())).await.unwrap();
}

/// A JWKS endpoint that never answers costs a cold-cache verification at most the
/// download deadline (10 s by default), not three attempts of 20 s; the verifications
/// that follow within the refetch interval fail at once, with the reason said once.
#[tokio::test(start_paused = true)]
async fn a_silent_jwks_endpoint_fails_within_the_deadline() {
    let (key, _) = RsaKey::pair();
    let server = ScriptedServer::start(vec![Action::Hang, Action::Hang, Action::Hang]).await;
    let verifier = served_by(&server).build().unwrap();
    let token = key.token(&id_claims());
    let started = tokio::time::Instant::now();
    let error = verifier.verify_id_token(&token).await.unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(error, JwtError::KeysUnavailable(_)), "{error:?}");
    assert!(waited <= Duration::from_secs(11), "a cold-cache verification waited {waited:?}");

    let started = tokio::time::Instant::now();
    let again = verifier.verify_id_token(&token).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    let printed = again.to_string();
    assert_eq!(printed.matches("JWKS is unavailable").count(), 1, "doubled prefix: {printed}");
    assert_eq!(printed, error.to_string());
}

/// The remembered failure of a download is reported as it was, without its prefix
/// repeated.
#[tokio::test]
async fn a_remembered_jwks_failure_is_not_prefixed_twice() {
    let (key, _) = RsaKey::pair();
    let server = ScriptedServer::start(vec![Action::raw(503, &[], "maintenance")]).await;
    let verifier = served_by(&server).build().unwrap();
    let token = key.token(&id_claims());
    let first = verifier.verify_id_token(&token).await.unwrap_err().to_string();
    let second = verifier.verify_id_token(&token).await.unwrap_err().to_string();
    assert_eq!(server.requests().len(), 1, "the second verification used the remembered failure");
    assert_eq!(first, second);
    assert_eq!(second.matches("JWKS is unavailable").count(), 1, "{second}");
}

/// A caller's reqwest client follows redirects by default; the verifier still refuses keys
/// that came from anywhere but the configured URL.
#[tokio::test]
async fn redirects_are_refused_also_with_a_callers_client() {
    let (key, _) = RsaKey::pair();
    let elsewhere = ScriptedServer::start(vec![Action::ok(jwks(&[key]))]).await;
    let location = format!("{}attacker-jwks.json", elsewhere.url);
    let server =
        ScriptedServer::start(vec![Action::raw(302, &[("Location", &location)], "")]).await;
    let verifier = served_by(&server).http_client(reqwest::Client::new()).build().unwrap();
    let error = verifier.verify_id_token(&key.token(&id_claims())).await.unwrap_err();
    assert!(matches!(&error, JwtError::KeysUnavailable(m) if m.contains("redirect")), "{error:?}");
    assert!(!error.is_token_rejected());
}

/// Values a token chose reach errors escaped and bounded: no log flooding, no forged lines.
#[tokio::test]
async fn hostile_values_in_errors_are_bounded_and_escaped() {
    let (key, _) = RsaKey::pair();
    let (_server, verifier, _) = setup(&[key]).await;
    let hostile = format!("{}\n\u{1b}[2J\r\nINFO forged line", "k".repeat(10_000));
    let clean = |text: &str| {
        text.len() < 400 && !text.chars().any(|c| c.is_control()) && text.contains("more bytes")
    };

    let kid = key.sign(&json!({"alg": "RS256", "kid": hostile}), &id_claims());
    let error = verifier.verify_id_token(&kid).await.unwrap_err();
    let JwtError::UnknownKey(found) = &error else { panic!("{error:?}") };
    assert!(clean(found) && clean(&error.to_string()), "{error}");

    let alg = key.sign(&json!({"alg": hostile, "kid": key.kid}), &id_claims());
    let error = verifier.verify_id_token(&alg).await.unwrap_err();
    assert!(matches!(&error, JwtError::UnsupportedAlgorithm(a) if clean(a)), "{error:?}");

    let iss = key.token(&with(id_claims(), "iss", json!(hostile)));
    let error = verifier.verify_id_token(&iss).await.unwrap_err();
    assert!(
        matches!(&error, JwtError::WrongIssuer { found, expected } if clean(found) && *expected == issuer()),
        "{error:?}"
    );
    assert!(clean(&error.to_string()) && error.to_string().contains(&issuer()));

    let token_use = key.token(&with(id_claims(), "token_use", json!(hostile)));
    let error = verifier.verify_id_token(&token_use).await.unwrap_err();
    assert!(matches!(&error, JwtError::WrongTokenUse { found, .. } if clean(found)), "{error:?}");
}

/// `.endpoint(url)` as for the pool builders: keys from `<endpoint>/<pool>/.well-known/
/// jwks.json`, the issuer still AWS's (what a local Cognito issues by default).
#[tokio::test]
async fn endpoint_locates_the_jwks_like_the_pool_builders() {
    let (key, _) = RsaKey::pair();
    let server = ScriptedServer::start(vec![Action::ok(jwks(&[key]))]).await;
    let verifier = JwtVerifier::builder(POOL)
        .client_id(CLIENT)
        .endpoint(server.url.trim_end_matches('/'))
        .clock(clock())
        .build()
        .unwrap();
    assert_eq!(verifier.issuer(), issuer());
    verifier.verify_id_token(&key.token(&id_claims())).await.unwrap();
    assert_eq!(server.requests()[0].path, format!("/{POOL}/.well-known/jwks.json"));
    let with_slash =
        JwtVerifier::builder(POOL).client_id(CLIENT).endpoint(&server.url).build().unwrap();
    assert!(format!("{with_slash:?}").contains(&format!("{}{POOL}/.well-known", server.url)));
    assert!(JwtVerifier::builder(POOL).client_id(CLIENT).endpoint("not a url").build().is_err());
}

/// `Debug` of the verifier and of the pool clients never shows a `user:password@` part of
/// a configured URL.
#[test]
fn debug_output_hides_credentials_in_urls() {
    let verifier = JwtVerifier::builder(POOL)
        .client_id(CLIENT)
        .jwks_url("https://alice:s3cret@keys.example/jwks.json")
        .build()
        .unwrap();
    let pool = auth_cognito::CognitoUserPool::builder(POOL, CLIENT)
        .endpoint("http://alice:s3cret@127.0.0.1:9229/")
        .build()
        .unwrap();
    let identity = auth_cognito::CognitoIdentityPool::builder("us-east-1:0000-1111")
        .endpoint("http://alice:s3cret@127.0.0.1:9229/")
        .build()
        .unwrap();
    for printed in [format!("{verifier:?}"), format!("{pool:?}"), format!("{identity:?}")] {
        assert!(!printed.contains("s3cret") && !printed.contains("alice"), "{printed}");
        assert!(printed.contains("[redacted]@"), "{printed}");
    }
}
