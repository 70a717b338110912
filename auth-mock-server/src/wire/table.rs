//! Operation tables: each AWS-JSON service declares every operation once, with its name, how
//! it is authorised, whether it changes state, and its handler. The operation list, the
//! signature check, the read/write nature and the dispatch all come from that one line.

use super::{CognitoError, OpResult, RequestMeta};

/// How an operation is authorised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// Sent without SigV4 (`authtype: none`); authorised by fields in the body.
    Public,
    /// SigV4-signed with IAM credentials.
    Signed,
}

/// Whether an operation changes the server's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// Reads only: runs inline on the async workers and does not mark the state changed.
    Read,
    /// Changes state (creates, updates, deletes, or issues codes, tokens or credentials).
    Write,
}

/// One operation, as its service's table declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    name: &'static str,
    auth: Auth,
    access: Access,
}

impl Operation {
    /// An operation named `name` (as in `X-Amz-Target`, without the service prefix).
    pub(crate) const fn new(name: &'static str, auth: Auth, access: Access) -> Self {
        Self { name, auth, access }
    }

    /// The operation's name, e.g. `InitiateAuth`.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Whether the operation needs a SigV4-signed request.
    pub const fn auth(&self) -> Auth {
        self.auth
    }

    /// Whether the operation changes state.
    pub const fn access(&self) -> Access {
        self.access
    }
}

/// A service's table: its `X-Amz-Target` prefix, and every operation with its handler (`H`,
/// a function pointer taking the service's context), in the same order. Built by
/// [`operation_table!`].
#[derive(Debug)]
pub(crate) struct Table<H: 'static> {
    /// `AWSCognitoIdentityProviderService.` and the like.
    pub(crate) target_prefix: &'static str,
    /// Every operation, sorted by name.
    pub(crate) operations: &'static [Operation],
    /// `handlers[i]` runs `operations[i]`.
    pub(crate) handlers: &'static [H],
}

impl<H> Table<H> {
    /// The operation called `name`, with its handler.
    pub(crate) fn get(&self, name: &str) -> Option<(&'static Operation, &'static H)> {
        let index = self.operations.iter().position(|operation| operation.name == name)?;
        Some((&self.operations[index], &self.handlers[index]))
    }

    /// The handler of `name`, after checking that the service has it and, when it must be
    /// signed, that the request was (unless the server was told not to require signatures).
    pub(crate) fn authorize(
        &self,
        name: &str,
        meta: &RequestMeta,
        require_signature: bool,
    ) -> OpResult<&'static H> {
        let Some((operation, handler)) = self.get(name) else {
            return Err(CognitoError::unknown_operation(format!(
                "The operation {name} is not supported by auth-mock-server."
            )));
        };
        if operation.auth == Auth::Signed && require_signature && !meta.signed {
            return Err(CognitoError::new(
                "MissingAuthenticationTokenException",
                format!("{name} must be signed with AWS Signature Version 4 (IAM credentials)."),
            ));
        }
        Ok(handler)
    }
}

/// Declares a service's [`Table`]: one line per operation, `Name: Auth, Access => handler;`,
/// where `handler(cx, request)` takes the service's context and the parsed request body.
macro_rules! operation_table {
    (
        prefix: $prefix:expr,
        handler: $handler:ty,
        operations: { $($name:ident: $auth:ident, $access:ident => $run:path;)* }
    ) => {
        $crate::wire::Table::<$handler> {
            target_prefix: $prefix,
            operations: &[$(
                $crate::wire::Operation::new(
                    stringify!($name),
                    $crate::wire::Auth::$auth,
                    $crate::wire::Access::$access,
                ),
            )*],
            handlers: &[$(|cx, body| $run(cx, $crate::wire::parse(body)?),)*],
        }
    };
}
pub(crate) use operation_table;

#[cfg(test)]
mod tests {
    use super::*;

    fn echo(_: &(), request: serde_json::Value) -> OpResult {
        Ok(request)
    }

    const TABLE: Table<fn(&(), &[u8]) -> OpResult> = operation_table! {
        prefix: "Test.",
        handler: fn(&(), &[u8]) -> OpResult,
        operations: {
            Echo: Public, Read => echo;
            SignedEcho: Signed, Write => echo;
        }
    };

    #[test]
    fn a_table_finds_checks_and_runs_its_operations() {
        let unsigned = RequestMeta::default();
        let run = TABLE.authorize("Echo", &unsigned, true).expect("public operation");
        assert_eq!(run(&(), br#"{"a":1}"#).expect("runs"), serde_json::json!({"a": 1}));
        let error = TABLE.authorize("SignedEcho", &unsigned, true).expect_err("must be signed");
        assert_eq!(error.kind(), "MissingAuthenticationTokenException");
        assert!(TABLE.authorize("SignedEcho", &unsigned, false).is_ok());
        assert!(TABLE.authorize("SignedEcho", &RequestMeta::internal(), true).is_ok());
        let error = TABLE.authorize("Nope", &unsigned, false).expect_err("unknown");
        assert_eq!(error.kind(), "UnknownOperationException");
        assert_eq!(TABLE.get("SignedEcho").map(|(op, _)| op.access()), Some(Access::Write));
    }
}
