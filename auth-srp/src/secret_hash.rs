//! `SECRET_HASH`, the proof that a caller knows an app client's secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// `SECRET_HASH` = base64(HMAC-SHA256(key = client secret, message = username ‖ client id)).
///
/// ```
/// assert_eq!(
///     auth_srp::secret_hash("alice", "abc123clientid", "s3cr3t"),
///     "T0sVO49Bonh532ldq8IbIJKmP/YC28Pfa88rBoSmnxs=",
/// );
/// ```
pub fn secret_hash(username: &str, client_id: &str, client_secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(client_secret.as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(username.as_bytes());
    mac.update(client_id.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}
