//! Endpoint URLs as they may be logged: scheme, host and port only. Providers put API keys in
//! the query (`?api-key=…`), the path (`/<token>/`) or the user info (`https://key@host`).

use std::fmt;

/// Displays a URL without its user info, path and query (`https://host:port/…`).
pub struct Redacted<'a>(pub &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return f.write_str("<endpoint>");
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        // Anything after the authority but a bare `/` may be secret.
        let after = rest.get(authority.len()..).unwrap_or_default();
        let hidden = authority.contains('@') || !(after.is_empty() || after == "/");
        write!(f, "{scheme}://{host}")?;
        if hidden {
            f.write_str("/…")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::Redacted;

    #[test]
    fn keeps_scheme_host_and_port_only() {
        let cases = [
            (
                "https://mainnet.example.com/?api-key=abc",
                "https://mainnet.example.com/…",
            ),
            (
                "https://x.quiknode.pro/0123secret/",
                "https://x.quiknode.pro/…",
            ),
            ("http://127.0.0.1:8899", "http://127.0.0.1:8899"),
            ("http://127.0.0.1:8899/", "http://127.0.0.1:8899"),
            ("https://user:pass@host.io/rpc", "https://host.io/…"),
            ("not a url", "<endpoint>"),
        ];
        for (url, shown) in cases {
            assert_eq!(Redacted(url).to_string(), shown, "{url}");
        }
    }
}
