//! One ARI request and the HTTP transport that carries it (ureq).

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::encode::{percent, QueryValue};
use super::error::AriError;
use crate::util::excerpt;

/// An HTTP method ARI uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// One ARI request, built by the generated operations: a method, a path
/// below `/ari` whose variable segments are already percent-encoded, query
/// parameters and an optional JSON body.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    query: String,
    body: Option<serde_json::Value>,
}

impl Request {
    /// A request for `path` (below `/ari`, starting with `/`).
    pub(crate) fn new(method: Method, path: String) -> Request {
        Request {
            method,
            path,
            query: String::new(),
            body: None,
        }
    }

    /// Adds a query parameter.
    pub(crate) fn query<V: QueryValue + ?Sized>(&mut self, name: &str, value: &V) {
        self.query
            .push(if self.query.is_empty() { '?' } else { '&' });
        self.query.push_str(&percent(name));
        self.query.push('=');
        self.query.push_str(&percent(&value.to_query()));
    }

    /// Adds a query parameter when it is set.
    pub(crate) fn query_opt<V: QueryValue>(&mut self, name: &str, value: &Option<V>) {
        if let Some(v) = value {
            self.query(name, v);
        }
    }

    /// Sets the JSON body.
    pub(crate) fn body(&mut self, value: serde_json::Value) {
        self.body = Some(value);
    }

    /// The JSON body, if any.
    #[cfg(test)]
    pub(crate) fn body_json(&self) -> Option<&serde_json::Value> {
        self.body.as_ref()
    }

    /// The path with its query string.
    pub(crate) fn path_and_query(&self) -> String {
        format!("{}{}", self.path, self.query)
    }
}

/// Percent-encodes a path parameter (a channel id, an endpoint resource…).
pub(crate) fn segment(s: &str) -> String {
    percent(s)
}

/// The default for the largest response body read (a stored recording can
/// be large).
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// The HTTP side of a client: base URL, credentials and a ureq agent that
/// keeps connections alive.
pub(crate) struct Http {
    agent: ureq::Agent,
    /// `http://host:port/ari` (or a prefix below which `/ari` lives).
    base: String,
    /// `Basic …`, precomputed; never logged.
    authorization: String,
    max_body: u64,
}

impl Http {
    pub(crate) fn new(
        base: String,
        authorization: String,
        timeout: Duration,
        max_body: usize,
        #[cfg(feature = "tls")] tls: Option<ureq::tls::TlsConfig>,
    ) -> Http {
        #[allow(unused_mut)]
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .user_agent(concat!("astrix/", env!("CARGO_PKG_VERSION")));
        #[cfg(feature = "tls")]
        if let Some(tls) = tls {
            config = config.tls_config(tls);
        }
        Http {
            agent: config.build().into(),
            base,
            authorization,
            max_body: max_body as u64,
        }
    }

    /// The base URL (`http://host:port/ari`).
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Runs `req`; returns the status and body of a 2xx answer, or the
    /// typed error for anything else.
    pub(crate) fn execute(&self, req: &Request) -> Result<(u16, Vec<u8>), AriError> {
        let method = req.method.as_str();
        let url = format!("{}{}", self.base, req.path_and_query());
        log::debug!("ARI {method} {}", req.path);
        let builder = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Authorization", &self.authorization);
        let transport = |e: ureq::Error| AriError::Transport {
            method,
            path: req.path.clone(),
            source: Arc::new(e),
        };
        let result = match &req.body {
            Some(body) => {
                let bytes =
                    serde_json::to_vec(body).map_err(|e| AriError::Invalid(e.to_string()))?;
                let r = builder
                    .header("Content-Type", "application/json")
                    .body(bytes)
                    .map_err(|e| AriError::Invalid(e.to_string()))?;
                self.agent.run(r)
            }
            None => {
                let r = builder
                    .body(ureq::SendBody::none())
                    .map_err(|e| AriError::Invalid(e.to_string()))?;
                self.agent.run(r)
            }
        };
        let mut response = result.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(self.max_body)
            .read_to_vec()
            .map_err(transport)?;
        if (200..300).contains(&status) {
            Ok((status, body))
        } else {
            Err(AriError::Status {
                status,
                message: error_message(&body),
                method,
                path: req.path.clone(),
            })
        }
    }
}

/// Asterisk's `{"message": "…"}`, or an excerpt of a body that is not.
pub(crate) fn error_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Message {
        message: String,
    }
    match serde_json::from_slice::<Message>(body) {
        Ok(m) => m.message,
        Err(_) => excerpt(body).trim().to_owned(),
    }
}

/// Decodes a JSON response body.
pub(crate) fn decode<T: DeserializeOwned>(req: &Request, body: &[u8]) -> Result<T, AriError> {
    serde_json::from_slice(body).map_err(|e| AriError::Json {
        context: format!("{} {}", req.method.as_str(), req.path),
        message: e.to_string(),
        excerpt: excerpt(body),
    })
}

/// `Basic base64(user:password)`.
pub(crate) fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_matches_rfc_7617() {
        assert_eq!(
            basic_auth("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(basic_auth("hey", "peekaboo"), "Basic aGV5OnBlZWthYm9v");
        assert_eq!(basic_auth("a", "b"), "Basic YTpi");
    }

    #[test]
    fn query_values_are_encoded() {
        let mut r = Request::new(Method::Post, format!("/channels/{}/play", segment("a/b c")));
        r.query(
            "media",
            &vec!["sound:hello world".to_owned(), "sound:x&y".to_owned()],
        );
        r.query_opt("lang", &Some("en".to_owned()));
        r.query_opt::<String>("skip", &None);
        assert_eq!(
            r.path_and_query(),
            "/channels/a%2Fb%20c/play?media=sound%3Ahello%20world%2Csound%3Ax%26y&lang=en"
        );
    }

    #[test]
    fn error_messages_come_from_json_or_an_excerpt() {
        assert_eq!(
            error_message(br#"{"message":"Channel not found"}"#),
            "Channel not found"
        );
        assert_eq!(error_message(b"<html>500</html>\n"), "<html>500</html>");
    }
}
