//! The plain data the client works with: tokens, AWS credentials, identities, user states,
//! stored sessions and the shapes of sign-in and sign-out.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::jwt::{ClaimsError, UnverifiedClaims};
use crate::secret::{
    AccessToken, ChallengeSession, IdToken, Password, ProviderToken, RefreshToken, SecretAccessKey,
    SecretString, SessionToken,
};

/// The tokens a user pool (or any OpenID provider) issues at sign-in.
///
/// The expiry is read once, from the `exp` claims of the ID and access tokens (whichever
/// comes first), when the value is built; the claims are decoded but not verified, which is
/// all a client needs to decide when to refresh. Clones are cheap: the token strings are
/// shared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTokens", into = "RawTokens")]
pub struct UserPoolTokens {
    id_token: IdToken,
    access_token: AccessToken,
    refresh_token: Option<RefreshToken>,
    expires_at: SystemTime,
    /// When the access token was issued (its `iat`), by the issuer's clock, if known.
    issued_at: Option<SystemTime>,
}

/// The serialised form of [`UserPoolTokens`]: the expiry is derived, never stored.
#[derive(Serialize, Deserialize)]
struct RawTokens {
    id_token: IdToken,
    access_token: AccessToken,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<RefreshToken>,
}

impl TryFrom<RawTokens> for UserPoolTokens {
    type Error = ClaimsError;
    fn try_from(raw: RawTokens) -> Result<Self, ClaimsError> {
        UserPoolTokens::new(raw.id_token, raw.access_token, raw.refresh_token)
    }
}

impl From<UserPoolTokens> for RawTokens {
    fn from(tokens: UserPoolTokens) -> Self {
        RawTokens {
            id_token: tokens.id_token,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
        }
    }
}

impl UserPoolTokens {
    /// Builds the token set, reading the expiry from the JWTs' `exp` claims.
    pub fn new(
        id_token: IdToken,
        access_token: AccessToken,
        refresh_token: Option<RefreshToken>,
    ) -> Result<Self, ClaimsError> {
        let id_exp = UnverifiedClaims::decode(id_token.secret())?.expires_at()?;
        let access = UnverifiedClaims::decode(access_token.secret())?;
        let expires_at = id_exp.min(access.expires_at()?);
        let issued_at = access.time_claim("iat").ok();
        Ok(Self { id_token, access_token, refresh_token, expires_at, issued_at })
    }

    /// The ID token: who the user is.
    pub fn id_token(&self) -> &IdToken {
        &self.id_token
    }

    /// The access token: what the user may call.
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// The refresh token, if the provider issued one.
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    /// When the first of the ID and access tokens expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// When the access token was issued (its `iat` claim), by the issuer's clock.
    pub fn issued_at(&self) -> Option<SystemTime> {
        self.issued_at
    }

    /// True if the tokens are still valid `margin` from `now`. A margin longer than half
    /// the tokens' lifetime (known from `iat`) counts as half the lifetime, so short-lived
    /// tokens do not refresh on every request.
    pub fn is_valid_at(&self, now: SystemTime, margin: Duration) -> bool {
        let lifetime = self.issued_at.and_then(|iat| self.expires_at.duration_since(iat).ok());
        let margin = lifetime.map_or(margin, |lifetime| margin.min(lifetime / 2));
        now.checked_add(margin).is_some_and(|t| t < self.expires_at)
    }

    /// The decoded, *unverified* claims of the ID token (for display, never for trust).
    pub fn id_claims(&self) -> Result<UnverifiedClaims, ClaimsError> {
        UnverifiedClaims::decode(self.id_token.secret())
    }

    /// Returns these tokens with `refresh_token` set when the refresh response carried none:
    /// providers that do not rotate refresh tokens omit it from refresh responses.
    pub fn or_refresh_token(mut self, previous: Option<&RefreshToken>) -> Self {
        if self.refresh_token.is_none() {
            self.refresh_token = previous.cloned();
        }
        self
    }
}

/// Temporary AWS credentials, e.g. from a Cognito identity pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AwsCredentials {
    /// The access key id (`ASIA...` for temporary credentials); not secret.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretAccessKey,
    /// The session token that temporary credentials require.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<SessionToken>,
    /// When the credentials stop working; `None` for long-term credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<SystemTime>,
    /// When the service issued them, by the service's clock (e.g. the HTTP `Date` of the
    /// answer), if known. The client uses it, like a token's `iat`, to judge expiry by the
    /// service's clock when the device clock is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<SystemTime>,
}

impl AwsCredentials {
    /// Builds a credential set.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: SecretAccessKey,
        session_token: Option<SessionToken>,
        expiration: Option<SystemTime>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key,
            session_token,
            expiration,
            issued_at: None,
        }
    }

    /// Records when the service issued the credentials, by its clock.
    pub fn with_issued_at(mut self, issued_at: SystemTime) -> Self {
        self.issued_at = Some(issued_at);
        self
    }

    /// True if the credentials are still valid `margin` from `now`.
    pub fn is_valid_at(&self, now: SystemTime, margin: Duration) -> bool {
        match self.expiration {
            None => true,
            Some(expiration) => now.checked_add(margin).is_some_and(|t| t < expiration),
        }
    }
}

/// An identity in an identity pool (`<region>:<uuid>` for Cognito). Not a secret.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdentityId(String);

impl IdentityId {
    /// Wraps an identity id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdentityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `Logins` map of an identity-pool request: provider key to token, e.g.
/// `cognito-idp.us-east-1.amazonaws.com/us-east-1_abc` to an ID token, or
/// `accounts.google.com` to a Google ID token. Empty for a guest.
pub type Logins = BTreeMap<String, ProviderToken>;

/// The user's authentication state, as the app sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum UserState {
    /// Before `initialize()` has loaded the store.
    Unknown,
    /// Nobody is signed in and guest access is not configured.
    SignedOut,
    /// A user is signed in (through the user pool or a federated provider). Their tokens
    /// may have expired: validity is checked when tokens are asked for.
    SignedIn,
    /// Nobody is signed in; unauthenticated (guest) AWS credentials are available.
    Guest,
    /// The user-pool session can no longer be refreshed (the refresh token was rejected,
    /// or tokens expired while offline). Requests wait for the user to sign in again.
    /// Nothing has been deleted.
    SignedOutUserPoolsTokensInvalid,
    /// The federated provider's token expired (or was rejected). Requests wait for a new
    /// `federated_sign_in`. Nothing has been deleted.
    SignedOutFederatedTokensInvalid,
}

impl UserState {
    /// True in the states where a user's session exists (valid or waiting for re-sign-in).
    pub fn has_session(self) -> bool {
        matches!(
            self,
            UserState::SignedIn
                | UserState::SignedOutUserPoolsTokensInvalid
                | UserState::SignedOutFederatedTokensInvalid
        )
    }
}

impl fmt::Display for UserState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UserState::Unknown => "UNKNOWN",
            UserState::SignedOut => "SIGNED_OUT",
            UserState::SignedIn => "SIGNED_IN",
            UserState::Guest => "GUEST",
            UserState::SignedOutUserPoolsTokensInvalid => "SIGNED_OUT_USER_POOLS_TOKENS_INVALID",
            UserState::SignedOutFederatedTokensInvalid => "SIGNED_OUT_FEDERATED_TOKENS_INVALID",
        })
    }
}

/// Why a session's tokens are invalid, in the `...TokensInvalid` states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum InvalidReason {
    /// They expired while offline; they will be refreshed when connectivity returns.
    Offline,
    /// The service rejected them (revoked or expired refresh token, rejected federated
    /// token); only a new sign-in helps.
    Rejected,
    /// The federated provider's token expired; only a new federated sign-in helps.
    Expired,
}

impl InvalidReason {
    /// The reason's name: `offline`, `rejected` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::Offline => "offline",
            InvalidReason::Rejected => "rejected",
            InvalidReason::Expired => "expired",
        }
    }
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user state plus what is known about it. This is what listeners receive.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserStateDetails {
    /// The state.
    pub state: UserState,
    /// For a federated session: the provider's logins key (e.g. `accounts.google.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// In the `...TokensInvalid` states: why the tokens are invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<InvalidReason>,
    /// From `AuthClient::initialize` only: the stored session was damaged, kept aside by
    /// the store, and the client started without it; this says what was wrong and where
    /// the damaged data is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_damage: Option<String>,
    /// For a user-pool session (signed in, or its tokens invalid): who authenticated the
    /// user, the pool itself or one of its external identity providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_provider: Option<SignInProvider>,
}

impl UserStateDetails {
    /// A state with no details.
    pub fn new(state: UserState) -> Self {
        Self { state, provider: None, reason: None, store_damage: None, sign_in_provider: None }
    }
}

/// Who authenticated the user of a user-pool session: the user pool itself (a password,
/// SRP or passwordless sign-in; Cognito calls it `COGNITO`), or an external identity
/// provider of the pool that the user signed in through in the hosted UI (`Google`,
/// `Facebook`, an OIDC or SAML provider's name). Read from the ID token's `identities`
/// claim, so it survives a restart with the stored session.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SignInProvider {
    /// The user pool's own sign-in.
    Cognito,
    /// An identity provider of the user pool, by its provider name.
    Federated(String),
}

impl SignInProvider {
    /// The provider of a session with these tokens: the primary entry of the ID token's
    /// `identities` claim (a user federated through that provider), else the pool itself
    /// (a local user, also one with linked identities, whose entries are not primary).
    pub fn of_tokens(tokens: &UserPoolTokens) -> Self {
        let Ok(claims) = UnverifiedClaims::decode(tokens.id_token().secret()) else {
            return Self::Cognito;
        };
        let identities = match claims.get("identities") {
            Some(serde_json::Value::Array(list)) => list.clone(),
            // Some issuers write the list as JSON text.
            Some(serde_json::Value::String(text)) => {
                serde_json::from_str::<Vec<serde_json::Value>>(text).unwrap_or_default()
            }
            _ => Vec::new(),
        };
        identities
            .iter()
            .find(|identity| {
                matches!(identity.get("primary"), Some(serde_json::Value::Bool(true)))
                    || identity.get("primary").and_then(serde_json::Value::as_str) == Some("true")
            })
            .and_then(|identity| identity.get("providerName")?.as_str())
            .filter(|name| !name.is_empty())
            .map_or(Self::Cognito, |name| Self::Federated(name.to_owned()))
    }

    /// The name Cognito uses: `COGNITO`, or the provider's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Cognito => "COGNITO",
            Self::Federated(name) => name,
        }
    }
}

impl fmt::Display for SignInProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A user-pool session: who signed in and the tokens they got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserPoolSession {
    /// The user's name in the pool (for Cognito the internal username, `USER_ID_FOR_SRP`).
    pub username: String,
    /// The current tokens.
    pub tokens: UserPoolTokens,
    /// Provider-owned values kept with the session. The client stores them and hands them
    /// back untouched. The remembered device key has its own accessors
    /// ([`device_key`](Self::device_key)).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extras: BTreeMap<String, SecretString>,
}

/// Where [`UserPoolSession::device_key`] lives in `extras`: the stored form of sessions
/// written before the accessor existed, kept so that those sessions keep their device.
const DEVICE_KEY: &str = "device_key";

impl UserPoolSession {
    /// A session with no provider extras.
    pub fn new(username: impl Into<String>, tokens: UserPoolTokens) -> Self {
        Self { username: username.into(), tokens, extras: BTreeMap::new() }
    }

    /// The key of the device this session signed in on, if the provider remembers devices
    /// (Cognito's device tracking): refreshing a tracked device's tokens needs it.
    pub fn device_key(&self) -> Option<&SecretString> {
        self.extras.get(DEVICE_KEY)
    }

    /// Records the device key (see [`device_key`](Self::device_key)).
    pub fn set_device_key(&mut self, key: SecretString) {
        self.extras.insert(DEVICE_KEY.to_owned(), key);
    }

    /// Forgets the device key, e.g. when the provider no longer knows the device.
    pub fn clear_device_key(&mut self) -> Option<SecretString> {
        self.extras.remove(DEVICE_KEY)
    }
}

/// A session obtained from a third-party provider and federated into an identity pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FederatedSession {
    /// The provider's logins key, e.g. `accounts.google.com`.
    pub provider: String,
    /// The provider's token.
    pub token: ProviderToken,
    /// When the provider token expires: the JWT `exp` if the token is a JWT, else whatever
    /// the app said when signing in; `None` if unknown (then only the identity pool's
    /// rejection marks it invalid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<SystemTime>,
}

impl FederatedSession {
    /// Builds a federated session; when `expires_at` is `None` and the token is a JWT, the
    /// expiry is read from its `exp` claim.
    pub fn new(
        provider: impl Into<String>,
        token: ProviderToken,
        expires_at: Option<SystemTime>,
    ) -> Self {
        let expires_at = expires_at.or_else(|| {
            UnverifiedClaims::decode(token.secret())
                .ok()
                .and_then(|claims| claims.expires_at().ok())
        });
        Self { provider: provider.into(), token, expires_at }
    }

    /// True if the provider token is still valid `margin` from `now` (or has no known expiry).
    pub fn is_valid_at(&self, now: SystemTime, margin: Duration) -> bool {
        self.expires_at.is_none_or(|exp| now.checked_add(margin).is_some_and(|t| t < exp))
    }
}

/// Everything a token store keeps for one namespace (one app client).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredSession {
    /// The user-pool session, if a user signed in through the user pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pool: Option<UserPoolSession>,
    /// The federated session, if a user signed in through a third-party provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated: Option<FederatedSession>,
    /// The identity-pool identity, kept across restarts (and across a guest's sign-in, so
    /// that the guest identity is merged rather than lost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<IdentityId>,
    /// The last AWS credentials, so a restart does not need the network while they last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_credentials: Option<AwsCredentials>,
}

impl StoredSession {
    /// True if the session holds nothing at all.
    pub fn is_empty(&self) -> bool {
        self == &StoredSession::default()
    }
}

/// How to sign in, when a provider supports several ways.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SignInFlow {
    /// The provider's default (SRP for Cognito).
    #[default]
    ProviderDefault,
    /// Secure Remote Password: the password never leaves the device.
    SecureRemotePassword,
    /// The password is sent to the provider (over TLS).
    Password,
    /// A custom challenge flow (e.g. Cognito CUSTOM_AUTH with Lambda triggers).
    Custom,
    /// A custom flow that starts by verifying the password with SRP.
    CustomWithSrp,
    /// Choice-based sign-in (Cognito's `USER_AUTH`): the provider offers the first factors
    /// the user may use (password, one-time codes by email or SMS, ...). With a preferred
    /// factor the provider starts with it when it can; without one (or when the preferred
    /// factor is not available) the next step is [`ChallengeKind::SelectFirstFactor`].
    /// A preferred [`FirstFactor::Password`] or [`FirstFactor::PasswordSrp`] needs the
    /// request's password.
    ChoiceBased(Option<FirstFactor>),
    /// The provider's own sign-in pages in the system browser: an OAuth 2.0 authorization
    /// code flow such as Cognito's hosted UI, where the user (not the app) types the
    /// password, picks a social provider and answers MFA. The request carries no username
    /// or password.
    Browser,
}

/// A first factor of choice-based sign-in ([`SignInFlow::ChoiceBased`]): how the user
/// proves who they are before any second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FirstFactor {
    /// The password, sent to the provider (over TLS).
    Password,
    /// The password, proved with Secure Remote Password: it never leaves the device.
    PasswordSrp,
    /// A one-time code sent by email.
    EmailOtp,
    /// A one-time code sent by SMS.
    SmsOtp,
}

impl FirstFactor {
    /// Every first factor, in the order above.
    pub const ALL: [FirstFactor; 4] = [
        FirstFactor::Password,
        FirstFactor::PasswordSrp,
        FirstFactor::EmailOtp,
        FirstFactor::SmsOtp,
    ];

    /// The factor's wire name, shared by Cognito (`AvailableChallenges`,
    /// `PREFERRED_CHALLENGE`) and Amplify: `PASSWORD`, `PASSWORD_SRP`, `EMAIL_OTP`,
    /// `SMS_OTP`. It is also the answer that picks this factor
    /// ([`ChallengeResponse::first_factor`]).
    pub fn as_str(self) -> &'static str {
        match self {
            FirstFactor::Password => "PASSWORD",
            FirstFactor::PasswordSrp => "PASSWORD_SRP",
            FirstFactor::EmailOtp => "EMAIL_OTP",
            FirstFactor::SmsOtp => "SMS_OTP",
        }
    }

    /// The factor with wire name `name` ([`FirstFactor::as_str`]), if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|factor| factor.as_str() == name)
    }

    /// True for the factors that need the user's password.
    pub fn needs_password(self) -> bool {
        matches!(self, FirstFactor::Password | FirstFactor::PasswordSrp)
    }
}

impl fmt::Display for FirstFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A second factor (MFA method) a user can have: what Cognito calls `SMS_MFA`,
/// `SOFTWARE_TOKEN_MFA` and `EMAIL_OTP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MfaType {
    /// A code sent by SMS.
    Sms,
    /// A code from an authenticator app (TOTP).
    Totp,
    /// A code sent by email.
    Email,
}

impl MfaType {
    /// Every MFA type, in the order above.
    pub const ALL: [MfaType; 3] = [MfaType::Sms, MfaType::Totp, MfaType::Email];

    /// The type's wire name: `SMS_MFA`, `SOFTWARE_TOKEN_MFA` or `EMAIL_OTP`. It is also the
    /// answer that picks this type ([`ChallengeResponse::mfa_type`]).
    pub fn as_str(self) -> &'static str {
        match self {
            MfaType::Sms => "SMS_MFA",
            MfaType::Totp => "SOFTWARE_TOKEN_MFA",
            MfaType::Email => "EMAIL_OTP",
        }
    }

    /// The type with wire name `name` ([`MfaType::as_str`]), if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mfa| mfa.as_str() == name)
    }
}

impl fmt::Display for MfaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to sign in.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SignInRequest {
    /// The username, or an alias the provider accepts (email, phone number).
    pub username: String,
    /// The password; optional for custom flows.
    pub password: Option<Password>,
    /// Which flow to use.
    pub flow: SignInFlow,
    /// Extra key-value pairs for the provider (Cognito's `ClientMetadata`).
    pub metadata: BTreeMap<String, String>,
}

impl SignInRequest {
    /// Sign in with a username and password, using the provider's default flow.
    pub fn password(username: impl Into<String>, password: impl Into<Password>) -> Self {
        Self {
            username: username.into(),
            password: Some(password.into()),
            flow: SignInFlow::ProviderDefault,
            metadata: BTreeMap::new(),
        }
    }

    /// Sign in through the provider's pages in the browser ([`SignInFlow::Browser`]).
    pub fn browser() -> Self {
        Self {
            username: String::new(),
            password: None,
            flow: SignInFlow::Browser,
            metadata: BTreeMap::new(),
        }
    }

    /// Sign in with a custom challenge flow and no password.
    pub fn custom(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: None,
            flow: SignInFlow::Custom,
            metadata: BTreeMap::new(),
        }
    }

    /// Choice-based sign-in with a username only (passwordless): the provider offers the
    /// first factors the user may choose from ([`ChallengeKind::SelectFirstFactor`]), or
    /// starts with the one set by [`SignInRequest::with_preferred_first_factor`], e.g.
    /// [`FirstFactor::EmailOtp`].
    pub fn choice_based(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: None,
            flow: SignInFlow::ChoiceBased(None),
            metadata: BTreeMap::new(),
        }
    }

    /// Choice-based sign-in with a password, preferring [`FirstFactor::PasswordSrp`] (the
    /// password never leaves the device); [`SignInRequest::with_preferred_first_factor`]
    /// can prefer [`FirstFactor::Password`] instead.
    pub fn choice_based_with_password(
        username: impl Into<String>,
        password: impl Into<Password>,
    ) -> Self {
        Self {
            username: username.into(),
            password: Some(password.into()),
            flow: SignInFlow::ChoiceBased(Some(FirstFactor::PasswordSrp)),
            metadata: BTreeMap::new(),
        }
    }

    /// Makes this a choice-based sign-in that prefers `factor`.
    pub fn with_preferred_first_factor(mut self, factor: FirstFactor) -> Self {
        self.flow = SignInFlow::ChoiceBased(Some(factor));
        self
    }

    /// Chooses the flow.
    pub fn with_flow(mut self, flow: SignInFlow) -> Self {
        self.flow = flow;
        self
    }

    /// Adds a metadata pair.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// What kind of answer a sign-in challenge wants.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeKind {
    /// The user must choose a new password (and fill in the listed attributes).
    NewPasswordRequired {
        /// Attribute names that must be sent with the new password.
        required_attributes: Vec<String>,
    },
    /// A code was sent by SMS (as a second factor).
    SmsMfa {
        /// Where it went (masked).
        destination: Option<String>,
    },
    /// A one-time code was sent by SMS as the first factor of a choice-based sign-in
    /// (Cognito's `SMS_OTP`); answer with the code.
    SmsOtp {
        /// Where it went (masked).
        destination: Option<String>,
    },
    /// A code was sent by email: as a second factor, or as the first factor of a
    /// choice-based sign-in (Cognito names both `EMAIL_OTP`). Answer with the code.
    EmailOtp {
        /// Where it went (masked).
        destination: Option<String>,
    },
    /// A code from the user's authenticator app (TOTP) is needed.
    SoftwareTokenMfa,
    /// The user must set up an authenticator app: show the secret (or the `otpauth://` URI
    /// as a QR code) and answer with the first code it produces.
    MfaSetup {
        /// The base32 TOTP secret.
        secret: SecretString,
        /// An `otpauth://totp/...` URI for QR codes.
        otpauth_uri: SecretString,
    },
    /// The user must choose an MFA method; answer with [`ChallengeResponse::mfa_type`].
    SelectMfaType {
        /// The methods to choose from that this client knows, in the provider's order;
        /// the step's parameters list everything the provider offered.
        options: Vec<MfaType>,
    },
    /// The user must choose the first factor of a choice-based sign-in; answer with
    /// [`ChallengeResponse::first_factor`] (adding the password for
    /// [`FirstFactor::Password`] and [`FirstFactor::PasswordSrp`]).
    SelectFirstFactor {
        /// The factors the provider offers that this client can complete, in the
        /// provider's order. Factors it cannot complete (e.g. passkeys) are left out; the
        /// step's parameters may list everything the provider offered.
        options: Vec<FirstFactor>,
    },
    /// A custom challenge defined by the provider; see the step's parameters.
    CustomChallenge,
    /// A challenge this crate has no dedicated variant for; see the step's name.
    Other,
}

/// Provider-owned state that carries a multi-step sign-in from one step to the next.
/// Apps pass it back untouched; providers read and write its fields.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ChallengeContext {
    /// The username the provider wants in the next step (for Cognito `USER_ID_FOR_SRP`).
    pub username: String,
    /// The provider's session handle, if any.
    pub session: Option<ChallengeSession>,
    /// Anything else the provider needs for the next step.
    pub data: BTreeMap<String, SecretString>,
}

impl ChallengeContext {
    /// A context for `username` with a provider session.
    pub fn new(username: impl Into<String>, session: Option<ChallengeSession>) -> Self {
        Self { username: username.into(), session, data: BTreeMap::new() }
    }
}

/// The next step of a sign-in that needs more from the user.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SignInNextStep {
    /// What kind of answer is wanted.
    pub kind: ChallengeKind,
    /// The provider's name for the challenge (e.g. `SOFTWARE_TOKEN_MFA`).
    pub challenge_name: String,
    /// The challenge's public parameters, as the provider sent them.
    pub parameters: BTreeMap<String, String>,
    /// The state to hand back with the answer.
    pub context: ChallengeContext,
}

impl SignInNextStep {
    /// Builds a next step (the struct is `non_exhaustive`, so providers in other crates
    /// need this to report a challenge).
    pub fn new(
        kind: ChallengeKind,
        challenge_name: impl Into<String>,
        parameters: BTreeMap<String, String>,
        context: ChallengeContext,
    ) -> Self {
        Self { kind, challenge_name: challenge_name.into(), parameters, context }
    }
}

/// The answer to a sign-in challenge.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ChallengeResponse {
    /// The answer: a code, a new password, a chosen MFA type or first factor, a custom
    /// answer.
    pub answer: Password,
    /// Attributes to send with it (e.g. required attributes with a new password).
    pub attributes: BTreeMap<String, String>,
    /// The user's password, when the answer chooses a first factor that needs it
    /// ([`FirstFactor::needs_password`]). Kept apart from `attributes` so that it stays a
    /// redacted, zeroized secret.
    pub password: Option<Password>,
}

impl ChallengeResponse {
    /// An answer with no attributes.
    pub fn answer(answer: impl Into<Password>) -> Self {
        Self { answer: answer.into(), attributes: BTreeMap::new(), password: None }
    }

    /// The answer to [`ChallengeKind::SelectFirstFactor`] that picks `factor`; add the
    /// password with [`ChallengeResponse::with_password`] when the factor needs it.
    pub fn first_factor(factor: FirstFactor) -> Self {
        Self::answer(factor.as_str())
    }

    /// The answer to [`ChallengeKind::SelectMfaType`] that picks `mfa`.
    pub fn mfa_type(mfa: MfaType) -> Self {
        Self::answer(mfa.as_str())
    }

    /// Adds the user's password (for a first factor that needs it).
    pub fn with_password(mut self, password: impl Into<Password>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Adds an attribute.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }
}

/// What a provider's sign-in step produced.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SignInOutcome {
    /// The user is signed in.
    SignedIn(UserPoolSession),
    /// More is needed from the user.
    NextStep(SignInNextStep),
}

/// What `AuthClient::sign_in` reports to the app.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SignInResult {
    /// Done: the user is signed in (the state is `SignedIn`).
    Done,
    /// Answer this with `AuthClient::confirm_sign_in`.
    NextStep(SignInNextStep),
}

/// How far a sign-out reaches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignOutOptions {
    /// Also sign the user out of every device (revokes all their refresh tokens).
    pub global: bool,
    /// Also revoke this session's refresh token (and the access tokens issued from it).
    pub invalidate_tokens: bool,
}

impl SignOutOptions {
    /// Local sign-out only: clear the store and caches.
    pub fn local() -> Self {
        Self::default()
    }

    /// Global sign-out.
    pub fn global() -> Self {
        Self { global: true, invalidate_tokens: false }
    }

    /// Revoke this session's tokens, then sign out locally.
    pub fn invalidate_tokens() -> Self {
        Self { global: false, invalidate_tokens: true }
    }
}

/// Where a confirmation code was sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CodeDelivery {
    /// The masked destination, e.g. `a***@e***`.
    pub destination: Option<String>,
    /// `EMAIL` or `SMS`.
    pub medium: Option<String>,
    /// The attribute the code verifies, e.g. `email`.
    pub attribute: Option<String>,
}

/// A request to create an account.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SignUpRequest {
    /// The username (or email/phone, when the pool signs in with those).
    pub username: String,
    /// The password.
    pub password: Password,
    /// User attributes, e.g. `email`.
    pub attributes: BTreeMap<String, String>,
    /// Sign the user in once the account is confirmed (Amplify's `autoSignIn`): see
    /// [`auto_sign_in`](Self::auto_sign_in).
    pub auto_sign_in: bool,
}

impl SignUpRequest {
    /// A sign-up with a username and password.
    pub fn new(username: impl Into<String>, password: impl Into<Password>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
            attributes: BTreeMap::new(),
            auto_sign_in: false,
        }
    }

    /// Asks `AuthClient`'s account operations to sign the user in once the account is
    /// confirmed: `Account::confirm_sign_up` then signs in with the username and the
    /// password given here (kept in memory, zeroized once used), or, for an account
    /// confirmed at sign-up, `Account::auto_sign_in` does.
    pub fn auto_sign_in(mut self, enabled: bool) -> Self {
        self.auto_sign_in = enabled;
        self
    }

    /// Adds an attribute.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }
}

/// The result of a sign-up.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignUpOutcome {
    /// True if the account needs no confirmation.
    pub confirmed: bool,
    /// The new user's stable id (`sub`).
    pub user_sub: String,
    /// Where the confirmation code went, if one was sent.
    pub delivery: Option<CodeDelivery>,
}

impl SignUpOutcome {
    /// Builds a sign-up outcome.
    pub fn new(
        confirmed: bool,
        user_sub: impl Into<String>,
        delivery: Option<CodeDelivery>,
    ) -> Self {
        Self { confirmed, user_sub: user_sub.into(), delivery }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_factor_names_round_trip() {
        for factor in FirstFactor::ALL {
            assert_eq!(FirstFactor::from_name(factor.as_str()), Some(factor));
            assert_eq!(factor.to_string(), factor.as_str());
        }
        assert_eq!(FirstFactor::from_name("WEB_AUTHN"), None);
        assert_eq!(FirstFactor::from_name("password"), None, "names are exact");
        let needing: Vec<_> = FirstFactor::ALL.into_iter().filter(|f| f.needs_password()).collect();
        assert_eq!(needing, [FirstFactor::Password, FirstFactor::PasswordSrp]);
    }

    #[test]
    fn mfa_type_names_round_trip() {
        for mfa in MfaType::ALL {
            assert_eq!(MfaType::from_name(mfa.as_str()), Some(mfa));
            assert_eq!(ChallengeResponse::mfa_type(mfa).answer.secret(), mfa.as_str());
        }
        assert_eq!(MfaType::from_name("SOFTWARE_TOKEN_MFA"), Some(MfaType::Totp));
        assert_eq!(MfaType::from_name("WEB_AUTHN"), None);
    }

    #[cfg(feature = "testing")]
    #[test]
    fn the_device_key_keeps_its_stored_form() {
        let jwt = crate::testing::unsigned_jwt(&serde_json::json!({"exp": 4_000_000_000_u64}));
        let tokens = UserPoolTokens::new(jwt.as_str().into(), jwt.as_str().into(), None).unwrap();
        let mut session = UserPoolSession::new("alice", tokens);
        assert!(session.device_key().is_none());
        session.set_device_key(SecretString::new("us-east-1_dev"));
        let json = serde_json::to_value(&session).unwrap();
        // Sessions stored before the accessor existed keep their device.
        assert_eq!(json["extras"]["device_key"], "us-east-1_dev");
        let back: UserPoolSession = serde_json::from_value(json).unwrap();
        assert_eq!(back.device_key().map(SecretString::secret), Some("us-east-1_dev"));
        assert!(session.clear_device_key().is_some());
        assert!(session.device_key().is_none());
    }

    #[cfg(feature = "testing")]
    #[test]
    fn the_sign_in_provider_is_the_primary_identity_of_the_id_token() {
        let tokens = |claims: serde_json::Value| {
            let mut claims = claims;
            claims["exp"] = serde_json::json!(4_000_000_000_u64);
            let jwt = crate::testing::unsigned_jwt(&claims);
            UserPoolTokens::new(jwt.as_str().into(), jwt.as_str().into(), None).unwrap()
        };
        let google =
            serde_json::json!([{"userId": "1", "providerName": "Google", "primary": "true"}]);
        assert_eq!(
            SignInProvider::of_tokens(&tokens(serde_json::json!({ "identities": google }))),
            SignInProvider::Federated("Google".into())
        );
        // Written as JSON text, as some issuers do.
        let text = serde_json::json!({ "identities": google.to_string() });
        assert_eq!(SignInProvider::of_tokens(&tokens(text)).name(), "Google");
        // A local user with a linked identity signed in through the pool.
        let linked = serde_json::json!([{"providerName": "Google", "primary": "false"}]);
        assert_eq!(
            SignInProvider::of_tokens(&tokens(serde_json::json!({ "identities": linked }))),
            SignInProvider::Cognito
        );
        let local = SignInProvider::of_tokens(&tokens(serde_json::json!({})));
        assert_eq!(local, SignInProvider::Cognito);
        assert_eq!(local.to_string(), "COGNITO");
    }

    #[test]
    fn choice_based_requests_and_answers() {
        let request = SignInRequest::choice_based("alice");
        assert_eq!(request.flow, SignInFlow::ChoiceBased(None));
        assert!(request.password.is_none());
        let request = request.with_preferred_first_factor(FirstFactor::EmailOtp);
        assert_eq!(request.flow, SignInFlow::ChoiceBased(Some(FirstFactor::EmailOtp)));
        let request = SignInRequest::choice_based_with_password("alice", "pw");
        assert_eq!(request.flow, SignInFlow::ChoiceBased(Some(FirstFactor::PasswordSrp)));
        assert_eq!(request.password.as_ref().map(Password::secret), Some("pw"));

        let answer = ChallengeResponse::first_factor(FirstFactor::PasswordSrp).with_password("pw");
        assert_eq!(answer.answer.secret(), "PASSWORD_SRP");
        assert_eq!(answer.password.as_ref().map(Password::secret), Some("pw"));
        assert!(!format!("{answer:?}").contains("pw\""), "the password is redacted");
        assert!(ChallengeResponse::answer("123456").password.is_none());

        let flow = SignInFlow::ChoiceBased(Some(FirstFactor::SmsOtp));
        let json = serde_json::to_string(&flow).unwrap();
        assert_eq!(serde_json::from_str::<SignInFlow>(&json).unwrap(), flow);
    }
}
