//! A small deterministic mutation engine for the fuzz tests
//! (`tests/fuzz_*.rs`): a seeded xorshift generator, byte-level mutations
//! of recorded fixtures (flips, insertions, deletions, duplicated and
//! truncated slices, CR/LF injection, splicing) and arbitrary inputs.
//!
//! Everything is seeded, so a failure names its seed and case and replays.

/// How many inputs a fuzz loop tries: `default` for `cargo test`, or the
/// value of `ASTRIX_FUZZ_CASES` for a long run.
pub fn cases(default: usize) -> usize {
    match std::env::var("ASTRIX_FUZZ_CASES") {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("ASTRIX_FUZZ_CASES={v:?} is not a number")),
        Err(_) => default,
    }
}

/// True when a long run was asked for (`ASTRIX_FUZZ_CASES` set).
pub fn long_run() -> bool {
    std::env::var_os("ASTRIX_FUZZ_CASES").is_some()
}

/// xorshift64* — tiny, fast, good enough to drive mutations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value; zero is mapped away).
    pub fn new(seed: u64) -> Rng {
        let mut r = Rng(seed ^ 0x9E37_79B9_7F4A_7C15);
        if r.0 == 0 {
            r.0 = 1;
        }
        r.next();
        r
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A byte, biased towards the ones parsers care about.
    pub fn byte(&mut self) -> u8 {
        match self.below(4) {
            0 => *self.pick(INTERESTING_BYTES),
            1 => self.next() as u8,
            _ => self.range(0x20, 0x7e) as u8,
        }
    }

    /// `len` random bytes (see [`Rng::byte`]).
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }

    /// Cut points splitting `len` bytes into up to `max_chunks` chunks,
    /// sorted, without `0` or `len` (so no empty chunk is implied).
    pub fn cuts(&mut self, len: usize, max_chunks: usize) -> Vec<usize> {
        if len < 2 {
            return Vec::new();
        }
        let n = self.below(max_chunks.max(1));
        let mut c: Vec<usize> = (0..n).map(|_| self.range(1, len - 1)).collect();
        c.sort_unstable();
        c.dedup();
        c
    }
}

/// Bytes that steer line-oriented parsers.
pub const INTERESTING_BYTES: &[u8] =
    b"\r\n\r\n:: \t=;%+?&/[]()!,\"'<>#\\-0123456789\x00\x7f\x80\xc3\xa9\xff\xfe";

/// Tokens that steer the Asterisk parsers.
pub const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"\n\n",
    b"\r",
    b": ",
    b":",
    b"Response: Follows\r\n",
    b"--END COMMAND--",
    b"Response: Success\r\n",
    b"Event: Newchannel\r\n",
    b"Event: AsyncAGIExec\r\n",
    b"ActionID: 1\r\n",
    b"Asterisk Call Manager/",
    b"200 result=",
    b"100 result=0 Trying...\n",
    b"520-Invalid command syntax.  Proper usage follows:\n",
    b"520 End of proper usage.\n",
    b"HANGUP\n",
    b" endpos=",
    b"(timeout)",
    b"agi_request: agi://h/",
    b"agi_arg_1: ",
    b"%",
    b"%2",
    b"%C3%A9",
    b"%ff",
    b"+",
    b"?",
    b"&",
    b"=",
    b"=>",
    b"+=",
    b"[",
    b"]",
    b"](!)",
    b"(+)",
    b";--",
    b"--;",
    b";",
    b"\\;",
    b"#include ",
    b"#tryinclude \"",
    b"#exec ",
    b"${",
    b"*",
    b"{a,b}",
    b"\xef\xbb\xbf",
    b"\xc3",
    b"\xff",
];

/// The largest input a mutation may produce by default.
pub const MAX_LEN: usize = 64 * 1024;

/// One random mutation of `data` in place; `others` feeds splices.
pub fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, others: &[&[u8]], max_len: usize) {
    let len = data.len();
    match rng.below(13) {
        // Flip one bit.
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        // Overwrite one byte.
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = rng.byte();
        }
        // Insert random bytes.
        2 => {
            let at = rng.below(len + 1);
            let n = rng.range(1, 16);
            let b = rng.bytes(n);
            data.splice(at..at, b);
        }
        // Delete a range.
        3 if len > 0 => {
            let at = rng.below(len);
            let n = rng.range(1, (len - at).min(64));
            data.drain(at..at + n);
        }
        // Duplicate a slice somewhere.
        4 if len > 0 => {
            let a = rng.below(len);
            let n = rng.range(1, (len - a).min(256));
            let slice = data[a..a + n].to_vec();
            let at = rng.below(len + 1);
            let times = if rng.one_in(8) { rng.range(2, 64) } else { 1 };
            for _ in 0..times {
                data.splice(at..at, slice.iter().copied());
            }
        }
        // Truncate.
        5 if len > 0 => {
            let at = rng.below(len);
            data.truncate(at);
        }
        // Inject CR, LF or both.
        6 => {
            let at = rng.below(len + 1);
            let eols: [&[u8]; 5] = [b"\r", b"\n", b"\r\n", b"\n\r", b"\r\n\r\n"];
            let t = *rng.pick(&eols);
            data.splice(at..at, t.iter().copied());
        }
        // Drop a CR or LF.
        7 if len > 0 => {
            let at = rng.below(len);
            if let Some(p) = data[at..].iter().position(|&b| b == b'\r' || b == b'\n') {
                data.remove(at + p);
            }
        }
        // Insert a token.
        8 => {
            let at = rng.below(len + 1);
            let t = *rng.pick(TOKENS);
            data.splice(at..at, t.iter().copied());
        }
        // Splice: our head with another input's tail.
        9 if !others.is_empty() => {
            let o = *rng.pick(others);
            let at = rng.below(len + 1);
            let from = rng.below(o.len() + 1);
            data.truncate(at);
            data.extend_from_slice(&o[from..]);
        }
        // Insert a slice of another input.
        10 if !others.is_empty() => {
            let o = *rng.pick(others);
            if !o.is_empty() {
                let a = rng.below(o.len());
                let n = rng.range(1, (o.len() - a).min(512));
                let at = rng.below(len + 1);
                data.splice(at..at, o[a..a + n].iter().copied());
            }
        }
        // Swap two bytes.
        11 if len > 1 => {
            let (a, b) = (rng.below(len), rng.below(len));
            data.swap(a, b);
        }
        // A long run of one byte (long lines, many lines).
        12 => {
            let at = rng.below(len + 1);
            let b = rng.byte();
            let n = rng.range(1, 4096);
            data.splice(at..at, std::iter::repeat_n(b, n));
        }
        _ => {
            let at = rng.below(len + 1);
            data.insert(at, rng.byte());
        }
    }
    data.truncate(max_len);
}

/// A mutant of `base`: one to eight mutations, at most `max_len` bytes.
pub fn mutate(rng: &mut Rng, base: &[u8], others: &[&[u8]], max_len: usize) -> Vec<u8> {
    let mut data = base[..base.len().min(max_len)].to_vec();
    let n = if rng.one_in(4) { rng.range(2, 8) } else { 1 };
    for _ in 0..n {
        mutate_once(rng, &mut data, others, max_len);
    }
    data
}

/// A window of at most `max` bytes of `data`, starting anywhere.
pub fn window<'a>(rng: &mut Rng, data: &'a [u8], max: usize) -> &'a [u8] {
    if data.len() <= max {
        return data;
    }
    let start = rng.below(data.len() - max + 1);
    &data[start..start + max]
}

/// An input for a fuzz case: usually a mutant of a corpus entry (a window
/// of it when large), sometimes arbitrary bytes.
pub fn input(rng: &mut Rng, corpus: &[&[u8]], window_len: usize, max_len: usize) -> Vec<u8> {
    if corpus.is_empty() || rng.one_in(8) {
        let top = rng.range(1, 2048);
        let n = rng.below(top + 1);
        return rng.bytes(n);
    }
    let base = *rng.pick(corpus);
    let base = window(rng, base, window_len);
    mutate(rng, base, corpus, max_len)
}

/// Splits `data` at `cuts` (see [`Rng::cuts`]).
pub fn split<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut prev = 0;
    for &c in cuts {
        out.push(&data[prev..c]);
        prev = c;
    }
    out.push(&data[prev..]);
    out
}

/// Runs `case` `n` times with a fresh generator seeded from `seed` and the
/// case number; reports throughput in long runs; a panic names the case.
pub fn run(name: &str, seed: u64, n: usize, mut case: impl FnMut(&mut Rng)) {
    let t = std::time::Instant::now();
    for i in 0..n {
        let mut rng = Rng::new(seed.wrapping_mul(0x1000_0000_01B3) ^ i as u64);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&mut rng)));
        if let Err(e) = r {
            eprintln!("fuzz {name}: case {i} (seed {seed}) failed");
            std::panic::resume_unwind(e);
        }
    }
    if long_run() {
        eprintln!(
            "fuzz {name}: {n} inputs in {:.1} s, 0 failures",
            t.elapsed().as_secs_f64()
        );
    }
}
