//! placeholder
/// A file for editing.
#[derive(Debug)]
pub struct Document;
