//! Generator of realistic, varied AMI events, pre-rendered into one buffer.
//!
//! The header sets follow what Asterisk 18-22 emits for these events (channel
//! snapshot blocks as rendered by `ast_manager_build_channel_state_string`,
//! bridge snapshot blocks by `ast_manager_build_bridge_state_string`).
//! Values are drawn from a deterministic xorshift generator, so a given
//! `--seed` always produces the same bytes.

use std::fmt::Write as _;

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const NAMES: &[&str] = &[
    "Alice Smith",
    "Bob Jones",
    "Carol White",
    "Dave Brown",
    "Eve Martin",
    "Frank Muller",
    "Grace Lee",
    "Heidi Novak",
    "Ivan Petrov",
    "Judy Garcia",
    "Mallory Chen",
    "Oscar Rossi",
    "Peggy Dubois",
    "Sybil Kowalski",
    "Trent Silva",
    "Victor Haddad",
    "Walter O'Brien",
    "",
];
const CONTEXTS: &[&str] = &[
    "from-internal",
    "from-trunk",
    "ext-local",
    "macro-dial-one",
    "default",
    "ivr-main",
];
const STATES: &[(&str, &str)] = &[("0", "Down"), ("4", "Ring"), ("5", "Ringing"), ("6", "Up")];
const VARS: &[(&str, &str)] = &[
    ("DIALSTATUS", "ANSWER"),
    ("BRIDGEPEER", ""),
    ("RTPAUDIOQOS", "ssrc=1912392751;themssrc=2119817331;lp=0;rxjitter=0.000000;rxcount=1024;txjitter=0.000125;txcount=1022;rlp=0;rtt=0.000000"),
    ("CHANNEL(language)", "en"),
    ("__FROM_DID", ""),
    ("MACRO_DEPTH", "0"),
    ("SIPCALLID", ""),
    ("CDR(dst)", ""),
    ("AMPUSER", ""),
    ("DIALEDPEERNUMBER", ""),
];
const CAUSES: &[(&str, &str)] = &[
    ("16", "Normal Clearing"),
    ("17", "User busy"),
    ("19", "No answer"),
    ("21", "Call Rejected"),
    ("0", "Unknown"),
];
const DIALSTATUS: &[&str] = &["ANSWER", "BUSY", "NOANSWER", "CANCEL", "CHANUNAVAIL"];

/// Realistic channel identity used to render snapshot blocks.
struct Chan {
    name: String,
    state: (&'static str, &'static str),
    cid_num: String,
    cid_name: &'static str,
    con_num: String,
    con_name: &'static str,
    context: &'static str,
    exten: String,
    priority: u32,
    uniqueid: String,
    linkedid: String,
}

pub struct Generator {
    rng: Rng,
    seq: u64,
    base_epoch: u64,
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: Rng::new(seed),
            seq: 0,
            base_epoch: 1_700_000_000,
        }
    }

    fn chan(&mut self) -> Chan {
        self.seq += 1;
        let r = &mut self.rng;
        let ext = 1000 + r.below(1000);
        let peer = 1000 + r.below(1000);
        let tech = match r.below(10) {
            0..=6 => format!("PJSIP/{}-{:08x}", ext, self.seq),
            7..=8 => format!(
                "Local/{}@from-internal-{:08x};{}",
                peer,
                self.seq,
                1 + r.below(2)
            ),
            _ => format!("PJSIP/trunk-provider-{:08x}", self.seq),
        };
        let linked = self.seq.saturating_sub(r.below(3));
        Chan {
            name: tech,
            state: STATES[r.below(STATES.len() as u64) as usize],
            cid_num: if r.below(5) == 0 {
                format!("+4930{}", 1_000_000 + r.below(8_999_999))
            } else {
                ext.to_string()
            },
            cid_name: r.pick(NAMES),
            con_num: if r.below(3) == 0 {
                "<unknown>".to_string()
            } else {
                peer.to_string()
            },
            con_name: match r.below(3) {
                0 => "<unknown>",
                _ => match r.pick(NAMES) {
                    "" => "<unknown>",
                    n => n,
                },
            },
            context: r.pick(CONTEXTS),
            exten: if r.below(4) == 0 {
                "s".to_string()
            } else {
                peer.to_string()
            },
            priority: 1 + r.below(12) as u32,
            uniqueid: format!("{}.{}", self.base_epoch + self.seq / 50, self.seq),
            linkedid: format!("{}.{}", self.base_epoch + linked / 50, linked),
        }
    }

    fn snapshot(out: &mut String, prefix: &str, c: &Chan) {
        let _ = write!(
            out,
            "{p}Channel: {}\r\n{p}ChannelState: {}\r\n{p}ChannelStateDesc: {}\r\n{p}CallerIDNum: {}\r\n{p}CallerIDName: {}\r\n{p}ConnectedLineNum: {}\r\n{p}ConnectedLineName: {}\r\n{p}Language: en\r\n{p}AccountCode: \r\n{p}Context: {}\r\n{p}Exten: {}\r\n{p}Priority: {}\r\n{p}Uniqueid: {}\r\n{p}Linkedid: {}\r\n",
            c.name,
            c.state.0,
            c.state.1,
            c.cid_num,
            if c.cid_name.is_empty() { "<unknown>" } else { c.cid_name },
            c.con_num,
            c.con_name,
            c.context,
            c.exten,
            c.priority,
            c.uniqueid,
            c.linkedid,
            p = prefix
        );
    }

    /// Renders one event (ending with the blank line) into `out`; returns its kind index.
    pub fn event(&mut self, out: &mut String) -> usize {
        // Weights roughly follow a busy PBX: VarSet dominates, then state changes.
        let roll = self.rng.below(100);
        let kind = match roll {
            0..=29 => 0,  // VarSet
            30..=41 => 1, // Newchannel
            42..=56 => 2, // Newstate
            57..=68 => 3, // Hangup
            69..=76 => 4, // DialBegin
            77..=84 => 5, // DialEnd
            _ => 6,       // BridgeEnter
        };
        let c = self.chan();
        match kind {
            0 => {
                out.push_str("Event: VarSet\r\nPrivilege: dialplan,all\r\n");
                Self::snapshot(out, "", &c);
                let (var, val) = VARS[self.rng.below(VARS.len() as u64) as usize];
                let val = if val.is_empty() {
                    format!("PJSIP/{}-{:08x}", 1000 + self.rng.below(1000), self.seq + 1)
                } else {
                    val.to_string()
                };
                let _ = write!(out, "Variable: {var}\r\nValue: {val}\r\n");
            }
            1 => {
                out.push_str("Event: Newchannel\r\nPrivilege: call,all\r\n");
                Self::snapshot(out, "", &c);
            }
            2 => {
                out.push_str("Event: Newstate\r\nPrivilege: call,all\r\n");
                Self::snapshot(out, "", &c);
            }
            3 => {
                out.push_str("Event: Hangup\r\nPrivilege: call,all\r\n");
                Self::snapshot(out, "", &c);
                let (cause, txt) = CAUSES[self.rng.below(CAUSES.len() as u64) as usize];
                let _ = write!(out, "Cause: {cause}\r\nCause-txt: {txt}\r\n");
            }
            4 | 5 => {
                let d = self.chan();
                out.push_str(if kind == 4 {
                    "Event: DialBegin\r\nPrivilege: call,all\r\n"
                } else {
                    "Event: DialEnd\r\nPrivilege: call,all\r\n"
                });
                Self::snapshot(out, "", &c);
                Self::snapshot(out, "Dest", &d);
                if kind == 4 {
                    let _ = write!(out, "DialString: {}\r\n", d.exten);
                } else {
                    let _ = write!(out, "DialStatus: {}\r\n", self.rng.pick(DIALSTATUS));
                }
            }
            _ => {
                let r = &mut self.rng;
                let _ = write!(
                    out,
                    "Event: BridgeEnter\r\nPrivilege: call,all\r\nBridgeUniqueid: {:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}\r\nBridgeType: basic\r\nBridgeTechnology: simple_bridge\r\nBridgeCreator: <unknown>\r\nBridgeName: <unknown>\r\nBridgeNumChannels: {}\r\nBridgeVideoSourceMode: none\r\n",
                    r.next() as u32,
                    r.next() as u16,
                    r.below(0x1000),
                    r.below(0x1000),
                    r.next() & 0xffff_ffff_ffff,
                    1 + r.below(2)
                );
                Self::snapshot(out, "", &c);
            }
        }
        out.push_str("\r\n");
        kind
    }
}

pub const KIND_NAMES: [&str; 7] = [
    "VarSet",
    "Newchannel",
    "Newstate",
    "Hangup",
    "DialBegin",
    "DialEnd",
    "BridgeEnter",
];

/// Pre-rendered event stream, split into chunks that end on message boundaries.
pub struct EventStream {
    pub buf: Vec<u8>,
    /// Exclusive end offsets of the chunks, each ending on a message boundary.
    pub chunk_ends: Vec<usize>,
    pub min_len: usize,
    pub max_len: usize,
    pub kind_counts: [u64; 7],
    pub header_lines: u64,
}

pub fn build(n: u64, seed: u64, chunk: usize) -> EventStream {
    let mut g = Generator::new(seed);
    let mut buf: Vec<u8> = Vec::with_capacity((n as usize).saturating_mul(520) + 4096);
    let mut chunk_ends = Vec::new();
    let mut one = String::with_capacity(2048);
    let (mut min_len, mut max_len) = (usize::MAX, 0usize);
    let mut kind_counts = [0u64; 7];
    let mut header_lines = 0u64;
    let mut last_cut = 0usize;
    for _ in 0..n {
        one.clear();
        let k = g.event(&mut one);
        kind_counts[k] += 1;
        header_lines += one.matches("\r\n").count() as u64 - 1;
        min_len = min_len.min(one.len());
        max_len = max_len.max(one.len());
        buf.extend_from_slice(one.as_bytes());
        if buf.len() - last_cut >= chunk {
            last_cut = buf.len();
            chunk_ends.push(last_cut);
        }
    }
    if chunk_ends.last() != Some(&buf.len()) {
        chunk_ends.push(buf.len());
    }
    EventStream {
        buf,
        chunk_ends,
        min_len: if n == 0 { 0 } else { min_len },
        max_len,
        kind_counts,
        header_lines,
    }
}
