//! Device tracking: ConfirmDevice, ListDevices, GetDevice, ForgetDevice, UpdateDeviceStatus
//! and their admin forms.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{token_owner, username_member};
use crate::cx::Cx;
use crate::state::{Device, State, User};
use crate::wire::{CognitoError, OpResult};
use crate::wire::{empty, paginate, required, with_next_token};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeviceRequest {
    access_token: Option<String>,
    device_key: Option<String>,
    device_secret_verifier_config: Option<VerifierConfig>,
    device_name: Option<String>,
    device_remembered_status: Option<String>,
    limit: Option<i64>,
    pagination_token: Option<String>,
    user_pool_id: Option<String>,
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct VerifierConfig {
    password_verifier: Option<String>,
    salt: Option<String>,
}

fn device_not_found() -> CognitoError {
    CognitoError::resource_not_found("Device does not exist.")
}

fn device_type(device: &Device) -> Value {
    let mut attributes = vec![
        json!({ "Name": "device_status", "Value": "valid" }),
        json!({
            "Name": "dev:device_remembered_status",
            "Value": if device.remembered { "remembered" } else { "not_remembered" },
        }),
        json!({ "Name": "last_ip_used", "Value": "127.0.0.1" }),
    ];
    if let Some(name) = &device.name {
        attributes.push(json!({ "Name": "device_name", "Value": name }));
    }
    json!({
        "DeviceKey": device.key,
        "DeviceAttributes": attributes,
        "DeviceCreateDate": device.created,
        "DeviceLastModifiedDate": device.modified,
        "DeviceLastAuthenticatedDate": device.last_authenticated,
    })
}

/// The user behind an access token (public forms) or UserPoolId + Username (admin forms).
fn user_mut<'a>(
    cx: &Cx<'_>,
    state: &'a mut State,
    request: &DeviceRequest,
    admin: bool,
) -> OpResult<&'a mut User> {
    if admin {
        let pool_id = required(&request.user_pool_id, "UserPoolId")?;
        let login = username_member(&request.username, "Username")?;
        return state.pool_mut(pool_id)?.user_mut(login).ok_or_else(crate::state::user_not_found);
    }
    let owner = token_owner(cx, state, request.access_token.as_deref())?;
    let pool = state.pool_mut(&owner.pool_id)?;
    let key = pool.user_key(&owner.username);
    pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)
}

pub(crate) fn confirm_device(cx: &Cx<'_>, request: DeviceRequest) -> OpResult {
    let device_key = required(&request.device_key, "DeviceKey")?.to_owned();
    if request.device_name.as_deref().is_some_and(|n| n.is_empty() || n.chars().count() > 1024) {
        return Err(CognitoError::invalid_parameter(
            "DeviceName must be 1 to 1024 characters long.",
        ));
    }
    let (salt, verifier) = match &request.device_secret_verifier_config {
        Some(config) => {
            let decode = |field: &'static str, value: &Option<String>| -> OpResult<Vec<u8>> {
                let value = value.as_deref().ok_or_else(|| CognitoError::missing(field))?;
                auth_srp::decode_base64_lenient(field, value).map_err(|_| {
                    CognitoError::invalid_parameter(format!("{field} is not valid base64."))
                })
            };
            (decode("Salt", &config.salt)?, decode("PasswordVerifier", &config.password_verifier)?)
        }
        None => return Err(CognitoError::missing("DeviceSecretVerifierConfig")),
    };
    if salt.is_empty() || verifier.is_empty() {
        return Err(CognitoError::invalid_parameter(
            "DeviceSecretVerifierConfig values must not be empty.",
        ));
    }
    let now = cx.now_f64();
    let mut state = cx.shared.state.write();
    let owner = token_owner(cx, &state, request.access_token.as_deref())?;
    let pool = state.pool_mut(&owner.pool_id)?;
    let on_prompt = pool.device_tracking().is_some_and(|(_, on_prompt)| on_prompt);
    let key = pool.user_key(&owner.username);
    let user = pool.users.get_mut(&key).ok_or_else(crate::state::user_not_found)?;
    let device = user.devices.get_mut(&device_key).ok_or_else(device_not_found)?;
    device.srp_salt = Some(hex(&salt));
    device.srp_verifier = Some(hex(&verifier));
    device.name = request.device_name.clone().or(device.name.take());
    device.remembered = !on_prompt;
    device.modified = now;
    Ok(json!({ "UserConfirmationNecessary": on_prompt }))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn list(cx: &Cx<'_>, request: DeviceRequest, admin: bool) -> OpResult {
    if request.limit.is_some_and(|l| !(0..=60).contains(&l)) {
        return Err(CognitoError::invalid_parameter("Limit must be between 0 and 60."));
    }
    let mut state = cx.shared.state.write();
    let user = user_mut(cx, &mut state, &request, admin)?;
    let devices: Vec<Value> =
        user.devices.values().filter(|d| d.srp_verifier.is_some()).map(device_type).collect();
    let (page, next) = paginate(&devices, request.limit, request.pagination_token.as_deref(), 60)?;
    with_next_token(json!({ "Devices": page }), "PaginationToken", next)
}

fn get(cx: &Cx<'_>, request: DeviceRequest, admin: bool) -> OpResult {
    let device_key = required(&request.device_key, "DeviceKey")?.to_owned();
    let mut state = cx.shared.state.write();
    let user = user_mut(cx, &mut state, &request, admin)?;
    let device = user.devices.get(&device_key).ok_or_else(device_not_found)?;
    Ok(json!({ "Device": device_type(device) }))
}

fn forget(cx: &Cx<'_>, request: DeviceRequest, admin: bool) -> OpResult {
    let device_key = required(&request.device_key, "DeviceKey")?.to_owned();
    let mut state = cx.shared.state.write();
    let user = user_mut(cx, &mut state, &request, admin)?;
    user.devices.remove(&device_key).ok_or_else(device_not_found)?;
    empty()
}

fn update_status(cx: &Cx<'_>, request: DeviceRequest, admin: bool) -> OpResult {
    let device_key = required(&request.device_key, "DeviceKey")?.to_owned();
    let remembered = match request.device_remembered_status.as_deref() {
        Some("remembered") => true,
        Some("not_remembered") | None => false,
        Some(other) => {
            return Err(CognitoError::invalid_parameter(format!(
                "1 validation error detected: Value '{other}' at 'deviceRememberedStatus' failed to satisfy constraint: Member must satisfy enum value set: [remembered, not_remembered]"
            )));
        }
    };
    let now = cx.now_f64();
    let mut state = cx.shared.state.write();
    let user = user_mut(cx, &mut state, &request, admin)?;
    let device = user.devices.get_mut(&device_key).ok_or_else(device_not_found)?;
    device.remembered = remembered;
    device.modified = now;
    empty()
}

/// Each of these operations comes twice: on the caller's own devices (found by access token)
/// and the admin one (by pool and username), which differ only in how the user is found.
macro_rules! own_and_admin {
    ($($op:ident: $own:ident, $admin:ident;)*) => {$(
        pub(crate) fn $own(cx: &Cx<'_>, request: DeviceRequest) -> OpResult {
            $op(cx, request, false)
        }

        pub(crate) fn $admin(cx: &Cx<'_>, request: DeviceRequest) -> OpResult {
            $op(cx, request, true)
        }
    )*};
}

own_and_admin! {
    list: list_devices, admin_list_devices;
    get: get_device, admin_get_device;
    forget: forget_device, admin_forget_device;
    update_status: update_device_status, admin_update_device_status;
}
