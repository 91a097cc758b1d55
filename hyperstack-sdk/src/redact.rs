//! Keeping tokens out of logs and errors: the URL as shown (token-like query values and a
//! password replaced by `<redacted>`), and every secret scrubbed from any text shown.

/// Query parameters whose values are secrets.
const SECRET_PARAMS: [&str; 10] = [
    "token",
    "access_token",
    "auth",
    "auth_token",
    "api_key",
    "apikey",
    "x-token",
    "x_token",
    "password",
    "secret",
];

const REDACTED: &str = "<redacted>";

/// What must never be shown: the secrets of a connection's URL and its bearer token.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
    url: String,
}

impl Redactor {
    /// The secrets of `url` (token-like query values, a password) and `token`.
    pub fn new(url: &str, token: Option<&str>) -> Redactor {
        let mut secrets: Vec<String> = Vec::new();
        if let Some((_, query)) = url.split_once('?') {
            let query = query.split('#').next().unwrap_or_default();
            for (name, value) in query.split('&').filter_map(|p| p.split_once('=')) {
                if SECRET_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(name)) && !value.is_empty() {
                    secrets.push(value.to_string());
                }
            }
        }
        if let Some(password) = userinfo_password(url) {
            secrets.push(password.to_string());
        }
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            secrets.push(t.to_string());
        }
        // Longest first, so a secret containing another is removed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        let mut r = Redactor {
            secrets,
            url: String::new(),
        };
        r.url = r.redact(url);
        r
    }

    /// `text` with every secret replaced by `<redacted>`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }

    /// The URL as it may be shown.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

/// The password of `scheme://user:password@host…`.
fn userinfo_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    userinfo
        .split_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_query_tokens_passwords_and_bearer_tokens() {
        let r = Redactor::new(
            "wss://user:hunter22@stack.example.com/?token=s3cr3t&view=x#f",
            Some("b34rer"),
        );
        assert_eq!(
            r.url(),
            "wss://user:<redacted>@stack.example.com/?token=<redacted>&view=x#f"
        );
        let msg = "cannot connect to wss://stack.example.com/?token=s3cr3t: 401 (b34rer)";
        assert_eq!(
            r.redact(msg),
            "cannot connect to wss://stack.example.com/?token=<redacted>: 401 (<redacted>)"
        );
        let plain = Redactor::new("ws://localhost:8877", None);
        assert_eq!(plain.url(), "ws://localhost:8877");
        assert_eq!(plain.redact("nothing secret"), "nothing secret");
        assert!(!format!("{r:?}").contains("s3cr3t"));
    }
}
