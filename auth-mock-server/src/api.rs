//! The AWS-JSON endpoint (`POST /`): finds the service by the `X-Amz-Target` prefix and the
//! operation in that service's table, reads the body, and runs the handler where it belongs.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;

use crate::Shared;
use crate::cx::{Handler, run};
use crate::wire::{
    AMZ_JSON, Access, BodyError, CognitoError, MAX_BODY, Operation, RequestMeta, Table,
    json_response, read_body, target_header,
};

/// A service reached through `POST /`.
pub(crate) struct JsonService {
    pub(crate) table: &'static Table<Handler>,
    /// Whether its state-changing operations may wait for a Lambda-trigger webhook, which a
    /// test may serve on this very (current-thread) runtime, and so run on a blocking thread.
    blocking_writes: bool,
}

/// Every AWS-JSON service this server offers.
pub(crate) static SERVICES: [JsonService; 2] = [
    JsonService { table: &crate::ops::USER_POOL_API, blocking_writes: true },
    JsonService { table: &crate::identity::IDENTITY_POOL_API, blocking_writes: false },
];

/// The service and the operation name an `X-Amz-Target` value names (the operation may be
/// unknown to the service).
pub(crate) fn resolve(target: &str) -> Option<(&'static JsonService, &str)> {
    SERVICES.iter().find_map(|service| {
        target.strip_prefix(service.table.target_prefix).map(|operation| (service, operation))
    })
}

/// The operation an `X-Amz-Target` value names, when a service has it.
pub(crate) fn known_operation(target: &str) -> Option<&'static Operation> {
    let (service, name) = resolve(target)?;
    service.table.get(name).map(|(operation, _)| operation)
}

/// `POST /`: one AWS-JSON operation.
pub(crate) async fn serve(
    State(shared): State<Arc<Shared>>,
    request: Request<Body>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let target = match target_header(&parts.headers) {
        Ok(Some(target)) => target,
        Ok(None) => {
            return CognitoError::unknown_operation("Missing X-Amz-Target header.").into_response();
        }
        Err(invalid) => return invalid.into_response(),
    };
    let Some((service, operation)) = resolve(target) else {
        let prefixes: Vec<String> =
            SERVICES.iter().map(|s| format!("{}<Operation>", s.table.target_prefix)).collect();
        return CognitoError::unknown_operation(format!(
            "Unknown target {target}: expected {}.",
            prefixes.join(" or ")
        ))
        .into_response();
    };
    let body = match read_body(body, MAX_BODY).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return CognitoError::serialization(format!(
                "The request body is larger than {MAX_BODY} bytes, the most this server accepts."
            ))
            .with_status(413)
            .into_response();
        }
        Err(BodyError::Unreadable) => {
            return CognitoError::serialization("The request body could not be read.")
                .into_response();
        }
    };
    let meta = RequestMeta::from_headers(&parts.headers);
    // Unknown operations read nothing; `run` answers them.
    let writes = service.table.get(operation).is_some_and(|(op, _)| op.access() == Access::Write);
    if writes {
        shared.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let table = service.table;
    let name = operation.to_owned();
    let call = move || run(table, &shared, &name, &meta, &body);
    // Operations are synchronous. The ones that may call a trigger run on a blocking thread;
    // the others run here, since the hand-off would cost GetUser over half its throughput.
    let outcome = if writes && service.blocking_writes {
        tokio::task::spawn_blocking(call).await.map_err(drop)
    } else {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).map_err(drop)
    };
    // A bug must not silently kill the connection: a panic is answered InternalErrorException
    // as Cognito would; the state lock (parking_lot) is not poisoned.
    let outcome = outcome.unwrap_or_else(|()| {
        tracing::error!(operation, "operation panicked; answering InternalErrorException");
        Err(CognitoError::internal("An internal error occurred in auth-mock-server."))
    });
    match outcome {
        Ok(value) => json_response(StatusCode::OK, AMZ_JSON, value.to_string()),
        Err(error) => {
            // Messages quote user-supplied values (names, attributes): escaped, they cannot
            // forge log lines.
            tracing::debug!(operation, error = %crate::wire::Escaped(error.message()), kind = error.kind(), "operation failed");
            error.into_response()
        }
    }
}
