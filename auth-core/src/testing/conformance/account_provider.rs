//! The `AccountProvider` contract for the signed-in user's attributes: they carry `sub`,
//! updates and deletions are seen by the next read, an invalid access token is a refusal,
//! and a network failure is reported as one (never as a refusal).

use std::collections::BTreeMap;

use crate::provider::DynAccountProvider;
use crate::secret::AccessToken;

/// A provider under test and what the suite needs to exercise it.
#[derive(Debug)]
#[allow(
    clippy::exhaustive_structs,
    reason = "built with a struct literal by every implementation's tests"
)]
pub struct AccountFixture {
    /// The provider under test.
    pub provider: DynAccountProvider,
    /// The same provider with its network unreachable.
    pub unreachable: DynAccountProvider,
    /// A valid access token of a signed-in user whose `name` attribute may be changed.
    pub access_token: AccessToken,
}

/// Runs every rule against `fixture`.
pub async fn run_all(fixture: &AccountFixture) {
    let provider = &fixture.provider;
    let token = &fixture.access_token;
    let attributes = provider.user_attributes(token).await.expect("the user's attributes");
    assert!(attributes.get("sub").is_some_and(|sub| !sub.is_empty()), "attributes carry `sub`");

    let change = BTreeMap::from([("name".to_owned(), "Conformance Check".to_owned())]);
    provider.update_user_attributes(token, &change).await.expect("an attribute update");
    let attributes = provider.user_attributes(token).await.expect("attributes after the update");
    assert_eq!(attributes.get("name").map(String::as_str), Some("Conformance Check"));
    provider.delete_user_attributes(token, &["name".to_owned()]).await.expect("a deletion");
    let attributes = provider.user_attributes(token).await.expect("attributes after deleting");
    assert!(!attributes.contains_key("name"), "a deleted attribute is gone");

    let forged = AccessToken::new("not-an-access-token");
    let refused = provider.user_attributes(&forged).await.expect_err("an invalid token fails");
    assert!(refused.is_rejected(), "an invalid access token is a refusal: {refused:?}");

    let failure = fixture.unreachable.user_attributes(token).await.expect_err("unreachable fails");
    assert!(!failure.is_rejected(), "a network failure is not a refusal: {failure:?}");
    assert!(failure.is_transient(), "a network failure may succeed later: {failure:?}");
}
