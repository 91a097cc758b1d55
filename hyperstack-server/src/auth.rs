//! Tokens: several accepted at once (rotation), compared in constant time.
//!
//! Each accepted token is kept as its SHA-256 digest, and a presented token is hashed and
//! compared with every digest using `subtle`'s constant-time equality: the time taken depends
//! neither on how much of a token matched nor on its length, nor on which token matched.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// The accepted tokens; empty: no authentication.
#[derive(Clone, Default)]
pub(crate) struct Tokens {
    digests: Vec<[u8; 32]>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    /// The tokens to accept (empty ones are ignored: an empty token would accept anyone).
    pub fn new<S: AsRef<str>>(tokens: &[S]) -> Tokens {
        Tokens {
            digests: tokens
                .iter()
                .map(AsRef::as_ref)
                .filter(|t| !t.is_empty())
                .map(digest)
                .collect(),
        }
    }

    /// Whether no token is needed.
    pub fn is_open(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `presented` is one of the tokens (always true when none is configured).
    pub fn accepts(&self, presented: Option<&str>) -> bool {
        if self.is_open() {
            return true;
        }
        let Some(presented) = presented else {
            return false;
        };
        let d = digest(presented);
        let mut ok = Choice::from(0);
        for accepted in &self.digests {
            ok |= accepted.ct_eq(&d);
        }
        ok.into()
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} accepted)", self.digests.len())
    }
}

/// The token of `Authorization: Bearer <t>` (scheme case-insensitive).
pub(crate) fn bearer(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The value of `token=` in a query string.
pub(crate) fn query_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_any_configured_token_only() {
        let t = Tokens::new(&["new-token", "old-token", ""]);
        assert!(t.accepts(Some("new-token")));
        assert!(t.accepts(Some("old-token")));
        for bad in ["", "new-toke", "new-token ", "NEW-TOKEN", "x"] {
            assert!(!t.accepts(Some(bad)), "{bad:?}");
        }
        assert!(!t.accepts(None));
        let open = Tokens::new::<&str>(&[]);
        assert!(open.is_open() && open.accepts(None));
        assert!(!format!("{t:?}").contains("token"), "no token in Debug");
    }

    #[test]
    fn reads_bearer_and_query_tokens() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(None), None);
        assert_eq!(query_token(Some("a=1&token=xyz")), Some("xyz"));
        assert_eq!(query_token(Some("tokens=1")), None);
        assert_eq!(query_token(None), None);
    }
}
