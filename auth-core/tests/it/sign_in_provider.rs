//! The sign-in provider of user-pool sessions in the details listeners and callers see.

use auth_core::{SignInProvider, SignInRequest, SignOutOptions, UserState};

use crate::support::{Harness, PASSWORD, USER, drain};

#[tokio::test]
async fn a_user_pool_sign_in_names_cognito_also_after_a_restart() {
    let h = Harness::new();
    let client = h.client().await;
    assert_eq!(client.current_user_state().sign_in_provider, None, "signed out");
    let mut changes = client.state_changes();
    client.sign_in(SignInRequest::password(USER, PASSWORD)).await.unwrap();
    let heard = drain(&mut changes);
    let signed_in = heard.iter().find(|d| d.state == UserState::SignedIn).expect("SignedIn heard");
    assert_eq!(signed_in.sign_in_provider, Some(SignInProvider::Cognito));
    assert_eq!(client.current_user_state().sign_in_provider, Some(SignInProvider::Cognito));

    let restarted = h.client().await;
    assert_eq!(restarted.current_user_state().sign_in_provider, Some(SignInProvider::Cognito));

    client.sign_out(SignOutOptions::local()).await.unwrap();
    assert_eq!(client.current_user_state().sign_in_provider, None);
}
