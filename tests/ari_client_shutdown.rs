//! Closing or dropping an ARI client (even from inside its own callback)
//! leaves no thread behind. In its own binary, so that the thread count is
//! this test's alone.
#![cfg(feature = "ari")]

mod common;

use std::time::{Duration, Instant};

use astrix::ari::events::StasisStart;
use astrix::ari::Client;
use astrix::testing::AriServer;
use crossbeam_channel::unbounded;

const WAIT: Duration = Duration::from_secs(10);

fn client(server: &AriServer, app: &str) -> Client {
    Client::builder(server.url())
        .credentials("hey", "peekaboo")
        .app(app)
        .connect()
        .expect("connect")
}

fn ari_threads() -> usize {
    common::threads_named("astrix-ari-")
}

#[test]
fn close_and_drop_leave_no_thread_behind() {
    let server = AriServer::start().unwrap();
    let before = ari_threads();
    {
        let client = client(&server, "app");
        // A new thread names itself once it runs.
        let deadline = Instant::now() + WAIT;
        while ari_threads() < before + 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(ari_threads(), before + 2);
        // Closing from inside a callback must not deadlock.
        let (tx, rx) = unbounded();
        client.on(move |client: &Client, _: &StasisStart| {
            client.close();
            let _ = tx.send(());
        });
        client.start();
        server.incoming_call("app", &[]);
        rx.recv_timeout(WAIT).unwrap();
    }
    {
        let _client = client(&server, "app");
        // Dropped while connected.
    }
    let deadline = Instant::now() + WAIT;
    while ari_threads() > before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(ari_threads(), before);
}
