//! The one integration-test binary of auth-cognito.

#[cfg(feature = "aws-sdk")]
mod credentials;
#[cfg(feature = "drop-in")]
mod drop_in;
mod example;
#[cfg(feature = "file-device-store")]
mod file_devices;
mod identity_pool;
mod jwt;
mod mock;
mod model;
mod oauth;
mod support;
mod traces;
mod transport;
mod wire;
