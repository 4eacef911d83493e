//! Placeholder until tools/gen_ari.py's output lands.
#![allow(missing_docs)]
use serde::{Deserialize, Serialize};
macro_rules! model { ($name:ident { $($f:ident),* }) => {
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    pub struct $name { $(pub $f: String,)* #[serde(flatten)] pub extra: serde_json::Map<String, serde_json::Value> }
}}
model!(Channel { id, name, state });
model!(Bridge { id });
model!(Playback { id });
model!(LiveRecording { name });
model!(StoredRecording { name });
model!(Endpoint {
    technology,
    resource
});
