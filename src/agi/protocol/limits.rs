//! Size limits enforced by the sans-IO parsers.

/// Limits on what astrix accepts from Asterisk.
///
/// Every parser in [`crate::agi`] enforces them and answers
/// [`AgiError::LimitExceeded`](crate::agi::AgiError::LimitExceeded) past
/// them, so that a misbehaving peer can't make a session buffer without end.
/// The defaults are far above anything Asterisk 22 sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest line (environment or reply), without its `\n`. Default 64 KiB.
    pub max_line_len: usize,
    /// Largest `agi_*` environment block in bytes. Default 256 KiB.
    pub max_env_bytes: usize,
    /// Most lines in the environment block. Default 1024.
    pub max_env_lines: usize,
    /// Most lines in a multi-line `520-` usage block. Default 256.
    pub max_usage_lines: usize,
    /// Longest command line astrix will send (Asterisk reads 8 KiB).
    /// Default 8190.
    pub max_command_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_len: 64 * 1024,
            max_env_bytes: 256 * 1024,
            max_env_lines: 1024,
            max_usage_lines: 256,
            max_command_len: 8190,
        }
    }
}

impl Limits {
    /// Sets [`Limits::max_line_len`].
    pub fn max_line_len(mut self, n: usize) -> Self {
        self.max_line_len = n;
        self
    }
    /// Sets [`Limits::max_env_bytes`].
    pub fn max_env_bytes(mut self, n: usize) -> Self {
        self.max_env_bytes = n;
        self
    }
    /// Sets [`Limits::max_env_lines`].
    pub fn max_env_lines(mut self, n: usize) -> Self {
        self.max_env_lines = n;
        self
    }
    /// Sets [`Limits::max_usage_lines`].
    pub fn max_usage_lines(mut self, n: usize) -> Self {
        self.max_usage_lines = n;
        self
    }
    /// Sets [`Limits::max_command_len`].
    pub fn max_command_len(mut self, n: usize) -> Self {
        self.max_command_len = n;
        self
    }
}
