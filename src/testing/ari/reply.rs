//! [`HttpReply`], the answers of [`AriServer`](super::AriServer) (built in
//! or scripted), written as Asterisk's `ast_http_send` writes them.

use std::time::{Duration, SystemTime};

use super::time::http_date;

/// An answer for [`AriServer::on_request`](super::AriServer::on_request):
/// a status, a reason phrase, headers and a body, optionally after a delay;
/// or raw bytes; or a closed connection.
///
/// `Server`, `Date`, `Cache-Control` and `Content-Length` are added as
/// Asterisk adds them (`Connection: close` too when the connection ends).
///
/// ```
/// use astrix::testing::HttpReply;
/// use serde_json::json;
///
/// let html = HttpReply::new(500).header("Content-type", "text/html").body("<html>oops</html>");
/// let busy = HttpReply::error(503, "Try later").delay(std::time::Duration::from_millis(50));
/// let ok = HttpReply::json(200, &json!({"ping": "pong"}));
/// assert_eq!(ok.status(), 200);
/// # let _ = (html, busy);
/// ```
#[derive(Clone, Debug)]
pub struct HttpReply {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) delay: Duration,
    pub(crate) kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Normal,
    Raw(Vec<u8>),
    Close,
}

impl HttpReply {
    /// An empty answer with `status` and its usual reason phrase.
    pub fn new(status: u16) -> HttpReply {
        HttpReply {
            status,
            reason: reason_phrase(status).into(),
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
            kind: Kind::Normal,
        }
    }

    /// `status` with a compact JSON body and `Content-type: application/json`.
    pub fn json(status: u16, body: &serde_json::Value) -> HttpReply {
        HttpReply::new(status)
            .header("Content-type", "application/json")
            .body(body.to_string())
    }

    /// An ARI error: `status` with `{"message":"…"}`.
    pub fn error(status: u16, message: &str) -> HttpReply {
        HttpReply::json(status, &serde_json::json!({ "message": message }))
    }

    /// `204 No Content`, the answer to a state change.
    pub fn no_content() -> HttpReply {
        HttpReply::new(204)
    }

    /// These bytes exactly, instead of a formatted response; the connection
    /// is closed after them (handy for malformed HTTP).
    pub fn raw(bytes: impl Into<Vec<u8>>) -> HttpReply {
        HttpReply {
            kind: Kind::Raw(bytes.into()),
            ..HttpReply::new(200)
        }
    }

    /// No answer at all: the connection is closed (after the delay, if any).
    pub fn close() -> HttpReply {
        HttpReply {
            kind: Kind::Close,
            ..HttpReply::new(200)
        }
    }

    /// Replaces the reason phrase (Asterisk uses custom ones such as
    /// `404 Variable Not Found`).
    pub fn reason(mut self, reason: &str) -> HttpReply {
        self.reason = reason.replace(['\r', '\n'], " ");
        self
    }

    /// Adds a header (CR and LF in the value are replaced by spaces).
    pub fn header(mut self, name: &str, value: &str) -> HttpReply {
        self.headers.push((
            name.replace(['\r', '\n', ':'], ""),
            value.replace(['\r', '\n'], " "),
        ));
        self
    }

    /// Sets the body (sent as is, with its length).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> HttpReply {
        self.body = body.into();
        self
    }

    /// Waits this long before answering (a slow server).
    pub fn delay(mut self, delay: Duration) -> HttpReply {
        self.delay = delay;
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body.
    pub fn body_bytes(&self) -> &[u8] {
        &self.body
    }

    /// The first header called `name` (ASCII case ignored).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        super::http::header_in(&self.headers, name)
    }

    /// The response as Asterisk would put it on the wire. `close` adds
    /// `Connection: close`; `head` leaves out the body of a successful
    /// answer to a HEAD request.
    pub(crate) fn to_wire(&self, close: bool, head: bool) -> Vec<u8> {
        if let Kind::Raw(b) = &self.kind {
            return b.clone();
        }
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, self.reason);
        out.push_str("Server: Asterisk\r\n");
        out.push_str(&format!("Date: {}\r\n", http_date(SystemTime::now())));
        if close {
            out.push_str("Connection: close\r\n");
        }
        out.push_str("Cache-Control: no-cache, no-store\r\n");
        for (n, v) in &self.headers {
            if n.eq_ignore_ascii_case("Content-Length") {
                continue;
            }
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        let mut bytes = out.into_bytes();
        if !head || self.status >= 400 {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }
}

/// An HTML error page as Asterisk's `ast_http_error` writes it.
pub(crate) fn html_error(status: u16, title: &str, text: &str) -> HttpReply {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let body = format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\r\n<html><head>\r\n\
         <title>{status} {title}</title>\r\n</head><body>\r\n<h1>{title}</h1>\r\n\
         <p>{escaped}</p>\r\n<hr />\r\n</body></html>\r\n"
    );
    HttpReply::new(status)
        .reason(title)
        .header("Content-type", "text/html")
        .body(body)
}

/// The usual reason phrase of a status code.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        422 => "Unprocessable Entity",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_like_asterisk() {
        let w = HttpReply::error(404, "Channel not found").to_wire(true, false);
        let w = String::from_utf8(w).unwrap();
        assert!(w.starts_with("HTTP/1.1 404 Not Found\r\nServer: Asterisk\r\nDate: "));
        assert!(w.ends_with(
            "Connection: close\r\nCache-Control: no-cache, no-store\r\n\
             Content-type: application/json\r\nContent-Length: 31\r\n\r\n\
             {\"message\":\"Channel not found\"}"
        ));
    }
}
