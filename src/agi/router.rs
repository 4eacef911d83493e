//! Script routing shared by FastAGI and AsyncAGI: regexes tried in the
//! order registered, then a default handler; a match yields the handler
//! and its [`Captures`].
//!
//! A pattern matches a script path when it matches at the path's start
//! (Python's `re.match`, as pystrix routes): `demo` takes `demo`,
//! `demo/x` and `demonstration` but not `notdemo/x`; end the pattern with
//! `$` to take only whole paths. One route per pattern text: registering
//! a pattern again replaces the handler in place.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use regex::Regex;

/// The capture groups of the handler's regex on the script path: what a
/// route match yields, given to FastAGI and AsyncAGI handlers alike
/// ([`FastAgiRequest::captures`](crate::agi::FastAgiRequest::captures),
/// [`AsyncAgiSession::captures`](crate::agi::AsyncAgiSession::captures)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    groups: Vec<Option<String>>,
    names: Vec<(String, usize)>,
}

impl Captures {
    fn from_regex(regex: &regex::Regex, caps: &regex::Captures<'_>) -> Captures {
        let groups = caps
            .iter()
            .map(|m| m.map(|m| m.as_str().to_owned()))
            .collect();
        let names = regex
            .capture_names()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (n.to_owned(), i)))
            .collect();
        Captures { groups, names }
    }

    /// Group `i` (0 is the whole match), if it took part in the match.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.groups.get(i).and_then(|g| g.as_deref())
    }

    /// The named group `name`, if it took part in the match.
    pub fn name(&self, name: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|&(_, i)| self.get(i))
    }

    /// The number of groups, including group 0.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// True when there are no groups (the default handler's captures).
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// Identifies a registered script handler, to unregister it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HandlerId(u64);

impl HandlerId {
    /// A fresh id, unique in the process.
    fn next() -> HandlerId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        HandlerId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

struct Route<H: ?Sized> {
    id: HandlerId,
    regex: Regex,
    handler: Arc<H>,
}

/// Which route takes a script path, as
/// [`FastAgiServer::script_handler`](crate::agi::FastAgiServer::script_handler)
/// answers (pystrix's `get_script_handler`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRoute {
    id: Option<HandlerId>,
    pattern: Option<String>,
    captures: Captures,
}

impl ScriptRoute {
    /// The route's id; `None` for the default handler.
    pub fn id(&self) -> Option<HandlerId> {
        self.id
    }

    /// The route's pattern as registered; `None` for the default handler.
    pub fn pattern(&self) -> Option<&str> {
        self.pattern.as_deref()
    }

    /// True when no pattern matched and the default handler takes the path.
    pub fn is_default(&self) -> bool {
        self.id.is_none()
    }

    /// The captures of the pattern on the path (empty for the default
    /// handler).
    pub fn captures(&self) -> &Captures {
        &self.captures
    }
}

/// The captures of `regex` on `path` if it matches at the path's start.
/// The leftmost match starts at 0 whenever any match does, so a search
/// whose match starts later means no match at the start.
fn match_start(regex: &Regex, path: &str) -> Option<Captures> {
    let caps = regex.captures(path)?;
    (caps.get(0)?.start() == 0).then(|| Captures::from_regex(regex, &caps))
}

/// Handlers of type `H` by script path.
pub(crate) struct Router<H: ?Sized> {
    routes: RwLock<Vec<Route<H>>>,
    default: RwLock<Option<Arc<H>>>,
}

impl<H: ?Sized> Router<H> {
    pub(crate) fn new() -> Self {
        Router {
            routes: RwLock::new(Vec::new()),
            default: RwLock::new(None),
        }
    }

    /// Adds a route after the existing ones; a route with the same pattern
    /// text gets the new handler instead, keeping its place and its id.
    pub(crate) fn add(&self, regex: Regex, handler: Arc<H>) -> HandlerId {
        let mut routes = self.routes.write();
        if let Some(r) = routes
            .iter_mut()
            .find(|r| r.regex.as_str() == regex.as_str())
        {
            r.regex = regex;
            r.handler = handler;
            return r.id;
        }
        let id = HandlerId::next();
        routes.push(Route { id, regex, handler });
        id
    }

    /// Removes the route registered with this pattern text; false if none.
    pub(crate) fn remove_pattern(&self, pattern: &str) -> bool {
        let mut routes = self.routes.write();
        let before = routes.len();
        routes.retain(|r| r.regex.as_str() != pattern);
        routes.len() != before
    }

    /// Removes a route; false if it was not there.
    pub(crate) fn remove(&self, id: HandlerId) -> bool {
        let mut routes = self.routes.write();
        let before = routes.len();
        routes.retain(|r| r.id != id);
        routes.len() != before
    }

    /// Removes every route (not the default handler).
    pub(crate) fn clear(&self) {
        self.routes.write().clear();
    }

    /// Sets or removes the default handler.
    pub(crate) fn set_default(&self, handler: Option<Arc<H>>) {
        *self.default.write() = handler;
    }

    /// The handler for `path` and its captures: the first matching route,
    /// else the default handler (with empty captures).
    pub(crate) fn route(&self, path: &str) -> Option<(Arc<H>, Captures)> {
        self.find(path)
            .map(|(handler, route)| (handler, route.captures))
    }

    /// The handler for `path` and which route it is.
    pub(crate) fn find(&self, path: &str) -> Option<(Arc<H>, ScriptRoute)> {
        let routed = self.routes.read().iter().find_map(|r| {
            match_start(&r.regex, path).map(|captures| {
                let route = ScriptRoute {
                    id: Some(r.id),
                    pattern: Some(r.regex.as_str().to_owned()),
                    captures,
                };
                (Arc::clone(&r.handler), route)
            })
        });
        routed.or_else(|| {
            self.default.read().as_ref().map(|h| {
                let route = ScriptRoute {
                    id: None,
                    pattern: None,
                    captures: Captures::default(),
                };
                (Arc::clone(h), route)
            })
        })
    }
}
