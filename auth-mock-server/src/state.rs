//! The server's in-memory model: pools, app clients, users, groups, devices, issued tokens
//! and pending challenges.
//!
//! Everything lives in one [`State`] behind a lock. Pool and client settings are kept as the
//! JSON the caller sent (so Describe* echoes every field, including ones the mock does not
//! interpret), next to the few typed values the server acts on.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::keys::PoolKeys;
use crate::sign_in::{AuthFlow, ChallengeName};
use crate::wire::CognitoError;

/// JSON object type used for echoed settings.
pub(crate) type Object = Map<String, Value>;

/// All state of one server.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) pools: BTreeMap<String, Pool>,
    /// Client id → pool id.
    pub(crate) client_index: HashMap<String, String>,
    /// Issued-token bookkeeping: revocations, rotations, per-user cut-offs, and a bounded
    /// cache of checked access tokens (refresh tokens carry their own sealed state).
    pub(crate) tokens: crate::token_book::TokenBook,
    /// `Session` value → pending challenge.
    pub(crate) sessions: HashMap<String, AuthSession>,
    /// `SECRET_BLOCK` → pending SRP exchange (clients may answer without `Session`).
    pub(crate) srp: HashMap<String, SrpPending>,
    /// Sign-in lockouts and code attempt counters.
    pub(crate) limits: crate::limits::Limits,
    /// Domains, resource servers, identity providers, codes and hosted-UI sessions.
    pub(crate) oauth: crate::oauth::OAuthState,
}

/// A user pool.
#[derive(Debug)]
pub(crate) struct Pool {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) created: f64,
    pub(crate) modified: f64,
    /// The request fields of CreateUserPool/UpdateUserPool, echoed by DescribeUserPool.
    pub(crate) settings: Object,
    pub(crate) clients: BTreeMap<String, AppClient>,
    /// Keyed by [`Pool::user_key`] of the internal username.
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) groups: BTreeMap<String, Group>,
    pub(crate) keys: Arc<PoolKeys>,
}

/// An app client.
#[derive(Debug, Clone)]
pub(crate) struct AppClient {
    pub(crate) id: String,
    pub(crate) secret: Option<String>,
    pub(crate) created: f64,
    pub(crate) modified: f64,
    /// The request fields of CreateUserPoolClient/UpdateUserPoolClient.
    pub(crate) settings: Object,
    /// Lifetimes forced through the test-control API, overriding the settings.
    pub(crate) lifetime_override: Lifetimes,
}

/// Token lifetimes in seconds; `None` means "use the client's setting".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(
    clippy::exhaustive_structs,
    reason = "the `/_mock/lifetimes` body, built by tests with `..Lifetimes::default()`"
)]
pub struct Lifetimes {
    /// Access token lifetime (seconds).
    pub access_token_seconds: Option<u64>,
    /// ID token lifetime (seconds).
    pub id_token_seconds: Option<u64>,
    /// Refresh token lifetime (seconds).
    pub refresh_token_seconds: Option<u64>,
}

/// A user's account status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum UserStatus {
    Unconfirmed,
    Confirmed,
    ForceChangePassword,
    ResetRequired,
}

impl UserStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Unconfirmed => "UNCONFIRMED",
            Self::Confirmed => "CONFIRMED",
            Self::ForceChangePassword => "FORCE_CHANGE_PASSWORD",
            Self::ResetRequired => "RESET_REQUIRED",
        }
    }
}

/// A stored password: never the plaintext.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PasswordRecord {
    /// Argon2id PHC string, checked by USER_PASSWORD_AUTH and ChangePassword.
    pub(crate) hash: String,
    /// SRP salt (hex) and verifier (hex), checked by USER_SRP_AUTH.
    pub(crate) srp_salt: String,
    pub(crate) srp_verifier: String,
    /// When the password was set (seconds); temporary passwords expire.
    pub(crate) set_at: u64,
    pub(crate) temporary: bool,
}

/// A one-time code sent to the user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Code {
    pub(crate) code: String,
    pub(crate) expires_at: u64,
}

/// MFA settings of a user.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct MfaSettings {
    pub(crate) sms: bool,
    pub(crate) totp: bool,
    pub(crate) email: bool,
    pub(crate) preferred: Option<String>,
    /// Verified TOTP secret (base32).
    pub(crate) totp_secret: Option<String>,
    /// Secret from AssociateSoftwareToken awaiting VerifySoftwareToken.
    pub(crate) pending_totp_secret: Option<String>,
}

/// A remembered (tracked) device.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Device {
    pub(crate) key: String,
    pub(crate) group_key: String,
    pub(crate) name: Option<String>,
    /// Salt (hex) and verifier (hex) from ConfirmDevice; `None` until confirmed.
    pub(crate) srp_salt: Option<String>,
    pub(crate) srp_verifier: Option<String>,
    pub(crate) remembered: bool,
    pub(crate) created: f64,
    pub(crate) modified: f64,
    pub(crate) last_authenticated: f64,
}

/// A user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct User {
    pub(crate) username: String,
    /// Attributes including `sub`.
    pub(crate) attributes: BTreeMap<String, String>,
    pub(crate) status: UserStatus,
    pub(crate) enabled: bool,
    pub(crate) created: f64,
    pub(crate) modified: f64,
    pub(crate) password: Option<PasswordRecord>,
    pub(crate) groups: BTreeSet<String>,
    pub(crate) mfa: MfaSettings,
    pub(crate) devices: BTreeMap<String, Device>,
    /// Pending codes by purpose (`signup`, `forgot`, `mfa`, `attribute:<name>`).
    pub(crate) codes: BTreeMap<String, Code>,
    /// The last code "delivered", whatever its purpose (test-control API).
    pub(crate) last_code: Option<(String, String)>,
    /// The expected CUSTOM_CHALLENGE answer (test-control API) and public parameters.
    pub(crate) custom_auth: Option<CustomAuth>,
    /// Made by a federated sign-in through the hosted UI: its status reads
    /// `EXTERNAL_PROVIDER` and it has no password. A flag beside `status` rather than a
    /// status of its own, because the password flows' status checks never see such a user.
    #[serde(default)]
    pub(crate) federated: bool,
}

/// A user's custom-auth challenge, set through the test-control API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(
    clippy::exhaustive_structs,
    reason = "the `/_mock/custom-auth` body: an answer and its parameters"
)]
pub struct CustomAuth {
    /// The answer that passes the challenge.
    pub answer: String,
    /// Public challenge parameters returned with `CUSTOM_CHALLENGE`.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

impl User {
    /// The names a client may have computed a `SECRET_HASH` with: the username, `sub`, and
    /// the email, phone number and preferred username the user has.
    pub(crate) fn secret_hash_names(&self) -> Vec<&str> {
        let mut names = vec![self.username.as_str(), self.sub()];
        let aliases = ["email", "phone_number", "preferred_username"];
        names.extend(aliases.into_iter().filter_map(|alias| self.attribute(alias)));
        names
    }

    /// The status as Cognito names it (`EXTERNAL_PROVIDER` for federated users).
    pub(crate) fn status_name(&self) -> &'static str {
        if self.federated { "EXTERNAL_PROVIDER" } else { self.status.as_str() }
    }

    pub(crate) fn sub(&self) -> &str {
        self.attributes.get("sub").map_or("", String::as_str)
    }

    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    pub(crate) fn attribute_is_true(&self, name: &str) -> bool {
        self.attribute(name) == Some("true")
    }

    /// Attributes as `[{Name, Value}]`, `sub` first as Cognito lists it.
    pub(crate) fn attribute_list(&self, only: Option<&[String]>) -> Value {
        let mut list = Vec::with_capacity(self.attributes.len());
        let wanted = |name: &str| only.is_none_or(|names| names.iter().any(|n| n == name));
        if let Some(sub) = self.attributes.get("sub").filter(|_| wanted("sub")) {
            list.push(serde_json::json!({"Name": "sub", "Value": sub}));
        }
        for (name, value) in &self.attributes {
            if name != "sub" && wanted(name) {
                list.push(serde_json::json!({"Name": name, "Value": value}));
            }
        }
        Value::Array(list)
    }

    /// The names of the MFA methods the user has enabled, in Cognito's spelling.
    pub(crate) fn mfa_setting_list(&self) -> Vec<&'static str> {
        let mut list = Vec::new();
        if self.mfa.sms {
            list.push(ChallengeName::SmsMfa.as_str());
        }
        if self.mfa.totp {
            list.push(ChallengeName::SoftwareTokenMfa.as_str());
        }
        if self.mfa.email {
            list.push(ChallengeName::EmailOtp.as_str());
        }
        list
    }
}

/// A group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Group {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) precedence: Option<i64>,
    pub(crate) role_arn: Option<String>,
    pub(crate) created: f64,
    pub(crate) modified: f64,
}

/// An access token this server issued, as its claims describe it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AccessRecord {
    pub(crate) pool_id: String,
    pub(crate) username: String,
    /// The user's `sub` (a user created again under the same name is another user).
    #[serde(default)]
    pub(crate) sub: String,
    /// Issue time in milliseconds (from the UUIDv7 `jti`), compared with sign-out times.
    #[serde(default)]
    pub(crate) issued_ms: u64,
    pub(crate) client_id: String,
    pub(crate) issued_at: u64,
    pub(crate) expires_at: u64,
    /// When the id token issued with it expires: the record (and with it any revocation of
    /// its family) is kept until both tokens are dead.
    #[serde(default)]
    pub(crate) id_expires_at: u64,
    pub(crate) origin_jti: String,
    pub(crate) device_key: Option<String>,
    /// The `scope` claim of a token from the OAuth endpoints; `None` for API sign-ins (which
    /// carry `aws.cognito.signin.user.admin` only).
    #[serde(default)]
    pub(crate) scope: Option<String>,
}

/// A refresh token this server issued, as the refresh flow checks it (opened from the token
/// and its revocations: see [`crate::token_book`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RefreshRecord {
    pub(crate) pool_id: String,
    pub(crate) username: String,
    pub(crate) client_id: String,
    pub(crate) issued_at: u64,
    pub(crate) expires_at: u64,
    pub(crate) auth_time: u64,
    pub(crate) origin_jti: String,
    pub(crate) device_key: Option<String>,
    pub(crate) revoked: bool,
    /// When GetTokensFromRefreshToken rotated this token (it then expires after the grace).
    #[serde(default)]
    pub(crate) rotated_at: Option<u64>,
    /// The scopes of a family the OAuth endpoints started; `None` for API sign-ins.
    #[serde(default)]
    pub(crate) scopes: Option<Vec<String>>,
}

/// Where a sign-in stands between two calls.
#[derive(Debug, Clone)]
pub(crate) enum Pending {
    /// NEW_PASSWORD_REQUIRED was issued.
    NewPassword,
    /// An SMS/email code was sent for this challenge (`SMS_MFA` or `EMAIL_OTP`).
    Code { challenge: ChallengeName, code: String },
    /// SOFTWARE_TOKEN_MFA was issued.
    Totp,
    /// SELECT_MFA_TYPE was issued with these options.
    SelectMfa { options: Vec<ChallengeName> },
    /// MFA_SETUP was issued; `verified` once VerifySoftwareToken succeeded with this session.
    MfaSetup { secret: Option<String>, verified: bool },
    /// CUSTOM_CHALLENGE was issued; attempts so far.
    Custom { attempts: u32 },
    /// CUSTOM_CHALLENGE was issued by a CreateAuthChallenge trigger, with what it asked the
    /// server to keep for VerifyAuthChallengeResponse.
    CustomLambda { private: Value, metadata: Option<String> },
    /// DEVICE_SRP_AUTH was issued for this device.
    DeviceSrp { device_key: String },
    /// SELECT_CHALLENGE (choice-based `USER_AUTH`) was issued with these first factors;
    /// `simulated` when the user does not exist (PreventUserExistenceErrors).
    SelectChallenge { options: Vec<ChallengeName>, simulated: bool },
    /// A one-time code was sent as the first factor (`EMAIL_OTP` or `SMS_OTP` of
    /// `USER_AUTH`); `code` is `None` for a simulated challenge, which no answer passes.
    FirstFactorCode { challenge: ChallengeName, code: Option<String>, attempts: u32 },
}

impl Pending {
    /// The challenge an answer must name; `SELECT_CHALLENGE` for a choice (whose first
    /// factors are also answered under their own names).
    pub(crate) fn challenge(&self) -> ChallengeName {
        match self {
            Pending::NewPassword => ChallengeName::NewPasswordRequired,
            Pending::Code { challenge, .. } | Pending::FirstFactorCode { challenge, .. } => {
                *challenge
            }
            Pending::Totp => ChallengeName::SoftwareTokenMfa,
            Pending::SelectMfa { .. } => ChallengeName::SelectMfaType,
            Pending::MfaSetup { .. } => ChallengeName::MfaSetup,
            Pending::Custom { .. } | Pending::CustomLambda { .. } => ChallengeName::CustomChallenge,
            Pending::DeviceSrp { .. } => ChallengeName::DeviceSrpAuth,
            Pending::SelectChallenge { .. } => ChallengeName::SelectChallenge,
        }
    }
}

/// A pending challenge, found by its `Session` value.
#[derive(Debug, Clone)]
pub(crate) struct AuthSession {
    pub(crate) pool_id: String,
    pub(crate) client_id: String,
    pub(crate) username: String,
    pub(crate) expires_at: u64,
    pub(crate) pending: Pending,
    pub(crate) ctx: SignInContext,
}

/// What a sign-in carries from step to step.
#[derive(Debug, Clone)]
pub(crate) struct SignInContext {
    /// The flow InitiateAuth named.
    pub(crate) flow: AuthFlow,
    /// Who started it: admin sign-ins never track devices.
    pub(crate) caller: Caller,
    /// How the first factor is proved (devices are only tracked after SRP).
    pub(crate) first_factor: FirstFactor,
    /// The device the client presented (`DEVICE_KEY`), if the server knows it.
    pub(crate) device_key: Option<String>,
    /// The steps after the first factor that are done, which the next-step decision skips.
    pub(crate) passed: Vec<Passed>,
    /// When the sign-in started (the tokens' `auth_time`).
    pub(crate) started: u64,
    /// The challenges of a trigger-driven CUSTOM_AUTH so far: DefineAuthChallenge's
    /// `request.session`.
    pub(crate) custom_history: Vec<ChallengeResult>,
}

impl SignInContext {
    /// A sign-in that has just begun.
    pub(crate) fn new(flow: AuthFlow, caller: Caller, started: u64) -> Self {
        Self {
            flow,
            caller,
            first_factor: FirstFactor::Unproved,
            device_key: None,
            passed: Vec::new(),
            started,
            custom_history: Vec::new(),
        }
    }

    /// The same sign-in, its first factor proved with `how`.
    pub(crate) fn proved_by(self, how: FirstFactor) -> Self {
        Self { first_factor: how, ..self }
    }

    /// Whether `step` is done.
    pub(crate) fn has_passed(&self, step: Passed) -> bool {
        self.passed.contains(&step)
    }

    /// Records `step` as done.
    pub(crate) fn pass(&mut self, step: Passed) {
        if !self.has_passed(step) {
            self.passed.push(step);
        }
    }

    /// The first factor is proved with SRP.
    pub(crate) fn srp(&self) -> bool {
        self.first_factor == FirstFactor::Srp
    }

    /// Started by AdminInitiateAuth.
    pub(crate) fn admin(&self) -> bool {
        self.caller == Caller::Admin
    }
}

/// Which operation started a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// InitiateAuth (public, the app's client).
    Client,
    /// AdminInitiateAuth (signed, the app's back end).
    Admin,
}

/// How a sign-in proves its first factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FirstFactor {
    /// Not (yet) by a password or code: CUSTOM_AUTH without SRP, or `USER_AUTH` before the
    /// choice.
    Unproved,
    /// The password, sent as is.
    Password,
    /// The password, proved with SRP.
    Srp,
    /// A one-time code sent by email or SMS (`USER_AUTH`).
    Code,
}

/// A step after the first factor that a sign-in has done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Passed {
    /// The custom challenge was answered (CUSTOM_AUTH).
    Custom,
    /// An MFA challenge was answered, or MFA set up (or a one-time code stood for it).
    Mfa,
    /// The device was verified with device SRP (skips MFA for remembered devices).
    Device,
}

/// One element of DefineAuthChallenge's `request.session`.
#[derive(Debug, Clone)]
pub(crate) struct ChallengeResult {
    pub(crate) name: &'static str,
    pub(crate) result: bool,
    pub(crate) metadata: Option<String>,
}

/// A pending SRP exchange, keyed by its `SECRET_BLOCK`.
#[derive(Debug, Clone)]
pub(crate) struct SrpPending {
    pub(crate) pool_id: String,
    pub(crate) client_id: String,
    pub(crate) username: String,
    pub(crate) expires_at: u64,
    pub(crate) a_public: auth_srp::BigUint,
    pub(crate) server: auth_srp::ServerEphemeral,
    /// What the exchange proves.
    pub(crate) proves: SrpProof,
    pub(crate) ctx: SignInContext,
}

/// What an SRP exchange proves, and so how its answer is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SrpProof {
    /// The user's password (`PASSWORD_VERIFIER`), under the sign-in lockout.
    Password,
    /// Nothing: the user does not exist or has no password, and no answer passes.
    Simulated,
    /// A remembered device's secret (`DEVICE_PASSWORD_VERIFIER`); the "pool name" is the
    /// device group key.
    Device { group_key: String, device_key: String },
}

impl SrpPending {
    /// Whose password the exchange proves, for the sign-in lockout.
    pub(crate) fn limit_key(&self) -> crate::limits::UserKey {
        crate::limits::UserKey::new(&self.pool_id, &self.username)
    }
}

impl Pool {
    /// The pool's region (the part of the id before `_`).
    pub(crate) fn region(&self) -> &str {
        self.id.split_once('_').map_or("us-east-1", |(region, _)| region)
    }

    pub(crate) fn string_list(&self, field: &str) -> Vec<String> {
        string_list(&self.settings, field)
    }

    /// Usernames are case-insensitive unless `UsernameConfiguration.CaseSensitive` is true.
    /// (The API default is case-sensitive when the field is absent.)
    pub(crate) fn case_sensitive(&self) -> bool {
        self.settings
            .get("UsernameConfiguration")
            .and_then(|c| c.get("CaseSensitive"))
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    /// The map key of a username.
    pub(crate) fn user_key(&self, username: &str) -> String {
        if self.case_sensitive() { username.to_owned() } else { username.to_lowercase() }
    }

    /// Users sign in with email or phone instead of a username; the internal name is a UUID.
    pub(crate) fn username_attributes(&self) -> Vec<String> {
        self.string_list("UsernameAttributes")
    }

    pub(crate) fn alias_attributes(&self) -> Vec<String> {
        self.string_list("AliasAttributes")
    }

    /// Finds a user by internal username, `sub`, or a sign-in alias (email/phone/
    /// preferred_username as the pool allows). Aliases need a verified value except for
    /// username attributes.
    pub(crate) fn find_user_key(&self, login: &str) -> Option<String> {
        let key = self.user_key(login);
        if self.users.contains_key(&key) {
            return Some(key);
        }
        let username_attrs = self.username_attributes();
        let alias_attrs = self.alias_attributes();
        let lowered = login.to_lowercase();
        self.users.iter().find_map(|(key, user)| {
            if user.sub() == login {
                return Some(key.clone());
            }
            let matches = |attr: &str| {
                user.attribute(attr).is_some_and(|value| {
                    if attr == "email" { value.to_lowercase() == lowered } else { value == login }
                })
            };
            let by_username_attr = username_attrs.iter().any(|attr| matches(attr));
            let by_alias = alias_attrs.iter().any(|attr| {
                matches(attr)
                    && (attr == "preferred_username"
                        || user.attribute_is_true(&format!("{attr}_verified")))
            });
            (by_username_attr || by_alias).then(|| key.clone())
        })
    }

    pub(crate) fn user(&self, login: &str) -> Option<&User> {
        self.find_user_key(login).and_then(|key| self.users.get(&key))
    }

    pub(crate) fn user_mut(&mut self, login: &str) -> Option<&mut User> {
        let key = self.find_user_key(login)?;
        self.users.get_mut(&key)
    }

    /// The issuer of this pool's tokens.
    pub(crate) fn issuer(&self, issuer_base: Option<&str>) -> String {
        match issuer_base {
            Some(base) => format!("{}/{}", base.trim_end_matches('/'), self.id),
            None => format!("https://cognito-idp.{}.amazonaws.com/{}", self.region(), self.id),
        }
    }

    pub(crate) fn arn(&self) -> String {
        format!("arn:aws:cognito-idp:{}:000000000000:userpool/{}", self.region(), self.id)
    }

    pub(crate) fn mfa_configuration(&self) -> &str {
        self.settings.get("MfaConfiguration").and_then(Value::as_str).unwrap_or("OFF")
    }

    /// `Policies.SignInPolicy.AllowedFirstAuthFactors`, `[PASSWORD]` when unset.
    pub(crate) fn first_auth_factors(&self) -> Vec<String> {
        let factors = self
            .settings
            .get("Policies")
            .and_then(|p| p.get("SignInPolicy"))
            .and_then(|p| p.get("AllowedFirstAuthFactors"))
            .and_then(Value::as_array)
            .map(|items| {
                items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if factors.is_empty() { vec!["PASSWORD".to_owned()] } else { factors }
    }

    pub(crate) fn device_tracking(&self) -> Option<(bool, bool)> {
        let config = self.settings.get("DeviceConfiguration")?.as_object()?;
        let flag = |name: &str| config.get(name).and_then(Value::as_bool).unwrap_or(false);
        Some((flag("ChallengeRequiredOnNewDevice"), flag("DeviceOnlyRememberedOnUserPrompt")))
    }
}

impl AppClient {
    pub(crate) fn string_list(&self, field: &str) -> Vec<String> {
        string_list(&self.settings, field)
    }

    /// `ExplicitAuthFlows`, with Cognito's default when absent.
    pub(crate) fn explicit_auth_flows(&self) -> Vec<String> {
        match self.settings.get("ExplicitAuthFlows") {
            Some(Value::Array(_)) => self.string_list("ExplicitAuthFlows"),
            _ => vec![
                "ALLOW_REFRESH_TOKEN_AUTH".into(),
                "ALLOW_USER_SRP_AUTH".into(),
                "ALLOW_CUSTOM_AUTH".into(),
            ],
        }
    }

    /// Whether the client allows a flow; legacy flow names count as their `ALLOW_` forms.
    pub(crate) fn allows(&self, flow: AuthFlow) -> bool {
        let flows = self.explicit_auth_flows();
        let has = |name: &str| flows.iter().any(|f| f == name);
        // Legacy clients (no ALLOW_ values) can always use SRP and refresh.
        let legacy = || !flows.iter().any(|f| f.starts_with("ALLOW_"));
        match flow {
            AuthFlow::UserSrp => has("ALLOW_USER_SRP_AUTH") || legacy(),
            AuthFlow::UserPassword => has("ALLOW_USER_PASSWORD_AUTH") || has("USER_PASSWORD_AUTH"),
            AuthFlow::AdminUserPassword | AuthFlow::AdminNoSrp => {
                has("ALLOW_ADMIN_USER_PASSWORD_AUTH") || has("ADMIN_NO_SRP_AUTH")
            }
            AuthFlow::Custom => has("ALLOW_CUSTOM_AUTH") || has("CUSTOM_AUTH_FLOW_ONLY"),
            // Choice-based sign-in has its own switch; it covers password, SRP and one-time
            // codes inside USER_AUTH without the separate flows being allowed.
            AuthFlow::UserAuth => has("ALLOW_USER_AUTH"),
            AuthFlow::RefreshTokenAuth | AuthFlow::RefreshToken => {
                has("ALLOW_REFRESH_TOKEN_AUTH") || legacy()
            }
        }
    }

    pub(crate) fn prevent_user_existence_errors(&self) -> bool {
        self.settings.get("PreventUserExistenceErrors").and_then(Value::as_str) == Some("ENABLED")
    }

    pub(crate) fn token_revocation_enabled(&self) -> bool {
        self.settings.get("EnableTokenRevocation").and_then(Value::as_bool).unwrap_or(true)
    }

    /// `RefreshTokenRotation`: the grace period in seconds when rotation is enabled.
    pub(crate) fn rotation_grace_seconds(&self) -> Option<u64> {
        let rotation = self.settings.get("RefreshTokenRotation")?;
        (rotation.get("Feature").and_then(Value::as_str) == Some("ENABLED"))
            .then(|| rotation.get("RetryGracePeriodSeconds").and_then(Value::as_u64).unwrap_or(0))
    }

    /// Minutes a challenge `Session` stays valid (`AuthSessionValidity`, default 3).
    pub(crate) fn session_validity_secs(&self) -> u64 {
        self.settings.get("AuthSessionValidity").and_then(Value::as_u64).unwrap_or(3).clamp(3, 15)
            * 60
    }

    fn validity(
        &self,
        field: &str,
        unit_field: &str,
        default_secs: u64,
        default_unit: &str,
    ) -> u64 {
        let Some(amount) = self.settings.get(field).and_then(Value::as_u64).filter(|&v| v > 0)
        else {
            return default_secs;
        };
        let unit = self
            .settings
            .get("TokenValidityUnits")
            .and_then(|u| u.get(unit_field))
            .and_then(Value::as_str)
            .unwrap_or(default_unit);
        amount.saturating_mul(unit_seconds(unit))
    }

    /// Access, ID and refresh token lifetimes in seconds.
    pub(crate) fn lifetimes(&self) -> (u64, u64, u64) {
        let o = self.lifetime_override;
        (
            o.access_token_seconds.unwrap_or_else(|| {
                self.validity("AccessTokenValidity", "AccessToken", 3600, "hours")
            }),
            o.id_token_seconds
                .unwrap_or_else(|| self.validity("IdTokenValidity", "IdToken", 3600, "hours")),
            o.refresh_token_seconds.unwrap_or_else(|| {
                self.validity("RefreshTokenValidity", "RefreshToken", 30 * 86400, "days")
            }),
        )
    }
}

fn unit_seconds(unit: &str) -> u64 {
    match unit {
        "seconds" => 1,
        "minutes" => 60,
        "hours" => 3600,
        _ => 86400,
    }
}

pub(crate) fn string_list(settings: &Object, field: &str) -> Vec<String> {
    settings
        .get(field)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

impl State {
    pub(crate) fn pool(&self, id: &str) -> Result<&Pool, CognitoError> {
        self.pools.get(id).ok_or_else(|| pool_not_found(id))
    }

    /// A refresh token's record and sealed claims, if this server issued it to a user who
    /// still exists (the same user: same `sub`).
    pub(crate) fn refresh_record(
        &self,
        token: &str,
    ) -> Option<(RefreshRecord, crate::token_book::RefreshClaims)> {
        let (record, claims) = self.tokens.refresh_record(token)?;
        let pool = self.pools.get(&claims.pool_id)?;
        let user = pool.users.get(&pool.user_key(&claims.username))?;
        (user.sub() == claims.sub).then_some((record, claims))
    }

    pub(crate) fn pool_mut(&mut self, id: &str) -> Result<&mut Pool, CognitoError> {
        self.pools.get_mut(id).ok_or_else(|| pool_not_found(id))
    }

    /// The pool and client of a public (client-id authorised) call.
    pub(crate) fn client(&self, client_id: &str) -> Result<(&Pool, &AppClient), CognitoError> {
        let not_found = || {
            CognitoError::resource_not_found(format!(
                "User pool client {client_id} does not exist."
            ))
        };
        let pool_id = self.client_index.get(client_id).ok_or_else(not_found)?;
        let pool = self.pools.get(pool_id).ok_or_else(not_found)?;
        let client = pool.clients.get(client_id).ok_or_else(not_found)?;
        Ok((pool, client))
    }
}

pub(crate) fn pool_not_found(id: &str) -> CognitoError {
    CognitoError::resource_not_found(format!("User pool {id} does not exist."))
}

pub(crate) fn user_not_found() -> CognitoError {
    CognitoError::user_not_found("User does not exist.")
}
