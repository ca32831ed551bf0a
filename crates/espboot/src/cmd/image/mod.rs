//! `espboot image` (and `imgtool` through the multi-call link): MCUboot
//! image keys, signing, verification and inspection, with imgtool 2.5.0's
//! command line. The work is done by `mcuboot_image`; this module parses
//! arguments, reads and writes files, and phrases errors.

mod imgtool_dumpinfo;
mod imgtool_help;
mod inspect;
mod keys;
mod personality;
mod sign;
mod util;

use std::process::ExitCode;

/// Arguments of `espboot image`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Generate a key pair (PKCS#8 PEM, mode 0600).
    Keygen(keys::KeygenArgs),
    /// Print the public key (C or Rust array, PEM, or raw DER).
    Getpub(keys::GetpubArgs),
    /// Print the SHA-256 hash of the public key.
    Getpubhash(keys::GetpubhashArgs),
    /// Print the private key as a C array (for encryption keys).
    Getpriv(keys::GetprivArgs),
    /// Tell whether a PEM file holds a key pair or a public key only.
    Keyinfo(keys::KeyinfoArgs),
    /// Check that a signed image verifies with the given key.
    Verify(inspect::VerifyArgs),
    /// Create a signed or unsigned image (INFILE/OUTFILE are Intel HEX when named *.hex).
    #[command(alias = "create")]
    Sign(Box<sign::SignArgs>),
    /// Print header, TLV area and trailer of an image.
    Dumpinfo(inspect::DumpinfoArgs),
    /// Print the version.
    Version,
}

/// `imgtool` through the multi-call link: imgtool's own command line.
pub fn personality(argv: Vec<std::ffi::OsString>) -> ExitCode {
    personality::personality(argv)
}

/// Runs `espboot image …`.
///
/// # Errors
/// A one-line, argument-naming error for bad input.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Keygen(a) => keys::keygen(a),
        Command::Getpub(a) => keys::getpub(a),
        Command::Getpubhash(a) => keys::getpubhash(a),
        Command::Getpriv(a) => keys::getpriv(a),
        Command::Keyinfo(a) => keys::keyinfo(a),
        Command::Verify(a) => inspect::verify(a),
        Command::Sign(a) => sign::sign(*a),
        Command::Dumpinfo(a) => inspect::dumpinfo(a),
        Command::Version => {
            util::print(&format!(
                "espboot {} (imgtool 2.5.0 compatible)\n",
                env!("CARGO_PKG_VERSION")
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
