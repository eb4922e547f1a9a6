//! Secrets: random bytes from the operating system's generator, and comparison of a presented
//! key with a stored one in constant time (so a key cannot be guessed from the answer's timing).

use subtle::ConstantTimeEq;

/// `bytes` random bytes as lowercase hexadecimal (2 × `bytes` digits).
///
/// Panics only if the operating system has no random source, where no key could be made safely.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random generator is unavailable");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// 16 random bytes (a password salt).
pub fn random_salt() -> [u8; 16] {
    let mut buf = [0u8; 16];
    getrandom::fill(&mut buf).expect("the operating system's random generator is unavailable");
    buf
}

/// Whether `given` equals `expected`, in time that depends only on their lengths.
pub fn key_matches(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hex_of_the_asked_length_and_differ() {
        let (a, b) = (random_hex(32), random_hex(32));
        assert_eq!(a.len(), 64);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
        assert_ne!(random_salt(), random_salt());
    }

    #[test]
    fn keys_match_only_when_equal() {
        assert!(key_matches("abc", "abc"));
        assert!(!key_matches("abd", "abc"));
        assert!(!key_matches("ab", "abc"));
        assert!(!key_matches("", "abc"));
    }
}
