//! The hosted UI's HTML: self-contained pages (inline CSS, no JavaScript, no external assets)
//! whose forms post back to the server. Every value put into a page is HTML-escaped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;background:#f4f4f4;margin:0}\
main{max-width:22rem;margin:3rem auto;background:#fff;padding:1.5rem 2rem;border-radius:6px;\
box-shadow:0 1px 4px rgba(0,0,0,.15)}label{display:block;margin-top:.8rem}\
input{width:100%;box-sizing:border-box;padding:.4rem;margin-top:.2rem}\
button{margin-top:1rem;width:100%;padding:.5rem;background:#1565c0;color:#fff;border:0;\
border-radius:4px}.error{color:#b00020}.note{color:#555;font-size:.9rem}";

/// A complete page with `status`; `body` is already-escaped HTML.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head><body><main><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title),
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Nothing on these pages comes from elsewhere, and nothing may frame them.
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'"),
    );
    response
}

/// The error page shown instead of redirecting (unknown client, unregistered redirect URI).
pub(crate) fn error_page(status: StatusCode, error: &str, description: &str) -> Response {
    let body = format!(
        "<p class=\"error\" id=\"error\">{}</p><p class=\"note\">error={}</p>",
        escape(description),
        escape(error)
    );
    page(status, "An error was encountered", &body)
}

/// Renders a page on a blocking thread, since the operations and triggers behind it block; a
/// page that panics answers the generic error page rather than dropping the connection.
pub(crate) async fn blocking(render: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(render).await.unwrap_or_else(|_| {
        error_page(StatusCode::BAD_REQUEST, "invalid_request", "The request failed.")
    })
}

/// An `<input>` with its label.
fn field(name: &str, label: &str, kind: &str, extra: &str) -> String {
    format!(
        "<label for=\"{name}\">{label}<input id=\"{name}\" name=\"{name}\" type=\"{kind}\" {extra}></label>",
        label = escape(label),
    )
}

fn hidden(name: &str, value: &str) -> String {
    format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(value))
}

fn error_line(error: Option<&str>) -> String {
    error.map_or_else(String::new, |e| format!("<p class=\"error\" id=\"error\">{}</p>", escape(e)))
}

/// The authorize request `query` sent through the external provider `provider`: the same
/// parameters, with `identity_provider` set (and any other provider choice dropped).
pub(crate) fn through_provider(query: &str, provider: &str) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name != "identity_provider" && name != "idp_identifier" {
            out.append_pair(&name, &value);
        }
    }
    out.append_pair("identity_provider", provider);
    format!("/oauth2/authorize?{}", out.finish())
}

/// The sign-in form; `query` is the authorize request's query string (kept on every link);
/// `providers` are the client's external identity providers, each offered as a link.
pub(crate) fn login(
    query: &str,
    username: &str,
    error: Option<&str>,
    notice: Option<&str>,
    sign_up: bool,
    providers: &[String],
) -> Response {
    let q = escape(query);
    let mut body = error_line(error);
    if let Some(notice) = notice {
        body.push_str(&format!("<p class=\"note\" id=\"notice\">{}</p>", escape(notice)));
    }
    for provider in providers {
        body.push_str(&format!(
            "<p><a class=\"provider\" id=\"provider-{id}\" href=\"{href}\">Sign in with {name}</a></p>",
            id = escape(provider),
            href = escape(&through_provider(query, provider)),
            name = escape(provider),
        ));
    }
    body.push_str(&format!("<form method=\"post\" action=\"/login?{q}\">"));
    body.push_str(&field(
        "username",
        "Username",
        "text",
        &format!("autocomplete=\"username\" required value=\"{}\"", escape(username)),
    ));
    body.push_str(&field(
        "password",
        "Password",
        "password",
        "autocomplete=\"current-password\" required",
    ));
    body.push_str("<button type=\"submit\" name=\"signin\">Sign in</button></form>");
    body.push_str(&format!(
        "<p><a id=\"forgot-password\" href=\"/forgotPassword?{q}\">Forgot your password?</a></p>"
    ));
    if sign_up {
        body.push_str(&format!(
            "<p>Need an account? <a id=\"sign-up\" href=\"/signup?{q}\">Sign up</a></p>"
        ));
    }
    page(if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK }, "Sign in", &body)
}

/// A one-step form: `fields` are `(name, label, type)`; `hidden_fields` carry the sign-in's
/// state (the `session` of a pending step, the username being confirmed).
pub(crate) fn step(
    title: &str,
    action: &str,
    query: &str,
    hidden_fields: &[(&str, &str)],
    intro: &str,
    fields: &[(&str, &str, &str)],
    error: Option<&str>,
) -> Response {
    let mut body = error_line(error);
    if !intro.is_empty() {
        body.push_str(&format!("<p class=\"note\" id=\"intro\">{}</p>", escape(intro)));
    }
    body.push_str(&format!("<form method=\"post\" action=\"{action}?{}\">", escape(query)));
    for (name, value) in hidden_fields {
        body.push_str(&hidden(name, value));
    }
    for (name, label, kind) in fields {
        let autocomplete = match *kind {
            "password" => "autocomplete=\"new-password\" required",
            _ => "autocomplete=\"off\" required",
        };
        body.push_str(&field(name, label, kind, autocomplete));
    }
    body.push_str("<button type=\"submit\">Continue</button></form>");
    page(if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK }, title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_links_keep_the_request_and_name_one_provider() {
        assert_eq!(
            through_provider(
                "client_id=c&idp_identifier=x&state=a+b&identity_provider=Old",
                "Google"
            ),
            "/oauth2/authorize?client_id=c&state=a+b&identity_provider=Google"
        );
    }

    #[test]
    fn escape_neutralises_markup_and_attribute_breaks() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
