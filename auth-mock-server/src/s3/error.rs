//! S3's XML errors: `<Error><Code>…</Code><Message>…</Message><RequestId>…</RequestId></Error>`.

use std::borrow::Cow;

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};

/// An S3 error: HTTP status, code, message and extra elements (`Key`, `BucketName`, ...).
#[derive(Debug, Clone)]
pub(crate) struct S3Error {
    pub(crate) status: u16,
    pub(crate) code: Cow<'static, str>,
    pub(crate) message: String,
    pub(crate) extra: Vec<(&'static str, String)>,
}

impl S3Error {
    pub(crate) fn new(
        status: u16,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self { status, code: code.into(), message: message.into(), extra: Vec::new() }
    }

    /// Adds an element to the error document.
    pub(crate) fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    pub(crate) fn access_denied(message: &str) -> Self {
        Self::new(403, "AccessDenied", message)
    }

    pub(crate) fn no_such_bucket(bucket: &str) -> Self {
        Self::new(404, "NoSuchBucket", "The specified bucket does not exist.")
            .with("BucketName", bucket)
    }

    pub(crate) fn no_such_key(key: &str) -> Self {
        Self::new(404, "NoSuchKey", "The specified key does not exist.").with("Key", key)
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidArgument", message)
    }

    pub(crate) fn not_implemented(what: &str) -> Self {
        Self::new(
            501,
            "NotImplemented",
            format!(
                "A header or query you provided implies functionality that is not implemented: {what}."
            ),
        )
    }

    /// The response; `HEAD` answers carry no body.
    pub(crate) fn into_response(self, request_id: &str, head: bool) -> Response<Body> {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
        super::xml::element(&mut xml, "Code", &self.code);
        super::xml::element(&mut xml, "Message", &self.message);
        for (name, value) in &self.extra {
            super::xml::element(&mut xml, name, value);
        }
        super::xml::element(&mut xml, "RequestId", request_id);
        super::xml::element(&mut xml, "HostId", request_id);
        xml.push_str("</Error>");
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = Response::new(if head { Body::empty() } else { Body::from(xml) });
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        if let Ok(value) = HeaderValue::from_str(request_id) {
            headers.insert("x-amz-request-id", value);
        }
        response
    }
}
