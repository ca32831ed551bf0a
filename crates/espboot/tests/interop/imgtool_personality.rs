//! The `imgtool` personality against imgtool 2.5.0 as scripts see it: one
//! table of command lines, each run by the pinned imgtool and by a link
//! named `imgtool` to the espboot binary under test, in two copies of one
//! fixture directory. Compared: exit status, stdout, stderr, and the bytes
//! of the files the rows write (deterministic outputs only: unsigned
//! images and public keys).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::tool_server::{Request, ToolServer};

/// The fixture: a payload, a key pair, a signed and an unsigned image,
/// made by the pinned imgtool.
fn fixture(dir: &Path) -> Option<()> {
    let imgtool = || crate::support::reference_tool("imgtool");
    imgtool()?;
    std::fs::write(dir.join("app.bin"), crate::support::serve::data(3000, 7)).unwrap();
    std::fs::write(dir.join("nonzero.bin"), [0x5a; 512]).unwrap();
    // a payload LZMA2 can shrink (app.bin cannot: imgtool then keeps the
    // uncompressed image)
    let comp: Vec<u8> = (0u32..20_000)
        .map(|i| (i / 7 % 13) as u8 ^ (i % 5) as u8)
        .collect();
    std::fs::write(dir.join("comp.bin"), comp).unwrap();
    let run = |args: &[&str]| {
        crate::support::run_ok(imgtool().unwrap().current_dir(dir).args(args));
    };
    run(&["keygen", "-t", "ecdsa-p256", "-k", "ec.pem"]);
    run(&["keygen", "-t", "ed25519", "-k", "other.pem"]);
    run(&["getpub", "-k", "ec.pem", "-e", "pem", "-o", "ec-public.pem"]);
    run(&["keygen", "-t", "x25519", "-k", "x.pem"]);
    run(&["getpub", "-k", "x.pem", "-e", "pem", "-o", "x-public.pem"]);
    let sign = [
        "sign",
        "-v",
        "1.2.3",
        "-H",
        "0x20",
        "--pad-header",
        "-S",
        "0x10000",
    ];
    run(&[&sign[..], &["-k", "ec.pem", "app.bin", "signed.bin"]].concat());
    run(&[&sign[..], &["app.bin", "unsigned.bin"]].concat());
    run(&[
        &sign[..],
        &["-k", "ec.pem", "--sig-out", "ec.sig", "app.bin", "sig.bin"],
    ]
    .concat());
    // a password-protected key, through getpass's stdin fallback
    let mut keygen = imgtool().unwrap();
    keygen
        .current_dir(dir)
        .args(["keygen", "-t", "ecdsa-p256", "-k", "enc.pem", "-p"]);
    let out = with_stdin(&mut keygen, b"pw\npw\n");
    assert!(out.0 == 0, "imgtool keygen -p: {out:?}");
    // a corrupted copy: one payload byte flipped
    let mut bad = std::fs::read(dir.join("signed.bin")).unwrap();
    bad[0x100] ^= 1;
    std::fs::write(dir.join("corrupt.bin"), bad).unwrap();
    // bytes after the TLV area that are no trailer magic
    let mut junk = std::fs::read(dir.join("signed.bin")).unwrap();
    junk.extend_from_slice(b"0123456789abcdefXYZ");
    std::fs::write(dir.join("trailing-junk.bin"), junk).unwrap();
    Some(())
}

/// Runs `args` with `program` in `dir`: exit status, stdout, stderr.
fn run(program: &Path, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir).args(args);
    with_stdin(&mut cmd, b"")
}

/// `stderr` with a Python traceback's frames left out: what came before
/// it and the exception's lines. The personality's convention for an
/// exception imgtool does not catch is those lines (and the exit status).
fn without_frames(stderr: String) -> String {
    const HEADER: &str = "Traceback (most recent call last):\n";
    let Some(at) = stderr.find(HEADER) else {
        return stderr;
    };
    let lines: Vec<&str> = stderr[at..].lines().collect();
    let last_frame = exception_start(&lines);
    let exception: String = lines[last_frame + 1..]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    format!("{}{exception}", &stderr[..at])
}

/// The index of the last line of a traceback's frames in `lines`: the
/// last `File` line and the indented source lines under it (the exception
/// after them may go on over indented lines of its own).
pub(crate) fn exception_start(lines: &[&str]) -> usize {
    let Some(file) = lines.iter().rposition(|l| l.starts_with("  File ")) else {
        return lines.iter().rposition(|l| l.starts_with(' ')).unwrap_or(0);
    };
    let source = lines[file + 1..]
        .iter()
        .take_while(|l| l.starts_with("    "))
        .count();
    file + source
}

/// [`run`] of the pinned imgtool through `server` (a fork of an imgtool
/// that imported itself once: the same result as a fresh process, without
/// Python's start-up cost per row), with `stdin` to read.
fn run_reference_fed(
    server: &mut ToolServer,
    dir: &Path,
    args: &[&str],
    stdin: &[u8],
) -> (i32, String, String) {
    let out = server.run(&Request::new(args).cwd(dir).stdin(Some(stdin)));
    let stderr: String = String::from_utf8_lossy(&out.stderr)
        .split_inclusive('\n')
        .filter(|l| !l.contains("GetPassWarning") && !l.contains("fallback_getpass("))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        without_frames(stderr),
    )
}

/// Runs `cmd` (no terminal) with `input` on stdin: exit status, stdout,
/// stderr without the `GetPassWarning` Python prints naming its own source
/// file (`getpass.py:91: GetPassWarning: …` and the source line after it).
fn with_stdin(cmd: &mut Command, input: &[u8]) -> (i32, String, String) {
    use std::io::Write as _;
    let mut child = cmd
        .env("COLUMNS", "80")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The tool may exit before reading everything.
    let _ = stdin.write_all(input);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr: String = String::from_utf8_lossy(&out.stderr)
        .split_inclusive('\n')
        .filter(|l| !l.contains("GetPassWarning") && !l.contains("fallback_getpass("))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        without_frames(stderr),
    )
}

/// What a script parses in a click help page: the usage block, each
/// option row's term (its spellings and metavar, `-k, --key filename`) in
/// the page's order, the column the descriptions start at, and the command
/// names. The descriptions are ours, not imgtool's.
#[derive(Debug, PartialEq)]
struct HelpFacts {
    usage: String,
    options: Vec<String>,
    column: Option<usize>,
    commands: Vec<String>,
}

/// `text`'s help facts; `None` if it is not a help page.
fn help_facts(text: &str) -> Option<HelpFacts> {
    let usage = text.split("\n\n").next()?;
    if !usage.starts_with("Usage: ") {
        return None;
    }
    let mut section = "";
    let mut options = Vec::new();
    let mut column = None;
    let mut commands = Vec::new();
    for line in text.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line;
            continue;
        }
        // a term starts at column 2; wrapped help lines are indented further
        let Some(row) = line.strip_prefix("  ").filter(|r| !r.starts_with(' ')) else {
            continue;
        };
        let term = row.split("  ").next().unwrap_or_default();
        match section {
            "Options:" => {
                options.push(term.to_owned());
                // where the first description on a term's line starts
                let rest = &row[term.len()..];
                let text = rest.trim_start();
                if column.is_none() && !text.is_empty() {
                    column = Some(2 + term.len() + rest.len() - text.len());
                }
            }
            "Commands:" => commands.push(term.to_owned()),
            _ => {}
        }
    }
    Some(HelpFacts {
        usage: usage.to_owned(),
        options,
        column,
        commands,
    })
}

/// A help row as scripts see it: the same exit status, and on each stream
/// either the same text or a help page with the same facts.
fn same_help(want: &(i32, String, String), got: &(i32, String, String)) -> Result<(), String> {
    if want.0 != got.0 {
        return Err(format!("exit status {} != {}", want.0, got.0));
    }
    for (stream, a, b) in [("stdout", &want.1, &got.1), ("stderr", &want.2, &got.2)] {
        match (help_facts(a), help_facts(b)) {
            (Some(fa), Some(fb)) if fa == fb => {}
            (Some(fa), Some(fb)) => return Err(format!("{stream}: {fa:?} != {fb:?}")),
            (None, None) if a == b => {}
            _ => return Err(format!("{stream} differs")),
        }
    }
    Ok(())
}

#[test]
fn imgtool_personality_help_facts_parse_help_pages() {
    // the comparison must see a changed metavar, option or command
    let page = "Usage: imgtool x [OPTIONS]\n\n  About.\n\nOptions:\n  -k, --key filename  Key\n                      wrapped\n  --pad               Pad\n\nCommands:\n  sign  Sign\n";
    let facts = help_facts(page).unwrap();
    assert_eq!(facts.usage, "Usage: imgtool x [OPTIONS]");
    assert_eq!(facts.options, ["-k, --key filename", "--pad"]);
    assert_eq!(facts.column, Some(22));
    assert_eq!(facts.commands, ["sign"]);
    let ok = (0, page.to_owned(), String::new());
    assert!(same_help(&ok, &ok.clone()).is_ok());
    let swapped = page
        .replace("  --pad               Pad\n", "")
        .replace("Options:\n", "Options:\n  --pad               Pad\n");
    for changed in [
        page.replace("filename", "FILE"),
        page.replace("--pad ", "--pda "),
        page.replace("  sign", "  sgn"),
        // the same options in another order
        swapped,
        // the descriptions one column further right
        page.replace("filename  Key", "filename   Key"),
    ] {
        assert!(same_help(&ok, &(0, changed, String::new())).is_err());
    }
    assert!(same_help(&ok, &(2, page.to_owned(), String::new())).is_err());
}

#[test]
fn imgtool_personality_matches_imgtool_exit_status_and_text() {
    let tmp = tempfile::tempdir().unwrap();
    let (theirs, ours) = (tmp.path().join("theirs"), tmp.path().join("ours"));
    std::fs::create_dir_all(&theirs).unwrap();
    if fixture(&theirs).is_none() {
        return;
    }
    std::fs::create_dir_all(&ours).unwrap();
    for entry in std::fs::read_dir(&theirs).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), ours.join(entry.file_name())).unwrap();
    }
    let link = tmp.path().join("bin/imgtool");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let reference = crate::support::reference_bin_dir().join("imgtool");
    let sign = "sign -v 1.2.3 -H 0x20 -S 0x10000";
    let rows: Vec<String> = [
        // the group
        "",
        "--help",
        "-h",
        "--bogus",
        "bogus",
        // click's suggestions for near misses
        "--hepl",
        "sgn",
        "creat",
        "sign --pad-headr",
        "dumpinfo --frmat json signed.bin",
        "version",
        // help of every command, also via the old name `create`
        "sign --help",
        "create --help",
        "verify --help",
        "keygen --help",
        "getpub --help",
        "getpubhash --help",
        "getpriv --help",
        "dumpinfo --help",
        "keyinfo --help",
        "version --help",
        "getpub -h",
        "sign -k ec.pem --help",
        // usage errors: missing arguments and options, unknown options,
        // bad choices and values, an option without its value
        "sign",
        "sign app.bin",
        "sign app.bin out.bin",
        "sign --bogus",
        "verify",
        "getpub",
        "getpub -k",
        "getpub -k ec.pem -e bogus",
        "keygen -t bogus -k x.pem",
        "sign -v 1.2.3 -H 0x20 -S 0x10000 --align 3 app.bin x.bin",
        // verify's verdicts on stdout
        "verify -k ec.pem signed.bin",
        "verify signed.bin",
        "verify -k other.pem signed.bin",
        "verify -k ec.pem corrupt.bin",
        "verify -k ec.pem app.bin",
        "verify -k ec.pem unsigned.bin",
        "verify -k ec.pem missing.bin",
        "verify -k ec.pem --json signed.bin",
        // deterministic outputs, compared byte for byte below
        "getpub -k ec.pem",
        "getpub -k ec.pem -e pem",
        "getpubhash -k ec.pem",
    ]
    .iter()
    .map(|r| r.to_string())
    .chain([
        format!("{sign} --pad-header app.bin out-unsigned.bin"),
        format!("{sign} --pad-header --pad --confirm app.bin out-padded.bin"),
        format!("{sign} --pad-header -x 0x10000 app.bin out.hex"),
        // sign's runtime checks, which imgtool raises as usage errors
        format!("{sign} -k ec-public.pem --pad-header app.bin x.bin"),
        format!("{sign} nonzero.bin x.bin"),
        format!("{sign} missing.bin x.bin"),
        "sign -v 1.x -H 0x20 -S 0x10000 app.bin x.bin".to_owned(),
        "sign -v 1.2.3 -H 8 -S 0x10000 app.bin x.bin".to_owned(),
        // what sign prints on stdout while it builds (imgtool/image.py)
        format!("{sign} --pad-header -k ec.pem app.bin out-ec.bin"),
        format!("{sign} --pad-header -k other.pem app.bin out-ed.bin"),
        format!("{sign} --pad-header -k ec.pem --vector-to-sign payload app.bin out-vp.bin"),
        format!("{sign} --pad-header -k ec.pem --vector-to-sign digest app.bin out-vd.bin"),
        format!("{sign} --pad-header --vector-to-sign digest app.bin out-vn.bin"),
        format!("{sign} --pad-header --fix-sig ec.sig --fix-sig-pubkey ec.pem app.bin out-fp.bin"),
        format!(
            "{sign} --pad-header --fix-sig ec.sig --fix-sig-pubkey ec-public.pem app.bin out-fq.bin"
        ),
        // a --fix-sig file read as base64.b64decode reads it: the binary
        // payload and a PEM key as a signature, a missing public key
        format!("{sign} --pad-header --fix-sig app.bin --fix-sig-pubkey ec.pem app.bin x.bin"),
        format!("{sign} --pad-header --fix-sig x.pem --fix-sig-pubkey ec.pem app.bin x.bin"),
        format!("{sign} --pad-header --fix-sig ec.sig app.bin x.bin"),
        format!("{sign} --pad-header --fix-sig missing.sig app.bin x.bin"),
        // option values imgtool checks while parsing or before loading
        format!("{sign} --pad-header --security-counter abc app.bin x.bin"),
        format!("{sign} --pad-header --dependencies bad app.bin x.bin"),
        format!("{sign} --pad-header --custom-tlv 0x10 0x1234 app.bin x.bin"),
        format!("{sign} --pad-header --custom-tlv 0xa0 0x12 --custom-tlv 0xa0 0x34 app.bin x.bin"),
        format!("{sign} --pad-header --load-addr 0x1000 --rom-fixed 0x2000 app.bin x.bin"),
        // hash choices the key does not allow, before anything is printed
        format!("{sign} --pad-header --sha 512 -k ec.pem app.bin x.bin"),
        format!("{sign} --pad-header --pure -k ec.pem app.bin x.bin"),
        format!("{sign} --pad-header --sha 512 -k other.pem app.bin out-ed512.bin"),
        // a repeated option keeps its last value; the slot check's text
        format!("{sign} --pad-header -S 0x100 app.bin x.bin"),
        format!("{sign} --pad-header -S 0x20000 --pad app.bin out-last-s.bin"),
        // fits imgtool's default sector count: no espboot warning
        "sign -v 1.2.3 -H 0x20 -S 0x1000 --pad-header --pad app.bin out-m128.bin".to_owned(),
        // -e big: every multi-byte field imgtool packs with `struct` in
        // big-endian order, for each key type (ECDSA is randomized: text
        // only), with every protected TLV, a wide trailer magic and hex
        format!("{sign} -e big --pad-header app.bin out-be.bin"),
        format!("{sign} --endian big --pad-header -k other.pem app.bin out-be-ed.bin"),
        format!(
            "{sign} -e big --pad-header -k other.pem -s auto -d (1,1.2.3+4) --custom-tlv 0xa0 0x0102 \
             --boot-record BL --vid acme --cid app --pad --confirm --max-align 16 app.bin out-be-all.bin"
        ),
        format!("{sign} -e big --pad-header --pad --test --align 4 -x 0x10000 app.bin out-be.hex"),
        format!("{sign} -e big --pad-header -k ec.pem app.bin x.bin"),
        format!("{sign} -e big --pad-header -k ec.pem --sha 384 app.bin x.bin"),
        // imgtool verify reads fields in host (little-endian) order
        "verify -k other.pem out-be-ed.bin".to_owned(),
        format!("{sign} -e middle --pad-header app.bin x.bin"),
        // --compression: the raw LZMA2 stream from the same liblzma, the
        // DECOMP_* TLVs of the uncompressed image, for each key type and
        // byte order, and imgtool's fallback when nothing is gained
        format!("{sign} --pad-header --compression lzma2 comp.bin out-lz.bin"),
        format!("{sign} --pad-header --compression lzma2armthumb -k other.pem comp.bin out-lzt-ed.bin"),
        format!(
            "{sign} -e big --pad-header --compression lzma2 -k other.pem -s auto --pad comp.bin out-lz-be.bin"
        ),
        format!("{sign} -e big --pad-header --compression lzma2armthumb comp.bin out-lzt-be.bin"),
        format!("{sign} --pad-header --compression lzma2 app.bin out-lz-fallback.bin"),
        format!("{sign} --pad-header --compression lzma2 -k ec.pem comp.bin x.bin"),
        format!("{sign} --pad-header --compression lzma3 comp.bin x.bin"),
        // compressed and encrypted (random: text only), and the fall-back
        // image flagged encrypted but clear (bytes)
        format!("{sign} --pad-header --compression lzma2 -k other.pem -E ec-public.pem comp.bin x.bin"),
        format!("{sign} --pad-header --compression lzma2armthumb -E ec-public.pem --encrypt-keylen 256 comp.bin x.bin"),
        format!("{sign} --pad-header --compression lzma2 -E ec-public.pem --pad app.bin out-lz-enc-fallback.bin"),
        "verify -k other.pem out-lzt-ed.bin".to_owned(),
        // keyinfo: the kind on stdout; its refusals are usage errors
        "keyinfo -k ec.pem".to_owned(),
        "keyinfo --key ec-public.pem".to_owned(),
        "keyinfo -k ec-public.pem --require private".to_owned(),
        "keyinfo -k ec-public.pem --require public".to_owned(),
        "keyinfo -k ec.pem --require public".to_owned(),
        "keyinfo -k enc.pem".to_owned(),
        "keyinfo".to_owned(),
        "keyinfo -k ec.pem --require bogus".to_owned(),
        // dumpinfo in imgtool's three formats, to stdout and with -o
        // (YAML by default), on signed, padded, Intel HEX and odd images
        "dumpinfo signed.bin".to_owned(),
        "dumpinfo -f json signed.bin".to_owned(),
        "dumpinfo --format yaml signed.bin".to_owned(),
        "dumpinfo -f human corrupt.bin".to_owned(),
        "dumpinfo -s signed.bin".to_owned(),
        "dumpinfo -o dump.yaml signed.bin".to_owned(),
        "dumpinfo -f json --outfile dump.json out-padded.bin".to_owned(),
        "dumpinfo -f human -o dump.txt out-padded.bin".to_owned(),
        "dumpinfo out-padded.bin".to_owned(),
        "dumpinfo -f yaml out-padded.bin".to_owned(),
        "dumpinfo -f json out-padded.bin".to_owned(),
        "dumpinfo out.hex".to_owned(),
        "dumpinfo -f yaml out-unsigned.bin".to_owned(),
        "dumpinfo trailing-junk.bin".to_owned(),
        "dumpinfo -f json trailing-junk.bin".to_owned(),
        "dumpinfo missing.bin".to_owned(),
        "dumpinfo -f bogus signed.bin".to_owned(),
        "dumpinfo --json signed.bin".to_owned(),
        "dumpinfo".to_owned(),
        // error paths: extra arguments, the name `create` in the usage
        // line, getpub's and getpriv's usage errors
        "version extra".to_owned(),
        "version a b".to_owned(),
        "create -v 1 -H 32 -S 4096".to_owned(),
        "create --bogus".to_owned(),
        "getpub -k ec.pem -e lang-c -l rust".to_owned(),
        "getpub -k ec.pem -e pem --name-suffix _2".to_owned(),
        "getpub -k ec.pem --name-suffix a-b".to_owned(),
        "getpriv -k other.pem".to_owned(),
        "getpriv -k ec-public.pem".to_owned(),
        "getpriv -k x.pem -f openssl".to_owned(),
        // sign: the image is loaded (and its header area checked) before
        // the key; click converts the integers and runs the callbacks in
        // the order the options were typed
        format!("{sign} -k missing.pem nonzero.bin x.bin"),
        format!("{sign} --pad-header -S abc app.bin x.bin"),
        format!("{sign} --pad-header -x abc app.bin x.hex"),
        format!("{sign} --pad-header -L abc app.bin x.bin"),
        format!("{sign} --pad-header -F abc app.bin x.bin"),
        format!("{sign} --pad-header -M abc app.bin x.bin"),
        format!("{sign} --pad-header -M 0x10 app.bin x.bin"),
        format!("{sign} --pad-header -v 1.x -H abc app.bin x.bin"),
        format!("{sign} --pad-header -H abc -v 1.x app.bin x.bin"),
        format!("{sign} --pad-header -d (1,1.2) app.bin x.bin"),
        format!("{sign} --pad-header -d (1,abc) app.bin x.bin"),
        format!("{sign} --pad-header -d (1,1.x.3) app.bin x.bin"),
        format!("{sign} --pad-header --custom-tlv 0xa0 0x123 app.bin x.bin"),
        format!("{sign} --pad-header --pure --sha 256 -k other.pem app.bin x.bin"),
        format!("{sign} --pad-header --boot-record 1234567890123 app.bin x.bin"),
        format!("{sign} --pad-header -k ec.pem -E x-public.pem app.bin x.bin"),
        format!("{sign} --pad-header app.bin x.hex"),
        // values starting with '-' are values (click), then judged
        format!("{sign} -s -1 nonzero.bin x.bin"),
        format!("{sign} --align -4 app.bin x.bin"),
        "sign -v -1 -H 0x20 -S 0x10000 app.bin x.bin".to_owned(),
        // negative integers imgtool takes: same image, or its traceback's
        // last line with exit 1
        format!("{sign} --pad-header -S -5 app.bin out-neg-s.bin"),
        format!("{sign} --pad-header -S -5 --pad app.bin out-neg-s-pad.bin"),
        format!("{sign} --pad-header -M -3 --pad --confirm app.bin out-neg-m.bin"),
        format!("{sign} --pad-header -M -3 --overwrite-only --pad app.bin out-neg-mo.bin"),
        format!("{sign} --pad-header -x -1 app.bin out-neg-x.bin"),
        format!("{sign} --pad-header -s -1 app.bin x.bin"),
        format!("{sign} --pad-header -L -1 app.bin x.bin"),
        format!("{sign} --pad-header -k -h app.bin x.bin"),
        "verify -k nofile signed.bin".to_owned(),
        "getpub -- -h".to_owned(),
        // several errors: click's order
        "sign -v 1.2.3 -H 0x20 -S yy --align 3 app.bin x.bin".to_owned(),
        "create -v x app.bin".to_owned(),
        "keygen -t bogus -k x.pem --bogus".to_owned(),
        // the key before the checks imgtool makes after loading it
        format!("{sign} --pad-header -k ec-public.pem -s -1 app.bin x.bin"),
        format!("{sign} --pad-header -k ec.pem -E x-public.pem --custom-tlv 0x10 0x12 app.bin x.bin"),
        format!("{sign} --pad-header -k ec-public.pem --boot-record 1234567890123 app.bin x.bin"),
        // extra arguments after every other check, all of them listed
        "getpub a -k ec.pem b".to_owned(),
        "getpub a -e pem b".to_owned(),
        "getpriv -- -k ec.pem x".to_owned(),
        format!("{sign} --pad-header app.bin -- x.bin c d"),
        // a key file without PEM framing
        "getpub -k app.bin".to_owned(),
        format!("{sign} --pad-header -k app.bin app.bin x.bin"),
        // a negative -M past the slot; .hex outputs at any -x
        format!("{sign} --pad-header -M -1000 --pad --confirm app.bin out-neg-m-big.bin"),
        format!("{sign} --pad-header -S 0x800 -M -20 app.bin x.bin"),
        format!("{sign} --pad-header -x -0x10 --pad --confirm app.bin out-neg-x.hex"),
        format!("{sign} --pad-header -x 0xfffffff0 app.bin out-wide-x.hex"),
    ])
    .collect();
    let mut differences = Vec::new();
    for row in &rows {
        let args: Vec<&str> = row.split_whitespace().collect();
        let want = run(&reference, &theirs, &args);
        let got = run(&link, &ours, &args);
        let is_help = args.is_empty() || args.iter().any(|a| *a == "-h" || *a == "--help");
        if is_help {
            if let Err(why) = same_help(&want, &got) {
                differences.push(format!(
                    "imgtool {row}: {why}\n  imgtool: {want:?}\n  espboot: {got:?}"
                ));
            }
        } else if want != got {
            differences.push(format!(
                "imgtool {row}\n  imgtool: {want:?}\n  espboot: {got:?}"
            ));
        }
    }
    // keygen -p without a terminal: getpass reads stdin (matching
    // passphrases, a mismatch then a match, end of input).
    let prompts: [(&str, &[u8]); 3] = [
        ("pw-a.pem", b"secret\nsecret\n"),
        ("pw-b.pem", b"one\ntwo\nthree\nthree\n"),
        ("pw-c.pem", b"only-once\n"),
    ];
    for (key, input) in prompts {
        let args = ["keygen", "-t", "ed25519", "-k", key, "-p"];
        let want = with_stdin(
            Command::new(&reference).current_dir(&theirs).args(args),
            input,
        );
        let got = with_stdin(Command::new(&link).current_dir(&ours).args(args), input);
        if want != got || theirs.join(key).exists() != ours.join(key).exists() {
            differences.push(format!(
                "imgtool {} <<< {:?}\n  imgtool: {want:?}\n  espboot: {got:?}",
                args.join(" "),
                String::from_utf8_lossy(input)
            ));
        }
    }
    // keygen without -t: click prompts for the type on stdout (an answer,
    // an invalid then an empty one, end of input: Aborted!).
    let type_prompts: [(&str, &[u8]); 3] = [
        ("t-a.pem", b"ed25519\n"),
        ("t-b.pem", b"foo\n\necdsa-p256\n"),
        ("t-c.pem", b""),
    ];
    for (key, input) in type_prompts {
        let args = ["keygen", "-k", key];
        let want = with_stdin(
            Command::new(&reference).current_dir(&theirs).args(args),
            input,
        );
        let got = with_stdin(Command::new(&link).current_dir(&ours).args(args), input);
        if want != got || theirs.join(key).exists() != ours.join(key).exists() {
            differences.push(format!(
                "imgtool {} <<< {:?}\n  imgtool: {want:?}\n  espboot: {got:?}",
                args.join(" "),
                String::from_utf8_lossy(input)
            ));
        }
    }
    for name in [
        "out-unsigned.bin",
        "out-padded.bin",
        "out.hex",
        "out-ed.bin",
        "out-vp.bin",
        "out-vd.bin",
        "out-vn.bin",
        "out-fp.bin",
        "out-fq.bin",
        "dump.yaml",
        "dump.json",
        "out-last-s.bin",
        "out-m128.bin",
        "out-ed512.bin",
        "dump.txt",
        "out-be.bin",
        "out-be-ed.bin",
        "out-be-all.bin",
        "out-be.hex",
        "out-lz.bin",
        "out-lzt-ed.bin",
        "out-lz-be.bin",
        "out-lzt-be.bin",
        "out-lz-fallback.bin",
        "out-lz-enc-fallback.bin",
        "out-neg-s.bin",
        "out-neg-s-pad.bin",
        "out-neg-m.bin",
        "out-neg-mo.bin",
        "out-neg-x.bin",
        "out-neg-m-big.bin",
        "out-neg-x.hex",
        "out-wide-x.hex",
    ] {
        differences.extend(output_difference(&theirs, &ours, name, Output::Bytes));
    }
    assert!(
        differences.is_empty(),
        "{} of {} rows differ:\n{}",
        differences.len(),
        rows.len(),
        differences.join("\n")
    );
}

/// `sign --compression` with an Intel HEX input: imgtool gives the
/// compressed image the input's address (moved down for `--pad-header`),
/// so a `.hex` output needs no `-x`; espboot lost that address and refused
/// such an output. Each line runs through the pinned imgtool and the
/// personality on copies of one directory: exit status, stdout, stderr,
/// and the output bytes (with `-E`, whose key is random, where they are).
#[test]
fn regression_compression_with_hex_input_lost_the_base_address() {
    let tmp = tempfile::tempdir().unwrap();
    let (theirs, ours) = (tmp.path().join("theirs"), tmp.path().join("ours"));
    std::fs::create_dir_all(&theirs).unwrap();
    let Some(mut imgtool) = crate::support::reference_tool("imgtool") else {
        return;
    };
    // a payload LZMA2 shrinks, as Intel HEX at three addresses: above
    // 64 KiB, with its own zeroed header area, and at 0 (which imgtool
    // does not move for a prepended header)
    let comp: Vec<u8> = (0u32..20_000)
        .map(|i| (i / 7 % 13) as u8 ^ (i % 5) as u8)
        .collect();
    let with_header = [&[0u8; 0x20][..], &comp].concat();
    for (name, address, data) in [
        ("comp.hex", 0x1_0020, &comp),
        ("comph.hex", 0x2_0000, &with_header),
        ("comp0.hex", 0, &comp),
    ] {
        let text = mcuboot_image::hexfile::write(&[(address, &data[..])]).unwrap();
        std::fs::write(theirs.join(name), text).unwrap();
    }
    std::fs::write(theirs.join("comp.bin"), &comp).unwrap();
    for args in [
        &["keygen", "-t", "ed25519", "-k", "ed.pem"][..],
        &["keygen", "-t", "x25519", "-k", "x.pem"],
        &["getpub", "-k", "x.pem", "-e", "pem", "-o", "x-public.pem"],
    ] {
        crate::support::run_ok(imgtool.current_dir(&theirs).args(args));
        imgtool = crate::support::reference_tool("imgtool").unwrap();
    }
    std::fs::create_dir_all(&ours).unwrap();
    for entry in std::fs::read_dir(&theirs).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), ours.join(entry.file_name())).unwrap();
    }
    let link = tmp.path().join("bin/imgtool");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let reference = crate::support::reference_bin_dir().join("imgtool");
    let sign = "sign -v 1.2.3 -H 0x20 -S 0x10000";
    // (arguments, how the outputs compare: byte for byte, only their
    // Intel HEX runs' addresses and lengths, or not at all)
    let rows: Vec<(String, Output)> = [
        (
            "--pad-header --compression lzma2 comp.hex c1.hex",
            Output::Bytes,
        ),
        (
            "--pad-header --compression lzma2 comp.hex c1.bin",
            Output::Bytes,
        ),
        (
            "--pad-header --compression lzma2armthumb comp.hex c2.hex",
            Output::Bytes,
        ),
        (
            "--pad-header --compression lzma2 -k ed.pem --pad comp.hex c3.hex",
            Output::Bytes,
        ),
        (
            "--pad-header --compression lzma2armthumb -k ed.pem --confirm comp.hex c4.hex",
            Output::Bytes,
        ),
        // imgtool builds the compressed image without --test and
        // --non-bootable
        (
            "--pad-header --compression lzma2 --test comp.hex c5.hex",
            Output::Bytes,
        ),
        (
            "--pad-header --compression lzma2 --non-bootable comp.hex c6.hex",
            Output::Bytes,
        ),
        (
            "--pad-header --compression lzma2 --non-bootable comp.bin c6.bin",
            Output::Bytes,
        ),
        // the input's own header area; an input at address 0
        ("--compression lzma2 comph.hex c7.hex", Output::Bytes),
        (
            "--compression lzma2armthumb -k ed.pem --pad comph.hex c8.hex",
            Output::Bytes,
        ),
        (
            "--pad-header --compression lzma2 comp0.hex c9.hex",
            Output::Bytes,
        ),
        // -x wins over the input's address; a binary input needs it
        (
            "--pad-header --compression lzma2 -x 0x30000 comp.hex c10.hex",
            Output::Bytes,
        ),
        (
            "--pad-header --compression lzma2 -x 0x40000 --pad comp.bin c11.hex",
            Output::Bytes,
        ),
        (
            "--pad-header --compression lzma2 -k ed.pem comp.bin c12.hex",
            Output::None,
        ),
        ("--pad-header comp.bin c13.hex", Output::None),
        // encrypted: a random key, so where the records are, not their bytes
        (
            "--pad-header --compression lzma2 -E x-public.pem comp.hex c14.hex",
            Output::Layout,
        ),
        (
            "--pad-header --compression lzma2armthumb -E x-public.pem --pad comp.hex c15.hex",
            Output::Layout,
        ),
        (
            "--pad-header --compression lzma2 -E x-public.pem -c --confirm comp.hex c16.hex",
            Output::Layout,
        ),
    ]
    .iter()
    .map(|(args, compare)| (format!("{sign} {args}"), *compare))
    .collect();
    let mut differences = Vec::new();
    for (row, compare) in &rows {
        let args: Vec<&str> = row.split_whitespace().collect();
        let want = run(&reference, &theirs, &args);
        let got = run(&link, &ours, &args);
        if want != got {
            differences.push(format!(
                "imgtool {row}\n  imgtool: {want:?}\n  espboot: {got:?}"
            ));
        }
        let out = args.last().unwrap();
        differences.extend(output_difference(&theirs, &ours, out, *compare));
    }
    assert!(
        differences.is_empty(),
        "{} of {} rows differ:\n{}",
        differences.len(),
        rows.len(),
        differences.join("\n")
    );
}

/// How the file `name` that imgtool wrote into `theirs` and espboot into
/// `ours` compare, as `compare` says: `None` when they agree, else what
/// differs.
fn output_difference(theirs: &Path, ours: &Path, name: &str, compare: Output) -> Option<String> {
    let (a, b) = (
        std::fs::read(theirs.join(name)),
        std::fs::read(ours.join(name)),
    );
    let layout = |bytes: &Vec<u8>| {
        let text = String::from_utf8_lossy(bytes);
        mcuboot_image::hexfile::read_runs(&text)
            .map(|runs| {
                runs.iter()
                    .map(|(at, d)| (*at, d.len()))
                    .collect::<Vec<_>>()
            })
            .ok()
    };
    let same = match (compare, &a, &b) {
        (_, Err(_), Err(_)) => compare == Output::None,
        (Output::Bytes, Ok(a), Ok(b)) => a == b,
        (Output::Layout, Ok(a), Ok(b)) => layout(a).is_some() && layout(a) == layout(b),
        _ => false,
    };
    (!same).then(|| {
        format!(
            "{name}: imgtool {:?} bytes, espboot {:?} bytes",
            a.map(|v| v.len()),
            b.map(|v| v.len())
        )
    })
}

/// Runs each line through the pinned imgtool and the personality in two
/// copies of a small directory (`app.bin`, whose header area is not zero,
/// `zero.bin`, whose header area is, and an ECDSA key `ec.pem` made by
/// imgtool): the rows that differ in exit status, stdout or stderr. `None`
/// without the pinned imgtool.
fn differing_rows(lines: &[&str]) -> Option<Vec<String>> {
    differing_rows_and_outputs(lines, &[])
}

/// [`differing_rows`], and the files named in `outputs` that differ
/// (byte for byte, or one tool wrote it and the other did not).
fn differing_rows_and_outputs(lines: &[&str], outputs: &[&str]) -> Option<Vec<String>> {
    differing_rows_in(lines, outputs, false)
}

/// [`differing_rows_and_outputs`], with the espsecure table's broken key
/// files in the directory too when `bad_keys` is set.
fn differing_rows_in(lines: &[&str], outputs: &[&str], bad_keys: bool) -> Option<Vec<String>> {
    differing_rows_fed(lines, outputs, bad_keys, b"")
}

/// [`differing_rows_in`], with `files` (name, contents) in the directory
/// too.
fn differing_rows_among(
    lines: &[&str],
    outputs: &[&str],
    bad_keys: bool,
    files: &[(&str, &[u8])],
) -> Option<Vec<String>> {
    differing_rows_setup(lines, outputs, bad_keys, files, b"")
}

/// [`differing_rows_in`], each run reading `stdin`; with `bad_keys`, the
/// keys of [`write_unusable_keys`] are in the directory too.
fn differing_rows_fed(
    lines: &[&str],
    outputs: &[&str],
    bad_keys: bool,
    stdin: &[u8],
) -> Option<Vec<String>> {
    differing_rows_setup(lines, outputs, bad_keys, &[], stdin)
}

/// The comparison behind [`differing_rows_among`] and
/// [`differing_rows_fed`]: `files` in the directory, each run reading
/// `stdin`.
fn differing_rows_setup(
    lines: &[&str],
    outputs: &[&str],
    bad_keys: bool,
    files: &[(&str, &[u8])],
    stdin: &[u8],
) -> Option<Vec<String>> {
    let rows: Vec<Vec<&str>> = lines
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    differing_argvs(&rows, outputs, bad_keys, files, stdin)
}

/// [`differing_rows_setup`] with each row's words given (an empty word,
/// or one with blanks, cannot be split from a line).
fn differing_argvs(
    rows: &[Vec<&str>],
    outputs: &[&str],
    bad_keys: bool,
    files: &[(&str, &[u8])],
    stdin: &[u8],
) -> Option<Vec<String>> {
    let mut imgtool = crate::support::reference_tool("imgtool")?;
    let tmp = tempfile::tempdir().unwrap();
    let (theirs, ours) = (tmp.path().join("theirs"), tmp.path().join("ours"));
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("app.bin"), crate::support::serve::data(3000, 7)).unwrap();
    let zero = [&[0u8; 0x20][..], &crate::support::serve::data(2000, 8)].concat();
    std::fs::write(theirs.join("zero.bin"), zero).unwrap();
    crate::support::run_ok(imgtool.current_dir(&theirs).args([
        "keygen",
        "-t",
        "ecdsa-p256",
        "-k",
        "ec.pem",
    ]));
    if bad_keys {
        crate::espsecure_personality::write_bad_keys(&theirs);
        write_unusable_keys(&theirs);
    }
    for (name, contents) in files {
        std::fs::write(theirs.join(name), contents).unwrap();
    }
    std::fs::create_dir_all(&ours).unwrap();
    for entry in std::fs::read_dir(&theirs).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), ours.join(entry.file_name())).unwrap();
    }
    let link = tmp.path().join("bin/imgtool");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let mut server = ToolServer::start("imgtool", &[("COLUMNS", Some("80"))])?;
    let mut differences = Vec::new();
    for args in rows {
        let want = run_reference_fed(&mut server, &theirs, args, stdin);
        let got = with_stdin(Command::new(&link).current_dir(&ours).args(args), stdin);
        if want != got {
            differences.push(format!(
                "imgtool {args:?}\n  imgtool: {want:?}\n  espboot: {got:?}"
            ));
        }
    }
    for name in outputs {
        differences.extend(output_difference(&theirs, &ours, name, Output::Bytes));
    }
    Some(differences)
}

/// An empty TLV value in `dumpinfo -f yaml`: PyYAML writes its empty
/// base64 as `!!binary ""`; the personality began a literal block with
/// nothing in it.
#[test]
fn regression_empty_tlv_value_was_an_empty_yaml_block() {
    let Some(differences) = differing_rows_among(
        &[
            "sign -v 1.0 -H 0x20 -S 0x10000 --custom-tlv-file 0xa5 empty.tlv zero.bin e.bin",
            "dumpinfo -f yaml e.bin",
            "dumpinfo -o e.yaml e.bin",
        ],
        &["e.bin", "e.yaml"],
        false,
        &[("empty.tlv", b"")],
    ) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool's slot check counts an overwrite-only trailer as two
/// alignments and the aligned magic (`_trailer_size`); the personality
/// counted the bootloader's four alignments and the magic (espboot's own
/// stricter check) and refused images imgtool writes.
#[test]
fn regression_overwrite_only_slot_check_counted_the_bootloaders_trailer() {
    let Some(differences) = differing_rows_in(
        &[
            // zero.bin signed is 0x818 bytes; imgtool's trailer is 0x20
            "sign -v 1.0 -H 0x20 -S 0x838 --overwrite-only --pad zero.bin o1.bin",
            "sign -v 1.0 -H 0x20 -S 0x837 --overwrite-only --pad zero.bin o2.bin",
            "sign -v 1.0 -H 0x20 -S 0x838 --overwrite-only zero.bin o3.bin",
            "sign -v 1.0 -H 0x20 -S 0x850 --overwrite-only --max-align 16 --pad zero.bin o4.bin",
            "sign -v 1.0 -H 0x20 -S 0x84f --overwrite-only --max-align 16 zero.bin o5.bin",
        ],
        &["o1.bin", "o3.bin", "o4.bin"],
        false,
    ) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// A key file that can be read once (`-k /dev/stdin`, a pipe, `<(…)`):
/// imgtool reads it once; the personality read it twice (a check, then
/// the load) and found the second read empty.
#[test]
fn regression_keys_from_pipes_were_read_twice() {
    let Some(mut reference) = crate::support::reference_tool("imgtool") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("app.bin"), crate::support::serve::data(3000, 7)).unwrap();
    crate::support::run_ok(
        reference
            .current_dir(dir)
            .args(["keygen", "-t", "ed25519", "-k", "ed.pem"]),
    );
    let key = std::fs::read(dir.join("ed.pem")).unwrap();
    let link = dir.join("bin/imgtool");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let sign = [
        "sign",
        "--pad-header",
        "-v",
        "1.2.3",
        "-H",
        "0x200",
        "-S",
        "0x20000",
    ];
    let rows: [Vec<&str>; 4] = [
        vec!["getpub", "-k", "/dev/stdin"],
        vec!["getpubhash", "-k", "/dev/stdin"],
        [&sign[..], &["-k", "/dev/stdin", "app.bin", "OUT"]].concat(),
        vec!["verify", "-k", "/dev/stdin", "signed.bin"],
    ];
    crate::support::run_ok(
        crate::support::reference_tool("imgtool")
            .unwrap()
            .current_dir(dir)
            .args(sign)
            .args(["-k", "ed.pem", "app.bin", "signed.bin"]),
    );
    for row in &rows {
        let mut outcomes = Vec::new();
        for (tool, out) in [
            (
                crate::support::reference_bin_dir().join("imgtool"),
                "theirs.bin",
            ),
            (link.clone(), "ours.bin"),
        ] {
            let args: Vec<&str> = row
                .iter()
                .map(|a| if *a == "OUT" { out } else { a })
                .collect();
            let run = with_stdin(Command::new(tool).current_dir(dir).args(&args), &key);
            outcomes.push(run);
        }
        assert_eq!(outcomes[0], outcomes[1], "imgtool {row:?}");
        assert_eq!(outcomes[0].0, 0, "imgtool {row:?}: {:?}", outcomes[0]);
    }
    // Ed25519 signatures are deterministic: the same image
    assert_eq!(
        std::fs::read(dir.join("theirs.bin")).unwrap(),
        std::fs::read(dir.join("ours.bin")).unwrap()
    );
}

/// click gives an option that takes a value the next word, whatever it
/// looks like, and imgtool's own checks then judge it; the personality
/// read `-s -1` as an unknown option `-1`.
#[test]
fn regression_option_values_starting_with_a_dash_were_read_as_options() {
    let Some(differences) = differing_rows(&[
        "sign -k ec.pem -v 1.0 -H 0x20 -S 0x10000 -s -1 app.bin o.bin",
        "sign -v -1 -H 0x20 -S 0x10000 zero.bin o.bin",
        "sign -v 1.0 -H -0x20 -S 0x10000 zero.bin o.bin",
        "sign -v 1.0 -H 0x20 -S 0x10000 --align -4 zero.bin o.bin",
        "sign -v 1.0 -H 0x20 -S 0x10000 -R -1 zero.bin o.bin",
        "sign -v 1.0 -H 0x20 -S 0x10000 -d -1 zero.bin o.bin",
        "sign -v 1.0 -H 0x20 -S 0x10000 -s -auto zero.bin o.bin",
        "sign -v 1.0 -H 0x20 -S 0x10000 --boot-record -x zero.bin o7.bin",
        "sign -v 1.0 -H 0x20 -S 0x10000 --custom-tlv 0xa0 -0x12 zero.bin o10.bin",
        "getpub -k ec.pem -e -x",
        "keygen -k x.pem -t -1",
        "dumpinfo -f -x zero.bin",
        // -h as a value is no request for help
        "getpub -e -h -k ec.pem",
        "dumpinfo -f --help zero.bin",
    ]) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// With several errors on one line click reports the first it meets:
/// parse errors (an unknown option) anywhere on the line, then the given
/// options' values in the order they were typed, then the arguments and
/// the options not given. The personality reported clap's first: a bad
/// choice or a missing argument before an earlier option's bad value, a
/// bad choice before a later unknown option.
#[test]
fn regression_several_errors_were_reported_in_clap_order_not_clicks() {
    let Some(differences) = differing_rows(&[
        "sign -v 1.0 -H 0x20 -S yy --align 3 app.bin o.bin",
        "sign --align 3 -v 1.0 -H 0x20 -S yy app.bin o.bin",
        "sign -v 1.0 -H 0x20 -S 0x1000 --align 3 -R 5 zero.bin",
        "sign -e bad -M x -v 1.0 -H 0x20 -S 0x1000 app.bin",
        "sign -v 1.0 -H 0x20 -S 0x1000 -M x -e bad app.bin",
        "sign -v x",
        "create -v x app.bin",
        "create -v x -H y -S z --align 3",
        "keygen -t bogus -k x.pem --bogus",
        "getpub -e bogus -k nofile --bogus",
        "verify --bogus -k nofile",
        "dumpinfo -f bogus nofile --bogus",
    ]) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// How a row's output files compare.
#[derive(Clone, Copy, PartialEq)]
enum Output {
    /// Byte for byte.
    Bytes,
    /// The Intel HEX runs' addresses and lengths (the bytes are random).
    Layout,
    /// Neither tool writes one.
    None,
}

/// imgtool takes a negative slot size, hex address or sector count (click
/// int types) and writes an image: a negative slot size is checked like 0
/// and pads nothing, `-x` only places a .hex output, a negative sector
/// count shrinks the trailer's status area. The personality refused them
/// as out of range.
#[test]
fn regression_negative_slot_size_hex_addr_and_max_sectors_were_refused() {
    let sign = "sign -v 1.0 -H 0x20 -S 0x2000";
    let lines = [
        format!("{sign} -S -5 zero.bin o1.bin"),
        format!("{sign} -S -5 --pad zero.bin o2.bin"),
        format!("{sign} -S -5 --confirm zero.bin o3.bin"),
        format!("{sign} -x -1 zero.bin o4.bin"),
        format!("{sign} -M -3 zero.bin o5.bin"),
        format!("{sign} -M -3 --pad zero.bin o6.bin"),
        format!("{sign} -M -3 --test zero.bin o7.bin"),
        format!("{sign} -M -3 --confirm --align 2 zero.bin o8.bin"),
        format!("{sign} -M -7 --overwrite-only --pad zero.bin o9.bin"),
        format!("{sign} -M -1 -S -4 zero.bin o10.bin"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let outputs: Vec<String> = (1..=10).map(|i| format!("o{i}.bin")).collect();
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows_and_outputs(&lines, &outputs) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool packs the security counter, load address and rom-fixed address
/// with `struct.pack('I', ...)` and does not catch the struct.error a
/// value out of 32 bits raises: the personality's convention for an
/// uncaught exception is the traceback's last line with exit 1, where it
/// printed its own range error.
#[test]
fn regression_struct_error_for_out_of_range_counters_and_addresses_had_no_traceback_line() {
    let Some(differences) = differing_rows(&[
        "sign -v 1.0 -H 0x20 -S 0x2000 -s -1 zero.bin o.bin",
        "sign -v 1.0 -H 0x20 -S 0x2000 -L -1 zero.bin o.bin",
        "sign -v 1.0 -H 0x20 -S 0x2000 -F -1 zero.bin o.bin",
        "sign -v 1.0 -H 0x20 -S 0x2000 -s 0x100000000 zero.bin o.bin",
        "sign -v 1.0 -H 0x20 -S 0x2000 -L 0x100000000 zero.bin o.bin",
        "sign -v 1.0 -H 0x20 -S 0x2000 -s auto -L -1 zero.bin o.bin",
    ]) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool opens a key file that is not there without catching the
/// FileNotFoundError (sign and verify): its last line with exit 1.
#[test]
fn regression_missing_key_file_had_no_file_not_found_traceback_line() {
    let Some(differences) = differing_rows(&[
        "sign -k -h -v 1.0 -H 0x20 -S 0x2000 zero.bin o.bin",
        "sign -k nofile.pem -v 1.0 -H 0x20 -S 0x2000 zero.bin o.bin",
        "verify -k nofile zero.bin",
        "verify -k -h zero.bin",
    ]) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// click reports a missing required option before an extra argument
/// (a word after `--` included); the personality reported the extra word
/// as an unknown option.
#[test]
fn regression_extra_argument_was_reported_before_a_missing_option() {
    let Some(differences) = differing_rows(&[
        "getpub -- -h",
        "getpub extra",
        "getpriv -- -x",
        "getpub -k ec.pem -- -h",
    ]) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool's `sign` loads the signing key, then the encryption key and
/// checks they pair, before it reads the custom TLVs and `--pure`, and
/// its `Image.create` settles the hash before it refuses a long boot
/// record or packs the security counter and addresses: a key that cannot
/// sign (public only, or of another type than the encryption key) is
/// reported before those. The personality checked them all before the
/// key.
#[test]
fn regression_key_errors_were_reported_after_later_sign_checks() {
    let Some(mut imgtool) = crate::support::reference_tool("imgtool") else {
        return;
    };
    // the keys: made in the current directory of the rows below
    let keys = tempfile::tempdir().unwrap();
    for args in [
        &["keygen", "-t", "ecdsa-p256", "-k", "k.pem"][..],
        &["getpub", "-k", "k.pem", "-e", "pem", "-o", "pub.pem"],
        &["keygen", "-t", "x25519", "-k", "x.pem"],
        &["getpub", "-k", "x.pem", "-e", "pem", "-o", "xpub.pem"],
    ] {
        crate::support::run_ok(imgtool.current_dir(keys.path()).args(args));
        imgtool = crate::support::reference_tool("imgtool").unwrap();
    }
    let pem = |name: &str| keys.path().join(name).display().to_string();
    let mut lines = Vec::new();
    for key in [
        format!("-k {}", pem("pub.pem")),
        format!("-k {} -E {}", pem("k.pem"), pem("xpub.pem")),
    ] {
        for later in [
            "-s -1",
            "-L -1",
            "-F 0x100000000",
            "--custom-tlv 0x10 0x12",
            "--custom-tlv 0xa0 0x123",
            "--boot-record 1234567890123",
            "--pure --sha 256",
            "--sha 512",
        ] {
            lines.push(format!(
                "sign {key} -v 1.0 -H 0x20 -S 0x2000 {later} zero.bin o.bin"
            ));
        }
    }
    // without a key problem the later checks keep their own order
    lines.push(
        "sign -v 1.0 -H 0x20 -S 0x2000 --boot-record 1234567890123 -s -1 zero.bin o.bin".into(),
    );
    lines.push("sign -v 1.0 -H 0x20 -S 0x2000 -L -1 --custom-tlv 0x10 0x12 zero.bin o.bin".into());
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows(&lines) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// click reports extra arguments only after it has processed every
/// parameter (a missing option, a bad value first), and lists all the
/// words left over once the command's arguments are filled, wherever they
/// stand among the options and `--`. The personality judged the line by
/// its first extra word: it reported extra arguments before a missing
/// option, and counted option values as extra words.
#[test]
fn regression_extra_arguments_were_judged_by_the_first_extra_word_only() {
    let Some(differences) = differing_rows(&[
        "getpub a b",
        "getpub a b c",
        "getpub a -k ec.pem b",
        "getpub a -e pem b",
        "getpub a --bogus",
        "getpub -- a b",
        "getpub a -- b",
        "getpub a -- -k ec.pem",
        "getpub a -e",
        "getpub a b -e bogus",
        "getpub -kec.pem a b",
        "keyinfo a b -k ec.pem",
        "getpriv -- -k ec.pem x",
        "verify -k ec.pem a b c",
        "dumpinfo -- a b",
        "version -- -x",
        "sign -v 1 -H 0x20 -S abc zero.bin o.bin c",
        "sign -v 1 -H 0x20 zero.bin o.bin c",
        "sign -v 1 -H 0x20 -S 0x1000 zero.bin -- o.bin c d",
        "create a b c d",
    ]) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool counts a negative `-M` into its trailer size, which may fall
/// below zero: the slot check then lets a larger image through (its
/// message shows the negative size as `0x-…`), and `--pad` writes an
/// image longer than the slot (or, with no room for image_ok, an
/// IndexError). The personality refused such counts as out of range.
#[test]
fn regression_negative_max_sectors_past_the_slot_was_refused() {
    let sign = "sign -v 1.0 -H 0x20 -S 0x1000";
    let lines = [
        format!("{sign} -M -1000 --pad zero.bin m1.bin"),
        format!("{sign} -M -1000 zero.bin m2.bin"),
        format!("{sign} -M -1000 --pad --confirm zero.bin m3.bin"),
        format!("{sign} -M -1000 --pad --test --align 4 zero.bin m4.bin"),
        format!("{sign} -M -10 --confirm --max-align 32 --align 32 zero.bin m5.bin"),
        format!("{sign} -S 0x900 -M -5 --pad --confirm zero.bin m6.bin"),
        format!("{sign} -S -0x800 -M -5000 --pad --confirm -R 0 zero.bin m7.bin"),
        format!("{sign} -S -0x800 -M -500 --confirm zero.bin m8.bin"),
        format!("{sign} -S 0x10 -M -5 --pad zero.bin m9.bin"),
        format!("{sign} -S 0x800 -M -20 zero.bin m10.bin"),
        format!("{sign} -M -3 --overwrite-only --pad --confirm zero.bin m11.bin"),
        format!("{sign} -M -1000 --pad -e big zero.bin m12.bin"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    // m8 to m10 are refused: neither tool writes them
    let outputs: Vec<String> = (1..=12)
        .filter(|i| !(8..=10).contains(i))
        .map(|i| format!("m{i}.bin"))
        .collect();
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows_and_outputs(&lines, &outputs) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool places a `.hex` output's bytes at `-x` (and the trailer at
/// `-x` + `-S`) as Python integers: below zero intelhex writes each
/// address's low 16 bits, past 4 GiB its extended address record cannot
/// hold the upper bits and the OverflowError stops the file part way.
/// The personality refused a negative `-x` or `-S`, and wrapped the
/// addresses past 4 GiB into a complete file.
#[test]
fn regression_hex_output_at_negative_or_wide_addresses_was_refused_or_wrapped() {
    let sign = "sign -v 1.0 -H 0x20 -S 0x1000";
    let lines = [
        format!("{sign} -x -1 zero.bin h1.hex"),
        format!("{sign} -x -0x10 --pad --confirm zero.bin h2.hex"),
        format!("{sign} -x 0x1000 -S -5 --pad zero.bin h3.hex"),
        format!("{sign} -x 0x1000 -S -0x100 --pad --confirm zero.bin h4.hex"),
        format!("{sign} -x -0x100000 --pad zero.bin h5.hex"),
        format!("{sign} -x -0x8000 -S 0x10000 --pad zero.bin h6.hex"),
        format!("{sign} -x 0xfffffff0 zero.bin h7.hex"),
        format!("{sign} -x 0x100000000 zero.bin h8.hex"),
        format!("{sign} -x 0xffffff00 --pad zero.bin h9.hex"),
        format!("{sign} -x 0xfff0 --pad --test -e big zero.bin h10.hex"),
        format!("{sign} -x 0x10000 -M -1000 --pad --confirm zero.bin h11.hex"),
        format!("{sign} -x -0x20 --pad --confirm -S 0x30 zero.bin h12.hex"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    // h12 is refused (the slot check); h7 to h9 are written part way
    let outputs: Vec<String> = (1..=11).map(|i| format!("h{i}.hex")).collect();
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows_and_outputs(&lines, &outputs) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// A key file with no PEM framing (no BEGIN line, or a block without its
/// END line) ends imgtool with cryptography's uncaught ValueError, in
/// every command that reads a key, and before sign's later checks; the
/// personality printed its own one-line error.
#[test]
fn regression_unframed_key_file_had_no_value_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let unterminated = dir.path().join("unterminated.pem");
    std::fs::write(&unterminated, "-----BEGIN PRIVATE KEY-----\nabc\n").unwrap();
    let u = unterminated.display();
    let lines = [
        "getpub -k zero.bin".to_owned(),
        "getpubhash -k zero.bin".to_owned(),
        "getpriv -k zero.bin".to_owned(),
        "keyinfo -k zero.bin --require private".to_owned(),
        "verify -k zero.bin zero.bin".to_owned(),
        "sign -k zero.bin -v 1 -H 0x20 -S 0x1000 zero.bin o.bin".to_owned(),
        "sign -k zero.bin -v 1 -H 0x20 -S 0x1000 --custom-tlv 0x10 0x12 zero.bin o.bin".to_owned(),
        format!("getpub -k {u}"),
        format!("sign -k {u} -v 1 -H 0x20 -S 0x1000 -s -1 zero.bin o.bin"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows(&lines) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// The espsecure table's broken key files (their PEM, base64, headers,
/// DER or key numbers are wrong) that imgtool's `keys.load` cannot load:
/// the private key attempt fails, and the public key attempt's
/// ValueError is what imgtool's traceback ends with.
const BROKEN_KEY_FILES: &[&str] = &[
    "bad_empty.pem",
    "bad_trunc.pem",
    "brk_trunc.pem",
    "brk_tag.pem",
    "brk_len.pem",
    "brk_trail.pem",
    "brk_empty.pem",
    "brk_ver.pem",
    "brk_label.pem",
    "brk_b64.pem",
    "brk_pad.pem",
    "brk_last.pem",
    "brk_ec_trunc.pem",
    "brk_ec_label.pem",
    "brk_ec_b64.pem",
    "brk_pub_trunc.pem",
    "brk_pub_tag.pem",
    "brk_pub_trail.pem",
    "brk_pub_b64.pem",
    "hdr_blank.pem",
    "hdr_noblank.pem",
    "hdr_comment.pem",
    "hdr_proc.pem",
    "hdr_nodek.pem",
    "hdr_utf8.pem",
    "hdr_pub_blank.pem",
    "hdr_pub_proc.pem",
    "num_rsa_qi.pem",
    "num_rsa_e.pem",
    "num_rsa_pub_e1.pem",
    "num_rsa_even.pem",
    "num_ed_short.pem",
    "num_ed_pub_short.pem",
    "num_ec_zero.pem",
    "num_ec_order.pem",
    "num_ec_other.pem",
    "num_pub_off.pem",
    "num_pub_inf.pem",
    "num_ec_oid.pem",
    "num_pub_oid.pem",
];

/// Each broken key file through every option that loads a key: `getpub
/// -k`, `sign -k`, `verify -k` and `sign -E` (exit status and text, the
/// traceback's last line for imgtool's uncaught exceptions).
#[test]
fn imgtool_personality_matches_imgtool_on_broken_key_files() {
    let mut lines = Vec::new();
    for key in BROKEN_KEY_FILES {
        lines.push(format!("getpub -k {key}"));
        lines.push(format!(
            "sign -k {key} -v 1 -H 0x20 -S 0x1000 zero.bin o.bin"
        ));
        lines.push(format!("verify -k {key} zero.bin"));
        lines.push(format!(
            "sign -k ec.pem -E {key} -v 1 -H 0x20 -S 0x1000 zero.bin o.bin"
        ));
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows_in(&lines, &[], true) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// A blank line inside the PEM body, RSA parts that disagree, a bad EC
/// scalar: imgtool cannot load these and ends with the public key
/// loader's ValueError; the personality signed with them (exit 0) or
/// printed its own `Error: -k/--key: …` line.
#[test]
fn regression_broken_key_files_were_accepted_or_had_espboots_own_error() {
    let lines = [
        "getpub -k hdr_blank.pem",
        "getpub -k num_rsa_qi.pem",
        "sign -k num_ec_zero.pem -v 1 -H 0x20 -S 0x1000 zero.bin o.bin",
        "verify -k brk_tag.pem zero.bin",
        "getpub -k brk_pub_trunc.pem",
        "sign -k ec.pem -E hdr_pub_blank.pem -v 1 -H 0x20 -S 0x1000 zero.bin o.bin",
    ];
    let Some(differences) = differing_rows_in(&lines, &[], true) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// An EC key on a curve cryptography loads but imgtool does not take
/// (secp256k1, secp521r1): imgtool's `keys.load` raises a bare Exception
/// naming the curve; the personality printed its own `Error: -k/--key: …`.
#[test]
fn regression_unsupported_ec_curve_had_espboots_own_error() {
    let mut lines = Vec::new();
    for key in [
        "bad_k256.pem",
        "bad_k256.pub",
        "bad_p521.pem",
        "bad_p521.pub",
    ] {
        lines.push(format!("getpub -k {key}"));
        lines.push(format!(
            "sign -k {key} -v 1 -H 0x20 -S 0x1000 zero.bin o.bin"
        ));
        lines.push(format!("verify -k {key} zero.bin"));
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows_in(&lines, &[], true) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool reads `--fix-sig` with `base64.b64decode`, which skips what is
/// not base64 and ends the data at a complete padding, and does not catch
/// its `binascii.Error` nor `open()`'s OSError; a missing
/// `--fix-sig-pubkey` is a usage error, and that key file is opened
/// without a catch as well. The personality decoded strictly (stray
/// characters and short padding refused, no image written) with its own
/// words for every refusal.
#[test]
fn regression_fix_sig_file_was_decoded_strictly_with_espboots_own_errors() {
    let Some(mut imgtool) = crate::support::reference_tool("imgtool") else {
        return;
    };
    // a real signature of app.bin's image, made by imgtool
    let keys = tempfile::tempdir().unwrap();
    std::fs::write(
        keys.path().join("app.bin"),
        crate::support::serve::data(3000, 7),
    )
    .unwrap();
    let sign = "sign -v 1.0 -H 0x20 --pad-header -S 0x10000";
    for args in [
        "keygen -t ecdsa-p256 -k ec.pem".to_owned(),
        format!("{sign} -k ec.pem --sig-out real.sig app.bin s.bin"),
    ] {
        let args: Vec<&str> = args.split_whitespace().collect();
        crate::support::run_ok(imgtool.current_dir(keys.path()).args(args));
        imgtool = crate::support::reference_tool("imgtool").unwrap();
    }
    let real = std::fs::read(keys.path().join("real.sig")).unwrap();
    let key = std::fs::read(keys.path().join("ec.pem")).unwrap();
    let wrapped: Vec<u8> = real
        .chunks(16)
        .flat_map(|c| [c, b"\r\n"].concat())
        .collect();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("sig.pem", key),
        ("real.sig", real.clone()),
        ("wrapped.sig", wrapped),
        (
            "stray.sig",
            [b"#!*", &real[..10], b"\xc3\xa9 ", &real[10..]].concat(),
        ),
        ("after-pad.sig", [&real[..], b"=QUJD"].concat()),
        ("extra-pad.sig", [&real[..], b"=="].concat()),
        ("empty.sig", Vec::new()),
        ("junk.sig", b"!!!! \xff\xfe".to_vec()),
        ("mid-pad.sig", b"AB=CDEF=GH==".to_vec()),
        ("one.sig", b"A".to_vec()),
        ("five.sig", b"AB CD\nE".to_vec()),
        ("two.sig", b"QUJDRA".to_vec()),
        ("three.sig", b"QUJDREU".to_vec()),
        ("half-pad.sig", b"QUJDRA=".to_vec()),
        ("url.sig", b"-_-_".to_vec()),
    ];
    let names = [
        "real",
        "wrapped",
        "stray",
        "after-pad",
        "extra-pad",
        "empty",
        "junk",
        "mid-pad",
        "one",
        "five",
        "two",
        "three",
        "half-pad",
        "url",
    ];
    let mut lines: Vec<String> = names
        .iter()
        .map(|n| format!("{sign} --fix-sig {n}.sig --fix-sig-pubkey sig.pem app.bin {n}.bin"))
        .collect();
    lines.extend([
        format!("{sign} --fix-sig nofile --fix-sig-pubkey sig.pem app.bin o.bin"),
        format!("{sign} --fix-sig two.sig app.bin o.bin"),
        format!("{sign} --fix-sig real.sig app.bin o.bin"),
        format!("{sign} --fix-sig real.sig --fix-sig-pubkey nofile app.bin o.bin"),
        format!("{sign} --fix-sig one.sig --fix-sig-pubkey nofile app.bin o.bin"),
        // a key and a fixed signature: refused where imgtool would sign,
        // not when it exports what is to be signed
        format!("{sign} -k sig.pem --fix-sig real.sig --fix-sig-pubkey sig.pem app.bin o.bin"),
        format!("{sign} -k sig.pem --fix-sig real.sig app.bin o.bin"),
        format!(
            "{sign} -k sig.pem --fix-sig real.sig --fix-sig-pubkey sig.pem --vector-to-sign digest app.bin vd.bin"
        ),
        format!(
            "{sign} -k sig.pem --fix-sig real.sig --fix-sig-pubkey sig.pem --vector-to-sign payload app.bin vp.bin"
        ),
    ]);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    // the files Python's decoder takes: an image is written, compared
    // byte for byte (the signature is fixed: the image is deterministic)
    let accepted = &names[..8];
    let outputs: Vec<String> = accepted
        .iter()
        .chain(&["url", "vd", "vp"])
        .map(|n| format!("{n}.bin"))
        .collect();
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, c)| (*n, c.as_slice())).collect();
    let differences = differing_rows_among(&lines, &outputs, false, &files).unwrap();
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Keys that imgtool 2.5.0's `keys.load` loads but that imgtool cannot
/// use, or refuses after cryptography has loaded them, beside the
/// espsecure table's (`bad_rsa4096.*`, `bad_rsa2048.*`, `bad_enc.pem`,
/// whose password is `pw`): `use_*.pem` private keys and `use_*.pub`
/// their public halves, and raw AES key-wrap keys as `--encrypt-keylen`
/// users keep them.
const UNUSABLE_KEYS: &str = r#"
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives import serialization as s
E, F, N = s.Encoding.PEM, s.PrivateFormat, s.NoEncryption()
SPKI = s.PublicFormat.SubjectPublicKeyInfo
def pair(name, key):
    open(f"use_{name}.pem", "wb").write(key.private_bytes(E, F.PKCS8, N))
    open(f"use_{name}.pub", "wb").write(key.public_key().public_bytes(E, SPKI))
pair("x25519", x25519.X25519PrivateKey.generate())
pair("ed25519", ed25519.Ed25519PrivateKey.generate())
pair("p192", ec.generate_private_key(ec.SECP192R1()))
pair("p224", ec.generate_private_key(ec.SECP224R1()))
pair("p384", ec.generate_private_key(ec.SECP384R1()))
pair("rsa3072", rsa.generate_private_key(65537, 3072))
pair("ed448", ed448.Ed448PrivateKey.generate())
pair("x448", x448.X448PrivateKey.generate())
pair("dsa", dsa.generate_private_key(2048))
open("use_aes16.key", "wb").write(bytes(range(16)))
open("use_aes32.key", "wb").write(bytes(range(32)))
open("use_aes16.b64", "wb").write(b"AAECAwQFBgcICQoLDA0ODw==\n")
# an encrypted key (passphrase `pw`) after its public key, after a public
# key block that does not decode, and before its public key
ek = ec.generate_private_key(ec.SECP256R1())
enc = ek.private_bytes(E, F.PKCS8, s.BestAvailableEncryption(b"pw"))
epub = ek.public_key().public_bytes(E, SPKI)
open("use_pub_enc.pem", "wb").write(epub + enc)
open("use_badpub_enc.pem", "wb").write(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" + enc)
open("use_enc_pub.pem", "wb").write(enc + epub)
open("use_foo_pub.pem", "wb").write(b"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n" + epub)
"#;

/// Writes [`UNUSABLE_KEYS`] into `dir` with the pinned tools' Python.
fn write_unusable_keys(dir: &Path) {
    let python = crate::support::reference_bin_dir().join("python");
    let out = Command::new(python)
        .arg("-c")
        .arg(UNUSABLE_KEYS)
        .current_dir(dir)
        .output()
        .expect("start the reference Python");
    assert!(
        out.status.success(),
        "making the unusable key fixtures failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The options of `sign` that the key rows share.
const SIGN: &str = "sign -v 1 -H 0x20 --pad-header -S 0x10000";

/// Keys imgtool loads but cannot use, through every command that loads a
/// key and, for `sign`, as `-E` next to signing keys of each type: exit
/// status and text, the traceback's last line for imgtool's uncaught
/// exceptions, and the bytes `getpub`/`getpubhash`/`getpriv` write for the
/// X25519 key imgtool does take.
#[test]
fn imgtool_personality_matches_imgtool_on_keys_it_loads_but_cannot_use() {
    let mut lines = Vec::new();
    let mut outputs = Vec::new();
    let keys = [
        "use_x25519.pem",
        "use_x25519.pub",
        "bad_rsa4096.pem",
        "bad_rsa4096.pub",
        "use_p192.pem",
        "use_p192.pub",
        "use_p224.pem",
        "bad_enc.pem",
        "use_aes16.key",
    ];
    for (i, key) in keys.iter().enumerate() {
        for e in [
            "",
            "-e lang-c",
            "-e lang-rust",
            "-e pem",
            "-e raw",
            "-l rust",
        ] {
            lines.push(format!("getpub -k {key} {e}"));
        }
        lines.push(format!("getpubhash -k {key}"));
        lines.push(format!("getpubhash -k {key} -e raw"));
        lines.push(format!("getpriv -k {key}"));
        lines.push(format!("keyinfo -k {key}"));
        lines.push(format!("verify -k {key} zero.bin"));
        lines.push(format!("{SIGN} -k {key} zero.bin o.bin"));
        for signing in ["ec.pem", "bad_rsa2048.pem", "use_ed25519.pem", ""] {
            let k = if signing.is_empty() {
                String::new()
            } else {
                format!("-k {signing}")
            };
            lines.push(format!("{SIGN} {k} -E {key} --clear zero.bin o{i}.bin"));
        }
        if key.starts_with("use_x25519") {
            for (n, e) in ["-e lang-c", "-e lang-rust", "-e pem", "-e raw"]
                .iter()
                .enumerate()
            {
                lines.push(format!("getpub -k {key} {e} -o pub{i}-{n}"));
                outputs.push(format!("pub{i}-{n}"));
            }
            lines.push(format!("getpubhash -k {key} -e raw -o hash{i}"));
            outputs.push(format!("hash{i}"));
        }
    }
    // an X25519 signing key: imgtool's hash rules, then its failure to sign
    for extra in [
        "--sha 384",
        "--sha 512",
        "--pure",
        "-E use_x25519.pub",
        "-E bad_rsa2048.pub",
    ] {
        lines.push(format!("{SIGN} -k use_x25519.pem {extra} zero.bin o.bin"));
    }
    // encryption keys that do not pair with the signing key
    for (signing, enc) in [
        ("ec.pem", "use_p384.pub"),
        ("ec.pem", "use_p192.pub"),
        ("ec.pem", "bad_rsa2048.pub"),
        ("ec.pem", "use_ed25519.pub"),
        ("bad_rsa2048.pem", "use_x25519.pub"),
        ("bad_rsa2048.pem", "ec.pem"),
        ("bad_rsa2048.pem", "bad_rsa4096.pub"),
        ("use_p384.pem", "ec.pem"),
        ("use_p384.pem", "use_x25519.pub"),
    ] {
        lines.push(format!("{SIGN} -k {signing} -E {enc} zero.bin o.bin"));
    }
    // an RSA-3072 encryption key, which imgtool wraps for as for RSA-2048
    for signing in ["", "-k bad_rsa2048.pem", "-k use_rsa3072.pem"] {
        lines.push(format!(
            "{SIGN} {signing} -E use_rsa3072.pub zero.bin o.bin"
        ));
        lines.push(format!(
            "{SIGN} {signing} -E use_rsa3072.pem --pad --save-enctlv zero.bin o.bin"
        ));
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows_fed(&lines, &outputs, true, b"") else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Runs `lines` with the key fixtures and asserts that imgtool and the
/// personality agree (skipped without the pinned imgtool).
fn assert_same_on_key_fixtures(lines: &[String], stdin: &[u8]) {
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows_fed(&lines, &[], true, stdin) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool loads an X25519 key and an RSA-4096 key; `sign` with the
/// first fails only once it signs, and `keys.load` refuses the second's
/// size with a TypeError of its own message. The personality printed its
/// own `Error: -k/--key: …` line for both.
#[test]
fn regression_x25519_and_rsa4096_keys_had_espboots_own_error() {
    assert_same_on_key_fixtures(
        &[
            format!("{SIGN} -k use_x25519.pem zero.bin o.bin"),
            "getpub -k bad_rsa4096.pem -e raw".to_owned(),
            "verify -k bad_rsa4096.pub zero.bin".to_owned(),
            format!("{SIGN} -k bad_rsa4096.pem zero.bin o.bin"),
            "keyinfo -k bad_rsa4096.pem".to_owned(),
        ],
        b"",
    );
}

/// A P-192 key, which the shared loader reads (Secure Boot V2 uses it):
/// imgtool's `keys.load` raises its bare Exception naming the curve.
#[test]
fn regression_p192_key_had_espboots_own_error() {
    assert_same_on_key_fixtures(
        &[
            "getpub -k use_p192.pem".to_owned(),
            "verify -k use_p192.pub zero.bin".to_owned(),
            format!("{SIGN} -k use_p192.pem zero.bin o.bin"),
            format!("{SIGN} -k ec.pem -E use_p192.pub zero.bin o.bin"),
            "keyinfo -k use_p192.pub".to_owned(),
        ],
        b"",
    );
}

/// An encryption key of another type than the signing key: imgtool's
/// usage error (exit 2) once both have loaded; the personality refused
/// the `-E` key with its own line first (P-384, Ed25519) or took it.
#[test]
fn regression_mismatched_encryption_key_had_espboots_own_error() {
    assert_same_on_key_fixtures(
        &[
            format!("{SIGN} -k ec.pem -E use_p384.pub zero.bin o.bin"),
            format!("{SIGN} -k ec.pem -E use_ed25519.pub zero.bin o.bin"),
            format!("{SIGN} -k ec.pem -E bad_rsa4096.pub zero.bin o.bin"),
            format!("{SIGN} -k bad_rsa2048.pem -E use_x25519.pub zero.bin o.bin"),
            format!("{SIGN} -k use_p384.pem -E ec.pem zero.bin o.bin"),
        ],
        b"",
    );
}

/// An encrypted key and no passphrase on stdin: imgtool asks through
/// getpass's stdin fallback and click ends the empty input with
/// `Aborted!`; a wrong passphrase ends with the public loader's
/// ValueError; the right one loads. The personality printed its own
/// line asking for ESPBOOT_PASSWORD.
#[test]
fn regression_encrypted_key_without_password_had_espboots_own_error() {
    let lines = [
        "getpub -k bad_enc.pem".to_owned(),
        "verify -k bad_enc.pem zero.bin".to_owned(),
        format!("{SIGN} -k bad_enc.pem zero.bin o.bin"),
        format!("{SIGN} -k ec.pem -E bad_enc.pem zero.bin o.bin"),
    ];
    assert_same_on_key_fixtures(&lines, b"");
    assert_same_on_key_fixtures(&lines[..2], b"wrong\n");
    assert_same_on_key_fixtures(&["getpub -k bad_enc.pem -e pem".to_owned()], b"pw\n");
}

/// A raw or base64 AES key-wrap key after `-E`: imgtool 2.5.0 has no
/// key-wrap encryption and `keys.load` fails on it; the personality
/// signed with it or printed its own line.
#[test]
fn regression_aes_key_wrap_file_was_taken_after_e() {
    assert_same_on_key_fixtures(
        &[
            format!("{SIGN} -E use_aes16.key zero.bin o.bin"),
            format!("{SIGN} -k ec.pem -E use_aes32.key zero.bin o.bin"),
            format!("{SIGN} -E use_aes16.b64 zero.bin o.bin"),
        ],
        b"",
    );
}

/// An Ed25519 or P-384 key after `-E`, which imgtool pairs (with an
/// Ed25519 or no signing key; P-384 with P-384) but has no wrapping for:
/// it still writes an image, encryption flag set and payload padded, with
/// no TLV carrying the AES key (byte for byte with `--clear` and a
/// deterministic signature), and refuses HMAC-SHA512 after signing. The
/// personality refused the key with its own line.
#[test]
fn regression_ed25519_or_p384_encryption_key_was_refused() {
    let lines = [
        format!("{SIGN} -k use_ed25519.pem -E use_ed25519.pub --clear zero.bin e1.bin"),
        format!("{SIGN} -k use_ed25519.pem -E use_p384.pem --clear --pad zero.bin e2.bin"),
        format!("{SIGN} -E use_ed25519.pem --clear --encrypt-keylen 256 zero.bin e3.bin"),
        format!("{SIGN} -E use_p384.pub --clear --pad --save-enctlv zero.bin e4.bin"),
        format!("{SIGN} -k use_ed25519.pem -E use_ed25519.pub zero.bin e5.bin"),
        format!("{SIGN} -k use_p384.pem -E use_p384.pub zero.bin e6.bin"),
        format!("{SIGN} -k use_ed25519.pem -E use_ed25519.pem --hmac-sha 512 zero.bin e7.bin"),
        format!("{SIGN} -k ec.pem -E ec.pem --hmac-sha 512 zero.bin e8.bin"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let outputs = ["e1.bin", "e2.bin", "e3.bin", "e4.bin"];
    let Some(differences) = differing_rows_fed(&lines, &outputs, true, b"") else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Python's `subprocess.DEVNULL` gives a child `/dev/null` opened
/// read-write as stdin: getpass's fallback reads its end and click ends
/// with `Aborted!`. The personality took such a stdin for a closed one
/// (Rust puts `/dev/null` opened read-write in place of a closed stdin)
/// and printed Python's AttributeError for a missing `sys.stdin`. A stdin
/// that is really closed cannot be told from this without unsafe code, so
/// it is now read as this one (a deliberate difference).
#[test]
fn regression_devnull_stdin_at_a_passphrase_prompt_was_taken_for_a_closed_one() {
    let Some(imgtool) = crate::support::reference_tool("imgtool") else {
        return;
    };
    let reference = std::path::PathBuf::from(imgtool.get_program());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    crate::espsecure_personality::write_bad_keys(dir);
    std::fs::write(dir.join("zero.bin"), [0u8; 64]).unwrap();
    let link = dir.join("bin/imgtool");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let devnull_rw = |program: &Path, args: &[&str]| {
        let null = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .unwrap();
        let out = Command::new(program)
            .args(args)
            .current_dir(dir)
            .env("COLUMNS", "80")
            .stdin(null)
            .output()
            .unwrap();
        let stderr: String = String::from_utf8_lossy(&out.stderr)
            .split_inclusive('\n')
            .filter(|l| !l.contains("GetPassWarning") && !l.contains("fallback_getpass("))
            .collect();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            without_frames(stderr),
        )
    };
    let mut differences = Vec::new();
    for line in [
        "getpub -k bad_enc.pem",
        "verify -k bad_enc.pem zero.bin",
        "keygen -t ed25519 -k new.pem -p",
    ] {
        let args: Vec<&str> = line.split_whitespace().collect();
        let want = devnull_rw(&reference, &args);
        let got = devnull_rw(&link, &args);
        assert!(want.2.contains("Aborted!"), "imgtool {line}: {want:?}");
        if want != got {
            differences.push(format!(
                "imgtool {line}\n  imgtool: {want:?}\n  espboot: {got:?}"
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Keys cryptography loads but imgtool has no class for (Ed448, X448,
/// DSA): `keys.load` raises a bare Exception naming cryptography's class
/// of the key; the personality printed its own line naming the OID.
#[test]
fn regression_ed448_x448_and_dsa_keys_had_espboots_own_error() {
    let mut lines = Vec::new();
    for key in ["ed448", "x448", "dsa"] {
        lines.push(format!("getpub -k use_{key}.pem"));
        lines.push(format!("getpub -k use_{key}.pub -e raw"));
        lines.push(format!("verify -k use_{key}.pub zero.bin"));
        lines.push(format!("keyinfo -k use_{key}.pem"));
        lines.push(format!("{SIGN} -k use_{key}.pem zero.bin o.bin"));
        lines.push(format!("{SIGN} -k ec.pem -E use_{key}.pub zero.bin o.bin"));
    }
    assert_same_on_key_fixtures(&lines, b"");
}

/// An X25519 `-k` next to `--fix-sig`: imgtool refuses the pair where it
/// would sign, as for any other key (exporting a vector still works). The
/// personality signed with the fixed signature.
#[test]
fn regression_x25519_key_with_a_fixed_signature_was_taken() {
    assert_same_on_key_fixtures(
        &[
            format!("{SIGN} -k use_x25519.pem --fix-sig use_aes16.b64 --fix-sig-pubkey ec.pem zero.bin o.bin"),
            format!("{SIGN} -k use_x25519.pem --fix-sig use_aes16.b64 zero.bin o.bin"),
            format!("{SIGN} -k use_x25519.pem --fix-sig use_aes16.b64 --fix-sig-pubkey ec.pem --compression lzma2 zero.bin o.bin"),
        ],
        b"",
    );
    let lines = [format!(
        "{SIGN} -k use_x25519.pem --fix-sig use_aes16.b64 --fix-sig-pubkey ec.pem --vector-to-sign digest zero.bin vd.bin"
    )];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows_fed(&lines, &["vd.bin"], true, b"") else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// image.py refuses HMAC-SHA512 for an `-E` key other than X25519 only
/// where it encrypts: not when it exports the digest or payload to sign,
/// not in the plaintext build that decides whether compression pays (the
/// image it writes when it does not), and never for RSA, which ignores
/// `--hmac-sha`. The personality refused every such line.
#[test]
fn regression_hmac_sha512_was_refused_where_imgtool_does_not_encrypt() {
    let h = "--hmac-sha 512";
    let lines = [
        format!("{SIGN} -k ec.pem -E ec.pem {h} --vector-to-sign digest zero.bin vd.bin"),
        format!("{SIGN} -k ec.pem -E ec.pem {h} --vector-to-sign payload zero.bin vp.bin"),
        format!("{SIGN} -E use_p384.pub {h} --vector-to-sign payload --compression lzma2 zeros.bin vc.bin"),
        // random data: compression does not pay, the plaintext build is saved
        format!("{SIGN} -k use_ed25519.pem -E use_ed25519.pub {h} --compression lzma2 zero.bin c1.bin"),
        format!("{SIGN} -E ec.pem {h} --compression lzma2armthumb --pad zero.bin c2.bin"),
        // zeros: the compressed build encrypts, and is refused
        format!("{SIGN} -k ec.pem -E ec.pem {h} --compression lzma2 zeros.bin c3.bin"),
        format!("{SIGN} -k use_ed25519.pem -E use_ed25519.pub {h} --compression lzma2 zeros.bin c4.bin"),
        format!("{SIGN} -k ec.pem -E ec.pem {h} zero.bin c5.bin"),
        format!("{SIGN} -k bad_rsa2048.pem -E bad_rsa2048.pub {h} zero.bin r.bin"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let zeros = [&[0u8; 0x20][..], &[0u8; 8192][..]].concat();
    let Some(differences) = differing_rows_setup(
        &lines,
        &["vd.bin", "vp.bin", "vc.bin", "c1.bin", "c2.bin"],
        true,
        &[("zeros.bin", &zeros)],
        b"",
    ) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// After a wrong passphrase imgtool's `keys.load` falls back to
/// cryptography's public loader, which reads the file's first block: a
/// file whose encrypted key follows its public key loads as that public
/// key (`getpub` prints it, `sign` is refused as public-only), a first
/// public block that does not decode ends with its own error, and a
/// public key after the encrypted key is not looked for. The personality
/// took every such file for one without a public key.
#[test]
fn regression_wrong_passphrase_ignored_the_files_public_key_block() {
    let lines = [
        "getpub -k use_pub_enc.pem".to_owned(),
        "getpub -k use_pub_enc.pem -e pem".to_owned(),
        "getpubhash -k use_pub_enc.pem".to_owned(),
        "keyinfo -k use_pub_enc.pem".to_owned(),
        "verify -k use_pub_enc.pem zero.bin".to_owned(),
        format!("{SIGN} -k use_pub_enc.pem zero.bin o.bin"),
        "getpub -k use_badpub_enc.pem".to_owned(),
        "getpub -k use_enc_pub.pem".to_owned(),
    ];
    assert_same_on_key_fixtures(&lines, b"wrong\n");
    assert_same_on_key_fixtures(&["getpub -k use_pub_enc.pem -e pem".to_owned()], b"pw\n");
}

/// cryptography's public loader reads a PEM file's first block only: a
/// public key after a block of another label is not found, and imgtool's
/// `keys.load` ends with the loader's ValueError. The personality loaded
/// the key.
#[test]
fn regression_public_key_after_another_pem_block_was_loaded() {
    assert_same_on_key_fixtures(
        &[
            "getpub -k use_foo_pub.pem".to_owned(),
            "verify -k use_foo_pub.pem zero.bin".to_owned(),
            format!("{SIGN} -E use_foo_pub.pem zero.bin o.bin"),
        ],
        b"",
    );
}

/// `verify` with an X25519 key: imgtool walks the image's TLVs with it
/// and ends where its class fails, with `Key type does not match TLV
/// record` (the public key, or a SHA-384 hash), `Image has an invalid
/// hash`, `No signature found for the given key` (an unsigned image), or
/// an uncaught KeyError (the first TLV after the hash) or AttributeError
/// (a pure image's Ed25519 signature). The personality refused the key
/// with its own line.
#[test]
fn regression_verify_with_an_x25519_key_had_espboots_own_error() {
    // an unsigned image whose payload changed after its hash was taken
    let tmp = tempfile::tempdir().unwrap();
    let (app, img) = (tmp.path().join("app.bin"), tmp.path().join("u.img"));
    std::fs::write(&app, crate::support::serve::data(500, 9)).unwrap();
    let signed = Command::new(env!("CARGO_BIN_EXE_espboot"))
        .args([
            "image",
            "sign",
            "-v",
            "1",
            "-H",
            "0x20",
            "--pad-header",
            "-S",
            "0x10000",
        ])
        .arg(&app)
        .arg(&img)
        .output()
        .unwrap();
    assert!(signed.status.success(), "{signed:?}");
    let mut tampered = std::fs::read(&img).unwrap();
    tampered[0x40] ^= 1;

    let mut lines = vec![
        format!("{SIGN} -k ec.pem zero.bin ec.img"),
        format!("{SIGN} zero.bin unsigned.img"),
        format!("{SIGN} -k use_ed25519.pem --pure zero.bin pure.img"),
        format!("{SIGN} -k use_ed25519.pem --sha 512 zero.bin ed512.img"),
        format!("{SIGN} -k use_p384.pem zero.bin p384.img"),
    ];
    for key in ["use_x25519.pem", "use_x25519.pub"] {
        for image in [
            "ec.img",
            "unsigned.img",
            "pure.img",
            "ed512.img",
            "p384.img",
            "tampered.img",
        ] {
            lines.push(format!("verify -k {key} {image}"));
        }
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let Some(differences) =
        differing_rows_setup(&lines, &[], true, &[("tampered.img", &tampered)], b"")
    else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool's dumpinfo reads what the header says without checking the
/// magic or the length: a file too short for a header or a TLV info dies
/// in `struct.unpack`, a trailer field before the file's start in an
/// IndexError, and the swap size, a slice, is cut at the file's start
/// without failing. The personality printed espboot's own line for every
/// such file, and failed on the swap size's slice.
#[test]
fn regression_dumpinfo_of_a_malformed_file_had_espboots_own_error() {
    // the trailer magic, and the variant that carries the max-align (here
    // 0x400), after an all-zero header: the TLV area is at offset 0
    const MAGIC: [u8; 16] = [
        0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79,
        0x80,
    ];
    const MAGIC_ALIGN_0X400: [u8; 16] = [
        0x00, 0x04, 0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f,
        0x8a,
    ];
    let header = [0u8; 28];
    let mut protected = vec![0u8; 28];
    protected[10] = 8; // protected TLVs, which the file does not hold
    protected[8] = 0x20; // hdr_size
    let files: Vec<(String, Vec<u8>)> = vec![
        ("tiny.bin".into(), vec![1; 10]),
        ("noise.bin".into(), crate::support::serve::data(3000, 11)),
        ("prot.img".into(), protected),
        (
            "swapcut.img".into(),
            [&header[..], &[5, 6, 7], &MAGIC].concat(),
        ),
        (
            "trailer.img".into(),
            [&header[..], &[9; 20], &MAGIC].concat(),
        ),
        (
            "farback.img".into(),
            [&header[..], &MAGIC_ALIGN_0X400].concat(),
        ),
    ];
    let mut lines = Vec::new();
    for (name, _) in &files {
        lines.push(format!("dumpinfo {name}"));
        lines.push(format!("dumpinfo -f json {name}"));
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    let Some(differences) = differing_rows_setup(&lines, &[], false, &files, b"") else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// `--sig-out` for an image imgtool does not sign (no key, or a vector
/// exported): imgtool saves the image, opens the signature file (left
/// empty) and dies in `base64.b64encode(None)`. The personality refused
/// before writing anything, or wrote the vector and succeeded. The native
/// command refuses both before writing.
#[test]
fn regression_sig_out_without_a_signature_was_refused_or_skipped() {
    let lines = [
        format!("{SIGN} --sig-out s1.sig zero.bin o1.bin"),
        format!(
            "{SIGN} -k use_ed25519.pem --sig-out s2.sig --vector-to-sign payload zero.bin o2.bin"
        ),
        format!("{SIGN} -k ec.pem --sig-out s3.sig --vector-to-sign digest zero.bin o3.bin"),
        format!("{SIGN} -k use_ed25519.pem --sig-out s4.sig zero.bin o4.bin"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let outputs = [
        "o1.bin", "s1.sig", "o2.bin", "s2.sig", "o3.bin", "s3.sig", "o4.bin", "s4.sig",
    ];
    let Some(differences) = differing_rows_fed(&lines, &outputs, true, b"") else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));

    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app.bin");
    std::fs::write(&app, crate::support::serve::data(300, 3)).unwrap();
    let keygen = Command::new(env!("CARGO_BIN_EXE_espboot"))
        .current_dir(tmp.path())
        .args(["image", "keygen", "-t", "ed25519", "-k", "x.pem"])
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{keygen:?}");
    for extra in [&[][..], &["--vector-to-sign", "digest", "-k", "x.pem"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_espboot"))
            .current_dir(tmp.path())
            .args(["image", "sign", "-v", "1", "-S", "0x10000", "-H", "0x20"])
            .args(["--pad-header", "--sig-out", "s.sig"])
            .args(extra)
            .args(["app.bin", "o.bin"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.starts_with("error: --sig-out: "), "{stderr}");
        assert!(!tmp.path().join("o.bin").exists() && !tmp.path().join("s.sig").exists());
    }
}

/// imgtool takes any version part and any header size its parsers take,
/// and packs them into the header (`BBHI`, `H`) only when it creates the
/// image: a value past its field ends in that struct.error, the first in
/// the header's order (the load address, the header size, major, minor,
/// revision, build), and the security counter after the header. The
/// personality refused the version as it parsed it, and the header size
/// after printing its signing line, with its own words.
#[test]
fn regression_version_and_header_size_past_their_fields_had_espboots_own_error() {
    let k = "-k use_ed25519.pem";
    let lines: Vec<String> = [
        "-v 256.0.0 -H 0x20",
        "-v 1.2.65536 -H 0x20",
        "-v 1.2.3+4294967296 -H 0x20",
        "-v 1.256.65536 -H 0x20",
        "-v 1 -H 0x10000",
        "-v 1.256 -H 0x10000",
        "-v 256 -H 0x20 -L 0x100000000",
        "-v 1.256 -H 0x20 -s auto",
        "-v 1 -H 0x20 -s 0x100000000 -L -1",
        "-v 1.2.65535+4294967295 -H 0xFFFF",
    ]
    .iter()
    .map(|v| format!("sign {v} --pad-header -S 0x20000 {k} zero.bin o.bin"))
    .collect();
    assert_same_on_key_fixtures(&lines, b"");
}

/// `keygen -p` with an empty passphrase: cryptography's
/// BestAvailableEncryption refuses it with a ValueError before imgtool
/// opens the key file (the `getpub` after it finds no file). The
/// personality wrote a key "encrypted" with the empty passphrase.
#[test]
fn regression_empty_keygen_passphrase_made_a_key() {
    let Some(differences) = differing_rows_fed(
        &[
            "keygen -t ecdsa-p256 -k e1.pem -p",
            "getpub -k e1.pem",
            "keygen -t x25519 -k e2.pem -p",
            "getpub -k e2.pem",
        ],
        &[],
        false,
        b"\n\n",
    ) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool's `keys.load` opens a key file without catching: a missing
/// file or a directory ends in Python's FileNotFoundError or
/// IsADirectoryError for every command that loads a key. The personality
/// printed its own line for `getpub`, `getpubhash`, `getpriv`, `keyinfo`
/// and `-E` (only `sign -k` and `verify -k` matched).
#[test]
fn regression_missing_key_file_had_espboots_own_error() {
    let sign = "sign -v 1 -H 0x20 --pad-header -S 0x10000";
    let lines: Vec<String> = vec![
        "getpub -k nope.pem".into(),
        "getpubhash -k nope.pem".into(),
        "getpriv -k nope.pem".into(),
        "keyinfo -k nope.pem".into(),
        "keyinfo -k .".into(),
        "getpub -k .".into(),
        format!("{sign} -E nope.pem zero.bin o.bin"),
        format!("{sign} -k ec.pem -E . zero.bin o.bin"),
        format!("{sign} --fix-sig x --fix-sig-pubkey nope.pem zero.bin o.bin"),
    ];
    assert_same_on_key_fixtures(&lines, b"");
}

/// imgtool opens its outputs with a bare `open()` when it saves (after
/// the builds, their lines and refusals such as a `.hex` output without an
/// address): a missing directory or a directory as the output ends in
/// Python's FileNotFoundError or IsADirectoryError. The personality
/// printed its own line, before the lines and refusals imgtool prints
/// first.
#[test]
fn regression_unwritable_output_had_espboots_own_error() {
    let sign = "sign -v 1 -H 0x20 --pad-header -S 0x10000 -k use_ed25519.pem";
    let lines: Vec<String> = vec![
        format!("{sign} zero.bin missing/o.bin"),
        format!("{sign} zero.bin ."),
        format!("{sign} zero.bin missing/o.hex"),
        format!("{sign} --compression lzma2 zero.bin missing/o.bin"),
        format!("{sign} -M -1000 --pad zero.bin missing/o.bin"),
        format!("{sign} --sig-out missing/s.sig zero.bin o.bin"),
        "getpub -k ec.pem -o missing/pub".into(),
        "getpubhash -k ec.pem -o .".into(),
        "keygen -t ed25519 -k missing/k.pem".into(),
        "dumpinfo -o missing/info zero.bin".into(),
    ];
    assert_same_on_key_fixtures(&lines, b"");
}

/// A directory where imgtool opens a file (INFILE, IMGFILE): Python's
/// open() refuses it with IsADirectoryError, for `sign` before the key is
/// loaded. The personality printed its own line, or the missing key's
/// error first.
#[test]
fn regression_directory_as_input_had_espboots_own_error() {
    let sign = "sign -v 1 -H 0x20 --pad-header -S 0x10000";
    assert_same_on_key_fixtures(
        &[
            format!("{sign} -k use_ed25519.pem . o.bin"),
            format!("{sign} -k nope.pem . o.bin"),
            "verify -k ec.pem .".to_owned(),
            "verify .".to_owned(),
            "dumpinfo .".to_owned(),
        ],
        b"",
    );
}

/// Two key refusals imgtool raises as click usage errors (exit 2, the
/// usage lines, its own words): `getpubhash -e raw --name-suffix` and
/// `getpriv --minimal` of a key other than P-256 (main.py getpriv turns
/// the keys' ECDSAUsageError into a UsageError). The personality ended
/// both with exit 1 and its own line.
#[test]
fn regression_getpubhash_suffix_and_minimal_p384_were_not_usage_errors() {
    assert_same_on_key_fixtures(
        &[
            "getpubhash -k ec.pem -e raw --name-suffix x".to_owned(),
            "getpriv -k use_p384.pem --minimal".to_owned(),
            "getpriv -k use_p384.pem --minimal -f pkcs8".to_owned(),
            "getpriv -k ec.pem --minimal".to_owned(),
        ],
        b"",
    );
}

/// Python reads any Unicode decimal digit where `int()` or the regex `\d`
/// reads a digit: versions (`[1-9]\d*`), dependency ids (`\((\d+)`) and
/// every integer option. The personality refused them. (Unicode blanks,
/// which Python also reads, are in mcuboot-image's and py-int's tests:
/// these rows are split at blanks.)
#[test]
fn regression_unicode_digits_were_refused() {
    let sign = "sign -H 0x20 -S 0x10000";
    let lines = [
        format!("{sign} -v 1\u{0661}.2.3+9\u{ff19} zero.bin u1.bin"),
        format!("{sign} -v 1.2 -d (\u{0661},1.\u{0662}) zero.bin u2.bin"),
        format!("{sign} -v 1.2 -d (\u{0661}\u{0662},1.2),(\u{ff17},0) zero.bin u3.bin"),
        format!("{sign} -v 1.2 -s 0x\u{0663} -L \u{ff11}\u{ff10} zero.bin u4.bin"),
        format!("{sign} -v 1.2 -M \u{0668} --pad -x \u{0660}x1\u{0660}0 zero.bin u5.hex"),
        // a choice is text: refused
        format!("{sign} -v 1.2.3 --align \u{0664} --pad zero.bin u6.bin"),
        format!("{sign} -v 1.\u{0660} zero.bin u7.bin"),
        format!("{sign} -v 1.2 -d (256,1.2),(0,01) zero.bin u8.bin"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let outputs = ["u1.bin", "u3.bin", "u4.bin", "u5.hex"];
    let Some(differences) = differing_rows_and_outputs(&lines, &outputs) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool meets these values only when it packs them, or parses them in
/// `create`, and ends with Python's exception: struct.error (its text
/// depends on the field, the byte order `-e` picks and the value's size),
/// for dependency ids and versions, header and image sizes, addresses and
/// counters; `bytes(header_size)`'s OverflowError; parse_uuid's and
/// `int()`'s and `bytes.fromhex`'s ValueErrors; `Path.open`'s
/// FileNotFoundError; TLV.add's usage error with its unformatted
/// placeholder. The personality printed its own messages.
#[test]
fn regression_values_imgtool_packs_or_parses_late_had_espboots_own_error() {
    let sign = "sign -H 0x20 -S 0x100000 --pad-header -v 1.2";
    let lines = [
        format!("{sign} -d (300,1.2) zero.bin p1.bin"),
        format!("{sign} -d (1,1.2),(9223372036854775808,1) zero.bin p2.bin"),
        format!("{sign} -d (1,1.2.99999) -e big zero.bin p3.bin"),
        format!("{sign} -d (1,1.2.99999) zero.bin p3.bin"),
        format!("{sign} -L 0x10000000000000000 zero.bin p4.bin"),
        format!("{sign} -s -1 -e big zero.bin p5.bin"),
        format!("{sign} -v 1.2.9223372036854775808 -e big zero.bin p6.bin"),
        "sign -H 0x1000 -S 0x100000 -v 1.2 short.bin p7.bin".to_owned(),
        "sign -H 0x1000 -S 0x100000 -v 256 -e big short.bin p7.bin".to_owned(),
        "sign -H 0x100000000 -S 0x100000 -v 1.2 short.bin p8.bin".to_owned(),
        "sign -H 0x10000 -S 0x100000 -v 1.2 -e big short.bin p8.bin".to_owned(),
        "sign -H 0x10000000000000000 --pad-header -S 0x100000 -v 1.2 zero.bin p9.bin".to_owned(),
        format!("{sign} --cid abc zero.bin p10.bin"),
        format!("{sign} --vid a\u{7}b --cid abc zero.bin p11.bin"),
        format!("{sign} --vid abc --cid a\u{7}b zero.bin p11.bin"),
        format!("{sign} --custom-tlv abc 0x01 zero.bin p12.bin"),
        format!("{sign} --custom-tlv 0xa0 0x0z zero.bin p13.bin"),
        format!("{sign} --custom-tlv 0xa0 0x01 --custom-tlv-file 0xa1 nofile zero.bin p14.bin"),
        format!("{sign} --custom-tlv -5 0x01 zero.bin p15.bin"),
        format!("{sign} --custom-tlv 0x10000 0x01 --cid abc zero.bin p15.bin"),
        format!("{sign} --custom-tlv 0xffff 0x02 -v 1.256 zero.bin p16.bin"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows_among(&lines, &[], false, &[("short.bin", &[0u8; 16])])
    else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// click passes an empty word as an option's or argument's value, and
/// imgtool tests `-k`, `-E`, `--fix-sig` and verify's `-k` with `if key:`
/// (an empty name is no key), opens the others (`open('')` fails), takes
/// `Path('')` as `.`, and writes `dumpinfo -o ''` to stdout in YAML. The
/// personality's parser refused every empty path.
#[test]
fn regression_empty_file_names_were_refused_by_the_parser() {
    let sign = ["sign", "-H", "0x20", "-S", "0x10000", "-v", "1.2"];
    let with = |words: &[&'static str]| -> Vec<&'static str> {
        sign.iter().chain(words).copied().collect()
    };
    let rows = [
        with(&["-k", "", "zero.bin", "e1.bin"]),
        with(&["-E", "", "--pad", "zero.bin", "e2.bin"]),
        with(&["--fix-sig", "", "zero.bin", "e3.bin"]),
        with(&["--fix-sig-pubkey", "", "zero.bin", "e4.bin"]),
        with(&["--sig-out", "", "-k", "ec.pem", "zero.bin", "e5.bin"]),
        with(&["zero.bin", ""]),
        with(&["", "e6.bin"]),
        with(&["--custom-tlv-file", "0xa0", "", "zero.bin", "e7.bin"]),
        vec!["verify", "-k", "", "e1.bin"],
        vec!["verify", "-k", "", "missing.bin"],
        vec!["getpub", "-k", ""],
        vec!["keygen", "-t", "ed25519", "-k", ""],
        vec!["dumpinfo", ""],
        vec!["dumpinfo", "-o", "", "e1.bin"],
        vec!["dumpinfo", "-o", "", "-f", "json", "e1.bin"],
    ];
    let Some(differences) = differing_argvs(
        &rows,
        &["e1.bin", "e2.bin", "e3.bin", "e4.bin"],
        false,
        &[],
        b"",
    ) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool's `verify` walks a malformed image its own way (image.py
/// `Image.verify`): `struct.unpack` of the header, the version, the TLV
/// info and each TLV header (a short read is a struct.error, the version's
/// before the magic is checked); Python's slices for the rest; a TLV's
/// type from its low byte; the first matching hash, then the first
/// signature that verifies; a pure image's signature through
/// `verify_digest`, which the ECDSA classes lack; an Ed25519 signature
/// before any hash TLV verified against `None`. The personality used
/// MCUboot's validation and reached other verdicts.
#[test]
fn regression_verify_of_malformed_images_reached_other_verdicts() {
    let Some(mut imgtool) = crate::support::reference_tool("imgtool") else {
        return;
    };
    let made = tempfile::tempdir().unwrap();
    let app = crate::support::serve::data(3000, 7);
    std::fs::write(made.path().join("app.bin"), &app).unwrap();
    let imgtool_in = |args: &[&str]| {
        crate::support::run_ok(
            crate::support::reference_tool("imgtool")
                .unwrap()
                .current_dir(made.path())
                .args(args),
        );
    };
    crate::support::run_ok(
        imgtool
            .current_dir(made.path())
            .args(["keygen", "-t", "ed25519", "-k", "ed.pem"]),
    );
    imgtool_in(&["keygen", "-t", "ecdsa-p256", "-k", "p256.pem"]);
    imgtool_in(&[
        "getpub",
        "-k",
        "p256.pem",
        "-e",
        "pem",
        "-o",
        "p256.pub.pem",
    ]);
    let sign = [
        "sign",
        "-H",
        "0x20",
        "--pad-header",
        "-S",
        "0x10000",
        "-v",
        "1.2.3+4",
    ];
    let signed = |key: &str, extra: &[&str], out: &str| {
        let mut args: Vec<&str> = sign.to_vec();
        args.extend(["-k", key]);
        args.extend(extra);
        args.extend(["app.bin", out]);
        imgtool_in(&args);
        std::fs::read(made.path().join(out)).unwrap()
    };
    let ed = signed("ed.pem", &[], "ed.bin");
    let pure = signed("ed.pem", &["--pure"], "pure.bin");
    let ec = signed("p256.pem", &["-s", "7"], "ec.bin");
    // the TLV area: after the 0x20-byte header and the app
    let tlvs = 0x20 + app.len();
    let with = |image: &[u8], at: usize, bytes: &[u8]| {
        let mut v = image.to_vec();
        v[at..at + bytes.len()].copy_from_slice(bytes);
        v
    };
    // ec.bin starts its unprotected area after the 8-byte protected one
    let ec_tlvs = tlvs + 4 + 8;
    let files: Vec<(String, Vec<u8>)> = vec![
        ("short10.bin".into(), ed[..10].to_vec()),
        ("short20.bin".into(), ed[..20].to_vec()),
        ("badmagic20.bin".into(), with(&ed[..20], 0, &[0; 4])),
        ("badmagic.bin".into(), with(&ed, 0, &[0; 4])),
        ("no_info.bin".into(), ed[..tlvs + 2].to_vec()),
        ("cut_tlv.bin".into(), ed[..tlvs + 4 + 2].to_vec()),
        ("cut_hash.bin".into(), ed[..tlvs + 4 + 4 + 10].to_vec()),
        ("wide_type.bin".into(), with(&ed, tlvs + 5, &[0x01])),
        ("long_tot.bin".into(), with(&ed, tlvs + 2, &[0xff, 0x7f])),
        ("short_tot.bin".into(), with(&ed, tlvs + 2, &[0x08, 0x00])),
        ("no_hash.bin".into(), with(&ed, tlvs + 4, &[0x77])),
        ("bad_hash.bin".into(), with(&ed, tlvs + 8, &[0x00])),
        ("prot_huge.bin".into(), with(&ec, tlvs + 2, &[0xff, 0xff])),
        (
            "ec_sig_empty.bin".into(),
            with(&ec, ec_tlvs + 4 + 4 + 32 + 2, &[0, 0]),
        ),
        ("ed.bin".into(), ed),
        ("pure.bin".into(), pure),
        ("ec.bin".into(), ec),
    ];
    let keys: Vec<(String, Vec<u8>)> = ["ed.pem", "p256.pem", "p256.pub.pem"]
        .iter()
        .map(|name| {
            let pem = std::fs::read(made.path().join(name)).unwrap();
            ((*name).to_owned(), pem)
        })
        .collect();
    let all: Vec<(&str, &[u8])> = files
        .iter()
        .chain(&keys)
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let mut rows = Vec::new();
    for (image, _) in &files {
        for key in [None, Some("ed.pem"), Some("p256.pub.pem"), Some("p256.pem")] {
            let mut row = vec!["verify"];
            if let Some(key) = key {
                row.extend(["-k", key]);
            }
            row.push(image.as_str());
            rows.push(row);
        }
    }
    let Some(differences) = differing_argvs(&rows, &[], false, &all, b"") else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool reads Intel HEX through intelhex, whose exceptions it lets
/// through: a malformed record's (by class, with the line), an address
/// filled twice (which the personality took, the later byte winning), and
/// a file with no data is no bytes at no address. Lines end as Python's
/// text files end them (`\r` too); blanks around a record are not taken.
/// The personality printed its own errors.
#[test]
fn regression_malformed_intel_hex_had_espboots_own_error() {
    let files: &[(&str, &[u8])] = &[
        ("nocolon.hex", b"10000000\n"),
        ("odd.hex", b":0\n"),
        ("blank.hex", b" :00000001FF\n"),
        ("type.hex", b":00000006FA\n"),
        ("crc.hex", b":0100000001FF\n"),
        ("eof.hex", b":0100000100FE\n"),
        ("length.hex", b":0200000212\n"),
        ("ela.hex", b":020001040000F9\n"),
        ("start.hex", b":0400000300000000F9\n:0400000300000000F9\n"),
        ("overlap.hex", b":0100000001FE\n\n:0100000002FD\n"),
        ("overlap_cr.hex", b":0100000001FE\r:0100000002FD\r"),
        ("empty.hex", b":00000001FF\n"),
    ];
    let mut lines = Vec::new();
    for (name, _) in files {
        lines.push(format!("verify {name}"));
        lines.push(format!("dumpinfo {name}"));
        lines.push(format!(
            "sign -v 1 -H 0x20 --pad-header -S 0x1000 {name} out.bin"
        ));
    }
    lines.push("sign -v 1 -H 0x20 --pad-header -S 0x1000 empty.hex out.hex".to_owned());
    lines.push("sign -v 1 -H 0x20 --pad-header -S 0x1000 -x 0x100 empty.hex e.hex".to_owned());
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows_among(&lines, &["e.hex"], false, files) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// click splits a cluster of short options itself: each option in turn,
/// the first that takes a value takes the rest of the word (`-H32`, and
/// `-k=x.pem` is the file `=x.pem`) or the next word (`-sf json`); and it
/// refuses a value given to a flag (`--pad=1`). The personality left these
/// to clap, which reads them otherwise.
#[test]
fn regression_short_option_clusters_and_flag_values_were_read_by_clap() {
    let sign = "sign -v 1.2 --pad-header -S 0x10000";
    let lines = [
        format!("{sign} -H32 zero.bin c1.bin"),
        format!("{sign} -cH 32 zero.bin c2.bin"),
        format!("{sign} -H=32 zero.bin c3.bin"),
        format!("{sign} -H 32 --pad=1 zero.bin c4.bin"),
        format!("{sign} -H 32 --help=x zero.bin c4.bin"),
        format!("{sign} -H 32 -s -1 zero.bin c5.bin"),
        format!("{sign} -H 32 -Zc zero.bin c6.bin"),
        "getpub -k=ec.pem".to_owned(),
        "getpub -kec.pem -elang-c".to_owned(),
        "dumpinfo -sf json c1.bin".to_owned(),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows_and_outputs(&lines, &["c1.bin", "c2.bin"]) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// A throwaway P-256 test key whose curve is spelled out as explicit
/// parameters (`openssl ec -param_enc explicit`), and its public key.
pub(crate) const EXPLICIT_P256_KEY: &[u8] = b"-----BEGIN EC PRIVATE KEY-----
MIIBaAIBAQQg/k1zewSBGT89RWUWG9p92SecIj1EIHalUAQRBBxtKtSggfowgfcC
AQEwLAYHKoZIzj0BAQIhAP////8AAAABAAAAAAAAAAAAAAAA////////////////
MFsEIP////8AAAABAAAAAAAAAAAAAAAA///////////////8BCBaxjXYqjqT57Pr
vVV2mIa8ZR0GsMxTsPY7zjw+J9JgSwMVAMSdNgiG5wSTamZ44ROdJreBn36QBEEE
axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpZP40Li/hp/m47n60p8D54W
K84zV2sxXs7LtkBoN79R9QIhAP////8AAAAA//////////+85vqtpxeehPO5ysL8
YyVRAgEBoUQDQgAELG1L3DbVBLDv2DOMpMCgYglkGpUURbu22RBkUlhSFQNj4DJU
a2qKgHB54Kxq6vqR8bI8DDl+2UrlZGr9Wq2LRg==
-----END EC PRIVATE KEY-----
";
pub(crate) const EXPLICIT_P256_PUBLIC: &[u8] = b"-----BEGIN PUBLIC KEY-----
MIIBSzCCAQMGByqGSM49AgEwgfcCAQEwLAYHKoZIzj0BAQIhAP////8AAAABAAAA
AAAAAAAAAAAA////////////////MFsEIP////8AAAABAAAAAAAAAAAAAAAA////
///////////8BCBaxjXYqjqT57PrvVV2mIa8ZR0GsMxTsPY7zjw+J9JgSwMVAMSd
NgiG5wSTamZ44ROdJreBn36QBEEEaxfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5
RdiYwpZP40Li/hp/m47n60p8D54WK84zV2sxXs7LtkBoN79R9QIhAP////8AAAAA
//////////+85vqtpxeehPO5ysL8YyVRAgEBA0IABCxtS9w21QSw79gzjKTAoGIJ
ZBqVFEW7ttkQZFJYUhUDY+AyVGtqioBweeCsaur6kfGyPAw5ftlK5WRq/Vqti0Y=
-----END PUBLIC KEY-----
";

/// cryptography (OpenSSL) loads an EC key whose curve is given as explicit
/// parameters equal to P-256's as a P-256 key; imgtool then uses it as any
/// other. The personality refused it. Its image verifies with the
/// reference (the signature is random).
#[test]
fn regression_ec_key_with_explicit_curve_parameters_was_refused() {
    let files: &[(&str, &[u8])] = &[
        ("explicit.pem", EXPLICIT_P256_KEY),
        ("explicit.pub.pem", EXPLICIT_P256_PUBLIC),
    ];
    let lines = [
        "getpub -k explicit.pem",
        "getpub -k explicit.pub.pem -e pem",
        "getpubhash -k explicit.pem",
        "getpriv -k explicit.pem",
        "sign -k explicit.pem -v 1.2 -H 0x20 -S 0x10000 zero.bin x.bin",
        "verify -k explicit.pub.pem x.bin",
    ];
    let Some(differences) = differing_rows_among(&lines, &[], false, files) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool takes any slot size; without padding it only compares the
/// image and its trailer with it, so a slot past 4 GiB signs as a slot
/// size of 0 does. The personality refused it as past 32 bits.
#[test]
fn regression_unpadded_slot_past_4_gib_was_refused() {
    let sign = "sign -v 1.2 -H 0x20 --pad-header";
    let lines = [
        format!("{sign} -S 0x100000000 zero.bin s1.bin"),
        format!("{sign} -S 0x10000000000000000000 -k ec.pem zero.bin s2.bin"),
        format!("{sign} -S 0x100000000 -x 0x1000 zero.bin s3.hex"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows_and_outputs(&lines, &["s1.bin", "s3.hex"]) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool settles the hash from the fixed signature's key by the class
/// the key file loaded as (`RSAPublic`, `ECDSA256P1Public`, …), whose
/// pure table holds the private Ed25519 class only and whose table has no
/// X25519Public; it loads an X25519 private key there and fails only
/// where it adds the signature (a KeyError), and it names the key in the
/// boot record of an exported vector. It prints the fixed key's "sign the
/// payload" after that check, and checks `--pure --sha` after loading the
/// key. The personality refused X25519, named the private class, printed
/// the line first, checked `--pure --sha` first, and exported an X25519
/// key's boot record with a zero signer.
#[test]
fn regression_fixed_signature_keys_were_judged_by_espboots_rules() {
    let fixed = format!("{SIGN} --fix-sig fixed.sig --fix-sig-pubkey");
    let lines = [
        format!("{fixed} use_x25519.pub zero.bin f1.bin"),
        format!("{fixed} use_x25519.pem zero.bin f2.bin"),
        format!("{fixed} use_x25519.pem --sha 384 zero.bin f2.bin"),
        format!("{fixed} use_x25519.pem --pure zero.bin f2.bin"),
        format!("{fixed} use_x25519.pem -k ec.pem zero.bin f2.bin"),
        format!("{fixed} use_x25519.pem --vector-to-sign digest --boot-record ab zero.bin v1.bin"),
        format!(
            "{SIGN} -k use_x25519.pem --vector-to-sign payload --boot-record ab zero.bin v2.bin"
        ),
        format!("{fixed} ec.pem --vector-to-sign digest --boot-record ab zero.bin v3.bin"),
        format!("{fixed} use_ed25519.pub --pure zero.bin f3.bin"),
        format!("{fixed} use_p384.pub --pure zero.bin f4.bin"),
        format!("{fixed} ec.pem --pure zero.bin f5.bin"),
        format!("{fixed} ec.pem --sha 512 zero.bin f6.bin"),
        format!("{fixed} bad_rsa2048.pem --sha 384 zero.bin f7.bin"),
        format!("{fixed} use_p384.pub --sha 256 --pure zero.bin f8.bin"),
        format!("{fixed} missing.pem --sha 256 --pure zero.bin f9.bin"),
        format!("{SIGN} --fix-sig fixed.sig --sha 256 --pure zero.bin f10.bin"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let signature = b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==\n";
    let Some(differences) = differing_rows_setup(
        &lines,
        &["v1.bin", "v2.bin", "v3.bin"],
        true,
        &[("fixed.sig", signature)],
        b"",
    ) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// `Image.create` sums the protected TLVs for the header's 16-bit field
/// before it packs them, so an area past 65535 bytes ends in add_header's
/// struct.error, after the load address and header size and before the
/// image size, the version, the security counter and the TLVs themselves
/// (which it still counts), and with compression after the sizes line
/// of the first build. The personality ended in espboot's own message,
/// after a "sign the digest" line.
#[test]
fn regression_protected_tlv_area_past_64_kib_had_espboots_own_error() {
    let ed = format!("{SIGN} -k use_ed25519.pem --custom-tlv-file 0xa0");
    let huge =
        "sign -v 1000000000000000000000.2.3 -H 0x20 --pad-header -S 0x10000 -k use_ed25519.pem";
    let lines = [
        format!("{SIGN} --custom-tlv-file 0xa0 t70000.bin zero.bin p1.bin"),
        format!("{SIGN} -e big --custom-tlv-file 0xa0 t70000.bin zero.bin p1.bin"),
        format!("{ed} t40000.bin --custom-tlv-file 0xa1 t40000.bin zero.bin p2.bin"),
        format!("{ed} t65525.bin zero.bin p3.bin"),
        format!("{ed} t65525.bin -s 0x100000000 zero.bin p4.bin"),
        format!("{ed} t65525.bin -d (1,1.2.3),(300,1) zero.bin p4.bin"),
        format!("{ed} t65525.bin --vid a --cid b\u{7} zero.bin p4.bin"),
        format!("{ed} t65525.bin -L 0x100000000 zero.bin p4.bin"),
        format!("{huge} --custom-tlv-file 0xa0 t65412.bin --boot-record x zero.bin p5.bin"),
        format!("{huge} --custom-tlv-file 0xa0 t65413.bin --boot-record x zero.bin p5.bin"),
        format!("{ed} t65480.bin --compression lzma2 t40000.bin p6.bin"),
        format!("{ed} t65480.bin --compression lzma2 -e big t40000.bin p6.bin"),
        format!("{SIGN} --fix-sig fixed.sig --fix-sig-pubkey ec.pem --custom-tlv-file 0xa0 t65480.bin --compression lzma2 t40000.bin p7.bin"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let zeros = |n: usize| vec![0u8; n];
    let files: Vec<(String, Vec<u8>)> = [70000, 40000, 65525, 65412, 65413, 65480]
        .into_iter()
        .map(|n| (format!("t{n}.bin"), zeros(n)))
        .chain([("fixed.sig".to_owned(), b"AAAA\n".to_vec())])
        .collect();
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    let Some(differences) = differing_rows_setup(&lines, &[], true, &files, b"") else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Key files under OpenSSL's legacy PEM encryption (`Proc-Type:
/// 4,ENCRYPTED`, `DEK-Info`), as `openssl genrsa -aes256` and
/// `openssl ec -des3` write them: imgtool asks for the passphrase and
/// cryptography decrypts AES-128-CBC, AES-256-CBC and DES-EDE3-CBC (and
/// refuses AES-192-CBC and DES-CBC as a wrong passphrase: the public
/// loader's ValueError). The personality refused every such file.
#[test]
fn regression_legacy_encrypted_pem_keys_were_refused() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../key-files/tests/data");
    let names = [
        "ecdsa-p256.legacy-encrypted.pem",
        "ecdsa-p384.legacy-aes-128-cbc.pem",
        "ecdsa-p384.legacy-aes-256-cbc.pem",
        "rsa-2048.legacy-des-ede3-cbc.pem",
        "ecdsa-p384.legacy-aes-192-cbc.pem",
        "rsa-3072.legacy-des-cbc.pem",
    ];
    let contents: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(data.join(n)).unwrap())
        .collect();
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .zip(&contents)
        .map(|(n, c)| (*n, c.as_slice()))
        .collect();
    let mut lines = Vec::new();
    let mut outputs = Vec::new();
    for (i, name) in names.iter().enumerate() {
        lines.push(format!("getpub -k {name} -e pem"));
        lines.push(format!("getpriv -k {name}"));
        lines.push(format!("getpubhash -k {name} -o h{i}.bin -e raw"));
        lines.push(format!("{SIGN} -k {name} zero.bin s{i}.bin"));
        if i < 4 {
            // the files cryptography decrypts
            outputs.push(format!("h{i}.bin"));
        }
    }
    lines.push(format!("{SIGN} -k ec.pem -E {} zero.bin e.bin", names[0]));
    lines.push(format!(
        "{SIGN} -k use_ed25519.pem -E {} --clear zero.bin e.bin",
        names[3]
    ));
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    for (passphrase, outputs) in [(&b"key-files test\n"[..], &outputs[..]), (b"wrong\n", &[])] {
        let Some(differences) = differing_rows_setup(&lines, outputs, true, &files, passphrase)
        else {
            return;
        };
        assert!(differences.is_empty(), "{}", differences.join("\n"));
    }
}

/// An empty passphrase: cryptography takes `b""` for no password, so
/// imgtool's `keys.load` returns None and imgtool goes on without the
/// key: `getpub` and `getpubhash` print "Invalid passphrase" and exit 0,
/// `getpriv` then fails on the None key, `verify` checks without a key,
/// `sign` writes an unsigned or unencrypted image, and a fixed signature
/// without its key fails where it is added. The personality ended each
/// with the public loader's ValueError.
#[test]
fn regression_empty_passphrase_was_taken_for_a_wrong_one() {
    let fixed = format!("{SIGN} --fix-sig fixed.sig --fix-sig-pubkey bad_enc.pem");
    let lines = [
        "getpub -k bad_enc.pem".to_owned(),
        "getpub -k bad_enc.pem -o p.txt".to_owned(),
        "getpubhash -k bad_enc.pem -e raw".to_owned(),
        "getpriv -k bad_enc.pem".to_owned(),
        format!("{SIGN} zero.bin v.bin"),
        "verify -k bad_enc.pem v.bin".to_owned(),
        format!("{SIGN} -k bad_enc.pem zero.bin k.bin"),
        format!("{SIGN} -E bad_enc.pem zero.bin e.bin"),
        format!("{fixed} zero.bin f1.bin"),
        format!("{fixed} --public-key-format full zero.bin f2.bin"),
        format!("{fixed} --vector-to-sign digest zero.bin f3.bin"),
        format!("{fixed} -k use_ed25519.pem zero.bin f4.bin"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let Some(differences) = differing_rows_setup(
        &lines,
        &["k.bin", "e.bin", "f3.bin"],
        true,
        &[("fixed.sig", b"AAAA\n")],
        b"\n",
    ) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Two Intel HEX placements imgtool computes and the personality refused
/// with "exceeds requested size" or "past 4 GiB": an exported vector is
/// saved without `check_trailer` (`create` returns first), its trailer
/// `puts` wherever `-x` + `-S` puts them; and a HEX input whose lowest
/// address is below the prepended header's size gets a base address below
/// 0, which intelhex writes in wrapped 16-bit records; one near the top
/// of the address space reaches past 4 GiB, where intelhex writes the
/// records before the first it cannot address and fails (OverflowError).
/// A `.hex` input through imgtool's own placement (`-M -3`) was also
/// written at its address without the header's move.
#[test]
fn regression_hex_placements_past_the_slot_or_below_zero_were_refused() {
    let sign = "sign -v 1 -H 0x20 --pad-header";
    let lines = [
        format!("{sign} -S 0x100 --confirm --vector-to-sign payload -x 0 zero.bin v1.hex"),
        format!("{sign} -S 0x10 --pad --vector-to-sign digest -x 0x10 zero.bin v2.hex"),
        format!("{sign} -S 0x300 --test --vector-to-sign payload -x 0x10 -M -3 zero.bin v3.hex"),
        format!("{sign} -S 0x100 --confirm --vector-to-sign payload -M -3 zero.bin v4.bin"),
        format!("{sign} -S 0x1000 low.hex l1.hex"),
        format!("{sign} -S 0x1000 --confirm low.hex l2.hex"),
        format!("{sign} -S 0x1000 --vector-to-sign payload low.hex l3.hex"),
        format!("{sign} -S 0x1000 low.hex l4.bin"),
        format!("{sign} -S 0x1000 -M -3 high.hex h1.hex"),
        format!("{sign} -S 0x10000 --pad -M -5 high.hex h2.hex"),
        "sign -v 1 -H 0x20 -S 0x20000 top.hex t1.hex".to_owned(),
        "sign -v 1 -H 0x20 -S 0x20000 --pad --confirm top.hex t2.hex".to_owned(),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let outputs = [
        "v1.hex", "v2.hex", "v3.hex", "v4.bin", "l1.hex", "l2.hex", "l3.hex", "l4.bin", "h1.hex",
        "h2.hex", "t1.hex", "t2.hex",
    ];
    let files: &[(&str, &[u8])] = &[
        (
            "low.hex",
            b":10001000000102030405060708090A0B0C0D0E0F68\n\
              :10002000101112131415161718191A1B1C1D1E1F58\n\
              :080030002021222324252627AC\n:00000001FF\n",
        ),
        (
            "high.hex",
            b":020000040001F9\n:10000000000102030405060708090A0B0C0D0E0F78\n:00000001FF\n",
        ),
        // 64 zero bytes at 0xFFFFFF00, the last 256 bytes below 4 GiB
        (
            "top.hex",
            b":02000004FFFFFC\n:10FF000000000000000000000000000000000000F1\n\
              :10FF100000000000000000000000000000000000E1\n\
              :10FF200000000000000000000000000000000000D1\n\
              :10FF300000000000000000000000000000000000C1\n:00000001FF\n",
        ),
    ];
    let Some(differences) = differing_rows_among(&lines, &outputs, false, files) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool's `dumpinfo` writes the file name with PyYAML and with Python's
/// `json` (`ensure_ascii`): PyYAML quotes what would read back as an int,
/// float, bool, null or date (`0x10`, `1_000`, `2024-01-01`) and leaves
/// `y`, `it's` and `a,b` plain, escapes characters outside printable ASCII
/// in double quotes (`"\xE9.bin"`), and folds a long name at 80 columns;
/// JSON escapes them as `\u00e9`. The personality quoted by its own short
/// list and wrote JSON with the characters as they are.
#[test]
fn regression_dumpinfo_file_names_were_quoted_by_espboots_own_rules() {
    let long_plain = "a long file name with spaces that runs well past the eighty columns of yaml";
    let long_quoted =
        "0 a long name: it's quoted, and folded past eighty columns where a space is found";
    let long_escaped =
        "é long name with an escape that PyYAML folds in its double quotes at the width.";
    let names = [
        "0x10",
        "0b101",
        "1_000",
        "017",
        "1.5",
        "y",
        "n",
        "yes",
        "Off",
        "null",
        "~",
        "it's",
        "a,b",
        "2024-01-01",
        "1:30",
        "-a",
        "- a",
        "a: b",
        "#x",
        "é.bin",
        "a\tb",
        "€😀",
        "a\"b\\c",
        "line\nbreak",
        " lead",
        "trail ",
        long_plain,
        long_quoted,
        long_escaped,
        "\u{7f}del",
        "<<",
        "=",
    ];
    let sign = [
        "sign", "-v", "1.0", "-H", "0x20", "-S", "0x10000", "zero.bin",
    ];
    let mut rows: Vec<Vec<&str>> = Vec::new();
    for name in names {
        rows.push(sign.iter().copied().chain([name]).collect());
        rows.push(vec!["dumpinfo", "-f", "yaml", name]);
        rows.push(vec!["dumpinfo", "-f", "json", name]);
        rows.push(vec!["dumpinfo", name]);
    }
    rows.push(vec!["dumpinfo", "-o", "names.yaml", long_escaped]);
    rows.push(vec!["dumpinfo", "-f", "json", "-o", "names.json", "€😀"]);
    let Some(differences) = differing_argvs(&rows, &["names.yaml", "names.json"], false, &[], b"")
    else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// A name that is not UTF-8 reaches imgtool with Python's surrogate
/// escapes: PyYAML writes `"\uDCFF"`, JSON `"\udcff"`, the human format
/// prints the bytes back (stdout in Python's UTF-8 mode), and a human
/// dump into a file fails once the title is written (UnicodeEncodeError,
/// exit 1). The personality wrote U+FFFD in all three.
#[test]
fn regression_dumpinfo_of_a_name_that_is_not_utf8_had_replacement_characters() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt as _;
    let Some(mut imgtool) = crate::support::reference_tool("imgtool") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let name = OsStr::from_bytes(b"img\xff\xfe.bin");
    let zero = [&[0u8; 0x20][..], &crate::support::serve::data(500, 9)].concat();
    std::fs::write(tmp.path().join("zero.bin"), zero).unwrap();
    crate::support::run_ok(
        imgtool
            .current_dir(tmp.path())
            .args([
                "sign", "-v", "1.0", "-H", "0x20", "-S", "0x10000", "zero.bin",
            ])
            .arg(name),
    );
    let link = tmp.path().join("bin/imgtool");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let rows: [&[&str]; 4] = [
        &["-f", "yaml"],
        &["-f", "json"],
        &[],
        &["-f", "human", "-o", "out.txt"],
    ];
    for options in rows {
        let mut outputs = Vec::new();
        for program in [
            crate::support::reference_bin_dir().join("imgtool"),
            link.clone(),
        ] {
            let _ = std::fs::remove_file(tmp.path().join("out.txt"));
            let out = Command::new(program)
                .current_dir(tmp.path())
                // the C locale: Python's UTF-8 mode, as on a bare CI runner
                .env("LC_ALL", "C")
                .env_remove("PYTHONUTF8")
                .arg("dumpinfo")
                .args(options)
                .arg(name)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().last().unwrap_or("").to_owned();
            outputs.push((
                out.status.code(),
                out.stdout,
                last,
                std::fs::read(tmp.path().join("out.txt")).ok(),
            ));
        }
        assert_eq!(outputs[0], outputs[1], "dumpinfo {options:?}");
    }
}

/// imgtool catches only `FileNotFoundError` around its `open()` calls: a
/// regular file named with a trailing slash (`zero.bin/`) fails with
/// NotADirectoryError (a traceback, exit 1). The personality asked
/// whether the path exists, which it does not, and gave imgtool's "not
/// found" usage error (exit 2).
#[test]
fn regression_trailing_slash_on_a_file_was_reported_as_not_found() {
    let Some(differences) = differing_rows(&[
        "sign -v 1.0 -H 0x20 -S 0x10000 zero.bin/ e.bin",
        "sign -v 1.0 -H 0x20 -S 0x10000 zero.hex/ e.bin",
        "sign -v 1.0 -H 0x20 -S 0x10000 -k ec.pem/ zero.bin e.bin",
        "sign -v 1.0 -H 0x20 -S 0x10000 -k ec.pem zero.bin s.bin",
        "verify -k ec.pem s.bin/",
        "verify -k ec.pem/ s.bin",
        "verify -k missing.pem/ s.bin",
        "verify -k ec.pem missing.bin/",
        "dumpinfo s.bin/",
        "dumpinfo s.hex/",
        "dumpinfo missing.bin/",
        "getpub -k ec.pem/",
        "getpriv -k ec.pem/",
    ]) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool computes the trailer and the padding in Python integers: a
/// `-M` past 32 bits makes a trailer past 4 GiB, which the slot check
/// prints; a padded slot past 4 GiB cannot be built (`MemoryError`, or
/// `OverflowError` past a `ssize_t`). The personality refused those
/// values as out of range in its own words, and a padded slot past 4 GiB
/// with a negative `-M` aborted it on a 64 GiB allocation.
#[test]
fn regression_sector_counts_and_padded_slots_past_32_bits_were_refused_or_aborted() {
    let Some(differences) = differing_rows_and_outputs(
        &[
            "sign -v 1.0 -H 0x20 -S 0x10000 -M 99999999999999999999 zero.bin e1.bin",
            "sign -v 1.0 -H 0x20 -S 0x100000000000 -M 4294967296 zero.bin e2.bin",
            "sign -v 1.0 -H 0x20 -S 0x10000 -M 4294967296 --overwrite-only --pad zero.bin e3.bin",
            "sign -v 1.0 -H 0x20 -S 0x100000000 -M 4294967296 zero.bin e4.hex",
            "sign -v 1.0 -H 0x20 -S 0x1000000000 --pad zero.bin e5.bin",
            "sign -v 1.0 -H 0x20 -S 0x1000000000 -M -5 --pad zero.bin e6.bin",
            "sign -v 1.0 -H 0x20 -S 99999999999999999999 --pad zero.bin e7.bin",
            "sign -v 1.0 -H 0x20 -S 0 -M 99999999999 --pad zero.bin e8.bin",
        ],
        // the others are refused before anything is written
        &["e2.bin", "e3.bin"],
    ) else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Python decodes its command line with `surrogateescape`: an option
/// value that is not UTF-8 is a `str` with lone surrogates, which imgtool
/// checks like any other (`'\udcff' is not one of …`, `\udcff is not a
/// valid integer`, `Invalid version number`) or fails to encode
/// (`--custom-tlv`, `--boot-record`: UnicodeEncodeError, exit 1), and a
/// file name that is not UTF-8 is quoted with its surrogates. The
/// personality's parser refused every such value ("invalid UTF-8 was
/// detected", exit 2) and wrote U+FFFD in file names.
#[test]
fn regression_option_values_that_are_not_utf8_were_refused_by_the_parser() {
    use std::ffi::OsString;
    use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
    let Some(mut imgtool) = crate::support::reference_tool("imgtool") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let zero = [&[0u8; 0x20][..], &crate::support::serve::data(500, 11)].concat();
    std::fs::write(dir.join("zero.bin"), zero).unwrap();
    crate::support::run_ok(imgtool.current_dir(dir).args([
        "keygen",
        "-t",
        "ecdsa-p256",
        "-k",
        "ec.pem",
    ]));
    let link = dir.join("bin/imgtool");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_espboot"), &link).unwrap();
    let sign = "sign -v 1.0 -H 0x20 -S 0x10000";
    let rows = [
        "sign -v 1.~ -H 0x20 -S 0x10000 zero.bin o.bin".to_owned(),
        format!("{sign} -S ~ zero.bin o.bin"),
        format!("{sign} -M ~ zero.bin o.bin"),
        format!("{sign} -d (1,1.0~) zero.bin o.bin"),
        format!("{sign} --align ~ zero.bin o.bin"),
        format!("{sign} --sha ~ zero.bin o.bin"),
        format!("{sign} --custom-tlv 0xa0 a~~b zero.bin o.bin"),
        format!("{sign} --custom-tlv 0xa0 0x~ zero.bin o.bin"),
        format!("{sign} --custom-tlv 0xa0 0x1~ zero.bin o.bin"),
        format!("{sign} --boot-record b~ zero.bin o.bin"),
        format!("{sign} --boot-record b~123456789012 zero.bin o.bin"),
        format!("{sign} -k k~.pem zero.bin o.bin"),
        format!("{sign} zero.bin d~/o.bin"),
        "getpub -k ec.pem -e ~".to_owned(),
        "getpub -k e~.pem".to_owned(),
        "verify -k ec.pem o~.bin".to_owned(),
        "dumpinfo o~.bin".to_owned(),
        format!("{sign} --custom-tlv-file 0xa0 f~ zero.bin o.bin"),
        format!("{sign} --custom-tlv-file 0xa0 t~.bin zero.bin o.bin"),
        format!("{sign} --custom-tlv-file ~ t~.bin zero.bin o.bin"),
    ];
    std::fs::write(
        dir.join(std::ffi::OsStr::from_bytes(b"t\xff.bin")),
        b"tlv data",
    )
    .unwrap();
    let mut differences = Vec::new();
    for row in &rows {
        // `~` stands for the byte 0xff
        let args: Vec<OsString> = row
            .split(' ')
            .map(|w| {
                OsString::from_vec(
                    w.bytes()
                        .map(|b| if b == b'~' { 0xff } else { b })
                        .collect(),
                )
            })
            .collect();
        let run = |program: &std::path::Path| {
            let out = Command::new(program)
                .current_dir(dir)
                .args(&args)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let last = stderr.lines().last().unwrap_or("").to_owned();
            (out.status.code(), out.stdout, last)
        };
        let theirs = run(&crate::support::reference_bin_dir().join("imgtool"));
        let ours = run(&link);
        if theirs != ours {
            differences.push(format!("{row}\n  imgtool: {theirs:?}\n  espboot: {ours:?}"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// imgtool hashes `--vid`/`--cid` text into a UUID only if Python's
/// `str.isprintable()` holds for it. espboot judged that by Rust's control
/// and whitespace classes, so a soft hyphen, an unassigned or a private-use
/// code point was hashed into the image where imgtool refuses the value.
#[test]
fn regression_vid_and_cid_text_was_judged_printable_by_rusts_rules() {
    let texts = [
        "example.com",
        "caf\u{e9} \u{1f600}",
        "a\u{ad}b",   // SOFT HYPHEN (Cf)
        "\u{378}",    // unassigned in Unicode 14.0 (Cn)
        "x\u{e000}",  // private use (Co)
        "\u{110bd}",  // KAITHI NUMBER SIGN (Cf)
        "\u{e0001}",  // LANGUAGE TAG (Cf)
        "a\u{3000}b", // IDEOGRAPHIC SPACE (Zs)
        "\u{2028}",   // LINE SEPARATOR (Zl)
        "\u{1faf8}",  // assigned in Unicode 15.0 only: unassigned here
        "\u{9fff}",   // CJK, assigned in Unicode 14.0
    ];
    // unsigned images: the UUID TLVs are all that differ, byte for byte
    let sign = ["sign", "-v", "1.0", "-H", "0x20", "-S", "0x1000"];
    let names: Vec<[String; 2]> = (0..texts.len())
        .map(|i| [format!("v{i}.bin"), format!("c{i}.bin")])
        .collect();
    let mut rows = Vec::new();
    for (text, [v, c]) in texts.iter().zip(&names) {
        rows.push([&sign[..], &["--vid", text, "zero.bin", v]].concat());
        rows.push([&sign[..], &["--vid", "a.b", "--cid", text, "zero.bin", c]].concat());
    }
    // the images of the texts imgtool takes (the others exit 1, no image)
    let outputs: Vec<&str> = [0, 1, texts.len() - 1]
        .iter()
        .flat_map(|&i| names[i].iter().map(String::as_str))
        .collect();
    let Some(differences) = differing_argvs(&rows, &outputs, false, &[], b"") else {
        return;
    };
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
