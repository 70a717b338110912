//! The hosted account pages: sign-up with a confirmation code (`/signup`, `/confirm`) and the
//! forgotten-password flow (`/forgotPassword`, `/confirmforgotPassword`).
//!
//! Each page runs the JSON API operation it stands for (SignUp, ConfirmSignUp,
//! ForgotPassword, ConfirmForgotPassword) through [`Shared::call`], so the same checks,
//! codes and Lambda triggers apply as on the API.

use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::authorize::{AuthRequest, HostedForm, bad_request_page, signed_in};
use super::pages;
use crate::Shared;

/// The fields of the account forms.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AccountForm {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    confirm_password: Option<String>,
    code: Option<String>,
}

impl HostedForm for AccountForm {}

fn sign_up_page(request: &AuthRequest, error: Option<&str>) -> Response {
    pages::step(
        "Sign up",
        "/signup",
        &request.query,
        &[],
        "",
        &[
            ("username", "Username", "text"),
            ("email", "Email", "email"),
            ("password", "Password", "password"),
        ],
        error,
    )
}

fn confirm_page(
    request: &AuthRequest,
    username: &str,
    intro: &str,
    error: Option<&str>,
) -> Response {
    pages::step(
        "Confirm your account",
        "/confirm",
        &request.query,
        &[("username", username)],
        intro,
        &[("code", "Confirmation code", "text")],
        error,
    )
}

fn forgot_page(request: &AuthRequest, error: Option<&str>) -> Response {
    pages::step(
        "Forgot your password?",
        "/forgotPassword",
        &request.query,
        &[],
        "Enter your username and we will send you a code to reset your password.",
        &[("username", "Username", "text")],
        error,
    )
}

fn confirm_forgot_page(request: &AuthRequest, username: &str, error: Option<&str>) -> Response {
    pages::step(
        "Reset your password",
        "/confirmforgotPassword",
        &request.query,
        &[("username", username)],
        "We have sent a code. Enter it with your new password.",
        &[
            ("code", "Code", "text"),
            ("password", "New password", "password"),
            ("confirm_password", "Confirm new password", "password"),
        ],
        error,
    )
}

/// A client call's `ClientId` and, for a client with a secret, its `SecretHash`.
fn client_fields(shared: &Shared, request: &AuthRequest, username: &str) -> serde_json::Value {
    let secret = shared
        .state
        .read()
        .client(&request.client_id)
        .ok()
        .and_then(|(_, client)| client.secret.clone());
    let mut fields = json!({ "ClientId": request.client_id, "Username": username });
    if let Some(secret) = secret {
        fields["SecretHash"] = json!(auth_srp::secret_hash(username, &request.client_id, &secret));
    }
    fields
}

fn merge(mut base: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        base.extend(extra.clone());
    }
    base
}

/// `GET /signup`.
pub(super) fn sign_up_get(_: &Shared, request: &AuthRequest, _: &AccountForm) -> Response {
    if request.self_sign_up {
        sign_up_page(request, None)
    } else {
        bad_request_page("invalid_request", "Users cannot sign themselves up in this pool.")
    }
}

/// `POST /signup`: SignUp, then the confirmation page (or straight in if auto-confirmed).
pub(super) fn sign_up_post(shared: &Shared, request: &AuthRequest, form: &AccountForm) -> Response {
    let username = form.username.as_deref().unwrap_or_default().trim();
    let password = form.password.as_deref().unwrap_or_default();
    let mut attributes = Vec::new();
    if let Some(email) = form.email.as_deref().filter(|e| !e.is_empty()) {
        attributes.push(json!({ "Name": "email", "Value": email }));
    }
    let call = merge(
        client_fields(shared, request, username),
        json!({ "Password": password, "UserAttributes": attributes }),
    );
    match shared.call("SignUp", call) {
        Err(error) => sign_up_page(request, Some(error.message())),
        Ok(answer) if answer["UserConfirmed"] == json!(true) => {
            signed_in(shared, request, username, shared.clock.now_secs())
        }
        Ok(_) => confirm_page(
            request,
            username,
            "We have sent a code. Enter it to confirm your account.",
            None,
        ),
    }
}

/// `POST /confirm`: ConfirmSignUp, then signed in.
pub(super) fn confirm_post(shared: &Shared, request: &AuthRequest, form: &AccountForm) -> Response {
    let username = form.username.as_deref().unwrap_or_default();
    let code = form.code.as_deref().unwrap_or_default().trim();
    let call = merge(client_fields(shared, request, username), json!({ "ConfirmationCode": code }));
    match shared.call("ConfirmSignUp", call) {
        Err(error) => confirm_page(request, username, "", Some(error.message())),
        Ok(_) => {
            // The internal username may differ from what was typed (email sign-in pools).
            let internal = shared
                .state
                .read()
                .pools
                .get(&request.pool_id)
                .and_then(|pool| pool.user(username))
                .map(|user| user.username.clone());
            match internal {
                Some(internal) => signed_in(shared, request, &internal, shared.clock.now_secs()),
                None => bad_request_page("invalid_request", "The user is gone."),
            }
        }
    }
}

/// `GET /forgotPassword`.
pub(super) fn forgot_get(_: &Shared, request: &AuthRequest, _: &AccountForm) -> Response {
    forgot_page(request, None)
}

/// `POST /forgotPassword`: ForgotPassword, then the code-and-new-password page.
pub(super) fn forgot_post(shared: &Shared, request: &AuthRequest, form: &AccountForm) -> Response {
    let username = form.username.as_deref().unwrap_or_default().trim();
    match shared.call("ForgotPassword", client_fields(shared, request, username)) {
        Err(error) => forgot_page(request, Some(error.message())),
        Ok(_) => confirm_forgot_page(request, username, None),
    }
}

/// `POST /confirmforgotPassword`: ConfirmForgotPassword, then back to the sign-in form.
pub(super) fn confirm_forgot_post(
    shared: &Shared,
    request: &AuthRequest,
    form: &AccountForm,
) -> Response {
    let username = form.username.as_deref().unwrap_or_default();
    let password = form.password.as_deref().unwrap_or_default();
    if form.confirm_password.as_deref() != Some(password) {
        return confirm_forgot_page(request, username, Some("The passwords do not match."));
    }
    let call = merge(
        client_fields(shared, request, username),
        json!({ "ConfirmationCode": form.code.as_deref().unwrap_or_default().trim(), "Password": password }),
    );
    match shared.call("ConfirmForgotPassword", call) {
        Err(error) => confirm_forgot_page(request, username, Some(error.message())),
        Ok(_) => pages::login(
            &request.query,
            username,
            None,
            Some("Your password has been reset. Sign in with the new password."),
            request.self_sign_up,
            &request.federated_providers,
        ),
    }
}
