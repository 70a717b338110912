//! Integration tests of auth-mock-server: the official AWS SDK for Rust against the server,
//! SRP sign-in with an independent client computation, the test-control API, response-shape
//! snapshots, malformed-input fuzzing and the binary's flags.

mod adoption;
mod binary;
#[cfg(feature = "browser")]
mod browser;

/// Without the `browser` feature the hosted-UI browser test is not built: say so loudly, and
/// fail where every test must run (CI runs with `--all-features`).
#[cfg(not(feature = "browser"))]
#[test]
#[allow(clippy::print_stderr, reason = "a skipped test says so loudly")]
fn the_browser_test_needs_the_browser_feature() {
    assert!(
        std::env::var("AUTH_REQUIRE_ALL_TESTS").as_deref() != Ok("1"),
        "the hosted-UI browser test needs `--features browser` (or --all-features)"
    );
    eprintln!("\n!!! SKIPPED the hosted-UI browser test: build with --features browser\n");
}
mod control;
mod federated;
#[cfg(feature = "browser")]
mod federated_browser;
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
