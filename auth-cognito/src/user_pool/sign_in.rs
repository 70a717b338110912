//! Sign-in: the flows (USER_SRP_AUTH, USER_PASSWORD_AUTH, CUSTOM_AUTH with or without SRP,
//! choice-based USER_AUTH), the challenges the client answers itself (the SRP proofs of the
//! password and of a remembered device), the ones it hands to the app as typed next steps,
//! refresh, remembered devices and the remote part of sign-out.
//!
//! Choice-based sign-in (`USER_AUTH`): InitiateAuth carries `PREFERRED_CHALLENGE` when the
//! request prefers a first factor, with `SRP_A` for `PASSWORD_SRP` and `PASSWORD` for
//! `PASSWORD`. `SELECT_CHALLENGE` becomes [`ChallengeKind::SelectFirstFactor`] listing the
//! offered factors this client can complete; the app answers with
//! [`ChallengeResponse::first_factor`], and for a password factor also gives the password
//! *in that response* (`ChallengeResponse::with_password`): the password of the sign-in
//! request is deliberately not kept in the [`ChallengeContext`], which outlives the call
//! and travels through the app. Passkeys (`WEB_AUTHN`) are not supported: a
//! `SELECT_CHALLENGE` that offers nothing else, a `WEB_AUTHN` challenge, or choosing it,
//! ends in [`CognitoError::Unsupported`].
//!
//! What carries a sign-in from one step to the next is auth-core's [`ChallengeContext`]:
//! `username` is Cognito's `USER_ID_FOR_SRP`, `session` is Cognito's `Session`, and `data`
//! holds the keys below.

use std::borrow::Cow;
use std::collections::BTreeMap;

use auth_core::{
    AccessToken, ChallengeContext, ChallengeKind, ChallengeResponse, ChallengeSession, FirstFactor,
    IdToken, Password, SecretString, SignInFlow, SignInNextStep, SignInOutcome, SignInRequest,
    SignOutOptions, UserPoolSession, UserPoolTokens,
};
use auth_srp::{ClientEphemeral, DeviceVerifierConfig};

use super::CognitoUserPool;
use super::challenge::{self, AVAILABLE_CHALLENGES, challenge_names::*, otpauth_uri};
use super::devices::{DeviceTracking, RememberedDevice};
use super::srp::{device_verifier_answer, new_ephemeral, password_verifier_answer};
use super::wire::{
    AccessTokenInput, AssociateSoftwareTokenInput, AssociateSoftwareTokenOutput, AuthOutput,
    AuthenticationResult, ConfirmDeviceInput, ConfirmDeviceOutput, DeviceSecretVerifierConfig,
    Empty, GetTokensFromRefreshTokenInput, InitiateAuthInput, Metadata, NewDeviceMetadata, Params,
    RespondToAuthChallengeInput, RevokeTokenInput, UpdateDeviceStatusInput,
    VerifySoftwareTokenInput, VerifySoftwareTokenOutput,
};
use crate::error::{CognitoError, ServiceFailure};
use crate::http::Idempotency;

/// `ChallengeContext::data` key: the challenge being answered.
const DATA_CHALLENGE: &str = "challenge";
/// `ChallengeContext::data` key: the name the user signed in with (an alias, maybe).
const DATA_SIGN_IN_NAME: &str = "sign_in_name";
/// `ChallengeContext::data` key: the remembered device this sign-in presented.
const DATA_DEVICE_KEY: &str = "device_key";
/// `ChallengeContext::data` key: the sign-in's `ClientMetadata`, as JSON.
const DATA_METADATA: &str = "client_metadata";
/// `ChallengeContext::data` key: set when `MFA_SETUP` is answered with a TOTP code.
const DATA_TOTP_SETUP: &str = "totp_setup";

/// A bound on the steps the client answers by itself in a row: a server that keeps asking
/// for SRP proofs must not make the client loop.
const MAX_AUTOMATIC_STEPS: usize = 6;

/// How InitiateAuth starts a sign-in.
#[derive(Clone, Copy)]
struct Start {
    auth_flow: &'static str,
    /// Sends `SRP_A`: the password is proved with SRP (`PASSWORD_VERIFIER` follows).
    srp: bool,
    /// Sends `PASSWORD`.
    send_password: bool,
    /// USER_AUTH's `PREFERRED_CHALLENGE`.
    preferred: Option<FirstFactor>,
}

impl Start {
    fn new(auth_flow: &'static str, srp: bool, send_password: bool) -> Self {
        Self { auth_flow, srp, send_password, preferred: None }
    }
}

/// One sign-in in progress, as far as this process knows it.
struct Flow<'a> {
    /// What the user typed as username.
    sign_in_name: String,
    /// The internal username (`USER_ID_FOR_SRP`), once known.
    username: String,
    password: Option<&'a Password>,
    /// The ephemeral key of USER_SRP_AUTH / CUSTOM_AUTH with SRP.
    srp: Option<ClientEphemeral>,
    /// The ephemeral key of DEVICE_SRP_AUTH.
    device_srp: Option<ClientEphemeral>,
    device: Option<RememberedDevice>,
    /// Set when Cognito refused the remembered device's proof.
    device_refused: bool,
    metadata: Cow<'a, Metadata>,
}

impl CognitoUserPool {
    /// InitiateAuth with the request's flow, then every step the client can answer itself.
    pub(super) async fn start_sign_in(
        &self,
        request: &SignInRequest,
    ) -> Result<SignInOutcome, CognitoError> {
        if request.username.is_empty() {
            return Err(CognitoError::invalid("the username is empty"));
        }
        let start = match request.flow {
            SignInFlow::ProviderDefault | SignInFlow::SecureRemotePassword => {
                Start::new("USER_SRP_AUTH", true, false)
            }
            SignInFlow::Password => Start::new("USER_PASSWORD_AUTH", false, true),
            SignInFlow::Custom => Start::new("CUSTOM_AUTH", false, false),
            SignInFlow::CustomWithSrp => Start::new("CUSTOM_AUTH", true, false),
            SignInFlow::ChoiceBased(preferred) => Start {
                auth_flow: "USER_AUTH",
                srp: preferred == Some(FirstFactor::PasswordSrp),
                send_password: preferred == Some(FirstFactor::Password),
                preferred,
            },
            other => {
                return Err(CognitoError::invalid(format!(
                    "sign-in flow {other:?} is not supported"
                )));
            }
        };
        let needs_password = start.srp || start.send_password;
        if needs_password && request.password.as_ref().is_none_or(|p| p.secret().is_empty()) {
            return Err(CognitoError::invalid(match start.preferred {
                Some(factor) => format!("USER_AUTH preferring {factor} needs a password"),
                None => format!("{} needs a password", start.auth_flow),
            }));
        }
        let mut flow = Flow {
            sign_in_name: request.username.clone(),
            username: request.username.clone(),
            password: request.password.as_ref(),
            srp: None,
            device_srp: None,
            device: self.remembered_device(&request.username).await,
            device_refused: false,
            metadata: Cow::Borrowed(&request.metadata),
        };
        let output = match self.initiate(&mut flow, start).await {
            // Cognito no longer knows the remembered device (forgotten on another device,
            // or by an administrator): forget it here too and sign in without it, as
            // amazon-cognito-identity-js does.
            // The device is forgotten only once a sign-in without it gets further: the same
            // exception also names a missing app client, and a device secret, once deleted,
            // is gone for good.
            Err(CognitoError::Service(failure))
                if flow.device.is_some() && failure.name() == "ResourceNotFoundException" =>
            {
                tracing::info!(error = %failure, "the remembered device may be unknown to Cognito; trying without it");
                let device = flow.device.take();
                match self.initiate(&mut flow, start).await {
                    Ok(output) => {
                        self.forget_remembered_device(&mut flow).await;
                        output
                    }
                    Err(error) => {
                        flow.device = device;
                        return Err(error);
                    }
                }
            }
            other => other?,
        };
        match self.drive(output, &mut flow).await {
            Err(error) if flow.device_refused && flow.password.is_some() => {
                tracing::info!(%error, "the remembered device was refused; signing in without it");
                self.forget_remembered_device(&mut flow).await;
                flow.username = flow.sign_in_name.clone();
                let output = self.initiate(&mut flow, start).await?;
                self.drive(output, &mut flow).await
            }
            other => other,
        }
    }

    async fn initiate(
        &self,
        flow: &mut Flow<'_>,
        start: Start,
    ) -> Result<AuthOutput, CognitoError> {
        let auth_flow = start.auth_flow;
        let mut params = Params::new();
        params.insert(Cow::Borrowed("USERNAME"), Cow::Borrowed(flow.sign_in_name.as_str()));
        if let Some(hash) = self.secret_hash(&flow.sign_in_name) {
            params.insert(Cow::Borrowed("SECRET_HASH"), Cow::Owned(hash));
        }
        if let Some(device) = &flow.device {
            params.insert(Cow::Borrowed("DEVICE_KEY"), Cow::Borrowed(device.device_key.as_str()));
        }
        if let Some(factor) = start.preferred {
            params.insert(Cow::Borrowed("PREFERRED_CHALLENGE"), Cow::Borrowed(factor.as_str()));
        }
        if start.srp {
            let ephemeral = new_ephemeral();
            params.insert(Cow::Borrowed("SRP_A"), Cow::Owned(ephemeral.public_hex()));
            if auth_flow == "CUSTOM_AUTH" {
                params.insert(Cow::Borrowed("CHALLENGE_NAME"), Cow::Borrowed("SRP_A"));
            }
            flow.srp = Some(ephemeral);
        } else if start.send_password {
            if let Some(password) = flow.password {
                params.insert(Cow::Borrowed("PASSWORD"), Cow::Borrowed(password.secret()));
            }
        }
        // Starting an SRP exchange has no effect but a new server-side session, so it may
        // be repeated; a password, a one-time code or a custom flow may send codes or
        // count failed attempts.
        let idempotency = if start.srp && matches!(auth_flow, "USER_SRP_AUTH" | "USER_AUTH") {
            Idempotency::Idempotent
        } else {
            Idempotency::SideEffects
        };
        let input = InitiateAuthInput {
            auth_flow,
            client_id: &self.inner.client_id,
            auth_parameters: params,
            client_metadata: &flow.metadata,
        };
        self.inner.api.call("InitiateAuth", &input, idempotency).await
    }

    /// Answers the challenge of a sign-in in progress with the user's response.
    pub(super) async fn continue_sign_in(
        &self,
        context: &ChallengeContext,
        response: &ChallengeResponse,
    ) -> Result<SignInOutcome, CognitoError> {
        let data = |key: &str| context.data.get(key).map(SecretString::secret);
        let name = data(DATA_CHALLENGE).ok_or_else(|| {
            CognitoError::invalid("the challenge context was not made by this provider")
        })?;
        let sign_in_name = data(DATA_SIGN_IN_NAME).unwrap_or(&context.username).to_owned();
        let metadata: Metadata = match data(DATA_METADATA) {
            Some(json) => serde_json::from_str(json).map_err(|_| {
                CognitoError::invalid("the challenge context's metadata is damaged")
            })?,
            None => Metadata::new(),
        };
        let device = match data(DATA_DEVICE_KEY) {
            Some(key) => {
                self.remembered_device(&sign_in_name).await.filter(|d| d.device_key == key)
            }
            None => None,
        };
        let mut flow = Flow {
            sign_in_name,
            username: context.username.clone(),
            password: None,
            srp: None,
            device_srp: None,
            device,
            device_refused: false,
            metadata: Cow::Owned(metadata),
        };
        let session = context.session.as_ref();
        let output = if name == MFA_SETUP && data(DATA_TOTP_SETUP).is_some() {
            self.finish_totp_setup(&flow, session, response).await?
        } else if name == SELECT_CHALLENGE {
            let mut responses = first_factor_answer(response, &mut flow)?;
            self.add_identity(&mut responses, &flow);
            self.respond(name, session, responses, &flow.metadata).await?
        } else {
            let mut responses = if name == MFA_SETUP {
                // Email MFA set-up: the answer is the address to send codes to.
                Params::from([(Cow::Borrowed("EMAIL"), Cow::Borrowed(response.answer.secret()))])
            } else {
                challenge::answer(name, response)
            };
            self.add_identity(&mut responses, &flow);
            self.respond(name, session, responses, &flow.metadata).await?
        };
        self.drive(output, &mut flow).await
    }

    /// `USERNAME`, `SECRET_HASH` and `DEVICE_KEY`, which every challenge answer carries.
    fn add_identity(&self, responses: &mut Params<'_>, flow: &Flow<'_>) {
        let username = responses
            .get("USERNAME")
            .map_or_else(|| flow.username.clone(), |name| name.clone().into_owned());
        if let Some(hash) = self.secret_hash(&username) {
            responses.insert(Cow::Borrowed("SECRET_HASH"), Cow::Owned(hash));
        }
        responses.entry(Cow::Borrowed("USERNAME")).or_insert(Cow::Owned(username));
        if let Some(device) = &flow.device {
            responses
                .entry(Cow::Borrowed("DEVICE_KEY"))
                .or_insert_with(|| Cow::Owned(device.device_key.clone()));
        }
    }

    async fn respond(
        &self,
        name: &str,
        session: Option<&ChallengeSession>,
        responses: Params<'_>,
        metadata: &Metadata,
    ) -> Result<AuthOutput, CognitoError> {
        let input = RespondToAuthChallengeInput {
            client_id: &self.inner.client_id,
            challenge_name: name,
            session: session.map(ChallengeSession::secret),
            challenge_responses: responses,
            client_metadata: metadata,
        };
        // Every answer is single-use (a code, a proof bound to one server challenge).
        self.inner.api.call("RespondToAuthChallenge", &input, Idempotency::SideEffects).await
    }

    /// Follows Cognito's answers: tokens end the sign-in, SRP proofs are answered here, any
    /// other challenge goes to the app.
    async fn drive(
        &self,
        mut output: AuthOutput,
        flow: &mut Flow<'_>,
    ) -> Result<SignInOutcome, CognitoError> {
        for _ in 0..MAX_AUTOMATIC_STEPS {
            if let Some(result) = output.authentication_result.take() {
                return Ok(SignInOutcome::SignedIn(self.finish(result, flow).await?));
            }
            let name = output.challenge_name.take().ok_or_else(|| {
                CognitoError::protocol("the answer has neither tokens nor a challenge")
            })?;
            let params = output.challenge_parameters.take().unwrap_or_default();
            if let Some(user_id) = params.get("USER_ID_FOR_SRP").filter(|id| !id.is_empty()) {
                flow.username.clone_from(user_id);
            }
            let session = output.session.take();
            output = match name.as_str() {
                PASSWORD_VERIFIER => {
                    let (Some(ephemeral), Some(password)) = (&flow.srp, flow.password) else {
                        return Err(CognitoError::protocol(
                            "PASSWORD_VERIFIER in a sign-in that did not start with SRP",
                        ));
                    };
                    let timestamp = auth_srp::format_timestamp(self.inner.clock.now());
                    let mut responses = password_verifier_answer(
                        ephemeral,
                        self.pool_name(),
                        &params,
                        password.secret(),
                        &timestamp,
                    )?;
                    self.add_identity(&mut responses, flow);
                    self.respond(&name, session.as_ref(), responses, &flow.metadata).await?
                }
                DEVICE_SRP_AUTH => {
                    let Some(device) = &flow.device else {
                        return Err(CognitoError::protocol(
                            "DEVICE_SRP_AUTH without a remembered device",
                        ));
                    };
                    let ephemeral = new_ephemeral();
                    let mut responses = Params::from([
                        (Cow::Borrowed("SRP_A"), Cow::Owned(ephemeral.public_hex())),
                        (Cow::Borrowed("DEVICE_KEY"), Cow::Owned(device.device_key.clone())),
                    ]);
                    self.add_identity(&mut responses, flow);
                    let answer = self.respond(&name, session.as_ref(), responses, &flow.metadata);
                    let answer = answer.await.inspect_err(|e| flow.device_refused = refused(e))?;
                    flow.device_srp = Some(ephemeral);
                    answer
                }
                DEVICE_PASSWORD_VERIFIER => {
                    let (Some(device), Some(ephemeral)) = (&flow.device, &flow.device_srp) else {
                        return Err(CognitoError::protocol(
                            "DEVICE_PASSWORD_VERIFIER without DEVICE_SRP_AUTH",
                        ));
                    };
                    let timestamp = auth_srp::format_timestamp(self.inner.clock.now());
                    let mut responses = device_verifier_answer(
                        ephemeral,
                        &flow.username,
                        &device.device_group_key,
                        &device.device_key,
                        device.device_secret.secret(),
                        &params,
                        &timestamp,
                    )?;
                    self.add_identity(&mut responses, flow);
                    let answer = self.respond(&name, session.as_ref(), responses, &flow.metadata);
                    answer.await.inspect_err(|e| flow.device_refused = refused(e))?
                }
                SELECT_CHALLENGE => {
                    let offered = output.available_challenges.take().unwrap_or_default();
                    let step = self.first_factor_step(name, params, &offered, session, flow)?;
                    return Ok(SignInOutcome::NextStep(step));
                }
                WEB_AUTHN => {
                    return Err(CognitoError::unsupported(
                        "Cognito asks for a passkey (WEB_AUTHN), which this client cannot provide",
                    ));
                }
                MFA_SETUP => {
                    let can_setup = challenge::string_list(&params, MFA_SETUP, "MFAS_CAN_SETUP")?;
                    // An empty list is treated as TOTP, the only method older pools offer.
                    if can_setup.is_empty() || can_setup.iter().any(|m| m == SOFTWARE_TOKEN_MFA) {
                        return self.start_totp_setup(name, params, session, flow).await;
                    }
                    return Ok(SignInOutcome::NextStep(
                        self.next_step(name, params, session, flow)?,
                    ));
                }
                _ => {
                    return Ok(SignInOutcome::NextStep(
                        self.next_step(name, params, session, flow)?,
                    ));
                }
            };
        }
        Err(CognitoError::protocol("too many challenges in a row"))
    }

    fn context(
        &self,
        name: &str,
        session: Option<ChallengeSession>,
        flow: &Flow<'_>,
    ) -> ChallengeContext {
        let mut context = ChallengeContext::new(flow.username.clone(), session);
        let data = &mut context.data;
        data.insert(DATA_CHALLENGE.to_owned(), SecretString::new(name));
        data.insert(DATA_SIGN_IN_NAME.to_owned(), SecretString::new(flow.sign_in_name.as_str()));
        if let Some(device) = &flow.device {
            data.insert(DATA_DEVICE_KEY.to_owned(), SecretString::new(device.device_key.as_str()));
        }
        if !flow.metadata.is_empty() {
            // Serialising a map of strings cannot fail.
            let json = serde_json::to_string(flow.metadata.as_ref()).unwrap_or_default();
            data.insert(DATA_METADATA.to_owned(), SecretString::new(json));
        }
        context
    }

    fn next_step(
        &self,
        name: String,
        params: BTreeMap<String, String>,
        session: Option<ChallengeSession>,
        flow: &Flow<'_>,
    ) -> Result<SignInNextStep, CognitoError> {
        let kind = challenge::kind(&name, &params)?;
        let context = self.context(&name, session, flow);
        Ok(SignInNextStep::new(kind, name, params, context))
    }

    /// `SELECT_CHALLENGE`: the first factors Cognito offers (top-level
    /// `AvailableChallenges`) that this client can complete. The full list, as Cognito sent
    /// it, is also put in the step's parameters under `AvailableChallenges` (a JSON array
    /// string, like the other list parameters).
    fn first_factor_step(
        &self,
        name: String,
        mut params: BTreeMap<String, String>,
        offered: &[String],
        session: Option<ChallengeSession>,
        flow: &Flow<'_>,
    ) -> Result<SignInNextStep, CognitoError> {
        if offered.is_empty() {
            return Err(CognitoError::protocol("SELECT_CHALLENGE without AvailableChallenges"));
        }
        let options: Vec<FirstFactor> =
            offered.iter().filter_map(|name| FirstFactor::from_name(name)).collect();
        if options.is_empty() {
            return Err(CognitoError::unsupported(format!(
                "none of the first factors Cognito offers ({}) can be completed by this client",
                offered.join(", ")
            )));
        }
        // Serialising a list of strings cannot fail.
        params.insert(
            AVAILABLE_CHALLENGES.to_owned(),
            serde_json::to_string(offered).unwrap_or_default(),
        );
        let context = self.context(&name, session, flow);
        Ok(SignInNextStep::new(ChallengeKind::SelectFirstFactor { options }, name, params, context))
    }

    /// `MFA_SETUP` with an authenticator app: AssociateSoftwareToken with the sign-in's
    /// session gives the secret to show; the user answers with the app's first code.
    async fn start_totp_setup(
        &self,
        name: String,
        params: BTreeMap<String, String>,
        session: Option<ChallengeSession>,
        flow: &Flow<'_>,
    ) -> Result<SignInOutcome, CognitoError> {
        let session = session.ok_or_else(|| CognitoError::protocol("MFA_SETUP without Session"))?;
        let input =
            AssociateSoftwareTokenInput { access_token: None, session: Some(session.secret()) };
        // Each call makes a new secret; the one shown must be the one verified, so no retry
        // after the request may have arrived.
        let output: AssociateSoftwareTokenOutput =
            self.inner.api.call("AssociateSoftwareToken", &input, Idempotency::SideEffects).await?;
        let secret = output
            .secret_code
            .ok_or_else(|| CognitoError::protocol("AssociateSoftwareToken without SecretCode"))?;
        let uri = otpauth_uri(&self.inner.totp_issuer, &flow.sign_in_name, secret.secret());
        let mut context = self.context(&name, Some(output.session.unwrap_or(session)), flow);
        context.data.insert(DATA_TOTP_SETUP.to_owned(), SecretString::new(SOFTWARE_TOKEN_MFA));
        let kind = auth_core::ChallengeKind::MfaSetup { secret, otpauth_uri: uri };
        Ok(SignInOutcome::NextStep(SignInNextStep::new(kind, name, params, context)))
    }

    /// VerifySoftwareToken with the user's code, then answers `MFA_SETUP` with the session it
    /// returns. The response's `friendly_device_name` attribute names the authenticator.
    async fn finish_totp_setup(
        &self,
        flow: &Flow<'_>,
        session: Option<&ChallengeSession>,
        response: &ChallengeResponse,
    ) -> Result<AuthOutput, CognitoError> {
        let session = session.ok_or_else(|| CognitoError::invalid("MFA_SETUP without Session"))?;
        let input = VerifySoftwareTokenInput {
            access_token: None,
            session: Some(session.secret()),
            user_code: response.answer.secret(),
            friendly_device_name: response
                .attributes
                .get("friendly_device_name")
                .map(String::as_str),
        };
        let verified: VerifySoftwareTokenOutput =
            self.inner.api.call("VerifySoftwareToken", &input, Idempotency::SideEffects).await?;
        check_verified(verified.status.as_deref())?;
        let session = verified.session.unwrap_or_else(|| session.clone());
        let mut responses = Params::new();
        self.add_identity(&mut responses, flow);
        self.respond(MFA_SETUP, Some(&session), responses, &flow.metadata).await
    }

    /// Tokens: the session, after confirming a new device.
    async fn finish(
        &self,
        result: AuthenticationResult,
        flow: &Flow<'_>,
    ) -> Result<UserPoolSession, CognitoError> {
        let tokens = tokens_from(result.id_token, result.access_token, result.refresh_token)?;
        let claims =
            tokens.id_claims().map_err(|e| CognitoError::protocol(format!("IdToken: {e}")))?;
        let username =
            claims.string("cognito:username").map_or_else(|| flow.username.clone(), str::to_owned);
        let mut session = UserPoolSession::new(username, tokens);
        let mut device_key = access_claim(session.tokens.access_token(), "device_key");
        if let Some(metadata) = result.new_device_metadata {
            if self.inner.device_tracking != DeviceTracking::Off {
                match self.confirm_new_device(session.tokens.access_token(), &metadata).await {
                    Ok(device) => {
                        for name in [&flow.sign_in_name, &session.username] {
                            if let Err(error) = self.inner.devices.put(name, &device).await {
                                tracing::warn!(%error, "could not remember the device");
                            }
                        }
                        device_key = Some(device.device_key);
                    }
                    // The user is signed in; only device sign-in is lost. Not worth failing.
                    Err(error) => {
                        tracing::warn!(%error, "ConfirmDevice failed; the device is not remembered")
                    }
                }
            }
        }
        if let Some(key) = device_key.or_else(|| flow.device.as_ref().map(|d| d.device_key.clone()))
        {
            session.set_device_key(SecretString::new(key));
        }
        Ok(session)
    }

    async fn confirm_new_device(
        &self,
        access_token: &AccessToken,
        metadata: &NewDeviceMetadata,
    ) -> Result<RememberedDevice, CognitoError> {
        let config =
            DeviceVerifierConfig::generate(&metadata.device_group_key, &metadata.device_key);
        let input = ConfirmDeviceInput {
            access_token: access_token.secret(),
            device_key: &metadata.device_key,
            device_secret_verifier_config: DeviceSecretVerifierConfig {
                password_verifier: &config.password_verifier,
                salt: &config.salt,
            },
            device_name: self.inner.device_name.as_deref(),
        };
        let output: ConfirmDeviceOutput =
            self.inner.api.call("ConfirmDevice", &input, Idempotency::SideEffects).await?;
        if output.user_confirmation_necessary == Some(true)
            && self.inner.device_tracking == DeviceTracking::ConfirmAndRemember
        {
            self.update_device_status(access_token, &metadata.device_key, true).await?;
        }
        Ok(RememberedDevice::new(
            metadata.device_key.clone(),
            metadata.device_group_key.clone(),
            SecretString::new(config.device_secret()),
        ))
    }

    /// UpdateDeviceStatus: marks a device remembered or not.
    pub(super) async fn update_device_status(
        &self,
        access_token: &AccessToken,
        device_key: &str,
        remembered: bool,
    ) -> Result<(), CognitoError> {
        let input = UpdateDeviceStatusInput {
            access_token: access_token.secret(),
            device_key,
            device_remembered_status: if remembered { "remembered" } else { "not_remembered" },
        };
        let _: Empty =
            self.inner.api.call("UpdateDeviceStatus", &input, Idempotency::Idempotent).await?;
        Ok(())
    }

    pub(super) async fn remembered_device(&self, username: &str) -> Option<RememberedDevice> {
        if self.inner.device_tracking == DeviceTracking::Off {
            return None;
        }
        match self.inner.devices.get(username).await {
            Ok(device) => device,
            Err(error) => {
                tracing::warn!(%error, "could not read the remembered device; signing in without it");
                None
            }
        }
    }

    /// Forgets the flow's device, here and in the device store.
    async fn forget_remembered_device(&self, flow: &mut Flow<'_>) {
        flow.device = None;
        flow.device_srp = None;
        let names = if flow.username == flow.sign_in_name {
            vec![&flow.sign_in_name]
        } else {
            vec![&flow.sign_in_name, &flow.username]
        };
        for name in names {
            if let Err(error) = self.inner.devices.remove(name).await {
                tracing::warn!(%error, "could not forget the remembered device");
            }
        }
    }

    /// REFRESH_TOKEN_AUTH, or GetTokensFromRefreshToken with rotation (with `DEVICE_KEY`
    /// for a tracked device).
    pub(super) async fn refresh_tokens(
        &self,
        session: &UserPoolSession,
    ) -> Result<UserPoolTokens, CognitoError> {
        let refresh_token = session
            .tokens
            .refresh_token()
            .ok_or_else(|| CognitoError::invalid("the session has no refresh token"))?;
        if self.inner.refresh_token_rotation {
            let input = GetTokensFromRefreshTokenInput {
                refresh_token: refresh_token.secret(),
                client_id: &self.inner.client_id,
                client_secret: self.inner.client_secret.as_ref().map(SecretString::secret),
                device_key: session.device_key().map(SecretString::secret),
            };
            // The old refresh token dies after the grace period: never repeated once it
            // may have arrived.
            let output: AuthOutput = self
                .inner
                .api
                .call("GetTokensFromRefreshToken", &input, Idempotency::SideEffects)
                .await?;
            let result = output.authentication_result.ok_or_else(|| {
                CognitoError::protocol("GetTokensFromRefreshToken answered without tokens")
            })?;
            return tokens_from(result.id_token, result.access_token, result.refresh_token);
        }
        let mut params =
            Params::from([(Cow::Borrowed("REFRESH_TOKEN"), Cow::Borrowed(refresh_token.secret()))]);
        // SECRET_HASH of a refresh uses the internal username (`cognito:username`).
        if let Some(hash) = self.secret_hash(&session.username) {
            params.insert(Cow::Borrowed("SECRET_HASH"), Cow::Owned(hash));
        }
        if let Some(device_key) = session.device_key() {
            params.insert(Cow::Borrowed("DEVICE_KEY"), Cow::Borrowed(device_key.secret()));
        }
        let no_metadata = Metadata::new();
        let input = InitiateAuthInput {
            auth_flow: "REFRESH_TOKEN_AUTH",
            client_id: &self.inner.client_id,
            auth_parameters: params,
            client_metadata: &no_metadata,
        };
        let output: AuthOutput =
            self.inner.api.call("InitiateAuth", &input, Idempotency::Idempotent).await?;
        let result = output.authentication_result.ok_or_else(|| match output.challenge_name {
            Some(name) => {
                CognitoError::protocol(format!("a refresh answered with challenge {name}"))
            }
            None => CognitoError::protocol("a refresh answered without tokens"),
        })?;
        tokens_from(result.id_token, result.access_token, result.refresh_token)
    }

    /// GlobalSignOut and/or RevokeToken, as `options` ask.
    ///
    /// A global sign-out revokes every token of the user, this session's included, so
    /// RevokeToken is then not needed. GlobalSignOut needs a live access token: if the
    /// session's has expired (or was revoked) and a refresh succeeds, it is tried once
    /// more with the fresh one.
    pub(super) async fn remote_sign_out(
        &self,
        session: &UserPoolSession,
        options: &SignOutOptions,
    ) -> Result<(), CognitoError> {
        if options.global {
            let result = self.global_sign_out(session.tokens.access_token()).await;
            return match result {
                Err(CognitoError::Service(failure))
                    if failure.name() == "NotAuthorizedException"
                        && session.tokens.refresh_token().is_some() =>
                {
                    // A refresh that could not reach Cognito says so (the caller must not take
                    // "offline" for "refused"); a refused one leaves the original refusal.
                    let fresh = self.refresh_tokens(session).await.map_err(|error| {
                        tracing::info!(%error, "could not refresh for a global sign-out");
                        if error.is_transient() { error } else { CognitoError::Service(failure) }
                    })?;
                    self.global_sign_out(fresh.access_token()).await
                }
                other => other,
            };
        }
        if options.invalidate_tokens {
            if let Some(refresh_token) = session.tokens.refresh_token() {
                self.revoke_token(refresh_token.secret()).await?;
            }
        }
        Ok(())
    }

    /// GlobalSignOut: revokes every refresh token of the user (all devices).
    pub async fn global_sign_out(&self, access_token: &AccessToken) -> Result<(), CognitoError> {
        let input = AccessTokenInput { access_token: access_token.secret() };
        let _: Empty =
            self.inner.api.call("GlobalSignOut", &input, Idempotency::Idempotent).await?;
        Ok(())
    }

    /// RevokeToken: revokes a refresh token and the access tokens issued from it.
    pub async fn revoke_token(&self, refresh_token: &str) -> Result<(), CognitoError> {
        let input = RevokeTokenInput {
            token: refresh_token,
            client_id: &self.inner.client_id,
            client_secret: self.inner.client_secret.as_ref().map(SecretString::secret),
        };
        let _: Empty = self.inner.api.call("RevokeToken", &input, Idempotency::Idempotent).await?;
        Ok(())
    }
}

/// The `ChallengeResponses` that answer `SELECT_CHALLENGE` with the chosen first factor
/// (without `USERNAME`, `SECRET_HASH` and `DEVICE_KEY`): `ANSWER`, plus `PASSWORD` for
/// `PASSWORD`, or `SRP_A` for `PASSWORD_SRP` (whose ephemeral key and password are kept in
/// `flow` for the `PASSWORD_VERIFIER` that follows).
fn first_factor_answer<'a>(
    response: &'a ChallengeResponse,
    flow: &mut Flow<'a>,
) -> Result<Params<'a>, CognitoError> {
    let chosen = response.answer.secret();
    let Some(factor) = FirstFactor::from_name(chosen) else {
        if chosen == WEB_AUTHN {
            return Err(CognitoError::unsupported(
                "passkey sign-in (WEB_AUTHN) is not supported by this client",
            ));
        }
        // The answer is not echoed: a user may have typed their password there.
        return Err(CognitoError::invalid(
            "the answer to SELECT_CHALLENGE must name a first factor: PASSWORD, PASSWORD_SRP, EMAIL_OTP or SMS_OTP",
        ));
    };
    let mut responses = Params::from([(Cow::Borrowed("ANSWER"), Cow::Borrowed(factor.as_str()))]);
    if factor.needs_password() {
        let password =
            response.password.as_ref().filter(|p| !p.secret().is_empty()).ok_or_else(|| {
                CognitoError::invalid(format!(
                    "choosing {factor} needs the password in the response (ChallengeResponse::with_password)"
                ))
            })?;
        if factor == FirstFactor::PasswordSrp {
            let ephemeral = new_ephemeral();
            responses.insert(Cow::Borrowed("SRP_A"), Cow::Owned(ephemeral.public_hex()));
            flow.srp = Some(ephemeral);
            flow.password = Some(password);
        } else {
            responses.insert(Cow::Borrowed("PASSWORD"), Cow::Borrowed(password.secret()));
        }
    }
    Ok(responses)
}

/// True if Cognito refused a remembered device's proof (as opposed to the network failing).
fn refused(error: &CognitoError) -> bool {
    matches!(error.exception_name(), Some("NotAuthorizedException" | "ResourceNotFoundException"))
}

/// VerifySoftwareToken answers `Status: ERROR` (rather than an exception) in some cases.
pub(super) fn check_verified(status: Option<&str>) -> Result<(), CognitoError> {
    match status {
        Some("SUCCESS") | None => Ok(()),
        Some(other) => Err(CognitoError::Service(ServiceFailure::new(
            "EnableSoftwareTokenMFAException",
            format!("VerifySoftwareToken answered Status {other}"),
            200,
            None,
        ))),
    }
}

fn tokens_from(
    id_token: Option<IdToken>,
    access_token: Option<AccessToken>,
    refresh_token: Option<auth_core::RefreshToken>,
) -> Result<UserPoolTokens, CognitoError> {
    let id_token = id_token.ok_or_else(|| CognitoError::protocol("tokens without IdToken"))?;
    let access_token =
        access_token.ok_or_else(|| CognitoError::protocol("tokens without AccessToken"))?;
    UserPoolTokens::new(id_token, access_token, refresh_token)
        .map_err(|error| CognitoError::protocol(format!("unusable tokens: {error}")))
}

pub(super) fn access_claim(token: &AccessToken, name: &str) -> Option<String> {
    auth_core::jwt::UnverifiedClaims::decode(token.secret())
        .ok()
        .and_then(|claims| claims.string(name).map(str::to_owned))
}
