//! The `TIMESTAMP` of a `PASSWORD_VERIFIER` answer: `Tue Mar 5 07:04:09 UTC 2024`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

use crate::SrpError;

// English names, day of month not zero-padded, two-digit hours/minutes/seconds: what Java's
// `SimpleDateFormat("EEE MMM d HH:mm:ss z yyyy", Locale.US)` and amplify-js produce in UTC.
const FORMAT: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short] [month repr:short] [day padding:none] [hour]:[minute]:[second] UTC [year]"
);

// Parsing ignores the weekday (clients compute it themselves; Cognito has no reason to care).
const PARSE_FORMAT: &[FormatItem<'static>] = format_description!(
    "[month repr:short] [day padding:none] [hour]:[minute]:[second] UTC [year]"
);

/// Formats a time as Cognito's SRP `TIMESTAMP` (UTC). Times before 1970 format as the epoch.
pub fn format_timestamp(at: SystemTime) -> String {
    let seconds = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    let datetime =
        OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    datetime.format(FORMAT).expect("the TIMESTAMP format only uses fields every date has")
}

/// Parses a `TIMESTAMP`. Also accepts a zero-padded day (`Tue Mar 05 ...`), which some
/// clients send, and runs of spaces; the weekday is not checked against the date.
pub fn parse_timestamp(value: &str) -> Result<SystemTime, SrpError> {
    // Normalise spacing and padding so one strict format can parse it.
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    let [_weekday, month, day, clock, zone, year] = fields.as_slice() else {
        return Err(SrpError::InvalidTimestamp);
    };
    let day = day.strip_prefix('0').unwrap_or(day);
    let normalised = format!("{month} {day} {clock} {zone} {year}");
    let parsed = time::PrimitiveDateTime::parse(&normalised, PARSE_FORMAT)
        .map_err(|_| SrpError::InvalidTimestamp)?
        .assume_utc();
    let seconds = u64::try_from(parsed.unix_timestamp()).map_err(|_| SrpError::InvalidTimestamp)?;
    Ok(UNIX_EPOCH + Duration::from_secs(seconds))
}
