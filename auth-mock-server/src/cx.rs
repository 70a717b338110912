//! The context every AWS-JSON operation handler gets, whichever service it belongs to.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::wire::{OpResult, RequestMeta, Table};

/// What every handler gets.
pub(crate) struct Cx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) meta: &'a RequestMeta,
    /// The request body, for the few members read by more than one step (`ClientMetadata`).
    pub(crate) body: &'a [u8],
}

/// An operation handler: the context and the raw body, which the table's line parses into
/// the operation's request type.
pub(crate) type Handler = fn(&Cx<'_>, &[u8]) -> OpResult;

/// Runs the operation `name` of `table`: looks it up, checks its signing requirement, and
/// calls its handler.
pub(crate) fn run(
    table: &Table<Handler>,
    shared: &Shared,
    name: &str,
    meta: &RequestMeta,
    body: &[u8],
) -> OpResult {
    let handler = table.authorize(name, meta, shared.config.require_signature)?;
    handler(&Cx { shared, meta, body }, body)
}

impl Cx<'_> {
    pub(crate) fn now(&self) -> u64 {
        self.shared.clock.now_secs()
    }

    /// Milliseconds on the server clock (attempt limits).
    pub(crate) fn now_millis(&self) -> u64 {
        self.shared.clock.now_millis()
    }

    pub(crate) fn now_f64(&self) -> f64 {
        self.shared.clock.now_f64()
    }

    /// The request's `ClientMetadata`, as Lambda triggers receive it (`request.clientMetadata`);
    /// `{}` when absent. Read lazily: only requests that run a trigger need it.
    pub(crate) fn client_metadata(&self) -> Value {
        #[derive(Deserialize)]
        struct WithMetadata {
            #[serde(rename = "ClientMetadata")]
            client_metadata: Option<BTreeMap<String, String>>,
        }
        serde_json::from_slice::<WithMetadata>(self.body)
            .ok()
            .and_then(|m| m.client_metadata)
            .map_or_else(|| json!({}), |m| json!(m))
    }
}
