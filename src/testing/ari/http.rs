//! The HTTP/1.1 side of [`AriServer`](super::AriServer): a bounded request
//! reader over any `Read + Write` stream, and percent-decoding as Asterisk
//! does it.

use std::io::{self, Read, Write};

use super::reply::{html_error, HttpReply};

/// Longest request head (request line and headers) accepted; longer gets 431.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// Most header lines accepted (Asterisk: 100); more gets 413.
pub(crate) const MAX_HEADERS: usize = 100;
/// Longest request body accepted (Asterisk's `MAX_CONTENT_LENGTH`); longer
/// gets 413.
pub(crate) const MAX_BODY: usize = 40_960;

/// The first header called `name` in `headers` (ASCII case ignored).
pub(crate) fn header_in<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A parsed request.
#[derive(Debug)]
pub(crate) struct Request {
    pub method: String,
    pub target: String,
    pub http10: bool,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header called `name` (ASCII case ignored).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }

    /// Whether `header` holds `token` in its comma-separated list.
    pub fn header_has(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Whether the connection ends after this request.
    pub fn wants_close(&self) -> bool {
        if self.http10 {
            !self.header_has("Connection", "keep-alive")
        } else {
            self.header_has("Connection", "close")
        }
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed the connection (or it broke, or stayed silent past
    /// the read timeout) between or within requests.
    Closed,
    /// Malformed request: 400.
    Bad(&'static str),
    /// Head longer than [`MAX_HEAD`]: 431.
    HeadTooLarge,
    /// More than [`MAX_HEADERS`] header lines: 413.
    TooManyHeaders,
    /// Body longer than [`MAX_BODY`]: 413.
    BodyTooLarge,
    /// A transfer coding other than chunked: 501.
    UnsupportedCoding,
}

impl ReadError {
    /// The answer to send before closing, if any.
    pub(crate) fn response(&self) -> Option<HttpReply> {
        Some(match self {
            ReadError::Closed => return None,
            ReadError::Bad(why) => html_error(400, "Bad Request", why),
            ReadError::HeadTooLarge => html_error(
                431,
                "Request Header Fields Too Large",
                "Request header too large",
            ),
            ReadError::TooManyHeaders => {
                html_error(413, "Request Entity Too Large", "Too many headers")
            }
            ReadError::BodyTooLarge => HttpReply::error(413, "Request body too large"),
            ReadError::UnsupportedCoding => html_error(
                501,
                "Not Implemented",
                "Attempt to use unimplemented / unsupported transfer-coding",
            ),
        })
    }
}

/// A connection: the stream and the bytes read but not used yet.
pub(crate) struct HttpConn<S> {
    pub stream: S,
    pub buf: Vec<u8>,
}

impl<S: Read + Write> HttpConn<S> {
    pub(crate) fn new(stream: S) -> Self {
        HttpConn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Reads more bytes; false at end of stream.
    fn fill(&mut self) -> Result<bool, ReadError> {
        let mut chunk = [0u8; 8 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Err(ReadError::Closed),
            }
        }
    }

    /// Reads one whole request; `Closed` at a clean end of stream.
    pub(crate) fn read_request(&mut self) -> Result<Request, ReadError> {
        let head_end = loop {
            // Empty lines before a request line are allowed (RFC 9112 2.2).
            let skip = self
                .buf
                .iter()
                .take_while(|b| **b == b'\r' || **b == b'\n')
                .count();
            self.buf.drain(..skip);
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(ReadError::HeadTooLarge);
            }
            if !self.fill()? {
                return Err(ReadError::Closed);
            }
        };
        if head_end > MAX_HEAD {
            return Err(ReadError::HeadTooLarge);
        }
        let head: Vec<u8> = self.buf.drain(..head_end + 4).collect();
        let mut req = parse_head(&head[..head_end])?;
        req.body = self.read_body(&req)?;
        Ok(req)
    }

    /// Sends `100 Continue` when the client waits for it; called once the
    /// announced length passed the checks.
    fn continue_if_expected(&mut self, req: &Request) {
        if req
            .header("Expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
            && !req.http10
        {
            let _ = self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
            let _ = self.stream.flush();
        }
    }

    fn read_body(&mut self, req: &Request) -> Result<Vec<u8>, ReadError> {
        let codings: Vec<&str> = req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Transfer-Encoding"))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        if !codings.is_empty() {
            if codings.len() != 1 || !codings[0].eq_ignore_ascii_case("chunked") {
                return Err(ReadError::UnsupportedCoding);
            }
            if req.header("Content-Length").is_some() {
                return Err(ReadError::Bad("Both Content-Length and Transfer-Encoding"));
            }
            self.continue_if_expected(req);
            return self.read_chunked();
        }
        let mut length: Option<usize> = None;
        for (n, v) in &req.headers {
            if !n.eq_ignore_ascii_case("Content-Length") {
                continue;
            }
            let v = v.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ReadError::Bad("Invalid Content-Length in request!"));
            }
            let n: usize = match v.parse() {
                Ok(n) => n,
                Err(_) => return Err(ReadError::BodyTooLarge),
            };
            if length.is_some_and(|l| l != n) {
                return Err(ReadError::Bad("Invalid Content-Length in request!"));
            }
            length = Some(n);
        }
        let length = length.unwrap_or(0);
        if length > MAX_BODY {
            return Err(ReadError::BodyTooLarge);
        }
        self.continue_if_expected(req);
        while self.buf.len() < length {
            if !self.fill()? {
                return Err(ReadError::Closed);
            }
        }
        Ok(self.buf.drain(..length).collect())
    }

    /// One CRLF-terminated line of at most 4 KiB, without its CRLF.
    fn read_line(&mut self) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..i + 2).take(i).collect();
                return Ok(line);
            }
            if self.buf.len() > 4096 {
                return Err(ReadError::Bad("Chunk header too long"));
            }
            if !self.fill()? {
                return Err(ReadError::Closed);
            }
        }
    }

    fn read_chunked(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line()?;
            let size_text = line.split(|b| *b == b';').next().unwrap_or(&[]);
            let size_text = std::str::from_utf8(size_text)
                .map_err(|_| ReadError::Bad("Invalid chunk size"))?
                .trim();
            // from_str_radix would take a sign.
            if size_text.is_empty()
                || size_text.len() > 8
                || !size_text.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(ReadError::Bad("Invalid chunk size"));
            }
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| ReadError::Bad("Invalid chunk size"))?;
            if size == 0 {
                // Trailers, up to an empty line.
                loop {
                    if self.read_line()?.is_empty() {
                        return Ok(body);
                    }
                }
            }
            if size > MAX_BODY - body.len() {
                return Err(ReadError::BodyTooLarge);
            }
            let with_crlf = size.checked_add(2).ok_or(ReadError::BodyTooLarge)?;
            while self.buf.len() < with_crlf {
                if !self.fill()? {
                    return Err(ReadError::Closed);
                }
            }
            body.extend(self.buf.drain(..size));
            if self.buf.drain(..2).as_slice() != b"\r\n" {
                return Err(ReadError::Bad("Chunk not followed by CRLF"));
            }
        }
    }

    /// Writes a response and flushes.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn parse_head(head: &[u8]) -> Result<Request, ReadError> {
    let text =
        std::str::from_utf8(head).map_err(|_| ReadError::Bad("Request head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) => (m, t, v),
        _ => return Err(ReadError::Bad("Malformed request line")),
    };
    if !is_token(method) {
        return Err(ReadError::Bad("Malformed request method"));
    }
    if !target.starts_with('/') || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(ReadError::Bad("Malformed request target"));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(ReadError::Bad("Unsupported HTTP version")),
    };
    let mut headers = Vec::new();
    for line in lines {
        if headers.len() >= MAX_HEADERS {
            return Err(ReadError::TooManyHeaders);
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Bad("Malformed header line"));
        };
        if !is_token(name) {
            return Err(ReadError::Bad("Malformed header name"));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(ReadError::Bad("Malformed header value"));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Request {
        method: method.to_string(),
        target: target.to_string(),
        http10,
        headers,
        body: Vec::new(),
    })
}

/// Percent-decoding as Asterisk's `ast_uri_decode` with
/// `ast_uri_http_legacy`: `%XX` decoded, `+` becomes a space (in paths too),
/// a broken `%` escape is kept as is.
pub(crate) fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() && hex(b[i + 1]).is_some() && hex(b[i + 2]).is_some() => {
                out.push(hex(b[i + 1]).unwrap_or(0) * 16 + hex(b[i + 2]).unwrap_or(0));
                i += 3;
                continue;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `a=1&b=x%20y` as decoded pairs (a name without `=` gets an empty value).
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((n, v)) => (decode(n), decode(v)),
            None => (decode(p), String::new()),
        })
        .filter(|(n, _)| !n.is_empty())
        .collect()
}

/// The value of the last pair called `name`: a repeated query parameter
/// counts by its last value, everywhere in the server.
pub(crate) fn last_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Request, ReadError> {
        let mut c = HttpConn::new(io::Cursor::new(bytes.to_vec()));
        // Cursor<Vec<u8>> is Read + Write.
        c.read_request()
    }

    #[test]
    fn decodes_like_asterisk() {
        assert_eq!(decode("a%2Fb%3Fc+d%20e"), "a/b?c d e");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%C3%A9"), "é");
        assert_eq!(
            parse_query("variable=X&value=set%20by%20ari&flag&=x&"),
            vec![
                ("variable".into(), "X".into()),
                ("value".into(), "set by ari".into()),
                ("flag".into(), String::new()),
            ]
        );
    }

    #[test]
    fn no_continue_for_a_body_too_large() {
        let mut c = HttpConn::new(io::Cursor::new(
            b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n".to_vec(),
        ));
        assert!(matches!(c.read_request(), Err(ReadError::BodyTooLarge)));
        let written = &c.stream.get_ref()[c.stream.position() as usize..];
        assert!(written.is_empty(), "{written:?}");
    }

    #[test]
    fn reads_requests() {
        let r = read(b"\r\nPOST /ari/x?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}")
            .unwrap();
        assert_eq!(
            (r.method.as_str(), r.target.as_str()),
            ("POST", "/ari/x?a=1")
        );
        assert_eq!(r.body, b"{}");
        let r = read(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;x\r\nab\r\n1\r\nc\r\n0\r\nT: 1\r\n\r\n").unwrap();
        assert_eq!(r.body, b"abc");
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\nab\r\n0\r\n\r\n"),
            Err(ReadError::Bad(_))
        ));
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n"),
            Err(ReadError::BodyTooLarge)
        ));
        assert!(matches!(read(b"GARBAGE\r\n\r\n"), Err(ReadError::Bad(_))));
        assert!(matches!(
            read(b"GET / HTTP/2\r\n\r\n"),
            Err(ReadError::Bad(_))
        ));
        assert!(matches!(
            read(b"GET / HTTP/1.1\r\nNoColon\r\n\r\n"),
            Err(ReadError::Bad(_))
        ));
        assert!(matches!(
            read(b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
            Err(ReadError::Bad(_))
        ));
        assert!(matches!(
            read(b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"),
            Err(ReadError::BodyTooLarge)
        ));
        assert!(matches!(
            read(b"GET / HTTP/1.1\r\nHost"),
            Err(ReadError::Closed)
        ));
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert!(matches!(read(big.as_bytes()), Err(ReadError::HeadTooLarge)));
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "X: 1\r\n".repeat(MAX_HEADERS + 1)
        );
        assert!(matches!(
            read(many.as_bytes()),
            Err(ReadError::TooManyHeaders)
        ));
    }
}
