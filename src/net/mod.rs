//! Connection plumbing shared by AMI and ARI: one dialler with one overall
//! deadline ([`dial`]) and one plain-or-TLS byte stream ([`transport`]).
//! The reconnection loop and the id generator are
//! [`crate::reconnect`] and [`crate::ids`].

pub(crate) mod dial;
pub(crate) mod transport;
