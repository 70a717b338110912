//! The one integration-test binary of auth-cognito.

mod example;
mod jwt;
mod mock;
mod support;
mod transport;
mod wire;
