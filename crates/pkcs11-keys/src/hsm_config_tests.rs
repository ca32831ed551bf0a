use super::*;

const ESPSECURE_EXAMPLE: &str = "\
# Config file for the external Hardware Security Module
# to be used to generate signature.

[hsm_config]

# PKCS11 shared object/library module of the HSM vendor
pkcs11_lib = /usr/local/lib/softhsm/libsofthsm2.so

# HSM login credentials
credentials = 1234

# Slot number to be used
slot = 1108821954

# Label of the object used to store the private key
label = Private key for signing

# Label of the object used to store corresponding public key
label_pubkey = Public key for signing
";

fn parse_err(text: &str) -> HsmConfigError {
    match HsmConfig::parse(text) {
        Ok(config) => panic!("parsed: {config:?}"),
        Err(e) => e,
    }
}

#[test]
fn espsecure_documented_example() {
    let config = HsmConfig::parse(ESPSECURE_EXAMPLE).expect("parse");
    assert_eq!(
        config.pkcs11_lib,
        Path::new("/usr/local/lib/softhsm/libsofthsm2.so")
    );
    assert_eq!(config.slot, 1_108_821_954);
    assert_eq!(config.label, "Private key for signing");
    assert_eq!(
        config.label_pubkey.as_deref(),
        Some("Public key for signing")
    );
    assert!(config.credentials.is_some());
    let locator = config.locator();
    assert_eq!(locator.token, TokenSelector::with_slot_id(1_108_821_954));
    assert_eq!(
        locator.key,
        ObjectSelector::with_label("Private key for signing")
    );
    assert_eq!(
        locator.public_key_selector(),
        &ObjectSelector::with_label("Public key for signing")
    );
}

#[test]
fn configparser_rules() {
    let config = HsmConfig::parse(
        "[DEFAULT]\nPKCS11_LIB: /lib/%(vendor)s.so\nvendor = acme\n\
         [other]\nlabel = ignored\n\
         [hsm_config]\n  SLOT = 007\nLabel=k%%1\n  continued\n\n   more\n\
         ; comment\ncredentials=\n",
    )
    .expect("parse");
    assert_eq!(config.pkcs11_lib, Path::new("/lib/acme.so"));
    assert_eq!(config.slot, 7);
    assert_eq!(config.label, "k%1\ncontinued\n\nmore");
    assert!(
        config.credentials.is_some(),
        "an empty credentials option is a (empty) PIN"
    );
    assert!(config.label_pubkey.is_none());
    let locator = config.locator();
    assert_eq!(locator.public_key_selector(), &locator.key);
}

#[test]
fn missing_pieces_are_named() {
    assert!(matches!(parse_err(""), HsmConfigError::MissingSection));
    assert!(matches!(
        parse_err("[HSM_CONFIG]\npkcs11_lib=x\nslot=1\nlabel=k\n"),
        HsmConfigError::MissingSection
    ));
    for (text, option) in [
        ("[hsm_config]\nslot=1\nlabel=k\n", "pkcs11_lib"),
        ("[hsm_config]\npkcs11_lib=x\nlabel=k\n", "slot"),
        ("[hsm_config]\npkcs11_lib=x\nslot=1\n", "label"),
    ] {
        let err = parse_err(text);
        assert!(
            matches!(err, HsmConfigError::MissingOption { option: o } if o == option),
            "{text:?}: {err}"
        );
        assert!(err.to_string().contains(option), "{err}");
    }
    let config = HsmConfig::parse("[hsm_config]\npkcs11_lib=x\nslot=1\nlabel=k\n").expect("parse");
    assert!(config.credentials.is_none(), "the caller prompts");
}

#[test]
fn syntax_errors_name_the_line() {
    assert!(matches!(
        parse_err("pkcs11_lib = x\n[hsm_config]\n"),
        HsmConfigError::MissingSectionHeader { line: 1, .. }
    ));
    assert!(matches!(
        parse_err("[hsm_config]\npkcs11_lib=x\nslot=1\nlabel=k\njust words\n"),
        HsmConfigError::Syntax { line: 5, .. }
    ));
    assert!(matches!(
        parse_err("[hsm_config]\n= value\n"),
        HsmConfigError::Syntax { line: 2, .. }
    ));
    assert!(matches!(
        parse_err("[hsm_config]\nslot=1\n[x]\n[hsm_config]\n"),
        HsmConfigError::DuplicateSection { line: 4, .. }
    ));
    assert!(matches!(
        parse_err("[hsm_config]\nslot=1\nSlot=2\n"),
        HsmConfigError::DuplicateOption { line: 3, ref option, .. } if option == "slot"
    ));
    for bad in ["-1", "0x10", "one", "1.0", ""] {
        let err = parse_err(&format!(
            "[hsm_config]\npkcs11_lib=x\nslot={bad}\nlabel=k\n"
        ));
        assert!(matches!(err, HsmConfigError::Slot { .. }), "{bad}: {err}");
    }
}

#[test]
fn interpolation_errors_never_quote_the_pin() {
    let base = "[hsm_config]\npkcs11_lib=x\nslot=1\nlabel=k\n";
    for (credentials, problem) in [
        (
            "12%34",
            InterpolationProblem::Syntax {
                rest: Secret::new("%34".into()),
            },
        ),
        (
            "12%(pin",
            InterpolationProblem::BadReference {
                rest: Secret::new("%(pin".into()),
            },
        ),
        (
            "12%(nope)s",
            InterpolationProblem::MissingOption("nope".into()),
        ),
    ] {
        let err = parse_err(&format!("{base}credentials = {credentials}\n"));
        assert!(
            matches!(&err, HsmConfigError::Interpolation { option, problem: p, .. }
                if option == "credentials" && *p == problem),
            "{credentials}: {err}"
        );
        assert!(!err.to_string().contains("12"), "{err}");
    }
    let err = parse_err(&format!(
        "{base}a = %(b)s\nb = %(a)s\ncredentials = %(a)s\n"
    ));
    assert!(matches!(
        err,
        HsmConfigError::Interpolation {
            problem: InterpolationProblem::TooDeep,
            ..
        }
    ));
}

// Expected lines are CPython 3.11's configparser exceptions (and int()'s
// ValueError) for the same files, read as espsecure reads them.
#[test]
fn value_errors_are_worded_as_configparser_raises_them() {
    let base = "[hsm_config]\npkcs11_lib=x\nslot=1\nlabel=k\n";
    let cases = [
        (
            "credentials = 12%34",
            "configparser.InterpolationSyntaxError: '%' must be followed by '%' or '(', found: '%34'",
        ),
        (
            "credentials = a%",
            "configparser.InterpolationSyntaxError: '%' must be followed by '%' or '(', found: '%'",
        ),
        (
            "credentials = 12%(pin",
            "configparser.InterpolationSyntaxError: bad interpolation variable reference '%(pin'",
        ),
        (
            "credentials = x%(nope)s",
            "configparser.InterpolationMissingOptionError: Bad value substitution: option \
             'credentials' in section 'hsm_config' contains an interpolation key 'nope' which \
             is not a valid option name. Raw value: 'x%(nope)s'",
        ),
        (
            "a = %(b)s\nb = %(a)s\ncredentials = %(a)s",
            "configparser.InterpolationDepthError: Recursion limit exceeded in value \
             substitution: option 'credentials' in section 'hsm_config' contains an \
             interpolation key which cannot be substituted in 10 steps. Raw value: '%(a)s'",
        ),
        (
            "b = 5%\ncredentials = %(b)s",
            "configparser.InterpolationSyntaxError: '%' must be followed by '%' or '(', found: '%'",
        ),
    ];
    for (line, want) in cases {
        let err = parse_err(&format!("{base}{line}\n"));
        assert_eq!(err.python_exception().as_deref(), Some(want), "{line}");
    }
    let slot = parse_err("[hsm_config]\npkcs11_lib=x\nslot=one\nlabel=k\n");
    assert_eq!(
        slot.python_exception().as_deref(),
        Some("ValueError: invalid literal for int() with base 10: 'one'")
    );
    // a negative slot is an integer: espsecure takes it (and falls back to
    // the last slot), espboot refuses it in its own words
    let negative = parse_err("[hsm_config]\npkcs11_lib=x\nslot=-1\nlabel=k\n");
    assert_eq!(negative.python_exception(), None);
}

#[test]
fn read_names_the_file() {
    let err = HsmConfig::read(Path::new("/nonexistent/hsm.ini")).expect_err("missing");
    assert!(matches!(&err, HsmConfigError::InFile { source, .. }
        if matches!(**source, HsmConfigError::Read(_))));
    assert!(
        err.to_string().starts_with("/nonexistent/hsm.ini: "),
        "{err}"
    );
}

/// Expected values are `str()` of the exceptions Python 3.11's
/// configparser raises on the same text read from `cfg.ini`.
#[test]
fn configparser_messages_as_python() {
    let cases = [
        (
            "key = v\n[hsm_config]\n",
            "File contains no section headers.\nfile: 'cfg.ini', line: 1\n'key = v\\n'",
        ),
        (
            "[hsm_config]\npkcs11_lib=x\nbad line\nslot=1\nalso bad",
            "Source contains parsing errors: 'cfg.ini'\n\t[line  3]: 'bad line\\n'\n\t[line  5]: 'also bad'",
        ),
        (
            "[hsm_config]\r\nbad\r\n[hsm_config]\r\n",
            "While reading from 'cfg.ini' [line  3]: section 'hsm_config' already exists",
        ),
        (
            "[hsm_config]\nslot=1\nSLOT=2\n",
            "While reading from 'cfg.ini' [line  3]: option 'slot' in section 'hsm_config' already exists",
        ),
        ("[x]\n", "No section: 'hsm_config'"),
        (
            "[hsm_config]\nslot=1\n",
            "No option 'pkcs11_lib' in section: 'hsm_config'",
        ),
    ];
    for (text, python) in cases {
        let err = parse_err(text);
        assert_eq!(
            err.configparser_message("cfg.ini").as_deref(),
            Some(python),
            "{text:?}"
        );
    }
}
