//! Integration tests of auth-connectivity (one binary, as in every crate of the workspace).

mod mock;
mod prober;
