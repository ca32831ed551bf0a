//! `espboot flash …` (and the `esptool`/`esptool.py` names): esptool's
//! jobs. This file only declares the options and dispatches; each command
//! is in its own module, device commands connect through [`connect`].

use std::process::ExitCode;

use esp_image::Chip;

pub use personality::personality;

/// A value click refuses while it converts a command's argument
/// (`BadParameter`, raised by esptool's `AddrFilenamePairType`): esptool
/// shows it as a usage error, `Invalid value for '<param>': <message>`
/// under the command's usage line, exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct BadArgument {
    /// The command, as esptool names it (`merge-bin`).
    pub(crate) command: &'static str,
    /// click's name of the parameter (`<address> <filename>...`).
    pub(crate) param: &'static str,
    /// What is wrong with the value.
    pub(crate) message: String,
}

/// click's name of the address/file pairs argument.
const PAIRS: &str = "<address> <filename>...";

impl BadArgument {
    /// An overlap between two address/file pairs of `param`: esptool's
    /// words.
    fn overlap(command: &'static str, param: &'static str, address: u64, file: &str) -> Self {
        BadArgument {
            command,
            param,
            message: format!("Detected overlap at address: {address:#x} for file: {file}."),
        }
    }
}

mod connect;
mod dump_mem;
mod erase;
mod flash_id;
mod image_info;
mod merge_bin;
mod personality;
mod progress;
mod read_flash;
mod read_mac;
mod read_mem;
mod run;
mod security_info;
mod verify_flash;
mod wire_time;
mod write_flash;
mod write_mem;

/// Arguments of `espboot flash` (esptool's global options).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Serial port (a device or a PTY path); not needed by the host-only
    /// `merge-bin` and `image-info`.
    #[arg(short = 'p', long, env = "ESPTOOL_PORT", global = true)]
    port: Option<String>,
    /// Expected chip; the detected one must match.
    #[arg(short = 'c', long, global = true)]
    chip: Option<Chip>,
    /// Baud rate.
    #[arg(
        short = 'b',
        long,
        env = "ESPTOOL_BAUD",
        default_value_t = 115_200,
        global = true
    )]
    baud: u32,
    /// What to do before connecting.
    #[arg(long, value_enum, default_value = "default-reset", global = true)]
    before: connect::BeforeArg,
    /// What to do after the command.
    #[arg(long, value_enum, default_value = "hard-reset", global = true)]
    after: connect::AfterArg,
    /// Talk to the ROM loader only; do not upload the flasher stub.
    #[arg(long, global = true)]
    no_stub: bool,
    /// Connection attempts (0 counts as 1).
    #[arg(long, default_value_t = 7, global = true)]
    connect_attempts: u32,
    #[command(subcommand)]
    command: FlashCommand,
}

#[derive(Debug, clap::Subcommand)]
enum FlashCommand {
    /// The chip id, or (no chip here has one) the MAC.
    #[command(alias = "chip_id")]
    ChipId,
    /// The factory MAC from eFuse.
    #[command(alias = "read_mac")]
    ReadMac,
    /// Security flags, key purposes and crypt counter (GET_SECURITY_INFO).
    #[command(alias = "get_security_info")]
    GetSecurityInfo,
    /// The SPI flash's manufacturer, device id and size (RDID).
    #[command(alias = "flash_id")]
    FlashId,
    /// Write files to flash at addresses, then check each by MD5.
    #[command(alias = "write_flash")]
    WriteFlash(write_flash::Args),
    /// Read flash to a file.
    #[command(alias = "read_flash")]
    ReadFlash(read_flash::Args),
    /// Check flash against files by MD5.
    #[command(alias = "verify_flash")]
    VerifyFlash(verify_flash::Args),
    /// Erase the whole flash (stub).
    #[command(alias = "erase_flash")]
    EraseFlash(erase::FlashArgs),
    /// Erase a sector-aligned region.
    #[command(alias = "erase_region")]
    EraseRegion(erase::RegionArgs),
    /// Merge binaries at their flash addresses into one raw, Intel HEX or
    /// UF2 file (host only).
    #[command(alias = "merge_bin")]
    MergeBin(merge_bin::Args),
    /// Print what an ESP image holds (host only).
    #[command(alias = "image_info")]
    ImageInfo(image_info::Args),
    /// Read one word of memory.
    #[command(alias = "read_mem")]
    ReadMem(read_mem::Args),
    /// Write one word of memory, with an optional mask.
    #[command(alias = "write_mem")]
    WriteMem(write_mem::Args),
    /// Dump memory to a file.
    #[command(alias = "dump_mem")]
    DumpMem(dump_mem::Args),
    /// Run the application in flash.
    Run,
    /// Print the esptool version whose behaviour `espboot flash` follows
    /// (host only; esptool's `version` command).
    Version,
    /// Model what writing and verifying a file costs on a real serial line
    /// (host only).
    #[command(hide = true)]
    WireTime(wire_time::Args),
}

impl FlashCommand {
    /// esptool's name of the command (its messages use it).
    fn esptool_name(&self) -> &'static str {
        match self {
            FlashCommand::ChipId => "chip-id",
            FlashCommand::ReadMac => "read-mac",
            FlashCommand::GetSecurityInfo => "get-security-info",
            FlashCommand::FlashId => "flash-id",
            FlashCommand::WriteFlash(_) => "write-flash",
            FlashCommand::ReadFlash(_) => "read-flash",
            FlashCommand::VerifyFlash(_) => "verify-flash",
            FlashCommand::EraseFlash(_) => "erase-flash",
            FlashCommand::EraseRegion(_) => "erase-region",
            FlashCommand::MergeBin(_) => "merge-bin",
            FlashCommand::ImageInfo(_) => "image-info",
            FlashCommand::ReadMem(_) => "read-mem",
            FlashCommand::WriteMem(_) => "write-mem",
            FlashCommand::DumpMem(_) => "dump-mem",
            FlashCommand::Run => "run",
            FlashCommand::Version => "version",
            FlashCommand::WireTime(_) => "wire-time",
        }
    }
}

/// The esptool release the `esptool` personality follows.
pub(crate) const ESPTOOL_VERSION: &str = "5.6.0";

/// Runs `espboot flash`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // host-only commands: no port, no connection
    match &args.command {
        FlashCommand::MergeBin(a) => return merge_bin::run(args.chip, a),
        FlashCommand::ImageInfo(a) => return image_info::run(args.chip, a),
        FlashCommand::WireTime(a) => return wire_time::run(args.chip, a),
        FlashCommand::Version => {
            outln!("{ESPTOOL_VERSION}");
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    // esptool reads write-flash's and verify-flash's files while parsing
    // its command line
    let mut write_files = match &args.command {
        FlashCommand::WriteFlash(a) => Some(write_flash::load(a, args.no_stub)?),
        _ => None,
    };
    let verify_files = match &args.command {
        FlashCommand::VerifyFlash(a) => verify_flash::load(a)?,
        _ => Vec::new(),
    };
    let mut session = connect::Session::open(&args, args.command.esptool_name())?;
    let result = match &args.command {
        FlashCommand::ChipId => read_mac::chip_id(&mut session),
        FlashCommand::ReadMac => read_mac::read_mac(&mut session),
        FlashCommand::GetSecurityInfo => security_info::run(&mut session),
        FlashCommand::FlashId => flash_id::run(&mut session),
        FlashCommand::WriteFlash(a) => match write_files.take() {
            Some(files) => write_flash::run(&mut session, a, files),
            None => Ok(()),
        },
        FlashCommand::ReadFlash(a) => read_flash::run(&mut session, a),
        FlashCommand::VerifyFlash(_) => verify_flash::run(&mut session, &verify_files),
        FlashCommand::EraseFlash(a) => erase::flash(&mut session, a),
        FlashCommand::EraseRegion(a) => erase::region(&mut session, a),
        FlashCommand::ReadMem(a) => read_mem::run(&mut session, a),
        FlashCommand::WriteMem(a) => write_mem::run(&mut session, a),
        FlashCommand::DumpMem(a) => dump_mem::run(&mut session, a),
        FlashCommand::Run => run::run(&mut session),
        FlashCommand::MergeBin(_)
        | FlashCommand::ImageInfo(_)
        | FlashCommand::WireTime(_)
        | FlashCommand::Version => Ok(()),
    };
    // esptool runs the --after action also when the command failed
    session.finish(args.after)?;
    result.map(|()| ExitCode::SUCCESS)
}

/// An address argument (Python `int(x, 0)`).
fn parse_address(s: &str) -> Result<u32, String> {
    py_int::parse_u32(s).map_err(|_| format!("expected an address (decimal or 0x hex), got {s:?}"))
}
