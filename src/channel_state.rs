//! [`ChannelState`]: Asterisk's `ast_channel_state`, shared by AMI and AGI.

/// A channel's state, as AMI's `ChannelState:` header and AGI's
/// `CHANNEL STATUS` report it (Asterisk's `ast_channel_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChannelState {
    /// 0: down and available.
    Down,
    /// 1: down but reserved.
    Reserved,
    /// 2: off hook.
    OffHook,
    /// 3: digits dialed.
    Dialing,
    /// 4: ringing (the line rings at the far end).
    Ring,
    /// 5: the remote end is ringing.
    Ringing,
    /// 6: up (answered).
    Up,
    /// 7: busy.
    Busy,
    /// 8: dialing while off hook.
    DialingOffHook,
    /// 9: ring detected before the call is set up.
    PreRing,
    /// 10: muted.
    Mute,
    /// A number this version does not know.
    Other(i64),
}

impl ChannelState {
    /// The state for Asterisk's number.
    pub fn from_code(code: i64) -> ChannelState {
        match code {
            0 => ChannelState::Down,
            1 => ChannelState::Reserved,
            2 => ChannelState::OffHook,
            3 => ChannelState::Dialing,
            4 => ChannelState::Ring,
            5 => ChannelState::Ringing,
            6 => ChannelState::Up,
            7 => ChannelState::Busy,
            8 => ChannelState::DialingOffHook,
            9 => ChannelState::PreRing,
            10 => ChannelState::Mute,
            n => ChannelState::Other(n),
        }
    }

    /// Asterisk's number for the state.
    pub fn code(self) -> i64 {
        match self {
            ChannelState::Down => 0,
            ChannelState::Reserved => 1,
            ChannelState::OffHook => 2,
            ChannelState::Dialing => 3,
            ChannelState::Ring => 4,
            ChannelState::Ringing => 5,
            ChannelState::Up => 6,
            ChannelState::Busy => 7,
            ChannelState::DialingOffHook => 8,
            ChannelState::PreRing => 9,
            ChannelState::Mute => 10,
            ChannelState::Other(n) => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ChannelState;

    #[test]
    fn codes_round_trip() {
        for code in -1..12 {
            assert_eq!(ChannelState::from_code(code).code(), code);
        }
    }
}
