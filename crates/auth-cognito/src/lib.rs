//! Amazon Cognito implementations of auth-core's traits: User Pools sign-in (SRP, password, challenges, refresh), account operations, Identity Pools credentials and JWT verification.
//!
//! This crate is being built; see the project issues for its scope.
