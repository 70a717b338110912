//! Printing values this crate does not control: what a token, a JWKS or an error answer
//! says, and endpoint URLs the caller configured.
//!
//! Such values end up in error messages, which applications log and show. A value chosen by
//! an attacker (a 10,000-character `kid` full of newlines and terminal escape sequences)
//! must neither flood a log line nor forge new ones, and a `user:password@` part of an
//! endpoint URL must not reach `Debug` output.

use std::fmt::Write as _;

use reqwest::Url;

/// At most this many characters of an untrusted value are kept: enough for any real `kid`,
/// issuer, algorithm or Cognito message.
pub(crate) const MAX_CHARS: usize = 200;

/// At most this many characters of a whole message that quotes untrusted values (a parse
/// error quoting a JWKS, a transport error naming a URL).
pub(crate) const MAX_MESSAGE_CHARS: usize = 600;

/// `value` made safe to print: control characters and the invisible formatting characters
/// that reorder or hide text (bidirectional overrides, zero-width characters) are escaped
/// (`\n`, `\u{1b}`, `\u{202e}`), and only the first [`MAX_CHARS`] characters are kept, with
/// a note of how much was cut.
pub(crate) fn bounded(value: &str) -> String {
    bounded_to(value, MAX_CHARS)
}

/// [`bounded`] with a limit of `max_chars` characters.
pub(crate) fn bounded_to(value: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max_chars + 32));
    let mut chars = value.char_indices();
    for (_, c) in chars.by_ref().take(max_chars) {
        if c.is_control() || is_invisible_format(c) {
            // `escape_default` writes `\n`, `\t`, `\u{1b}`: plain ASCII.
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    if let Some((cut, _)) = chars.next() {
        let _ = write!(out, "… ({} more bytes)", value.len() - cut);
    }
    out
}

/// Characters that change how the text around them is shown without being visible.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// `url` as text with any user name and password replaced by `[redacted]`.
pub(crate) fn redacted_url(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.as_str().to_owned();
    }
    let mut clean = url.clone();
    // Only URLs with a host carry credentials, and those accept these calls.
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    let text = clean.as_str();
    match text.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://[redacted]@{rest}"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_escapes_and_cuts() {
        assert_eq!(bounded("plain-kid_1"), "plain-kid_1");
        assert_eq!(bounded("a\nb\r\u{1b}[31mc"), "a\\nb\\r\\u{1b}[31mc");
        assert_eq!(bounded("evil\u{202e}gnp.exe"), "evil\\u{202e}gnp.exe");
        assert_eq!(bounded("é"), "é");
        let long = "x".repeat(10_000);
        let cut = bounded(&long);
        assert!(cut.starts_with(&"x".repeat(MAX_CHARS)), "{cut}");
        assert!(cut.ends_with(&format!("… ({} more bytes)", 10_000 - MAX_CHARS)), "{cut}");
        assert!(cut.len() < MAX_CHARS + 40);
        assert_eq!(bounded(&"y".repeat(MAX_CHARS)), "y".repeat(MAX_CHARS));
        // A multi-byte character at the cut counts its bytes.
        let wide = "é".repeat(MAX_CHARS + 1);
        assert!(bounded(&wide).ends_with("… (2 more bytes)"));
    }

    #[test]
    fn redacted_url_hides_credentials_only() {
        let url = Url::parse("https://alice:s3cret@cognito.example:8443/path?q=1").unwrap();
        let printed = redacted_url(&url);
        assert_eq!(printed, "https://[redacted]@cognito.example:8443/path?q=1");
        let user_only = Url::parse("http://token@127.0.0.1:9229/").unwrap();
        assert_eq!(redacted_url(&user_only), "http://[redacted]@127.0.0.1:9229/");
        let plain = Url::parse("http://127.0.0.1:9229/").unwrap();
        assert_eq!(redacted_url(&plain), "http://127.0.0.1:9229/");
    }
}
