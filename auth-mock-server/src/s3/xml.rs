//! Writing S3's XML documents and dates.

use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Appends `<name>escaped value</name>`.
pub(crate) fn element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_into(out, value);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Appends text with XML's five special characters escaped, and control characters other
/// than newline and tab as character references (as S3 does for keys; a bare `\r` would be
/// read back as a newline).
pub(crate) fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push_str(&format!("&#x{:X};", u32::from(c))),
            c => out.push(c),
        }
    }
}

/// `2009-10-12T17:50:30.000Z` for epoch seconds.
pub(crate) fn iso8601(secs: u64) -> String {
    format_secs(secs, format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].000Z"))
}

/// `Wed, 12 Oct 2009 17:50:00 GMT` (an HTTP date) for epoch seconds.
pub(crate) fn http_date(secs: u64) -> String {
    format_secs(
        secs,
        format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ),
    )
}

fn format_secs(secs: u64, format: &[time::format_description::BorrowedFormatItem<'_>]) -> String {
    let moment = i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    moment.format(format).unwrap_or_default()
}

/// Epoch seconds of a SigV4 timestamp `20130524T000000Z`.
pub(crate) fn parse_amz_date(text: &str) -> Option<u64> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    let moment = PrimitiveDateTime::parse(text, format).ok()?.assume_utc();
    u64::try_from(moment.unix_timestamp()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_369_353_600), "2013-05-24T00:00:00.000Z");
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_amz_date("20130524T000000Z"), Some(1_369_353_600));
        assert_eq!(parse_amz_date("20000229T235959Z"), Some(951_868_799));
        for bad in
            ["", "20130524T000000", "2013052xT000000Z", "20131324T000000Z", "19690101T000000Z"]
        {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
        for secs in [0, 951_868_799, 1_700_000_000, 4_102_444_800] {
            let text = iso8601(secs);
            let compact = format!(
                "{}{}{}T{}{}{}Z",
                &text[0..4],
                &text[5..7],
                &text[8..10],
                &text[11..13],
                &text[14..16],
                &text[17..19]
            );
            assert_eq!(parse_amz_date(&compact), Some(secs));
        }
    }

    #[test]
    fn escaping() {
        let mut out = String::new();
        escape_into(&mut out, "a<b>&\"c'\u{1}\r\n\t");
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;c&apos;&#x1;&#xD;\n\t");
    }
}
