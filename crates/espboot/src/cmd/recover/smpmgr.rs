//! The `smpmgr` personality: smpmgr 0.19.1's serial commands
//! (`--port P image upload|state-read`, `upgrade`, `os echo|reset`) with the
//! lines it prints when its output is not a terminal (rich renders each
//! spinner once, finished) and its exit statuses: error replies are printed
//! and exit 0, transport failures exit 1 (`smpmgr/main.py`,
//! `image_management.py`, `os_management.py`, `common.py`).
//!
//! Sizing follows smpmgr's options: `--line-length` (128) and
//! `--line-buffers` (2), or the deprecated `--mtu N` (= `N` and 1). The
//! header carries SMP version 2 bits as smpclient sends them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mcumgr_smp::client::{McumgrParamsRequest, Reply};
use mcumgr_smp::header::{version, Header, Op};
use mcumgr_smp::image::{ImageState, ImageStateReadRequest, ImageStateWriteRequest};
use mcumgr_smp::os::{EchoRequest, ResetRequest};
use mcumgr_smp::MgmtErr;
use smp_serial_client::{Client, Config, Framing, Operation};

/// smpmgr's defaults (`smpmgr/common.py` `DEFAULT_LINE_LENGTH`,
/// `DEFAULT_LINE_BUFFERS`).
const DEFAULT_LINE_LENGTH: usize = 128;
const DEFAULT_LINE_BUFFERS: usize = 2;

/// smpclient's timeout of the first upload request (`upload`,
/// `first_timeout_s`).
const FIRST_UPLOAD_TIMEOUT: Duration = Duration::from_secs(40);

#[derive(Debug, Parser)]
#[command(name = "smpmgr", about = "Simple Management Protocol (SMP) Manager")]
struct Cli {
    /// The serial port to connect to, e.g. COM1, /dev/ttyACM0, etc.
    #[arg(long)]
    port: Option<String>,
    /// Transport timeout in seconds; how long to wait for requests
    #[arg(long, default_value_t = 2.0)]
    timeout: f64,
    /// Deprecated for serial transport; use --line-length and --line-buffers instead.
    #[arg(long)]
    mtu: Option<usize>,
    /// The baudrate of the serial port to connect to, e.g. 115200.
    #[arg(long)]
    baudrate: Option<u32>,
    /// Serial transport line length in bytes.
    #[arg(long)]
    line_length: Option<usize>,
    /// Serial transport line buffer count.
    #[arg(long)]
    line_buffers: Option<usize>,
    /// Debug log level
    #[arg(long)]
    loglevel: Option<String>,
    /// Log file path
    #[arg(long)]
    logfile: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<SmpmgrCommand>,
}

#[derive(Debug, clap::Subcommand)]
enum SmpmgrCommand {
    /// The SMP Image Management Group.
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// The SMP OS Management Group.
    Os {
        #[command(subcommand)]
        command: OsCommand,
    },
    /// Upload a FW image, mark it for next boot, and reset the device.
    Upgrade {
        file: PathBuf,
        /// The image slot to upload to
        #[arg(long, default_value_t = 0)]
        slot: u32,
        /// Permanently confirm the image (prevent revert/rollback).
        #[arg(long)]
        confirm: bool,
        /// The expected image format for local inspection.
        #[arg(long, value_enum, default_value = "mcuboot")]
        format: ImageFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ImageFormat {
    Mcuboot,
    Any,
}

#[derive(Debug, clap::Subcommand)]
enum ImageCommand {
    /// Request to read the state of FW images on the SMP Server.
    StateRead,
    /// Request to write the state of FW images on the SMP Server.
    StateWrite {
        hash: Option<String>,
        #[arg(long)]
        confirm: bool,
    },
    /// Upload a FW image.
    Upload {
        file: PathBuf,
        /// The image slot to upload to
        #[arg(long, default_value_t = 0)]
        slot: u32,
        /// The expected image format for local inspection.
        #[arg(long, value_enum, default_value = "mcuboot")]
        format: ImageFormat,
    },
}

#[derive(Debug, clap::Subcommand)]
enum OsCommand {
    /// Request that the SMP Server echo the given message.
    Echo { message: String },
    /// Request that the SMP Server reset the device.
    Reset,
}

/// Runs smpmgr's command line (argv\[0\] is the tool's name).
pub fn personality(argv: Vec<OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let _ = e.print();
            return if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("ERROR    {}", crate::one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// Exits 1 after smpmgr's message for a failed request.
fn transport_failure(err: smp_serial_client::Error, description: &str) -> anyhow::Error {
    let outcome = match err {
        smp_serial_client::Error::Timeout { .. } => "timeout",
        _ => "OS error",
    };
    outln!("⠋ {description} {outcome}");
    err.into()
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let Some(command) = cli.command else {
        outln!("A command is required, see --help for available commands.");
        return Ok(ExitCode::SUCCESS);
    };
    let Some(port) = cli.port.clone() else {
        outln!("A transport option is required; one of [--port, --ble, --ip].");
        outln!("See smpmgr --help.");
        return Ok(ExitCode::FAILURE);
    };
    let (line_length, line_buffers) = match (cli.line_length, cli.line_buffers, cli.mtu) {
        (l, b, None) => (
            l.unwrap_or(DEFAULT_LINE_LENGTH),
            b.unwrap_or(DEFAULT_LINE_BUFFERS),
        ),
        (None, None, Some(mtu)) => {
            outln!(
                "Warning: --mtu is deprecated for serial transport. Use --line-length and \
                 --line-buffers instead. --mtu {mtu} has been applied as --line-length {mtu} \
                 --line-buffers 1."
            );
            (mtu, 1)
        }
        (_, _, Some(_)) => {
            outln!("--mtu cannot be used with --line-length or --line-buffers.");
            return Ok(ExitCode::FAILURE);
        }
    };
    let timeout = super::seconds(cli.timeout, "--timeout")?;
    let config = Config {
        baud: cli.baudrate.unwrap_or(115_200),
        framing: Framing::lines(line_length, line_buffers)?,
        timeout,
        first_upload_timeout: FIRST_UPLOAD_TIMEOUT,
        // smpclient does not resend
        tries: 1,
        version: version::V2,
    };
    // local inspection before the port is opened, as smpmgr does
    let upload = match &command {
        SmpmgrCommand::Image {
            command: ImageCommand::Upload { file, format, .. },
        }
        | SmpmgrCommand::Upgrade { file, format, .. } => {
            let data = super::read_image(file)?;
            let hash = match format {
                ImageFormat::Mcuboot => match image_hash(&data) {
                    Some(h) => Some(h),
                    None => {
                        outln!(
                            "Inspection of FW image failed. If this is not an MCUboot image, \
                             retry with --format=any."
                        );
                        return Ok(ExitCode::FAILURE);
                    }
                },
                ImageFormat::Any => None,
            };
            Some((file.clone(), data, hash))
        }
        _ => None,
    };
    let mut client = match Client::open(&port, config) {
        Ok(c) => c,
        Err(e) => {
            outln!("⠋ Connecting to {port}... error");
            return Err(e.into());
        }
    };
    // smpclient reads the MCUmgr parameters on connect; the Espressif build
    // answers ENOTSUP and smpclient keeps its own sizing (a warning only)
    if !matches!(
        client.request(&McumgrParamsRequest, Operation::Request, timeout),
        Ok(Reply::Ok(_))
    ) {
        eprintln!("WARNING  Error reading MCUMgr parameters");
    }
    outln!("⠋ Connecting to {port}... OK");
    match command {
        SmpmgrCommand::Image { command } => match command {
            ImageCommand::StateRead => {
                let d = "Waiting for image states...";
                let reply = client
                    .request(&ImageStateReadRequest, Operation::ImageList, timeout)
                    .map_err(|e| transport_failure(e, d))?;
                outln!("⠋ {d} OK");
                match reply {
                    Reply::Ok(list) => {
                        if list.images.is_empty() {
                            outln!("No images on device!");
                        }
                        for image in &list.images {
                            outln!("{}", image_state_repr(image).pretty());
                        }
                        if let Some(split) = list.split_status {
                            outln!("splitStatus: {split}");
                        }
                    }
                    Reply::Rc(rc) => print_error_v1(&client, "Image", rc.rc, rc.rsn.as_deref()),
                    Reply::GroupError(e) => {
                        print_error_v1(&client, "Image", e.rc, None);
                    }
                }
            }
            ImageCommand::StateWrite { hash, confirm } => {
                let hash = match hash.map(hex::decode).transpose() {
                    Ok(h) => h,
                    Err(_) => anyhow::bail!("HASH: expected hexadecimal"),
                };
                let d = "Waiting for image state write...";
                let reply = client
                    .request(
                        &ImageStateWriteRequest {
                            hash,
                            confirm: Some(confirm),
                        },
                        Operation::ImageStateWrite,
                        timeout,
                    )
                    .map_err(|e| transport_failure(e, d))?;
                outln!("⠋ {d} OK");
                print_not_ok(&client, "Image", &reply);
                explain_not_supported(&port, Operation::ImageStateWrite, &reply);
            }
            ImageCommand::Upload { slot, .. } => {
                let (file, data, _) = upload.unwrap_or_default();
                upload_file(&mut client, &file, &data, slot)?;
            }
        },
        SmpmgrCommand::Os { command } => match command {
            OsCommand::Echo { message } => {
                let d = "Waiting for response to EchoWrite...";
                let reply = client
                    .request(&EchoRequest { d: message }, Operation::Echo, timeout)
                    .map_err(|e| transport_failure(e, d))?;
                outln!("⠋ {d} OK");
                match &reply {
                    Reply::Ok(echo) => {
                        let fields = vec![("r", Repr::leaf(py_repr::str(&echo.r)))];
                        let repr = response_repr(&client, "EchoWriteResponse", fields);
                        outln!("{}", repr.pretty());
                    }
                    _ => print_not_ok(&client, "OS", &reply),
                }
                explain_not_supported(&port, Operation::Echo, &reply);
            }
            OsCommand::Reset => {
                let d = "Waiting for response to ResetWrite...";
                let reply = client
                    .request(&ResetRequest::default(), Operation::Reset, timeout)
                    .map_err(|e| transport_failure(e, d))?;
                outln!("⠋ {d} OK");
                match &reply {
                    // smpclient's reset reply has no fields, so MCUboot's
                    // {"rc": 0} reads as an error reply with EOK
                    Reply::Ok(rc) => print_error_v1(&client, "OS", rc.rc, rc.rsn.as_deref()),
                    _ => print_not_ok(&client, "OS", &reply),
                }
            }
        },
        SmpmgrCommand::Upgrade { slot, confirm, .. } => {
            let (file, data, hash) = upload.unwrap_or_default();
            upload_file(&mut client, &file, &data, slot)?;
            if slot != 0 || confirm {
                let d = if confirm {
                    "Marking uploaded image for permanent upgrade..."
                } else {
                    "Marking uploaded image for test upgrade..."
                };
                let reply = client
                    .request(
                        &ImageStateWriteRequest {
                            hash,
                            confirm: Some(confirm),
                        },
                        Operation::ImageStateWrite,
                        timeout,
                    )
                    .map_err(|e| transport_failure(e, d))?;
                outln!("⠋ {d} OK");
                if !matches!(reply, Reply::Ok(_)) {
                    print_not_ok(&client, "Image", &reply);
                    explain_not_supported(&port, Operation::ImageStateWrite, &reply);
                    return Ok(ExitCode::FAILURE);
                }
            }
            let d = "Waiting for response to ResetWrite...";
            let reply = client
                .request(&ResetRequest::default(), Operation::Reset, timeout)
                .map_err(|e| transport_failure(e, d))?;
            outln!("⠋ {d} OK");
            let rc = match &reply {
                Reply::Ok(rc) | Reply::Rc(rc) => rc.rc,
                Reply::GroupError(e) => e.rc,
            };
            if rc != 0 {
                print_error_v1(&client, "OS", rc, None);
                return Ok(ExitCode::FAILURE);
            }
            outln!("Upgrade complete.");
            if slot != 0 {
                outln!("The device may take a few minutes to complete FW swap.");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Uploads with a bar on a terminal; piped, the finished bar's one line as
/// rich prints it (`upload_with_progress_bar`).
fn upload_file(
    client: &mut Client,
    file: &std::path::Path,
    data: &[u8],
    slot: u32,
) -> anyhow::Result<()> {
    let name = file.display().to_string();
    let start = std::time::Instant::now();
    super::upload_with_progress(client, data, slot, &name)?;
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let secs = start.elapsed().as_secs_f64().max(1e-6);
        let speed = data.len() as f64 / secs;
        let speed = if speed >= 1e6 {
            format!("{:.1} MB/s", speed / 1e6)
        } else {
            format!("{:.1} kB/s", speed / 1e3)
        };
        outln!(
            "{name} {} 100.0% • {n}/{n} bytes • {speed} • 0:00:00",
            "━".repeat(40),
            n = data.len()
        );
    }
    Ok(())
}

/// The hash TLV (SHA256, SHA384 or SHA512) of an MCUboot image, which
/// smpmgr requires before an upload with `--format mcuboot`.
fn image_hash(data: &[u8]) -> Option<Vec<u8>> {
    use mcuboot_image::{ImageHeader, SliceTlvs, TlvKind};
    let header = ImageHeader::parse(data).ok()?;
    SliceTlvs::new(data, &header)
        .ok()?
        .filter_map(Result::ok)
        .find(|(entry, _)| {
            matches!(
                entry.kind,
                TlvKind::Sha256 | TlvKind::Sha384 | TlvKind::Sha512
            )
        })
        .map(|(_, d)| d.to_vec())
}

/// After smpmgr's lines for an ENOTSUP reply, one line on stderr saying
/// what it means on the Espressif port.
fn explain_not_supported<T>(port: &str, operation: Operation, reply: &Reply<T>) {
    if matches!(reply, Reply::Rc(rc) if rc.rc == i64::from(MgmtErr::NotSup.code())) {
        eprintln!(
            "{}",
            smp_serial_client::Error::NotSupported {
                port: port.to_owned(),
                operation,
            }
        );
    }
}

/// Prints a reply that is not the command's success the way smpmgr does.
fn print_not_ok<T>(client: &Client, group: &str, reply: &Reply<T>) {
    match reply {
        Reply::Ok(_) => {}
        Reply::Rc(rc) => print_error_v1(client, group, rc.rc, rc.rsn.as_deref()),
        Reply::GroupError(e) => print_error_v1(client, group, e.rc, None),
    }
}

/// `<Group>ManagementErrorV1(...)` as rich prints it.
fn print_error_v1(client: &Client, group: &str, rc: i64, rsn: Option<&str>) {
    let rc_repr = match MgmtErr::from_code(rc) {
        Some(e) => format!("<MGMT_ERR.{}: {rc}>", e.name()),
        None => rc.to_string(),
    };
    let rsn = rsn.map_or_else(|| "None".to_owned(), py_repr::str);
    let fields = vec![("rc", Repr::leaf(rc_repr)), ("rsn", Repr::leaf(rsn))];
    outln!(
        "{}",
        response_repr(client, &format!("{group}ManagementErrorV1"), fields).pretty()
    );
}

/// A Python object's repr as rich's pretty printer lays it out: on one line
/// when it fits the console width, else one attribute per line, indented by
/// 4, recursively (`rich/pretty.py` `Node.render`).
enum Repr {
    Leaf(String),
    Call(String, Vec<(&'static str, Repr)>),
}

impl Repr {
    fn leaf(text: impl Into<String>) -> Repr {
        Repr::Leaf(text.into())
    }

    fn flat(&self) -> String {
        match self {
            Repr::Leaf(t) => t.clone(),
            Repr::Call(class, fields) => {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.flat()))
                    .collect();
                format!("{class}({})", inner.join(", "))
            }
        }
    }

    /// Lines for the console width: `COLUMNS` as rich reads it when the
    /// output is not a terminal, else 80.
    fn pretty(&self) -> String {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse::<usize>().ok())
            .filter(|w| *w > 0)
            .unwrap_or(80);
        let mut lines = Vec::new();
        self.render("", 0, "", width, &mut lines);
        lines.join("\n")
    }

    fn render(&self, key: &str, indent: usize, suffix: &str, width: usize, out: &mut Vec<String>) {
        let ws = " ".repeat(indent);
        let line = format!("{ws}{key}{}{suffix}", self.flat());
        match self {
            Repr::Call(class, fields) if line.chars().count() > width && !fields.is_empty() => {
                out.push(format!("{ws}{key}{class}("));
                for (i, (k, v)) in fields.iter().enumerate() {
                    let sep = if i + 1 < fields.len() { "," } else { "" };
                    v.render(&format!("{k}="), indent + 4, sep, width, out);
                }
                out.push(format!("{ws}){suffix}"));
            }
            _ => out.push(line),
        }
    }
}

/// A reply model: header, version, sequence, raw bytes, then `fields`.
fn response_repr(client: &Client, class: &str, fields: Vec<(&'static str, Repr)>) -> Repr {
    let raw = client.last_reply();
    let mut all = Vec::new();
    if let Ok(h) = Header::decode(raw) {
        let op = match h.kind() {
            Some(Op::Read) => "<OP.READ: 0>".to_owned(),
            Some(Op::ReadResponse) => "<OP.READ_RSP: 1>".to_owned(),
            Some(Op::Write) => "<OP.WRITE: 2>".to_owned(),
            Some(Op::WriteResponse) => "<OP.WRITE_RSP: 3>".to_owned(),
            _ => h.op.to_string(),
        };
        let ver = if h.version == version::V2 {
            "<Version.V2: 1>"
        } else {
            "<Version.V1: 0>"
        };
        let header = Repr::Call(
            "Header".into(),
            vec![
                ("op", Repr::leaf(op)),
                ("version", Repr::leaf(ver)),
                ("flags", Repr::leaf(format!("<Flag.UNUSED: {}>", h.flags))),
                ("length", Repr::leaf(h.len.to_string())),
                ("group_id", Repr::leaf(h.group.to_string())),
                ("sequence", Repr::leaf(h.seq.to_string())),
                ("command_id", Repr::leaf(h.id.to_string())),
            ],
        );
        all.push(("header", header));
        all.push(("version", Repr::leaf(ver)));
        all.push(("sequence", Repr::leaf(h.seq.to_string())));
    }
    all.push(("smp_data", Repr::leaf(py_repr::bytes(raw))));
    all.extend(fields);
    Repr::Call(class.to_owned(), all)
}

/// `ImageState(...)` as smpmgr prints it.
fn image_state_repr(image: &ImageState) -> Repr {
    let opt_bool = |b: Option<bool>| {
        Repr::leaf(match b {
            Some(true) => "True",
            Some(false) => "False",
            None => "None",
        })
    };
    Repr::Call(
        "ImageState".into(),
        vec![
            ("slot", Repr::leaf(image.slot.to_string())),
            ("version", Repr::leaf(py_repr::str(&image.version))),
            (
                "image",
                Repr::leaf(
                    image
                        .image
                        .map_or_else(|| "None".to_owned(), |i| i.to_string()),
                ),
            ),
            (
                "hash",
                Repr::leaf(
                    image
                        .hash
                        .as_deref()
                        .map_or_else(|| "None".to_owned(), py_repr::bytes),
                ),
            ),
            ("bootable", opt_bool(image.bootable)),
            ("pending", opt_bool(image.pending)),
            ("confirmed", opt_bool(image.confirmed)),
            ("active", opt_bool(image.active)),
            ("permanent", opt_bool(image.permanent)),
        ],
    )
}
