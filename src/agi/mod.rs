//! The Asterisk Gateway Interface: classic stdin/stdout scripts, FastAGI and
//! AsyncAGI, all running the same typed commands.
