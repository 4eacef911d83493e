//! The data types of [`AriServer`](super::AriServer)'s test hooks: a
//! recorded request and the description of an incoming call.

use serde_json::Value;

use super::http::Request;

/// A request [`AriServer`](super::AriServer) received, as
/// [`AriServer::requests`](super::AriServer::requests) returns it and
/// [`AriServer::on_request`](super::AriServer::on_request) handlers see it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// `GET`, `POST`, `DELETE`, …
    pub method: String,
    /// The path, percent-decoded (`/ari/channels/a/b` for
    /// `/ari/channels/a%2Fb`); see [`target`](Self::target) for the raw one.
    pub path: String,
    /// The request target as sent (path and query, still encoded).
    pub target: String,
    /// The query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body (lossily decoded as UTF-8; empty when there was none).
    pub body: String,
}

impl RecordedRequest {
    pub(crate) fn new(req: &Request, path: String, query: Vec<(String, String)>) -> Self {
        RecordedRequest {
            method: req.method.clone(),
            path,
            target: req.target.clone(),
            query,
            headers: req.headers.clone(),
            body: String::from_utf8_lossy(&req.body).into_owned(),
        }
    }

    /// The last value of query parameter `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        super::http::last_value(&self.query, name)
    }

    /// The first header called `name` (ASCII case ignored).
    pub fn header(&self, name: &str) -> Option<&str> {
        super::http::header_in(&self.headers, name)
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// A call arriving from the dialplan into a Stasis application, for
/// [`AriServer::incoming_call_with`](super::AriServer::incoming_call_with).
///
/// ```
/// use astrix::testing::IncomingCall;
///
/// let call = IncomingCall::new("hello")
///     .args(&["first arg", "second"])
///     .endpoint("PJSIP/alice")
///     .caller("Alice", "1000")
///     .exten("100")
///     .variable("X_TAG", "1");
/// # let _ = call;
/// ```
#[derive(Clone, Debug)]
pub struct IncomingCall {
    pub(crate) app: String,
    pub(crate) args: Vec<String>,
    pub(crate) id: Option<String>,
    pub(crate) endpoint: String,
    pub(crate) caller: (String, String),
    pub(crate) context: String,
    pub(crate) exten: String,
    pub(crate) language: String,
    pub(crate) variables: Vec<(String, String)>,
}

impl IncomingCall {
    /// A call into application `app`, from `PJSIP/1000`, caller number
    /// `1000`, to extension `100` of context `default`.
    pub fn new(app: &str) -> Self {
        IncomingCall {
            app: app.into(),
            args: Vec::new(),
            id: None,
            endpoint: "PJSIP/1000".into(),
            caller: (String::new(), "1000".into()),
            context: "default".into(),
            exten: "100".into(),
            language: "en".into(),
            variables: Vec::new(),
        }
    }

    /// The `args` of `StasisStart`.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }

    /// The channel id (default: a fresh `SECONDS.N`).
    pub fn id(mut self, id: &str) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The endpoint the call comes from (`PJSIP/alice`); the channel is
    /// named after it.
    pub fn endpoint(mut self, endpoint: &str) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// The caller id name and number.
    pub fn caller(mut self, name: &str, number: &str) -> Self {
        self.caller = (name.into(), number.into());
        self
    }

    /// The dialplan context.
    pub fn context(mut self, context: &str) -> Self {
        self.context = context.into();
        self
    }

    /// The dialled extension.
    pub fn exten(mut self, exten: &str) -> Self {
        self.exten = exten.into();
        self
    }

    /// The channel's language (default `en`).
    pub fn language(mut self, language: &str) -> Self {
        self.language = language.into();
        self
    }

    /// A channel variable already set when the call arrives (no event).
    pub fn variable(mut self, name: &str, value: &str) -> Self {
        self.variables.push((name.into(), value.into()));
        self
    }
}
