//! Placeholder until tools/gen_ari.py's output lands.
#![allow(missing_docs)]
use super::http::{segment, Method, Request};
use super::{AriError, Client, Playback};
pub struct Repo<'a> {
    client: &'a Client,
}
impl Client {
    pub fn playbacks(&self) -> Repo<'_> {
        Repo { client: self }
    }
}
impl Repo<'_> {
    pub fn get(&self, id: &str) -> Result<Playback, AriError> {
        let d = self.client.execute_json(Request::new(
            Method::Get,
            format!("/playbacks/{}", segment(id)),
        ))?;
        Ok(Playback::from_data(self.client, d))
    }
}
