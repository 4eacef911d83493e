//! Placeholder until tools/gen_ari.py's output lands.
#![allow(missing_docs)]
use super::http::{segment, Method, Request};
use super::{AriError, Client, LiveRecording};
pub struct Repo<'a> {
    client: &'a Client,
}
impl Client {
    pub fn recordings(&self) -> Repo<'_> {
        Repo { client: self }
    }
}
impl Repo<'_> {
    pub fn get_live(&self, id: &str) -> Result<LiveRecording, AriError> {
        let d = self.client.execute_json(Request::new(
            Method::Get,
            format!("/recordings/live/{}", segment(id)),
        ))?;
        Ok(LiveRecording::from_data(self.client, d))
    }
}
