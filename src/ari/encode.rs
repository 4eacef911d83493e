//! Percent-encoding of path segments and query values, and the
//! conversion of typed parameters to query strings.

/// Percent-encodes `s` for use as one path segment or one query value:
/// everything but RFC 3986's unreserved characters is encoded, so `/`, `?`,
/// `&`, `#`, `%`, `+` and spaces in a value never change the request's
/// shape.
pub(crate) fn percent(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}

/// A value that can be sent as a query parameter.
pub(crate) trait QueryValue {
    /// The value's text, before percent-encoding.
    fn to_query(&self) -> String;
}

impl QueryValue for str {
    fn to_query(&self) -> String {
        self.to_owned()
    }
}

impl QueryValue for String {
    fn to_query(&self) -> String {
        self.clone()
    }
}

impl QueryValue for bool {
    fn to_query(&self) -> String {
        if *self { "true" } else { "false" }.to_owned()
    }
}

impl QueryValue for i64 {
    fn to_query(&self) -> String {
        self.to_string()
    }
}

/// A list parameter (`allowMultiple`): Asterisk splits it at commas.
impl<T: QueryValue> QueryValue for [T] {
    fn to_query(&self) -> String {
        let mut out = String::new();
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&v.to_query());
        }
        out
    }
}

impl<T: QueryValue> QueryValue for Vec<T> {
    fn to_query(&self) -> String {
        self.as_slice().to_query()
    }
}

impl<T: QueryValue + ?Sized> QueryValue for &T {
    fn to_query(&self) -> String {
        (**self).to_query()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_are_encoded() {
        assert_eq!(
            percent("a b/c?d&e=f#g%h+i"),
            "a%20b%2Fc%3Fd%26e%3Df%23g%25h%2Bi"
        );
        assert_eq!(percent("PJSIP/100"), "PJSIP%2F100");
        assert_eq!(percent("ok-._~AZ09"), "ok-._~AZ09");
        assert_eq!(percent("é"), "%C3%A9");
    }

    #[test]
    fn lists_are_joined_with_commas() {
        assert_eq!(vec!["a".to_owned(), "b".to_owned()].to_query(), "a,b");
        assert_eq!(true.to_query(), "true");
        assert_eq!(42i64.to_query(), "42");
    }
}
