//! The base URL of an Asterisk HTTP server (`http://host:8088`).

use std::fmt;
use std::net::Ipv6Addr;
use std::sync::Arc;

use ::http::Uri;

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
    /// Parses `url` (with `http::Uri`, then the rules of an ARI base URL):
    /// `http://` or `https://`, a host (an IPv6 address in brackets), an
    /// optional port, an optional path prefix; no credentials, query or
    /// fragment. A trailing `/ari` is dropped.
    pub(crate) fn parse(url: &str) -> Result<BaseUrl, AriError> {
        let bad = |reason: &'static str| AriError::Url {
            url: url.to_owned(),
            reason,
            source: None,
        };
        let uri: Uri = url.parse().map_err(|e| AriError::Url {
            url: url.to_owned(),
            reason: "not a valid URL",
            source: Some(Arc::new(e)),
        })?;
        let tls = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            _ => return Err(bad("expected http://HOST:PORT or https://HOST:PORT")),
        };
        let Some(authority) = uri.authority() else {
            return Err(bad("missing host"));
        };
        if authority.as_str().contains('@') {
            return Err(bad("give credentials to the builder, not in the URL"));
        }
        // `Uri` drops a fragment without a word.
        if uri.query().is_some() || url.contains('#') {
            return Err(bad("the URL must not have a query or fragment"));
        }
        let host = authority.host();
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) if v6.parse::<Ipv6Addr>().is_ok() => v6,
            Some(_) => return Err(bad("invalid IPv6 address")),
            None if host.is_empty() => return Err(bad("missing host")),
            None if !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')) =>
            {
                return Err(bad("invalid host"))
            }
            None => host,
        };
        // What follows the host: nothing, or `:` and the port. `Uri`
        // accepts an empty port, `+80`, 99999 or junk after `]`.
        let after_host = &authority.as_str()[authority.host().len()..];
        let port = if after_host.is_empty() {
            if tls {
                443
            } else {
                80
            }
        } else {
            let digits = after_host
                .strip_prefix(':')
                .filter(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
            match digits.map(str::parse::<u16>) {
                Some(Ok(port)) if port != 0 => port,
                _ => return Err(bad("bad port")),
            }
        };
        let mut prefix = uri.path().trim_end_matches('/').to_owned();
        // Accept a URL that already ends in /ari.
        if prefix.ends_with("/ari") {
            prefix.truncate(prefix.len() - 4);
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

    /// `host:port` (`[v6]:port`).
    pub(crate) fn authority(&self) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(url: &str) -> &'static str {
        match BaseUrl::parse(url) {
            Err(AriError::Url { reason, .. }) => reason,
            other => panic!("{url}: {other:?}"),
        }
    }

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
        let u = BaseUrl::parse("http://host/asterisk").unwrap();
        assert_eq!((u.host(), u.port()), ("host", 80));
        assert_eq!(u.rest_base(), "http://host:80/asterisk/ari");
        let u = BaseUrl::parse("http://pbx_1.example-2.com:65535").unwrap();
        assert_eq!(u.authority(), "pbx_1.example-2.com:65535");
        assert_eq!(u.to_string(), "http://pbx_1.example-2.com:65535");
    }

    #[test]
    fn refuses_bad_urls_with_a_reason() {
        for (url, why) in [
            ("http://host:8088:99", "not a valid URL"),
            ("http://[::1:8088", "not a valid URL"),
            ("http://ho st:8088", "not a valid URL"),
            ("http://host/a b", "not a valid URL"),
            (" http://host:8088", "not a valid URL"),
            ("http://", "not a valid URL"),
            ("", "not a valid URL"),
            ("http://host:99999", "bad port"),
            ("http://host:0", "bad port"),
            ("http://host:", "bad port"),
            ("http://host:port", "bad port"),
            ("http://host:+80", "bad port"),
            ("http://[::1]x:80", "bad port"),
            ("http://:8088", "missing host"),
            ("http://[fe80::1%25eth0]:8088", "invalid IPv6 address"),
            ("http://[1.2.3.4]:8088", "invalid IPv6 address"),
            ("http://h!st:8088", "invalid host"),
            ("ftp://x", "expected http://HOST:PORT or https://HOST:PORT"),
            (
                "ws://host:8088",
                "expected http://HOST:PORT or https://HOST:PORT",
            ),
            (
                "127.0.0.1:8088",
                "expected http://HOST:PORT or https://HOST:PORT",
            ),
            ("/ari", "expected http://HOST:PORT or https://HOST:PORT"),
            (
                "http://u:p@host:8088",
                "give credentials to the builder, not in the URL",
            ),
            (
                "http://host:8088/?x=1",
                "the URL must not have a query or fragment",
            ),
            (
                "http://host:8088/ari#x",
                "the URL must not have a query or fragment",
            ),
        ] {
            assert_eq!(reason(url), why, "{url}");
        }
    }

    #[test]
    fn the_parser_error_is_the_source() {
        let e = BaseUrl::parse("http://host:8088:99").unwrap_err();
        let source = std::error::Error::source(&e).expect("a source");
        assert!(source.is::<Arc<::http::uri::InvalidUri>>(), "{source:?}");
        assert_eq!(
            crate::ErrorChain(&e).to_string(),
            format!("invalid ARI URL \"http://host:8088:99\": not a valid URL: {source}")
        );
    }
}
