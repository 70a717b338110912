//! The one integration-test binary of auth-cognito.

mod account;
#[cfg(feature = "aws-sdk")]
mod credentials;
mod developer_identity;
mod device_store;
#[cfg(feature = "drop-in")]
mod drop_in;
mod example;
mod federated;
#[cfg(feature = "file-device-store")]
mod file_devices;
mod hosted_ui;
mod identity_pool;
mod jwt;
mod layer;
mod mock;
mod model;
mod oauth;
mod offline;
mod support;
mod traces;
mod transport;
mod wire;
