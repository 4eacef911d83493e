//! Placeholder until tools/gen_ari.py's output lands.
#![allow(missing_docs)]
use super::http::{segment, Method, Request};
use super::{AriError, Bridge, Client};
pub struct Repo<'a> {
    client: &'a Client,
}
impl Client {
    pub fn bridges(&self) -> Repo<'_> {
        Repo { client: self }
    }
}
impl Repo<'_> {
    pub fn get(&self, id: &str) -> Result<Bridge, AriError> {
        let d = self.client.execute_json(Request::new(
            Method::Get,
            format!("/bridges/{}", segment(id)),
        ))?;
        Ok(Bridge::from_data(self.client, d))
    }
}
