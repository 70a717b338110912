//! Remembered devices: what the client keeps so that a later sign-in on the same device
//! can prove it with DEVICE_SRP_AUTH and skip MFA.
//!
//! The device secret must outlive the user's session: a user who signs out and back in on
//! the same device is exactly the case device tracking is for. auth-core's token store is
//! cleared at sign-out, so remembered devices live in a [`DeviceStore`] of their own, keyed
//! by username. The device key is also kept in the session
//! ([`UserPoolSession::device_key`](auth_core::UserPoolSession::device_key)), because a
//! refresh of a tracked device's tokens must send it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::SecretString;
use auth_core::jwt::time_from_epoch_seconds;
use serde::{Deserialize, Serialize};

use super::wire::DeviceType;

/// A device Cognito knows, with the secret that proves it (the "password" of device SRP).
/// Its `Debug` output redacts the secret (a [`SecretString`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RememberedDevice {
    /// The device key, `<region>_<uuid>`. Not secret.
    pub device_key: String,
    /// The device group key (the pool name of device SRP). Not secret.
    pub device_group_key: String,
    /// The device secret generated at ConfirmDevice.
    pub device_secret: SecretString,
}

impl RememberedDevice {
    /// Bundles a device's keys and secret.
    pub fn new(
        device_key: impl Into<String>,
        device_group_key: impl Into<String>,
        device_secret: SecretString,
    ) -> Self {
        Self {
            device_key: device_key.into(),
            device_group_key: device_group_key.into(),
            device_secret,
        }
    }
}

/// Where remembered devices are kept, per username. [`MemoryDeviceStore`] forgets them when
/// the process ends; `FileDeviceStore` (feature `file-device-store`) keeps them in a file
/// across restarts; implement it over the OS keyring or a database for anything else.
///
/// Errors are strings: a store failure never stops a sign-in (the device is then simply
/// not used or not remembered), it is only logged.
#[async_trait]
pub trait DeviceStore: fmt::Debug + Send + Sync + 'static {
    /// The device remembered for `username`, if any.
    async fn get(&self, username: &str) -> Result<Option<RememberedDevice>, String>;

    /// Remembers `device` for `username`, replacing any previous one.
    async fn put(&self, username: &str, device: &RememberedDevice) -> Result<(), String>;

    /// Forgets the device of `username`.
    async fn remove(&self, username: &str) -> Result<(), String>;
}

/// A [`DeviceStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryDeviceStore {
    devices: Mutex<HashMap<String, RememberedDevice>>,
}

impl MemoryDeviceStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl DeviceStore for MemoryDeviceStore {
    async fn get(&self, username: &str) -> Result<Option<RememberedDevice>, String> {
        Ok(self.devices.lock().unwrap_or_else(PoisonError::into_inner).get(username).cloned())
    }

    async fn put(&self, username: &str, device: &RememberedDevice) -> Result<(), String> {
        self.devices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(username.to_owned(), device.clone());
        Ok(())
    }

    async fn remove(&self, username: &str) -> Result<(), String> {
        self.devices.lock().unwrap_or_else(PoisonError::into_inner).remove(username);
        Ok(())
    }
}

/// What the client does with the `NewDeviceMetadata` of a sign-in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceTracking {
    /// Ignore it: no ConfirmDevice, no device sign-in.
    Off,
    /// Confirm the device (ConfirmDevice) and keep its secret, like amazon-cognito-identity-js.
    /// In pools set to remember devices always, it is then remembered and later sign-ins
    /// skip MFA; in pools that remember devices "on user prompt" it stays "not remembered"
    /// until the app calls [`remember_device`](crate::CognitoUserPool::remember_device).
    #[default]
    Confirm,
    /// Confirm the device and, in pools that ask for the user's consent, mark it
    /// remembered at once (UpdateDeviceStatus), as if the user always said yes.
    ConfirmAndRemember,
}

/// A device as ListDevices and GetDevice report it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Device {
    /// The device key.
    pub key: String,
    /// The device's attributes (`device_name`, `device_status`, `last_ip_used`, ...).
    pub attributes: std::collections::BTreeMap<String, String>,
    /// When Cognito first saw the device.
    pub created: Option<SystemTime>,
    /// When the device record last changed.
    pub last_modified: Option<SystemTime>,
    /// When the device last signed in.
    pub last_authenticated: Option<SystemTime>,
}

impl Device {
    /// The `device_name` attribute.
    pub fn name(&self) -> Option<&str> {
        self.attributes.get("device_name").map(String::as_str)
    }

    /// Whether the device is remembered (signs in without MFA), from the
    /// `dev:device_remembered_status` attribute; `None` if Cognito did not report it.
    pub fn is_remembered(&self) -> Option<bool> {
        self.attributes.get("dev:device_remembered_status").map(|s| s == "remembered")
    }
}

impl From<DeviceType> for Device {
    fn from(device: DeviceType) -> Self {
        Self {
            key: device.device_key.unwrap_or_default(),
            attributes: device
                .device_attributes
                .into_iter()
                .map(|a| (a.name, a.value.unwrap_or_default()))
                .collect(),
            created: device.device_create_date.and_then(time_from_epoch_seconds),
            last_modified: device.device_last_modified_date.and_then(time_from_epoch_seconds),
            last_authenticated: device
                .device_last_authenticated_date
                .and_then(time_from_epoch_seconds),
        }
    }
}

/// One page of ListDevices.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DevicePage {
    /// The devices on this page.
    pub devices: Vec<Device>,
    /// Pass this to get the next page; `None` on the last one.
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[tokio::test]
    async fn memory_store_round_trip_and_redaction() {
        let store = MemoryDeviceStore::new();
        assert_eq!(store.get("alice").await.unwrap(), None);
        let device = RememberedDevice::new("us-east-1_abc", "grp", SecretString::new("s3cret"));
        store.put("alice", &device).await.unwrap();
        assert_eq!(store.get("alice").await.unwrap(), Some(device.clone()));
        let printed = format!("{device:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        store.remove("alice").await.unwrap();
        assert_eq!(store.get("alice").await.unwrap(), None);
    }

    #[test]
    fn device_from_wire() {
        let json = serde_json::json!({
            "DeviceKey": "us-east-1_d",
            "DeviceAttributes": [{"Name": "device_name", "Value": "laptop"},
                                 {"Name": "dev:device_remembered_status", "Value": "remembered"}],
            "DeviceCreateDate": 1_700_000_000.5,
        });
        let device: Device = serde_json::from_value::<DeviceType>(json).unwrap().into();
        assert_eq!(device.key, "us-east-1_d");
        assert_eq!(device.name(), Some("laptop"));
        assert_eq!(device.is_remembered(), Some(true));
        assert_eq!(device.created, Some(UNIX_EPOCH + Duration::from_secs_f64(1_700_000_000.5)));
        assert_eq!(device.last_authenticated, None);
    }
}
