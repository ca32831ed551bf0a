use super::*;

fn parse(text: &str) -> Pkcs11Uri {
    Pkcs11Uri::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn parse_err(text: &str) -> UriError {
    match Pkcs11Uri::parse(text) {
        Ok(uri) => panic!("{text} parsed: {uri:?}"),
        Err(e) => e,
    }
}

#[test]
fn rfc7512_examples_parse() {
    // RFC 7512 §3 examples.
    let uri = parse("pkcs11:");
    assert_eq!(uri.token, TokenSelector::default());
    let uri = parse("pkcs11:object=my-pubkey;type=public");
    assert_eq!(uri.object.label.as_deref(), Some("my-pubkey"));
    assert_eq!(uri.object_type, Some(ObjectType::Public));
    let uri = parse("pkcs11:object=my-key;type=private?pin-source=file:/etc/token");
    assert!(matches!(uri.pin, Some(PinSpec::File(ref p)) if p == Path::new("/etc/token")));
    let uri = parse(
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;\
         manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;\
         type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=",
    );
    assert_eq!(
        uri.token.label.as_deref(),
        Some("The Software PKCS#11 Softtoken")
    );
    assert_eq!(uri.token.manufacturer.as_deref(), Some("Snake Oil, Inc."));
    assert_eq!(uri.token.model.as_deref(), Some("1.0"));
    assert_eq!(uri.token.serial.as_deref(), Some(""));
    assert_eq!(
        uri.object.id.as_deref(),
        Some(&[0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91][..])
    );
    let uri = parse("pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token;library-version=1.23");
    assert_eq!(uri.token.library_version, Some((1, 23)));
    assert_eq!(uri.token.library_description.as_deref(), Some("Soft Token"));
    let uri = parse("pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin");
    assert!(matches!(uri.pin, Some(PinSpec::Value(_))));
    let uri = parse("pkcs11:slot-description=Sun%20Metaslot");
    assert_eq!(uri.token.slot_description.as_deref(), Some("Sun Metaslot"));
    let uri = parse("pkcs11:token=my-token;object=my-key?module-path=/usr/lib/libfoo.so");
    assert_eq!(
        uri.module_path.as_deref(),
        Some(Path::new("/usr/lib/libfoo.so"))
    );
    let uri = parse("pkcs11:slot-id=1837492638;x-vendor=whatever");
    assert_eq!(uri.token.slot_id, Some(1_837_492_638));
    // `=` inside a value is data (RFC 7512 pk11-res-avail).
    let uri = parse("pkcs11:object=a=b");
    assert_eq!(uri.object.label.as_deref(), Some("a=b"));
    // The scheme is case-insensitive, attribute names are not.
    parse("PKCS11:token=t");
}

#[test]
fn typed_errors_name_the_attribute() {
    assert!(matches!(
        parse_err("pkcs12:token=t"),
        UriError::NotPkcs11Uri
    ));
    assert!(matches!(parse_err("token=t"), UriError::NotPkcs11Uri));
    assert!(matches!(
        parse_err("pkcs11:token=t;;object=k"),
        UriError::EmptyAttribute { component: "path" }
    ));
    assert!(matches!(
        parse_err("pkcs11:token=t?module-path=/m&"),
        UriError::EmptyAttribute { component: "query" }
    ));
    assert!(matches!(
        parse_err("pkcs11:token"),
        UriError::MissingValue { attribute } if attribute == "token"
    ));
    assert!(matches!(
        parse_err("pkcs11:objcet=k"),
        UriError::UnknownAttribute { attribute } if attribute == "objcet"
    ));
    assert!(matches!(
        parse_err("pkcs11:Token=t"),
        UriError::UnknownAttribute { attribute } if attribute == "Token"
    ));
    assert!(matches!(
        parse_err("pkcs11:token=t;pin-value=1234"),
        UriError::WrongComponent { attribute, expected: "query" } if attribute == "pin-value"
    ));
    assert!(matches!(
        parse_err("pkcs11:?object=k"),
        UriError::WrongComponent { attribute, expected: "path" } if attribute == "object"
    ));
    assert!(matches!(
        parse_err("pkcs11:token=a;token=b"),
        UriError::DuplicateAttribute { attribute } if attribute == "token"
    ));
    for bad in [
        "pkcs11:id=%0",
        "pkcs11:id=%zz",
        "pkcs11:object=%",
        "pkcs11:id=%+1",
    ] {
        assert!(
            matches!(parse_err(bad), UriError::PercentEncoding { .. }),
            "{bad}"
        );
    }
    assert!(matches!(
        parse_err("pkcs11:object=%FF"),
        UriError::NotUtf8 { attribute } if attribute == "object"
    ));
    assert!(matches!(
        parse_err("pkcs11:type=secret"),
        UriError::InvalidValue {
            attribute: "type",
            ..
        }
    ));
    for bad in ["x", "-1", "1.2", "", "99999999999999999999999"] {
        assert!(
            matches!(
                parse_err(&format!("pkcs11:slot-id={bad}")),
                UriError::InvalidValue {
                    attribute: "slot-id",
                    ..
                }
            ),
            "{bad}"
        );
    }
    for bad in ["", "1.", ".1", "a.b", "300.1"] {
        assert!(
            matches!(
                parse_err(&format!("pkcs11:library-version={bad}")),
                UriError::InvalidValue {
                    attribute: "library-version",
                    ..
                }
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        parse_err("pkcs11:token=t?pin-value=1&pin-source=file:/p"),
        UriError::PinValueAndSource
    ));
    for bad in ["|/bin/get-pin", "https://example.invalid/pin", "file:", ""] {
        assert!(
            matches!(
                parse_err(&format!("pkcs11:?pin-source={bad}")),
                UriError::UnsupportedPinSource
            ),
            "{bad}"
        );
    }
}

#[test]
fn errors_and_display_never_show_the_pin() {
    let uri = parse("pkcs11:token=t;object=k?module-path=/m.so&pin-value=s3cr3t-pin");
    assert_eq!(uri.to_string(), "pkcs11:token=t;object=k?module-path=/m.so");
    assert!(!format!("{uri:?}").contains("s3cr3t"));
    let err = parse_err("pkcs11:token=t?pin-value=s3cr3t-pin&pin-value=s3cr3t-pin");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    let err = parse_err("pkcs11:token=t;pin-value=s3cr3t-pin");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    let err = parse_err("pkcs11:token=t?pin-value=%G1s3cr3t");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
}

#[test]
fn display_round_trips() {
    for text in [
        "pkcs11:token=my%20token;object=k;id=%01%02;type=private?module-path=/usr/lib/x.so",
        "pkcs11:serial=abc;token=t;slot-id=5",
        "pkcs11:library-version=2.6;token=t?pin-source=file:/run/pin",
    ] {
        let uri = parse(text);
        let again = parse(&uri.to_string());
        assert_eq!(again.to_string(), uri.to_string(), "{text}");
        assert_eq!(again.token, uri.token);
        assert_eq!(again.object, uri.object);
    }
}

#[test]
fn locator_resolves_module_and_pin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = dir.path().join(format!(
        "{}vendor{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    std::fs::write(&module, b"").expect("write");
    let pin_file = dir.path().join("pin");
    std::fs::write(&pin_file, "4321\n").expect("write");

    let uri = parse(&format!(
        "pkcs11:token=t;object=k?module-path={}&module-name=vendor&pin-source=file://{}",
        dir.path().display(),
        pin_file.display()
    ));
    let locator = uri.locator(None).expect("locator");
    assert_eq!(locator.module, module);
    assert_eq!(locator.key, ObjectSelector::with_label("k"));
    assert!(locator.pin.is_some());

    let uri = parse("pkcs11:token=t?module-name=vendor");
    assert!(matches!(
        uri.locator(None),
        Err(UriError::ModuleNameWithoutPath { name }) if name == "vendor"
    ));
    let uri = parse(&format!(
        "pkcs11:token=t?module-path={}&module-name=other",
        dir.path().display()
    ));
    assert!(matches!(
        uri.locator(None),
        Err(UriError::ModuleNotFound { .. })
    ));

    let uri = parse("pkcs11:token=t;object=k");
    assert!(matches!(uri.locator(None), Err(UriError::NoModule)));
    let locator = uri.locator(Some(&module)).expect("default module");
    assert_eq!(locator.module, module);
    assert!(locator.pin.is_none());

    let uri = parse("pkcs11:token=t;object=k;type=cert?module-path=/m.so");
    assert!(matches!(
        uri.locator(None),
        Err(UriError::NotAKey {
            found: ObjectType::Cert
        })
    ));

    let uri = parse("pkcs11:token=t?module-path=/m.so&pin-source=/nonexistent/pin");
    let err = uri.locator(None).expect_err("missing pin file");
    assert!(matches!(err, UriError::PinFile(PinFileError::Read { .. })));
    assert!(err.to_string().contains("/nonexistent/pin"), "{err}");
}

#[test]
fn redact_pin_hides_only_the_pin_value() {
    assert_eq!(
        redact_pin("pkcs11:object=k?module-path=/m.so&pin-value=1234"),
        "pkcs11:object=k?module-path=/m.so&pin-value=***"
    );
    assert_eq!(
        redact_pin("pkcs11:object=k?pin-value=12%2634&pin-source=x"),
        "pkcs11:object=k?pin-value=***&pin-source=x"
    );
    assert_eq!(redact_pin("pkcs11:object=k"), "pkcs11:object=k");
}
