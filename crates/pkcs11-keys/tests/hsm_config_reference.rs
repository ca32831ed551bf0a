//! `HsmConfig::parse` reads every `--hsm-config` text as the pinned
//! Python's `configparser` does when espsecure uses it: the same values,
//! or an error of the matching kind.

mod support;

use pkcs11_keys::{HsmConfig, HsmConfigError, InterpolationProblem};
use support::reference_tool;

/// Reads each config (separated by NUL) as espsecure 5.6.0 does
/// (`read_hsm_config`, then the values in the order `establish_session`,
/// `get_privkey_info` and `get_pubkey` read them) and prints one line per
/// config: the values, or the exception's class name.
const READ_LIKE_ESPSECURE: &str = r#"
import configparser, json, sys
for text in sys.stdin.read().split("\0"):
    try:
        config = configparser.ConfigParser()
        config.read_string(text)
        if not config.has_section("hsm_config"):
            raise configparser.NoSectionError("hsm_config")
        for option in ["pkcs11_lib", "slot", "label"]:
            if not config.has_option("hsm_config", option):
                raise configparser.NoOptionError(option, "hsm_config")
        section = config["hsm_config"]
        result = {"pkcs11_lib": section["pkcs11_lib"], "slot": int(section["slot"])}
        result["credentials"] = section["credentials"] if "credentials" in section else None
        result["label"] = section["label"]
        result["label_pubkey"] = section["label_pubkey"] if "label_pubkey" in section else None
        print(json.dumps({"ok": result}))
    except Exception as e:
        print(json.dumps({"error": type(e).__name__}))
"#;

const BASE: &str = "pkcs11_lib = /usr/lib/softhsm/libsofthsm2.so\nslot = 1\nlabel = key\n";

fn cases() -> Vec<String> {
    let with = |extra: &str| format!("[hsm_config]\n{BASE}{extra}");
    vec![
        with(""),
        with("credentials = 1234\nlabel_pubkey = key-pub\n"),
        // Delimiters, case, spacing, comments.
        "[hsm_config]\nPKCS11_LIB: /m.so\nSlot =   42  \nLABEL=a b  c\n# x\n; y\n".into(),
        // An indented option line continues the previous value.
        "[hsm_config]\nPKCS11_LIB: /m.so\n  Slot =   42  \nLABEL=a b  c\n".into(),
        with("credentials = 12 # not a comment\n"),
        with("credentials =\n"),
        with("credentials = pa%%ss\n"),
        // Interpolation from the section and [DEFAULT].
        format!(
            "[DEFAULT]\nvendor = acme\n[hsm_config]\n{BASE}credentials = %(vendor)s-%(label)s\n"
        ),
        "[DEFAULT]\nslot = 3\n[hsm_config]\npkcs11_lib = /m.so\nlabel = k\n".into(),
        with("credentials = 12%34\n"),
        with("credentials = %(nope)s\n"),
        with("credentials = %(pin\n"),
        with("a = %(b)s\nb = %(a)s\ncredentials = %(a)s\n"),
        // Multi-line values.
        with("credentials = line1\n  line2\n\n  line3\n\n"),
        with("label_pubkey = pub\n    # indented comment\n    more\n"),
        // Slots: int() rules.
        "[hsm_config]\npkcs11_lib = /m.so\nslot = 007\nlabel = k\n".into(),
        "[hsm_config]\npkcs11_lib = /m.so\nslot = 1_000\nlabel = k\n".into(),
        "[hsm_config]\npkcs11_lib = /m.so\nslot = 0x10\nlabel = k\n".into(),
        "[hsm_config]\npkcs11_lib = /m.so\nslot = one\nlabel = k\n".into(),
        // Headers.
        format!("[hsm_config] trailing words\n{BASE}"),
        format!("[HSM_CONFIG]\n{BASE}"),
        format!("[other]\n{BASE}"),
        format!("[hsm_config]\n{BASE}[other]\nx = 1\n[hsm_config]\n"),
        // Structure errors.
        format!("{BASE}[hsm_config]\n"),
        with("just words\n"),
        with("= value\n"),
        with("Label = again\n"),
        "[hsm_config]\npkcs11_lib = /m.so\nlabel = k\n".into(),
        "[hsm_config]\nslot = 1\nlabel = k\n".into(),
        "[hsm_config]\npkcs11_lib = /m.so\nslot = 1\n".into(),
        String::new(),
    ]
}

/// Our result in the reference's terms.
fn ours(text: &str) -> serde_json::Value {
    match HsmConfig::parse(text) {
        Ok(c) => {
            serde_json::json!({"ok": {
                "pkcs11_lib": c.pkcs11_lib.display().to_string(),
                "slot": c.slot,
                "credentials": c.credentials.as_ref().map(|p| p.expose_secret()),
                "label": c.label,
                "label_pubkey": c.label_pubkey,
            }})
        }
        Err(e) => serde_json::json!({"error": match e {
            HsmConfigError::MissingSectionHeader { .. } => "MissingSectionHeaderError",
            HsmConfigError::Syntax { .. } => "ParsingError",
            HsmConfigError::DuplicateSection { .. } => "DuplicateSectionError",
            HsmConfigError::DuplicateOption { .. } => "DuplicateOptionError",
            HsmConfigError::MissingSection => "NoSectionError",
            HsmConfigError::MissingOption { .. } => "NoOptionError",
            HsmConfigError::Interpolation {
                problem: InterpolationProblem::Syntax { .. } | InterpolationProblem::BadReference { .. },
                ..
            } => "InterpolationSyntaxError",
            HsmConfigError::Interpolation { problem: InterpolationProblem::MissingOption(_), .. } =>
                "InterpolationMissingOptionError",
            HsmConfigError::Interpolation { problem: InterpolationProblem::TooDeep, .. } =>
                "InterpolationDepthError",
            HsmConfigError::Slot { .. } => "ValueError",
            other => panic!("unexpected {other}"),
        }}),
    }
}

#[test]
fn parses_every_config_as_python_configparser() {
    skip_without_interop!();
    let cases = cases();
    let mut python = reference_tool("python");
    python.args(["-c", READ_LIKE_ESPSECURE]);
    let stdin = cases.join("\0");
    let out = {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = python
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start python");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write");
        child.wait_with_output().expect("python")
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout)
        .expect("utf8")
        .lines()
        .collect();
    assert_eq!(lines.len(), cases.len());
    for (text, line) in cases.iter().zip(lines) {
        let reference: serde_json::Value = serde_json::from_str(line).expect("json");
        assert_eq!(ours(text), reference, "config:\n{text}");
    }
}
