//! The 47 typed commands: the list against Asterisk 22's, each one's
//! encoding, and what each result code means.

use astrix::agi::commands::*;
use astrix::agi::{encode_command, AgiCommand, AgiError, Response};

/// The command table of Asterisk 22's res_agi.c (plus GOSUB from
/// app_stack.c), checked in so that a gap shows.
const ASTERISK_22: &str = include_str!("data/asterisk22_agi_commands.txt");

#[test]
fn all_47_commands_have_a_struct() {
    let mut ours: Vec<&str> = ALL_COMMANDS.to_vec();
    ours.sort_unstable();
    let theirs: Vec<&str> = ASTERISK_22.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 47);
}

fn enc<C: AgiCommand>(c: &C) -> String {
    encode_command(c).unwrap()
}

fn r(line: &str) -> Response {
    Response::parse(line.as_bytes()).unwrap()
}

#[test]
fn encodings() {
    let cases: Vec<(String, &str)> = vec![
        (enc(&Answer), "ANSWER"),
        (enc(&AsyncAgiBreak), "ASYNCAGI BREAK"),
        (enc(&ChannelStatus::new()), "CHANNEL STATUS"),
        (
            enc(&ChannelStatus::new().channel("PJSIP/1-1")),
            "CHANNEL STATUS PJSIP/1-1",
        ),
        (
            enc(&ControlStreamFile::new("f")),
            r#"CONTROL STREAM FILE f """#,
        ),
        (
            enc(&ControlStreamFile::new("f").escape_digits("#").pause("5")),
            r#"CONTROL STREAM FILE f # 3000 "" "" 5"#,
        ),
        (
            enc(&ControlStreamFile::new("f").offset_ms(10)),
            r#"CONTROL STREAM FILE f "" 3000 "" "" "" 10"#,
        ),
        (enc(&DatabaseDel::new("fam", "k")), "DATABASE DEL fam k"),
        (
            enc(&DatabaseDelTree::new("fam").keytree("a/b")),
            "DATABASE DELTREE fam a/b",
        ),
        (enc(&DatabaseGet::new("fam", "k")), "DATABASE GET fam k"),
        (
            enc(&DatabasePut::new("fam", "k", "v w")),
            r#"DATABASE PUT fam k "v w""#,
        ),
        (
            enc(&Exec::new("Dial").args(["PJSIP/1", "30"])),
            "EXEC Dial PJSIP/1,30",
        ),
        (enc(&GetData::new("prompt")), "GET DATA prompt"),
        (
            enc(&GetData::new("prompt").max_digits(4)),
            "GET DATA prompt 0 4",
        ),
        (
            enc(&GetFullVariable::new("${A} ${B}").channel("X")),
            r#"GET FULL VARIABLE "${A} ${B}" X"#,
        ),
        (
            enc(&GetOption::new("menu", "123").timeout_ms(5000)),
            "GET OPTION menu 123 5000",
        ),
        (
            enc(&GetVariable::new("CALLERID(num)")),
            "GET VARIABLE CALLERID(num)",
        ),
        (
            enc(&Gosub::new("ctx", "s", "1").args(["a", "b"])),
            "GOSUB ctx s 1 a,b",
        ),
        (enc(&Hangup::new()), "HANGUP"),
        (enc(&Noop), "NOOP"),
        (enc(&ReceiveChar::new(1000)), "RECEIVE CHAR 1000"),
        (enc(&ReceiveText::new(0)), "RECEIVE TEXT 0"),
        (
            enc(&RecordFile::new("/tmp/r", "wav", 5000)
                .escape_digits("#")
                .beep()
                .silence(3)),
            "RECORD FILE /tmp/r wav # 5000 BEEP s=3",
        ),
        (
            enc(&RecordFile::new("r", "gsm", -1).offset(100)),
            r#"RECORD FILE r gsm "" -1 100"#,
        ),
        (
            enc(&SayAlpha::new("abc").case(SayCase::Upper)),
            r#"SAY ALPHA abc "" u"#,
        ),
        (enc(&SayDate::new(0).escape_digits("1")), "SAY DATE 0 1"),
        (
            enc(&SayDateTime::new(60).timezone("UTC")),
            r#"SAY DATETIME 60 "" "ABdY 'digits/at' IMp" UTC"#,
        ),
        (enc(&SayDigits::new("123")), r#"SAY DIGITS 123 """#),
        (
            enc(&SayNumber::new(-5).gender("f")),
            r#"SAY NUMBER -5 "" f"#,
        ),
        (
            enc(&SayPhonetic::new("astrix")),
            r#"SAY PHONETIC astrix """#,
        ),
        (enc(&SayTime::new(3600)), r#"SAY TIME 3600 """#),
        (enc(&SendImage::new("logo")), "SEND IMAGE logo"),
        (enc(&SendText::new("hi there")), r#"SEND TEXT "hi there""#),
        (enc(&SetAutoHangup::new(1.5)), "SET AUTOHANGUP 1.5"),
        (enc(&SetAutoHangup::new(f64::NAN)), "SET AUTOHANGUP 0"),
        (
            enc(&SetCallerId::new("\"Bob\" <100>")),
            r#"SET CALLERID "\"Bob\" <100>""#,
        ),
        (enc(&SetContext::new("default")), "SET CONTEXT default"),
        (enc(&SetExtension::new("s")), "SET EXTENSION s"),
        (enc(&SetMusic::new(true).class("jazz")), "SET MUSIC on jazz"),
        (enc(&SetPriority::new("label")), "SET PRIORITY label"),
        (enc(&SetVariable::new("A", "")), r#"SET VARIABLE A """#),
        (
            enc(&SpeechActivateGrammar::new("g")),
            "SPEECH ACTIVATE GRAMMAR g",
        ),
        (
            enc(&SpeechCreate::new("lumenvox")),
            "SPEECH CREATE lumenvox",
        ),
        (
            enc(&SpeechDeactivateGrammar::new("g")),
            "SPEECH DEACTIVATE GRAMMAR g",
        ),
        (enc(&SpeechDestroy), "SPEECH DESTROY"),
        (
            enc(&SpeechLoadGrammar::new("g", "/p/g.gram")),
            "SPEECH LOAD GRAMMAR g /p/g.gram",
        ),
        (
            enc(&SpeechRecognize::new("prompt", 5000)),
            "SPEECH RECOGNIZE prompt 5000",
        ),
        (enc(&SpeechSet::new("k", "v")), "SPEECH SET k v"),
        (
            enc(&SpeechUnloadGrammar::new("g")),
            "SPEECH UNLOAD GRAMMAR g",
        ),
        (enc(&StreamFile::new("beep")), r#"STREAM FILE beep """#),
        (
            enc(&StreamFile::new("x").escape_digits("12").offset(8)),
            "STREAM FILE x 12 8",
        ),
        (enc(&TddMode::new(TddSetting::Mate)), "TDD MODE mate"),
        (
            enc(&Verbose::new("bench step")),
            r#"VERBOSE "bench step" 1"#,
        ),
        (enc(&WaitForDigit::new(-1)), "WAIT FOR DIGIT -1"),
    ];
    for (ours, expected) in cases {
        assert_eq!(ours, expected);
    }
    assert!(matches!(
        encode_command(&SetVariable::new("A", "x\nHANGUP")),
        Err(AgiError::InvalidArgument { .. })
    ));
}

fn app_err<T: std::fmt::Debug>(res: Result<T, AgiError>) {
    assert!(matches!(res, Err(AgiError::AppError { .. })), "{res:?}");
}

#[test]
fn result_meanings() {
    assert_eq!(Answer.parse(&r("200 result=0")).unwrap(), ());
    app_err(Answer.parse(&r("200 result=-1")));
    assert_eq!(
        ChannelStatus::new().parse(&r("200 result=4")).unwrap(),
        ChannelState::Ring
    );
    assert_eq!(
        ChannelStatus::new().parse(&r("200 result=42")).unwrap(),
        ChannelState::Other(42)
    );
    app_err(ChannelStatus::new().channel("x").parse(&r("200 result=-1")));
    app_err(Hangup::new().channel("x").parse(&r("200 result=-1")));
    assert_eq!(Exec::new("X").parse(&r("200 result=-1")).unwrap(), -1);
    app_err(Exec::new("X").parse(&r("200 result=-2")));
    app_err(Gosub::new("a", "b", "1").parse(&r("200 result=-1 Gosub label not found")));
    assert!(matches!(
        Noop.parse(&r("200 result=x")),
        Err(AgiError::MalformedReply { .. })
    ));

    assert_eq!(
        GetVariable::new("A")
            .parse(&r("200 result=1 ()"))
            .unwrap()
            .as_deref(),
        Some("")
    );
    assert_eq!(
        GetVariable::new("A").parse(&r("200 result=0")).unwrap(),
        None
    );
    app_err(DatabaseGet::new("a", "b").parse(&r("200 result=-1")));
    app_err(DatabasePut::new("a", "b", "c").parse(&r("200 result=0")));
    app_err(DatabaseDel::new("a", "b").parse(&r("200 result=0")));
    assert_eq!(
        DatabaseDelTree::new("a").parse(&r("200 result=0")).unwrap(),
        0
    );

    let p = StreamFile::new("f")
        .parse(&r("200 result=35 endpos=1600"))
        .unwrap();
    assert_eq!(
        p,
        Playback {
            digit: Some('#'),
            endpos: 1600
        }
    );
    let p = StreamFile::new("f")
        .parse(&r("200 result=0 endpos=12345"))
        .unwrap();
    assert_eq!(p.digit, None);
    app_err(ControlStreamFile::new("f").parse(&r("200 result=-1 endpos=-1")));
    assert_eq!(
        GetOption::new("f", "1")
            .parse(&r("200 result=49 endpos=0"))
            .unwrap()
            .digit,
        Some('1')
    );
    assert_eq!(
        GetData::new("f")
            .parse(&r("200 result=12* (timeout)"))
            .unwrap(),
        Digits {
            digits: "12*".into(),
            timed_out: true
        }
    );
    assert_eq!(
        GetData::new("f")
            .parse(&r("200 result= (timeout)"))
            .unwrap(),
        Digits {
            digits: String::new(),
            timed_out: true
        }
    );
    assert_eq!(
        GetData::new("f")
            .parse(&r("200 result=1234"))
            .unwrap()
            .digits,
        "1234"
    );
    app_err(GetData::new("f").parse(&r("200 result=-1")));
    assert_eq!(
        WaitForDigit::new(1).parse(&r("200 result=50")).unwrap(),
        Some('2')
    );
    app_err(WaitForDigit::new(1).parse(&r("200 result=-1")));

    let rec = RecordFile::new("f", "wav", 1);
    assert_eq!(
        rec.parse(&r("200 result=35 (dtmf) endpos=800")).unwrap(),
        Recording {
            end: RecordEnd::Digit('#'),
            endpos: 800
        }
    );
    assert_eq!(
        rec.parse(&r("200 result=0 (timeout) endpos=16000"))
            .unwrap()
            .end,
        RecordEnd::Timeout
    );
    app_err(rec.parse(&r("200 result=-1 (hangup) endpos=400")));
    app_err(rec.parse(&r("200 result=-1 (writefile)")));
    app_err(rec.parse(&r("200 result=-1 (randomerror) endpos=0")));

    assert_eq!(SayNumber::new(1).parse(&r("200 result=0")).unwrap(), None);
    assert_eq!(
        SayDigits::new("1").parse(&r("200 result=53")).unwrap(),
        Some('5')
    );
    app_err(SayAlpha::new("a").parse(&r("200 result=-1")));
    app_err(SayDateTime::new(0).parse(&r("200 result=-1")));

    assert_eq!(
        ReceiveChar::new(1)
            .parse(&r("200 result=0 (timeout)"))
            .unwrap(),
        None
    );
    assert_eq!(
        ReceiveChar::new(1).parse(&r("200 result=65")).unwrap(),
        Some('A')
    );
    app_err(ReceiveChar::new(1).parse(&r("200 result=-1 (hangup)")));
    assert_eq!(
        ReceiveText::new(1)
            .parse(&r("200 result=1 (hi there)"))
            .unwrap(),
        "hi there"
    );
    app_err(ReceiveText::new(1).parse(&r("200 result=-1")));
    app_err(SendText::new("x").parse(&r("200 result=-1")));
    app_err(SendImage::new("x").parse(&r("200 result=-1")));
    app_err(TddMode::new(TddSetting::On).parse(&r("200 result=0")));
    TddMode::new(TddSetting::On)
        .parse(&r("200 result=1"))
        .unwrap();

    SpeechCreate::new("e").parse(&r("200 result=1")).unwrap();
    app_err(SpeechCreate::new("e").parse(&r("200 result=0")));
    app_err(SpeechLoadGrammar::new("g", "p").parse(&r("200 result=0")));
    app_err(SpeechDestroy.parse(&r("200 result=0")));
    let rec = SpeechRecognize::new("p", 1);
    assert_eq!(
        rec.parse(&r("200 result=1 (speech) endpos=10 results=2 score0=900 text0=\"yes please\" grammar0=yn score1=20 text1=\"no\" grammar1=yn")).unwrap(),
        Recognition::Speech {
            endpos: 10,
            results: vec![
                SpeechResult { score: 900, text: "yes please".into(), grammar: "yn".into() },
                SpeechResult { score: 20, text: "no".into(), grammar: "yn".into() },
            ],
        }
    );
    assert_eq!(
        rec.parse(&r("200 result=1 (digit) digit=7 endpos=3"))
            .unwrap(),
        Recognition::Digit {
            digit: '7',
            endpos: 3
        }
    );
    assert_eq!(
        rec.parse(&r("200 result=1 (timeout) endpos=0")).unwrap(),
        Recognition::Timeout { endpos: 0 }
    );
    assert_eq!(
        rec.parse(&r("200 result=1 (hangup) endpos=0")).unwrap(),
        Recognition::Hangup { endpos: 0 }
    );
    app_err(rec.parse(&r("200 result=0 endpos=0")));
    assert!(matches!(
        rec.parse(&r("200 result=1 (speech) endpos=0")),
        Err(AgiError::MalformedReply { .. })
    ));
}
