//! Placeholder until tools/gen_ari.py's output lands.
#![allow(missing_docs)]
use super::http::{segment, Method, Request};
use super::{AriError, Channel, Client};
pub struct Channels<'a> {
    client: &'a Client,
}
impl Client {
    pub fn channels(&self) -> Channels<'_> {
        Channels { client: self }
    }
}
impl Channels<'_> {
    pub fn get(&self, id: &str) -> Result<Channel, AriError> {
        let d = self.client.execute_json(Request::new(
            Method::Get,
            format!("/channels/{}", segment(id)),
        ))?;
        Ok(Channel::from_data(self.client, d))
    }
    pub fn answer(&self, id: &str) -> Result<(), AriError> {
        self.client.execute_unit(Request::new(
            Method::Post,
            format!("/channels/{}/answer", segment(id)),
        ))
    }
}
