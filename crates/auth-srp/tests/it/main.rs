//! Integration tests of auth-srp: the reference vector, pycognito's vectors and client/server
//! round trips.

mod reference;
mod roundtrip;
mod vectors;
