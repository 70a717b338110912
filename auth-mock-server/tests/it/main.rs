//! Integration tests of auth-mock-server: the official AWS SDK for Rust against the server,
//! SRP sign-in with an independent client computation, the test-control API, response-shape
//! snapshots, malformed-input fuzzing and the binary's flags.

mod adoption;
mod binary;
mod browser;
mod control;
mod fuzz;
mod hosted;
mod identity;
mod identity_snapshots;
mod limits;
mod memory;
mod oauth;
mod oauth_client;
mod raw;
mod robustness;
mod s3;
mod sdk;
mod snapshots;
mod srp;
mod support;
mod triggers;
mod user_auth;

/// An `AttributeType` for SDK calls.
pub(crate) fn sdk_attr(
    name: &str,
    value: &str,
) -> aws_sdk_cognitoidentityprovider::types::AttributeType {
    aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .unwrap()
}
