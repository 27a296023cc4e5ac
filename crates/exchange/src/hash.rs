//! The request hash that ties a response to its request (`X-Road-Request-Hash`):
//! base64 of SHA-512(SHA-512(head) ‖ SHA-512(body)), or of SHA-512(head) when there is no
//! body. The provider's gateway computes it and the client's gateway checks it, so either
//! party can later prove that a registry record was the answer to a given query.
//!
//! The head is the request's canonical text (see [`canonical_head`]): its method and target,
//! the client and message id, and the headers that carry meaning for the provider, each on
//! its own line, names lower-cased and sorted.

use base64::Engine;
use sha2::{Digest, Sha512};

/// Headers that enter the head besides the client and the message id.
pub const HASHED_HEADERS: [&str; 5] =
    ["accept", "content-type", "x-road-issue", "x-road-represented-party", "x-road-userid"];

/// The canonical head of a request. `target` is the path with its query, as sent;
/// `headers` yields (name, value) pairs, of which only [`HASHED_HEADERS`] count.
pub fn canonical_head<'a>(
    method: &str,
    target: &str,
    client: &str,
    message_id: &str,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut kept: Vec<(String, &str)> = headers
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v))
        .filter(|(n, _)| HASHED_HEADERS.contains(&n.as_str()))
        .collect();
    kept.sort();
    let mut head =
        format!("{} {target}\nx-road-client: {client}\nx-road-id: {message_id}\n", method.to_ascii_uppercase());
    for (n, v) in kept {
        head.push_str(&format!("{n}: {}\n", v.trim()));
    }
    head
}

/// `X-Road-Request-Hash` of a request with this head and body.
pub fn request_hash(head: &str, body: &[u8]) -> String {
    let head_digest = Sha512::digest(head.as_bytes());
    let digest = if body.is_empty() {
        head_digest
    } else {
        let mut h = Sha512::new();
        h.update(head_digest);
        h.update(Sha512::digest(body));
        h.finalize()
    };
    base64::engine::general_purpose::STANDARD.encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_keeps_only_headers_that_carry_meaning() {
        let head = canonical_head(
            "get",
            "/r1/VN/GOV/M/S/residence/v1/persons/1?x=1",
            "VN/GOV/C/P",
            "id-1",
            [("User-Agent", "curl"), ("Content-Type", "application/json"), ("Accept", " application/json ")],
        );
        assert_eq!(
            head,
            "GET /r1/VN/GOV/M/S/residence/v1/persons/1?x=1\nx-road-client: VN/GOV/C/P\nx-road-id: id-1\naccept: application/json\ncontent-type: application/json\n"
        );
    }

    #[test]
    fn the_hash_follows_the_protocol() {
        let head = "GET /x\n";
        let only_head = base64::engine::general_purpose::STANDARD.encode(Sha512::digest(head.as_bytes()));
        assert_eq!(request_hash(head, b""), only_head);
        let mut both = Sha512::new();
        both.update(Sha512::digest(head.as_bytes()));
        both.update(Sha512::digest(b"{}"));
        assert_eq!(request_hash(head, b"{}"), base64::engine::general_purpose::STANDARD.encode(both.finalize()));
        assert_ne!(request_hash(head, b"{}"), request_hash(head, b"{ }"));
        assert_eq!(request_hash(head, b"{}").len(), 88);
    }
}
