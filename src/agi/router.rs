//! Script routing shared by FastAGI and AsyncAGI: regexes tried in the
//! order registered, then a default handler; a match yields the handler
//! and its [`Captures`].

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

    /// Adds a route after the existing ones.
    pub(crate) fn add(&self, regex: Regex, handler: Arc<H>) -> HandlerId {
        let id = HandlerId::next();
        self.routes.write().push(Route { id, regex, handler });
        id
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
        let routed = self.routes.read().iter().find_map(|r| {
            r.regex
                .captures(path)
                .map(|c| (Arc::clone(&r.handler), Captures::from_regex(&r.regex, &c)))
        });
        routed.or_else(|| {
            self.default
                .read()
                .as_ref()
                .map(|h| (Arc::clone(h), Captures::default()))
        })
    }
}
