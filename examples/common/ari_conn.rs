//! Connection flags shared by the ARI examples:
//! `--url URL --username U --password P --app NAME` (the password may also
//! come from `ASTRIX_ARI_PASSWORD`); without `--url`, the built-in
//! emulator.

use astrix::ari::{Client, ClientBuilder};
use astrix::testing::AriServer;

use crate::cli::{Arg, Cli, Failure, OrExit, Stop, FAILED, NO_CONNECTION};

/// Where to connect, parsed from the command line.
pub struct Conn {
    /// `--url URL`: a real Asterisk's ARI; `None`: the built-in emulator.
    pub url: Option<String>,
    /// `--username U`: the ARI user.
    pub username: String,
    /// `--password P`, else `ASTRIX_ARI_PASSWORD`, else `peekaboo`.
    pub password: String,
    /// `--app NAME`: the Stasis application.
    pub app: String,
}

/// The help text of the connection flags, for an example's usage message.
pub const CONN_HELP: &str = "\
  --url URL           a real Asterisk's ARI (default: the built-in emulator)
  --username U        ARI user (default: hey)
  --password P        ARI password (default: $ASTRIX_ARI_PASSWORD, else peekaboo)
  --app NAME          the Stasis application (default: hello)";

impl Conn {
    /// The defaults: the emulator, `hey`, application `hello`.
    pub fn new() -> Conn {
        Conn {
            url: None,
            username: "hey".into(),
            password: std::env::var("ASTRIX_ARI_PASSWORD").unwrap_or_else(|_| "peekaboo".into()),
            app: "hello".into(),
        }
    }

    /// Takes `arg` if it is a connection flag (reading its value from
    /// `cli`); any other argument is a usage error.
    pub fn take(&mut self, arg: Arg, cli: &mut Cli) -> Result<(), Stop> {
        match arg.flag() {
            Some("--url") => self.url = Some(cli.string("--url")?),
            Some("--username") => self.username = cli.string("--username")?,
            Some("--password") => self.password = cli.string("--password")?,
            Some("--app") => self.app = cli.string("--app")?,
            _ => return Err(arg.unexpected()),
        }
        Ok(())
    }

    /// Starts the emulator when there is no `--url`, opens the client for
    /// the application (`configure` adds to its builder), and prints
    /// `connected to URL as application APP`.
    pub fn connect(
        &self,
        configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> Result<(Client, Option<AriServer>), Failure> {
        let emulator = match self.url {
            Some(_) => None,
            None => Some(
                AriServer::builder()
                    .credentials(&self.username, &self.password)
                    .start()
                    .map_err(|e| Failure {
                        code: FAILED,
                        message: format!("cannot start the emulator: {e}"),
                    })?,
            ),
        };
        let url = match (&self.url, &emulator) {
            (Some(u), _) => u.clone(),
            (None, Some(server)) => server.url(),
            (None, None) => unreachable!("the emulator starts when no URL is given"),
        };
        let builder = Client::builder(url.as_str())
            .credentials(self.username.as_str(), self.password.as_str())
            .app(self.app.as_str());
        let client = configure(builder).connect().or_exit(NO_CONNECTION)?;
        println!("connected to {url} as application {}", self.app);
        Ok((client, emulator))
    }
}
