//! The `CredentialsProvider` contract: a login keeps its identity, credentials are for
//! that identity and valid when issued, a login that does not match the identity is
//! refused, and a network failure is reported as one (never as a refusal, which would
//! sign a user out).

use std::time::SystemTime;

use crate::provider::DynCredentialsProvider;
use crate::types::{IdentityId, Logins};

/// A provider under test and what the suite needs to exercise it.
#[derive(Debug)]
#[allow(
    clippy::exhaustive_structs,
    reason = "built with a struct literal by every implementation's tests"
)]
pub struct CredentialsFixture {
    /// The provider under test.
    pub provider: DynCredentialsProvider,
    /// The same provider with its network unreachable.
    pub unreachable: DynCredentialsProvider,
    /// Valid logins of one user.
    pub logins: Logins,
    /// Valid logins of another user.
    pub other_logins: Logins,
    /// The provider's idea of now, to judge the credentials' expiry by.
    pub now: SystemTime,
}

/// Runs every rule against `fixture`.
pub async fn run_all(fixture: &CredentialsFixture) {
    let provider = &fixture.provider;
    let identity =
        provider.identity_id(&fixture.logins, None).await.expect("identity for valid logins");
    let again = provider.identity_id(&fixture.logins, None).await.expect("identity again");
    assert_eq!(identity, again, "the same logins keep their identity");
    let offered =
        provider.identity_id(&fixture.logins, Some(&identity)).await.expect("with current");
    assert_eq!(identity, offered, "offering the user's own identity keeps it");

    let credentials = provider
        .credentials(&identity, &fixture.logins)
        .await
        .expect("credentials for the identity");
    assert!(!credentials.access_key_id.is_empty(), "credentials have an access key id");
    assert!(
        credentials.expiration.is_none_or(|expiry| expiry > fixture.now),
        "credentials are valid when issued"
    );

    let other =
        provider.identity_id(&fixture.other_logins, None).await.expect("another user's identity");
    assert_ne!(other, identity, "two users never share an identity");
    let mismatched = provider.credentials(&other, &fixture.logins).await;
    let refused = mismatched.expect_err("logins that do not match the identity are refused");
    assert!(refused.is_rejected(), "a mismatch is a refusal: {refused:?}");

    let unreachable = fixture.unreachable.identity_id(&fixture.logins, None).await;
    let failure = unreachable.expect_err("an unreachable provider fails");
    assert!(!failure.is_rejected(), "a network failure is not a refusal: {failure:?}");
    assert!(failure.is_transient(), "a network failure may succeed later: {failure:?}");
    let unreachable =
        fixture.unreachable.credentials(&IdentityId::new(identity.as_str()), &fixture.logins).await;
    assert!(unreachable.is_err_and(|e| !e.is_rejected()), "credentials: network is not a refusal");
}
