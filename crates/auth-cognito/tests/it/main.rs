//! The one integration-test binary of auth-cognito.

mod example;
mod identity_pool;
mod jwt;
mod mock;
mod support;
mod transport;
mod wire;
