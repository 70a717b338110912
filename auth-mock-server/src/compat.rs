//! Compatibility endpoints for test suites written for other local AWS servers, so that they
//! switch to this one with only the endpoint changed:
//!
//! - `POST /moto-api/reset`: moto's server mode resets its state here between tests; it does
//!   what `POST /_mock/reset` does.
//! - `GET /_aws/ses` (`?email=`, `?id=`): LocalStack's list of the emails it "sent",
//!   `{"messages": [{"Id", "Region", "Destination": {"ToAddresses"}, "Source", "Subject",
//!   "Body": {"text_part", "html_part"}, "Timestamp"}]}`.
//! - `GET /_aws/sns/sms-messages` (`?phoneNumber=`): LocalStack's text messages,
//!   `{"region", "sms_messages": {"<phone number>": [{"PhoneNumber", "Message", ...}]}}`.
//!
//! The messages are the codes the server holds for its users (what `GET /_mock/codes` reads):
//! each code a user has not used yet (sign-up, password reset, MFA, sign-in and attribute
//! codes) and the last code or temporary password delivered, worded with the pool's message
//! templates or Cognito's defaults. A code that was used and then replaced by another purpose's
//! code is no longer listed.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::Shared;
use crate::sign_in::ChallengeName;
use crate::state::{Pool, User};

/// The sender Cognito uses when a pool has no `EmailConfiguration.From`.
const DEFAULT_SENDER: &str = "no-reply@verificationemail.com";

/// The routes of the compatibility endpoints.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/moto-api/reset", post(moto_reset))
        .route("/_aws/ses", get(ses_messages))
        .route("/_aws/sns/sms-messages", get(sms_messages))
}

async fn moto_reset(State(shared): State<Arc<Shared>>) -> Response<Body> {
    shared.reset();
    crate::wire::ok(json!({}))
}

/// How a code reached its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Medium {
    Email,
    Sms,
}

/// One message the server "sent".
#[derive(Debug)]
struct Message {
    id: String,
    region: String,
    medium: Medium,
    source: String,
    destination: String,
    subject: String,
    text: String,
    /// Seconds since the epoch on the server clock.
    sent_at: f64,
}

/// What a code was for, and the facts its message depends on.
struct Purpose<'a> {
    name: &'a str,
    /// How long Cognito keeps a code of this purpose (to date it from its expiry).
    lifetime_seconds: u64,
}

impl Purpose<'_> {
    fn of(name: &str) -> Purpose<'_> {
        let lifetime_seconds = match name {
            "forgot_password" => 3_600,
            "mfa" | "otp" => 180,
            _ => 86_400,
        };
        Purpose { name, lifetime_seconds }
    }
}

/// Every message the server holds, oldest first.
fn messages(shared: &Shared) -> Vec<Message> {
    let state = shared.state.read();
    let mut out = Vec::new();
    for pool in state.pools.values() {
        for user in pool.users.values() {
            for (purpose, code) in &user.codes {
                let purpose = Purpose::of(purpose);
                let sent_at = code.expires_at.saturating_sub(purpose.lifetime_seconds) as f64;
                out.extend(message(pool, user, &purpose, &code.code, sent_at));
            }
            if let Some((purpose, code)) = &user.last_code {
                let pending = user.codes.get(purpose).is_some_and(|c| &c.code == code);
                if !pending {
                    out.extend(message(pool, user, &Purpose::of(purpose), code, user.modified));
                }
            }
        }
    }
    out.sort_by(|a, b| a.sent_at.total_cmp(&b.sent_at).then_with(|| a.id.cmp(&b.id)));
    out
}

/// The message that carried `code`, or `None` when the user has nowhere to receive it.
fn message(
    pool: &Pool,
    user: &User,
    purpose: &Purpose<'_>,
    code: &str,
    sent_at: f64,
) -> Option<Message> {
    let medium = medium(pool, user, purpose.name)?;
    let destination = match medium {
        Medium::Email => user.attribute("email")?,
        Medium::Sms => user.attribute("phone_number")?,
    };
    let (subject, template) = wording(pool, purpose.name, medium);
    let text = template.replace("{####}", code).replace("{username}", &user.username);
    let digest = Sha256::digest(
        [pool.id.as_str(), &user.username, purpose.name, code].join("\u{0}").as_bytes(),
    );
    Some(Message {
        id: data_encoding::HEXLOWER.encode(&digest[..16]),
        region: pool.id.split_once('_').map_or("us-east-1", |(region, _)| region).to_owned(),
        medium,
        source: setting(pool, &["EmailConfiguration", "From"]).unwrap_or(DEFAULT_SENDER).to_owned(),
        destination: destination.to_owned(),
        subject,
        text,
        sent_at,
    })
}

/// Where a code of `purpose` went: the attribute being verified, the MFA method the user
/// uses, or the pool's verified channel (email first, as the operations deliver).
fn medium(pool: &Pool, user: &User, purpose: &str) -> Option<Medium> {
    let has = |attribute: &str| user.attribute(attribute).is_some();
    let by_preference = |sms_first: bool| match (has("email"), has("phone_number")) {
        (true, true) => Some(if sms_first { Medium::Sms } else { Medium::Email }),
        (true, false) => Some(Medium::Email),
        (false, true) => Some(Medium::Sms),
        (false, false) => None,
    };
    match purpose {
        "attribute:email" => has("email").then_some(Medium::Email),
        "attribute:phone_number" => has("phone_number").then_some(Medium::Sms),
        "mfa" | "otp" => {
            let sms = user.mfa.preferred.as_deref() == Some(ChallengeName::SmsMfa.as_str())
                || (user.mfa.sms && !user.mfa.email);
            by_preference(sms)
        }
        "signup" => {
            let auto = pool.settings.get("AutoVerifiedAttributes").and_then(Value::as_array);
            let email = auto.is_some_and(|list| list.iter().any(|a| a == "email"));
            by_preference(!email)
        }
        _ => by_preference(false),
    }
}

/// A pool setting at a JSON path, when it is a string.
fn setting<'a>(pool: &'a Pool, path: &[&str]) -> Option<&'a str> {
    let (first, rest) = path.split_first()?;
    let mut value = pool.settings.get(*first)?;
    for key in rest {
        value = value.get(key)?;
    }
    value.as_str()
}

/// The subject and the body template (with `{####}` and `{username}`) of a message: the
/// pool's own templates where it has them, Cognito's default wording otherwise.
fn wording(pool: &Pool, purpose: &str, medium: Medium) -> (String, String) {
    let pick = |paths: &[&[&str]], default: &str| {
        paths.iter().find_map(|path| setting(pool, path)).unwrap_or(default).to_owned()
    };
    let invitation = purpose == "temporary_password";
    let sign_in = matches!(purpose, "mfa" | "otp");
    let subject = if invitation {
        pick(
            &[&["AdminCreateUserConfig", "InviteMessageTemplate", "EmailSubject"]],
            "Your temporary password",
        )
    } else if sign_in {
        "Your authentication code".to_owned()
    } else {
        pick(
            &[&["VerificationMessageTemplate", "EmailSubject"], &["EmailVerificationSubject"]],
            "Your verification code",
        )
    };
    let body = match (invitation, sign_in, medium) {
        (true, _, Medium::Email) => pick(
            &[&["AdminCreateUserConfig", "InviteMessageTemplate", "EmailMessage"]],
            "Your username is {username} and temporary password is {####}.",
        ),
        (true, _, Medium::Sms) => pick(
            &[&["AdminCreateUserConfig", "InviteMessageTemplate", "SMSMessage"]],
            "Your username is {username} and temporary password is {####}.",
        ),
        (false, true, Medium::Sms) => {
            pick(&[&["SmsAuthenticationMessage"]], "Your authentication code is {####}.")
        }
        (false, true, Medium::Email) => "Your authentication code is {####}.".to_owned(),
        (false, false, Medium::Email) => pick(
            &[&["VerificationMessageTemplate", "EmailMessage"], &["EmailVerificationMessage"]],
            "Your verification code is {####}.",
        ),
        (false, false, Medium::Sms) => pick(
            &[&["VerificationMessageTemplate", "SmsMessage"], &["SmsVerificationMessage"]],
            "Your verification code is {####}.",
        ),
    };
    (subject, body)
}

/// RFC 3339 time of a server-clock timestamp.
fn timestamp(seconds: f64) -> String {
    let nanos = (seconds * 1e9) as i128;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

#[derive(Debug, Deserialize)]
struct SesQuery {
    /// A sender or recipient address (LocalStack filters by sender; suites written for this
    /// server usually know the recipient).
    email: Option<String>,
    id: Option<String>,
}

async fn ses_messages(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<SesQuery>,
) -> Response<Body> {
    let wanted = |m: &Message| {
        m.medium == Medium::Email
            && query.email.as_deref().is_none_or(|e| {
                e.eq_ignore_ascii_case(&m.destination) || e.eq_ignore_ascii_case(&m.source)
            })
            && query.id.as_deref().is_none_or(|id| id == m.id)
    };
    let list: Vec<Value> = messages(&shared)
        .into_iter()
        .filter(wanted)
        .map(|m| {
            json!({
                "Id": m.id,
                "Region": m.region,
                "Destination": { "ToAddresses": [m.destination] },
                "Source": m.source,
                "Subject": m.subject,
                "Body": { "text_part": m.text, "html_part": null },
                "Timestamp": timestamp(m.sent_at),
            })
        })
        .collect();
    crate::wire::ok(json!({ "messages": list }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SmsQuery {
    phone_number: Option<String>,
}

async fn sms_messages(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<SmsQuery>,
) -> Response<Body> {
    let mut by_number: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for m in messages(&shared) {
        if m.medium != Medium::Sms
            || query.phone_number.as_deref().is_some_and(|p| p != m.destination)
        {
            continue;
        }
        by_number.entry(m.destination.clone()).or_default().push(json!({
            "PhoneNumber": m.destination,
            "Message": m.text,
            "MessageAttributes": {},
            "MessageStructure": null,
            "Subject": null,
            "MessageId": m.id,
            "TopicArn": null,
            "SubscriptionArn": null,
            "Timestamp": timestamp(m.sent_at),
        }));
    }
    crate::wire::ok(json!({ "region": shared.config.region, "sms_messages": by_number }))
}
