//! Script routing shared by FastAGI and AsyncAGI: regexes tried in the
//! order registered, then a default handler.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use regex::Regex;

use super::fastagi::Captures;

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
