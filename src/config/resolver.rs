//! Where included files come from: the [`IncludeResolver`] trait, the file
//! system ([`FsResolver`]), memory ([`MemoryResolver`], for tests), and
//! nowhere ([`NoIncludes`]).
//!
//! The parser never touches the file system itself: it asks the resolver to
//! read a file, to list a directory (for glob patterns), and, only when the
//! caller allows it, to run an `#exec` command.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's file name (entries whose names are not UTF-8 are left
    /// out).
    pub name: String,
    /// Whether it is a directory (following symbolic links).
    pub is_dir: bool,
}

/// Reads the files a configuration names. Paths given to it are already
/// joined to the including file's directory.
pub trait IncludeResolver {
    /// The bytes of a file. `ErrorKind::NotFound` (or any error) means the
    /// file is not there.
    fn read(&mut self, path: &Path) -> io::Result<Vec<u8>>;

    /// The entries of a directory, for glob patterns.
    fn read_dir(&mut self, dir: &Path) -> io::Result<Vec<DirEntry>>;

    /// A name that is the same for every path to the same file, used to
    /// detect include loops. The default is the path itself.
    fn identity(&mut self, path: &Path) -> PathBuf {
        path.to_path_buf()
    }

    /// Runs an `#exec` command and returns its standard output, which is
    /// read as a configuration file. Called only when the loader allows
    /// exec. `dir` is the including file's directory. The default refuses.
    fn exec(&mut self, command: &str, dir: &Path) -> io::Result<Vec<u8>> {
        let _ = (command, dir);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this resolver does not run commands",
        ))
    }
}

impl<R: IncludeResolver + ?Sized> IncludeResolver for &mut R {
    fn read(&mut self, path: &Path) -> io::Result<Vec<u8>> {
        (**self).read(path)
    }
    fn read_dir(&mut self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        (**self).read_dir(dir)
    }
    fn identity(&mut self, path: &Path) -> PathBuf {
        (**self).identity(path)
    }
    fn exec(&mut self, command: &str, dir: &Path) -> io::Result<Vec<u8>> {
        (**self).exec(command, dir)
    }
}

/// Reads includes from the file system. A relative `#include` is relative
/// to the directory of the file that contains it. `#exec` runs the command
/// with `sh -c` in that directory (only when the loader allows exec).
#[derive(Clone, Debug, Default)]
pub struct FsResolver {
    _private: (),
}

impl FsResolver {
    /// A resolver on the file system.
    pub fn new() -> Self {
        FsResolver::default()
    }
}

impl IncludeResolver for FsResolver {
    fn read(&mut self, path: &Path) -> io::Result<Vec<u8>> {
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        std::fs::read(path)
    }

    fn read_dir(&mut self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_dir = std::fs::metadata(entry.path())
                .map(|m| m.is_dir())
                .unwrap_or(false);
            out.push(DirEntry { name, is_dir });
        }
        Ok(out)
    }

    fn identity(&mut self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    }

    fn exec(&mut self, command: &str, dir: &Path) -> io::Result<Vec<u8>> {
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c").arg(command);
        if !dir.as_os_str().is_empty() {
            cmd.current_dir(dir);
        }
        let out = cmd.stderr(std::process::Stdio::inherit()).output()?;
        Ok(out.stdout)
    }
}

/// Files held in memory, by path: for tests and for configurations that do
/// not live on disk. Paths are compared after lexical normalisation (`.`
/// dropped, `..` applied).
///
/// ```
/// use astrix::config::{Loader, MemoryResolver};
///
/// let files = MemoryResolver::new()
///     .with_file("etc/main.conf", "[general]\n#include \"more.conf\"\n")
///     .with_file("etc/more.conf", "answer = 42\n");
/// let config = Loader::new(files).load("etc/main.conf")?;
/// assert_eq!(config.get("general", "answer"), Some("42"));
/// # Ok::<(), astrix::config::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryResolver {
    files: BTreeMap<PathBuf, Vec<u8>>,
    commands: BTreeMap<String, Vec<u8>>,
}

impl MemoryResolver {
    /// No files.
    pub fn new() -> Self {
        MemoryResolver::default()
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: impl AsRef<Path>, contents: impl Into<Vec<u8>>) {
        self.files.insert(normalize(path.as_ref()), contents.into());
    }

    /// Adds a file; for chaining.
    pub fn with_file(mut self, path: impl AsRef<Path>, contents: impl Into<Vec<u8>>) -> Self {
        self.insert(path, contents);
        self
    }

    /// Gives the output of an `#exec` command; for chaining. Commands not
    /// given fail.
    pub fn with_command(mut self, command: &str, output: impl Into<Vec<u8>>) -> Self {
        self.commands.insert(command.to_string(), output.into());
        self
    }
}

impl IncludeResolver for MemoryResolver {
    fn read(&mut self, path: &Path) -> io::Result<Vec<u8>> {
        let key = normalize(path);
        if let Some(bytes) = self.files.get(&key) {
            return Ok(bytes.clone());
        }
        if self.files.keys().any(|k| k.starts_with(&key) && k != &key) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            "No such file or directory",
        ))
    }

    fn read_dir(&mut self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let dir = normalize(dir);
        let mut out: Vec<DirEntry> = Vec::new();
        for key in self.files.keys() {
            let Ok(rest) = key.strip_prefix(&dir) else {
                continue;
            };
            let mut comps = rest.components();
            let Some(Component::Normal(first)) = comps.next() else {
                continue;
            };
            let Some(name) = first.to_str() else {
                continue;
            };
            let is_dir = comps.next().is_some();
            if !out.iter().any(|e| e.name == name) {
                out.push(DirEntry {
                    name: name.to_string(),
                    is_dir,
                });
            } else if is_dir {
                if let Some(e) = out.iter_mut().find(|e| e.name == name) {
                    e.is_dir = true;
                }
            }
        }
        Ok(out)
    }

    fn identity(&mut self, path: &Path) -> PathBuf {
        normalize(path)
    }

    fn exec(&mut self, command: &str, _dir: &Path) -> io::Result<Vec<u8>> {
        self.commands.get(command).cloned().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no such command in the resolver")
        })
    }
}

/// Resolves nothing: every `#include` fails (`#tryinclude` is fine). What
/// [`crate::config::Config::parse_str`] uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoIncludes;

impl IncludeResolver for NoIncludes {
    fn read(&mut self, _path: &Path) -> io::Result<Vec<u8>> {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            "includes are not resolved when parsing a string",
        ))
    }

    fn read_dir(&mut self, _dir: &Path) -> io::Result<Vec<DirEntry>> {
        Ok(Vec::new())
    }
}

/// Lexical normalisation: drops `.`, applies `..` where it can.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}
