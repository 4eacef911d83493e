//! AMI values as a person reads them, for the examples' output.

/// An OriginateResponse `Reason` with its meaning: `4 (answered)`.
pub fn originate_reason(reason: i32) -> String {
    let text = match reason {
        0 => "no such extension or number",
        1 => "no answer",
        3 => "ringing, then no answer",
        4 => "answered",
        5 => "busy",
        8 => "congestion",
        _ => return reason.to_string(),
    };
    format!("{reason} ({text})")
}
