//! How Asterisk splits an AGI command line into arguments.

/// Splits a command line the way `res_agi` does: spaces and tabs separate
/// arguments; double quotes group (and may open or close mid-argument); a
/// backslash makes the next character literal, inside quotes or not; `""`
/// is an empty argument. (Asterisk also stops at 128 arguments; this does
/// not.)
///
/// ```
/// use astrix::testing::split_agi_args;
/// assert_eq!(
///     split_agi_args(r#"SET VARIABLE FOO "a \"b\" c""#),
///     ["SET", "VARIABLE", "FOO", r#"a "b" c"#]
/// );
/// assert_eq!(split_agi_args(r#"STREAM FILE beep """#), ["STREAM", "FILE", "beep", ""]);
/// ```
pub fn split_agi_args(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut escaped = false;
    for c in line.chars() {
        if escaped {
            if !in_word {
                in_word = true;
            }
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => {
                quoted = !quoted;
                if quoted && !in_word {
                    in_word = true;
                }
            }
            ' ' | '\t' if !quoted => {
                if in_word {
                    args.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            _ => {
                in_word = true;
                current.push(c);
            }
        }
    }
    if in_word {
        args.push(current);
    }
    args
}
