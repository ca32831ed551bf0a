use super::*;

/// Encoded bytes of a message of `len` bytes framed in `chars`-wide lines.
fn encoded(len: usize, chars: usize) -> usize {
    let text = (len + 4).div_ceil(3) * 4;
    text + text.div_ceil(chars) * 3
}

#[test]
fn mcumgr_framing_follows_its_mtu_rule() {
    let f = Framing::mcumgr(256).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.line_chars().get(), 252);
    assert_eq!(f.max_message(), 179);
    let f = Framing::mcumgr(128).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.line_chars().get(), 124);
    assert_eq!(f.max_message(), 83);
    assert!(Framing::mcumgr(16).is_err());
    assert_eq!(
        Config::default().framing,
        Framing::mcumgr(256).unwrap_or_else(|e| panic!("{e}"))
    );
}

#[test]
fn line_framing_fills_but_never_exceeds_the_budget() {
    for (length, buffers) in [(128, 2), (128, 1), (512, 1), (256, 3), (100, 2)] {
        let f = Framing::lines(length, buffers).unwrap_or_else(|e| panic!("{e}"));
        let budget = length * buffers;
        let chars = f.line_chars().get();
        assert!(
            encoded(f.max_message(), chars) <= budget,
            "{length}x{buffers}"
        );
        assert!(
            encoded(f.max_message() + 3, chars) > budget,
            "{length}x{buffers}: {} is not the largest",
            f.max_message()
        );
    }
}

#[test]
fn errors_name_the_port_and_the_operation() {
    let e = Error::Timeout {
        port: "/dev/ttyUSB1".into(),
        operation: Operation::Upload,
        tries: 3,
        timeout: Duration::from_millis(500),
        at: Some((1024, 4096)),
    };
    assert_eq!(
        e.to_string(),
        "/dev/ttyUSB1: image upload: no reply from the device (3 tries, 0.5 s each) after 1024 of 4096 bytes"
    );
    let e = Error::NotSupported {
        port: "p".into(),
        operation: Operation::Echo,
    };
    assert!(e
        .to_string()
        .starts_with("p: echo: the device does not support it (ENOTSUP"));
}
