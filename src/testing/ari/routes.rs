//! Routing of [`AriServer`](super::AriServer): every path of Asterisk 22's
//! REST API (`route_table.rs`, generated from its Swagger files), matched as `res_ari.c` does, and the
//! parameters of a request (query, form or JSON body).

use serde_json::Value;

use super::reply::{html_error, HttpReply};
use super::route_table::ROUTES;

/// A matched operation and the values of its path variables.
#[derive(Debug)]
pub(crate) struct Route {
    pub op: &'static str,
    pub vars: Vec<(&'static str, String)>,
}

impl Route {
    /// A path variable (`channelId`, …).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The decoded segments after `/ari/` of a request path (without query), or
/// the answer Asterisk gives: 404 outside `/ari`, 404 for a trailing slash.
/// As `res_ari.c`, each segment is decoded on its own (so `%2F` stays inside
/// its segment) and the path ends at the first empty segment.
pub(crate) fn segments(raw_path: &str) -> Result<Vec<String>, HttpReply> {
    let rest = match raw_path.strip_prefix("/ari") {
        Some("") => "",
        Some(r) if r.starts_with('/') => &r[1..],
        _ => {
            return Err(html_error(
                404,
                "Not Found",
                "The requested URL was not found on this server.",
            ))
        }
    };
    if rest.ends_with('/') {
        let slashless = rest.trim_end_matches('/');
        return Err(HttpReply::error(
            404,
            &format!("ARI URLs do not end with a slash. Try /ari/{slashless}"),
        ));
    }
    Ok(rest
        .split('/')
        .take_while(|s| !s.is_empty())
        .map(super::http::decode)
        .collect())
}

fn pattern(path: &str) -> Vec<&str> {
    path.split('/').collect()
}

fn is_var(seg: &str) -> bool {
    seg.starts_with('{') && seg.ends_with('}')
}

/// Finds the operation for `method` on `segs` as Asterisk's handler tree
/// does (a literal segment wins over a variable): 404 `Resource not found`
/// for an unknown path, 405 `Invalid method` (with `Allow`) for a known
/// path without that method.
pub(crate) fn route(method: &str, segs: &[String]) -> Result<Route, HttpReply> {
    let mut cands: Vec<&(&str, &str, &str)> = ROUTES.iter().collect();
    for (i, seg) in segs.iter().enumerate() {
        let lit: Vec<_> = cands
            .iter()
            .copied()
            .filter(|r| pattern(r.1).get(i) == Some(&seg.as_str()))
            .collect();
        cands = if lit.is_empty() {
            cands
                .into_iter()
                .filter(|r| pattern(r.1).get(i).is_some_and(|s| is_var(s)))
                .collect()
        } else {
            lit
        };
        if cands.is_empty() {
            return Err(HttpReply::error(404, "Resource not found"));
        }
    }
    let here: Vec<_> = cands
        .into_iter()
        .filter(|r| pattern(r.1).len() == segs.len())
        .collect();
    let wanted = if method == "HEAD" { "GET" } else { method };
    if let Some(r) = here.iter().find(|r| r.0 == wanted) {
        let vars = pattern(r.1)
            .into_iter()
            .zip(segs)
            .filter(|(p, _)| is_var(p))
            .map(|(p, s)| (&p[1..p.len() - 1], s.clone()))
            .collect();
        return Ok(Route { op: r.2, vars });
    }
    let mut allow: Vec<&str> = here.iter().map(|r| r.0).collect();
    allow.dedup();
    let mut resp = HttpReply::error(405, "Invalid method");
    if !allow.is_empty() {
        resp = resp.header("Allow", &allow.join(","));
    }
    Err(resp)
}

/// The parameters of a request: query (and form) pairs, then the fields of
/// a JSON body object, which win as in Asterisk's generated handlers.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Params {
    fn body_field(&self, name: &str) -> Option<&Value> {
        self.body.as_ref().and_then(|b| b.get(name))
    }

    /// A parameter as text (the last query value; a JSON body field wins).
    pub fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.body_field(name) {
            return match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            };
        }
        super::http::last_value(&self.query, name).map(str::to_owned)
    }

    /// A parameter, or "" when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default()
    }

    /// A list parameter: a JSON array, or comma-separated text.
    pub fn list(&self, name: &str) -> Vec<String> {
        if let Some(Value::Array(a)) = self.body_field(name) {
            return a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
        }
        match self.get(name) {
            Some(s) if !s.is_empty() => s.split(',').map(|s| s.trim().to_owned()).collect(),
            _ => Vec::new(),
        }
    }

    /// An integer parameter (`default` when absent, Err when not a number).
    pub fn int(&self, name: &str, default: i64) -> Result<i64, ()> {
        match self.get(name) {
            None => Ok(default),
            Some(s) if s.is_empty() => Ok(default),
            Some(s) => s.trim().parse().map_err(|_| ()),
        }
    }

    /// The `variables` object of a JSON body, checked as Asterisk's
    /// `json_to_ast_variables` does.
    pub fn variables(&self) -> Result<Vec<(String, String)>, HttpReply> {
        let Some(vars) = self.body_field("variables") else {
            return Ok(Vec::new());
        };
        let Some(obj) = vars.as_object() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (k, v) in obj {
            if k.is_empty() {
                continue;
            }
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Object(o) => {
                    let Some(Value::String(s)) = o.get("value") else {
                        return Err(HttpReply::error(
                            400,
                            "Each object value in 'variables' must include string field 'value'",
                        ));
                    };
                    if o.get("report_events").is_some_and(|r| !r.is_boolean()) {
                        return Err(HttpReply::error(
                            400,
                            "Field 'report_events' in 'variables' entries must be boolean",
                        ));
                    }
                    s.clone()
                }
                _ => {
                    return Err(HttpReply::error(
                        400,
                        "Each value in 'variables' must be a string or an object with 'value' and optional 'report_events'",
                    ))
                }
            };
            out.push((k.clone(), value));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        segments(p).unwrap()
    }

    #[test]
    fn routes_like_asterisk() {
        let r = route("POST", &segs("/ari/channels/create")).unwrap();
        assert_eq!(r.op, "channels.create");
        let r = route("POST", &segs("/ari/channels/a%2Fb+c/play/p1")).unwrap();
        assert_eq!(r.op, "channels.playWithId");
        assert_eq!(r.var("channelId"), Some("a/b c"));
        assert_eq!(r.var("playbackId"), Some("p1"));
        let e = route("GET", &segs("/ari/nosuchresource")).unwrap_err();
        assert_eq!(e.status(), 404);
        let e = route("PATCH", &segs("/ari/channels")).unwrap_err();
        assert_eq!(e.status(), 405);
        assert_eq!(e.header_value("Allow"), Some("GET,POST"));
        let e = route("GET", &segs("/ari/channels/create")).unwrap_err();
        assert_eq!(e.status(), 405);
        assert_eq!(segments("/ari/channels/").unwrap_err().status(), 404);
        assert_eq!(segments("/other").unwrap_err().status(), 404);
        assert_eq!(segs("/ari/channels//x"), vec!["channels".to_string()]);
    }

    #[test]
    fn params() {
        let p = Params {
            query: vec![
                ("a".into(), "1".into()),
                ("a".into(), "2".into()),
                ("l".into(), "x,y".into()),
            ],
            body: Some(serde_json::json!({"b": 5, "variables": {"X": "1", "Y": {"value": "2"}}})),
        };
        assert_eq!(p.get("a").as_deref(), Some("2"));
        assert_eq!(p.get("b").as_deref(), Some("5"));
        assert_eq!(p.list("l"), vec!["x", "y"]);
        assert_eq!(
            p.variables().unwrap(),
            vec![("X".into(), "1".into()), ("Y".into(), "2".into())]
        );
    }
}
