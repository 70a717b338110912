//! Text members as Cognito's API reference constrains them, and user-supplied text made safe
//! for logs.

use super::CognitoError;
use super::error::invalid_member;

/// A constraint on a text member (lengths in characters, as the API reference counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextRule {
    /// Usernames, group names, attribute names: `[\p{L}\p{M}\p{S}\p{N}\p{P}]+` — printable,
    /// no separators, no control or format characters.
    Name { max: usize },
    /// Pool and app client names: `[\w\s+=,.@-]+`.
    Label { max: usize },
    /// Attribute values: any text but control and bidirectional-format characters.
    Value { max: usize },
}

/// Control characters and the invisible format characters that can make a log line or a
/// user list read differently from what it holds (bidirectional overrides such as U+202E,
/// zero-width characters, the BOM).
fn deceptive(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Checks `value` of `member` against `rule`, with AWS's validation message.
pub(crate) fn check_text(member: &str, value: &str, rule: TextRule) -> Result<(), CognitoError> {
    let (max, pattern, ok) = match rule {
        TextRule::Name { max } => (
            max,
            "[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+",
            !value.is_empty() && value.chars().all(|c| !c.is_whitespace() && !deceptive(c)),
        ),
        TextRule::Label { max } => (
            max,
            "[\\w\\s+=,.@-]+",
            !value.trim().is_empty()
                && value.chars().all(|c| {
                    (c.is_alphanumeric() || c == '_' || c == ' ' || "+=,.@-".contains(c))
                        && !deceptive(c)
                }),
        ),
        TextRule::Value { max } => (max, "[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}\\s]*", {
            value.chars().all(|c| !deceptive(c) || c == '\n' || c == '\t')
        }),
    };
    if value.chars().count() > max {
        return Err(invalid_member(
            member,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if !ok {
        return Err(invalid_member(
            member,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        ));
    }
    Ok(())
}

/// User-supplied text for a log line: quoted, with control, non-ASCII-whitespace and
/// bidirectional characters escaped (`Debug`), so that a value cannot forge log lines or
/// hide what it is.
#[derive(Clone, Copy)]
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_spaces_controls_and_bidi_overrides() {
        let name = TextRule::Name { max: 128 };
        assert!(check_text("Username", "alice@example.com", name).is_ok());
        assert!(check_text("Username", "Zoë_ß+1", name).is_ok());
        for bad in ["", "   ", "a b", "al\u{202e}ice", "a\u{0}b", "a\u{200b}b", "a\nb"] {
            let error = check_text("Username", bad, name).unwrap_err();
            assert_eq!(error.kind(), "InvalidParameterException", "{bad:?}");
        }
        let long = "a".repeat(129);
        assert!(check_text("Username", &long, name).unwrap_err().message().contains("128"));
    }

    #[test]
    fn labels_and_values() {
        let label = TextRule::Label { max: 128 };
        assert!(check_text("PoolName", "my pool-1.prod", label).is_ok());
        assert!(check_text("PoolName", " ", label).is_err());
        assert!(check_text("PoolName", "a/b", label).is_err());
        let value = TextRule::Value { max: 2048 };
        assert!(check_text("Value", "Line one\nline two", value).is_ok());
        assert!(check_text("Value", "", value).is_ok());
        assert!(check_text("Value", "evil\u{202e}txt", value).is_err());
        assert!(check_text("Value", &"x".repeat(2049), value).is_err());
    }

    #[test]
    fn escaped_text_cannot_forge_log_lines() {
        let shown = Escaped("alice\n2026-01-01 INFO forged\u{202e}").to_string();
        assert_eq!(shown, "\"alice\\n2026-01-01 INFO forged\\u{202e}\"");
    }
}
