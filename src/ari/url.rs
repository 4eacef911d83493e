//! The base URL of an Asterisk HTTP server (`http://host:8088`).

use std::fmt;

use super::error::AriError;

/// A parsed `http://` or `https://` base URL: host, port and an optional
/// path prefix under which `/ari` lives (for a reverse proxy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    tls: bool,
    /// As written in the URL (IPv6 without brackets).
    host: String,
    port: u16,
    /// Empty, or `/something` without a trailing slash.
    prefix: String,
}

impl BaseUrl {
    pub(crate) fn parse(url: &str) -> Result<BaseUrl, AriError> {
        let bad = |reason: &str| AriError::Url {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let (tls, rest) = if let Some(r) = strip_prefix_ci(url, "http://") {
            (false, r)
        } else if let Some(r) = strip_prefix_ci(url, "https://") {
            (true, r)
        } else {
            return Err(bad("expected http://HOST:PORT or https://HOST:PORT"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(bad("give credentials to the builder, not in the URL"));
        }
        if path.contains(['?', '#']) {
            return Err(bad("the URL must not have a query or fragment"));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']').ok_or_else(|| bad("unclosed [ in the host"))?;
            let host = &v6[..end];
            let port = match &v6[end + 1..] {
                "" => default_port,
                p => p
                    .strip_prefix(':')
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| bad("bad port"))?,
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, p.parse().map_err(|_| bad("bad port"))?),
                None => (authority, default_port),
            }
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("missing or invalid host"));
        }
        let mut prefix = path.trim_end_matches('/').to_owned();
        // Accept a URL that already ends in /ari.
        if prefix.ends_with("/ari") {
            prefix.truncate(prefix.len() - 4);
        }
        if prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("invalid path"));
        }
        Ok(BaseUrl {
            tls,
            host: host.to_owned(),
            port,
            prefix,
        })
    }

    pub(crate) fn is_tls(&self) -> bool {
        self.tls
    }

    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `http://host:port/prefix/ari`, to which request paths are appended.
    pub(crate) fn rest_base(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{}/ari", self.authority(), self.prefix)
    }

    /// `ws://host:port/prefix`, to which `/ari/events?…` is appended.
    pub(crate) fn ws_prefix(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.authority(), self.prefix)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority(), self.prefix)
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        let u = BaseUrl::parse("http://127.0.0.1:8088").unwrap();
        assert_eq!(u.rest_base(), "http://127.0.0.1:8088/ari");
        assert_eq!(u.ws_prefix(), "ws://127.0.0.1:8088");
        let u = BaseUrl::parse("https://pbx.example.com/asterisk/ari/").unwrap();
        assert_eq!(u.port(), 443);
        assert!(u.is_tls());
        assert_eq!(u.rest_base(), "https://pbx.example.com:443/asterisk/ari");
        assert_eq!(u.ws_prefix(), "wss://pbx.example.com:443/asterisk");
        let u = BaseUrl::parse("HTTP://[::1]:8088/").unwrap();
        assert_eq!(u.host(), "::1");
        assert_eq!(u.rest_base(), "http://[::1]:8088/ari");
    }

    #[test]
    fn refuses_bad_urls() {
        for bad in [
            "ftp://x",
            "127.0.0.1:8088",
            "http://",
            "http://host:port",
            "http://u:p@host:8088",
            "http://host:8088/?x=1",
            "http://[::1:8088",
            "http://ho st:8088",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
