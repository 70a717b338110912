//! insta snapshots of identity-pool and S3 response shapes, with ids, keys, tokens and times
//! redacted.

use serde_json::{Value, json};

use crate::identity::federation;
use crate::raw::{Api, get, request};
use crate::support::claims;

const REDACT: &[&str] = &[
    "IdentityPoolId",
    "IdentityId",
    "AccessKeyId",
    "SecretKey",
    "SessionToken",
    "Expiration",
    "CreationDate",
    "LastModifiedDate",
    "ClientId",
    "ProviderName",
    "sub",
    "aud",
    "iat",
    "exp",
    "https://cognito-identity.amazonaws.com/identity-pool-arn",
];

fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if REDACT.contains(&key.as_str()) {
                    *inner = shape(inner);
                } else {
                    redact(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// A changing value reduced to its shape, so the snapshot still shows formats and lengths
/// (`us-east-1:<uuid>`, 20-character key ids, epoch numbers): letters, digits and the
/// base64 symbols `+` and `/` become `*`; a long string only says its length; a number
/// becomes `<number>`.
fn shape(value: &Value) -> Value {
    match value {
        Value::String(text) if text.len() > 64 => json!(format!("[{} characters]", text.len())),
        Value::String(text) => json!(
            text.chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '+' || c == '/' { '*' } else { c })
                .collect::<String>()
        ),
        Value::Number(_) => json!("<number>"),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        _ => json!("[redacted]"),
    }
}

async fn op(url: &str, operation: &str, body: Value) -> Value {
    let response =
        Api::IdentityPools.call(url, operation, body.to_string().as_bytes(), true).await.unwrap();
    let mut value = response.json();
    redact(&mut value);
    value
}

/// Replaces the text of XML elements whose values change from run to run.
fn redact_xml(xml: &str) -> String {
    let mut out = xml.to_owned();
    for element in ["RequestId", "HostId", "LastModified", "CreationDate"] {
        let open = format!("<{element}>");
        let close = format!("</{element}>");
        let mut from = 0;
        while let Some(start) = out[from..].find(&open).map(|i| from + i + open.len()) {
            let Some(end) = out[start..].find(&close).map(|i| start + i) else { break };
            out.replace_range(start..end, "[redacted]");
            from = start + "[redacted]".len() + close.len();
        }
    }
    out
}

#[tokio::test]
async fn identity_response_shapes() {
    let fed = federation().await;
    let url = fed.f.server.url();
    let pool = op(&url, "DescribeIdentityPool", json!({ "IdentityPoolId": fed.pool_id })).await;
    insta::assert_yaml_snapshot!("describe_identity_pool", pool);
    let id = op(&url, "GetId", json!({ "IdentityPoolId": fed.pool_id })).await;
    insta::assert_yaml_snapshot!("get_id", id);
    let raw_id = fed.ids.get_id().identity_pool_id(&fed.pool_id).send().await.unwrap();
    let guest = raw_id.identity_id().unwrap();
    let credentials = op(&url, "GetCredentialsForIdentity", json!({ "IdentityId": guest })).await;
    insta::assert_yaml_snapshot!("get_credentials_for_identity", credentials);
    let token = fed.ids.get_open_id_token().identity_id(guest).send().await.unwrap();
    let mut token_claims = claims(token.token().unwrap());
    redact(&mut token_claims);
    insta::assert_yaml_snapshot!("open_id_token_claims", token_claims);
    let error = op(
        &url,
        "GetId",
        json!({ "IdentityPoolId": "us-east-1:00000000-0000-0000-0000-000000000000" }),
    )
    .await;
    insta::assert_yaml_snapshot!("identity_error_not_found", error);
}

#[tokio::test]
async fn s3_response_shapes() {
    let fed = federation().await;
    let server = &fed.f.server;
    server.s3_create_bucket("shapes").unwrap();
    server.s3_put_object("shapes", "a/b.txt", b"hello".to_vec()).unwrap();
    server.s3_put_object("shapes", "c.txt", b"world!".to_vec()).unwrap();
    let anonymous = get(&server.url(), "/shapes/missing").await;
    insta::assert_snapshot!("s3_error_access_denied", redact_xml(&anonymous.body));
    let guest = fed.ids.get_id().identity_pool_id(&fed.pool_id).send().await.unwrap();
    let out = fed
        .ids
        .get_credentials_for_identity()
        .identity_id(guest.identity_id().unwrap())
        .send()
        .await
        .unwrap();
    let credentials = crate::support::s3_credentials(out.credentials().unwrap());
    let host = server.url().trim_start_matches("http://").to_owned();
    let signed_get = |target: &str| {
        let headers = vec![("host".to_owned(), host.clone())];
        let signed = crate::s3::sign(
            &credentials,
            "GET",
            &format!("http://{host}{target}"),
            &headers,
            aws_sigv4::http_request::SignableBody::Bytes(b""),
            std::time::SystemTime::now(),
        );
        let url = server.url();
        let target = target.to_owned();
        async move {
            let refs: Vec<(&str, &str)> = signed
                .iter()
                .filter(|(n, _)| n != "host")
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            request(&url, "GET", &target, &refs, b"").await.unwrap()
        }
    };
    let listed = signed_get("/shapes?list-type=2&delimiter=%2F").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    insta::assert_snapshot!("s3_list_objects_v2", redact_xml(&listed.body));
    let missing = signed_get("/shapes/nope").await;
    assert_eq!(missing.status, 404);
    insta::assert_snapshot!("s3_error_no_such_key", redact_xml(&missing.body));
}
