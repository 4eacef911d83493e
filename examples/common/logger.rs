//! A minimal stderr logger for the examples (level from `ASTRIX_LOG`:
//! error, warn, info, debug, trace).

use log::{LevelFilter, Log, Metadata, Record};

struct Stderr;

impl Log for Stderr {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "[{}] {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }
    fn flush(&self) {}
}

/// Installs the logger; `default` applies when `ASTRIX_LOG` is unset.
pub fn init(default: LevelFilter) {
    let level = match std::env::var("ASTRIX_LOG").ok().as_deref() {
        Some("error") => LevelFilter::Error,
        Some("warn") => LevelFilter::Warn,
        Some("info") => LevelFilter::Info,
        Some("debug") => LevelFilter::Debug,
        Some("trace") => LevelFilter::Trace,
        Some("off") => LevelFilter::Off,
        _ => default,
    };
    if log::set_logger(&Stderr).is_ok() {
        log::set_max_level(level);
    }
}
