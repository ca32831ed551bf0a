//! `espboot secure sign-data` input kinds: a regular file is streamed
//! through the signer, a pipe is read whole; both sign the same bytes, and
//! signing in place replaces the file with the signed one.

use std::io::Write as _;
use std::process::Stdio;

use crate::support;

#[test]
fn sign_data_signs_files_pipes_and_in_place_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Over one read chunk (1 MiB) and not sector aligned.
    let data: Vec<u8> = (0..(3 << 20) + 123u32)
        .map(|i| (i ^ (i >> 9)) as u8)
        .collect();
    std::fs::write(dir.join("app.bin"), &data).unwrap();
    std::fs::write(dir.join("inplace.bin"), &data).unwrap();
    let key = dir.join("key.pem");
    support::run_ok(
        support::espboot()
            .args([
                "secure",
                "generate-signing-key",
                "-v",
                "2",
                "-s",
                "ecdsa256",
            ])
            .arg(&key),
    );
    let sign = |input: &str, output: Option<&str>| {
        let mut cmd = support::espboot();
        // The data file first: `-k` takes several keys.
        cmd.current_dir(dir)
            .args(["secure", "sign-data", "-v", "2", input, "-k", "key.pem"]);
        if let Some(out) = output {
            cmd.args(["-o", out]);
        }
        cmd
    };
    support::run_ok(&mut sign("app.bin", Some("from-file.bin")));
    support::run_ok(&mut sign("inplace.bin", None));
    let mut piped = sign("/dev/stdin", Some("from-pipe.bin"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = piped.stdin.take().unwrap();
    stdin.write_all(&data).unwrap();
    drop(stdin);
    assert!(piped.wait().unwrap().success());

    let padded = data.len().div_ceil(4096) * 4096;
    for name in ["from-file.bin", "from-pipe.bin", "inplace.bin"] {
        let signed = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(signed.len(), padded + 4096, "{name}");
        assert_eq!(signed[..data.len()], data[..], "{name}");
        assert!(
            signed[data.len()..padded].iter().all(|&b| b == 0xFF),
            "{name}"
        );
        support::run_ok(support::espboot().current_dir(dir).args([
            "secure",
            "verify-signature",
            "-v",
            "2",
            "-k",
            "key.pem",
            name,
        ]));
    }
}

/// `encrypt-flash-data` checks the data length before encrypting; a pipe
/// (size 0 in its metadata) is read whole and encrypts as the same file.
#[test]
fn encrypt_flash_data_from_a_pipe_equals_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data: Vec<u8> = (0..8192u32).map(|i| (i * 13 % 256) as u8).collect();
    std::fs::write(dir.join("plain.bin"), &data).unwrap();
    std::fs::write(dir.join("key.bin"), [0x5a; 32]).unwrap();
    for algorithm in [&["--aes-xts"][..], &[][..]] {
        let encrypt = |input: &str, output: &str| {
            let mut cmd = support::espboot();
            cmd.current_dir(dir)
                .args(["secure", "encrypt-flash-data"])
                .args(algorithm)
                .args([
                    "--keyfile",
                    "key.bin",
                    "--address",
                    "0x10000",
                    "-o",
                    output,
                    input,
                ]);
            cmd
        };
        support::run_ok(&mut encrypt("plain.bin", "from-file.bin"));
        let mut child = encrypt("/dev/stdin", "from-pipe.bin")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&data).unwrap();
        assert!(child.wait().unwrap().success(), "{algorithm:?}");
        assert_eq!(
            std::fs::read(dir.join("from-pipe.bin")).unwrap(),
            std::fs::read(dir.join("from-file.bin")).unwrap(),
            "{algorithm:?}"
        );
    }
}
