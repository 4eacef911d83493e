//! AstDB: DATABASE GET, PUT, DEL, DELTREE.

use crate::agi::protocol::command::{expect_one, int, optional_data, AgiCommand};
use crate::agi::{AgiError, CommandLine, Response};

/// `DATABASE GET family key`: the value, or `None` when the key is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseGet {
    family: String,
    key: String,
}

impl DatabaseGet {
    /// Reads `family/key`.
    pub fn new(family: impl Into<String>, key: impl Into<String>) -> Self {
        DatabaseGet {
            family: family.into(),
            key: key.into(),
        }
    }
}

impl AgiCommand for DatabaseGet {
    type Output = Option<String>;
    const NAME: &'static str = "DATABASE GET";
    fn encode(&self, line: &mut CommandLine) {
        line.word("DATABASE GET").arg(&self.family).arg(&self.key);
    }
    fn parse(&self, r: &Response) -> Result<Option<String>, AgiError> {
        optional_data(Self::NAME, r)
    }
}

/// `DATABASE PUT family key value`: `result=0` (not stored) is an
/// [`AgiError::AppError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabasePut {
    family: String,
    key: String,
    value: String,
}

impl DatabasePut {
    /// Stores `value` at `family/key`.
    pub fn new(
        family: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        DatabasePut {
            family: family.into(),
            key: key.into(),
            value: value.into(),
        }
    }
}

impl AgiCommand for DatabasePut {
    type Output = ();
    const NAME: &'static str = "DATABASE PUT";
    fn encode(&self, line: &mut CommandLine) {
        line.word("DATABASE PUT")
            .arg(&self.family)
            .arg(&self.key)
            .arg(&self.value);
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        expect_one(Self::NAME, r)
    }
}

/// `DATABASE DEL family key`: `result=0` (nothing deleted, e.g. no such
/// key) is an [`AgiError::AppError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseDel {
    family: String,
    key: String,
}

impl DatabaseDel {
    /// Deletes `family/key`.
    pub fn new(family: impl Into<String>, key: impl Into<String>) -> Self {
        DatabaseDel {
            family: family.into(),
            key: key.into(),
        }
    }
}

impl AgiCommand for DatabaseDel {
    type Output = ();
    const NAME: &'static str = "DATABASE DEL";
    fn encode(&self, line: &mut CommandLine) {
        line.word("DATABASE DEL").arg(&self.family).arg(&self.key);
    }
    fn parse(&self, r: &Response) -> Result<(), AgiError> {
        expect_one(Self::NAME, r)
    }
}

/// `DATABASE DELTREE family [keytree]`: deletes a family or a subtree.
///
/// The output is the raw result code. Asterisk's documentation says `1`
/// means success, but Asterisk 22's code answers `0` when it deleted at
/// least one entry and `1` when it deleted none, so astrix reports the
/// number rather than guessing; no result is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseDelTree {
    family: String,
    keytree: Option<String>,
}

impl DatabaseDelTree {
    /// Deletes the whole `family`.
    pub fn new(family: impl Into<String>) -> Self {
        DatabaseDelTree {
            family: family.into(),
            keytree: None,
        }
    }
    /// Deletes only the subtree `keytree` of the family.
    pub fn keytree(mut self, keytree: impl Into<String>) -> Self {
        self.keytree = Some(keytree.into());
        self
    }
}

impl AgiCommand for DatabaseDelTree {
    type Output = i64;
    const NAME: &'static str = "DATABASE DELTREE";
    fn encode(&self, line: &mut CommandLine) {
        line.word("DATABASE DELTREE")
            .arg(&self.family)
            .opt_arg(self.keytree.as_deref());
    }
    fn parse(&self, r: &Response) -> Result<i64, AgiError> {
        int(r)
    }
}
