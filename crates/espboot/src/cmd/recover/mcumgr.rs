//! The `mcumgr` personality: the Go mcumgr CLI's serial commands
//! (apache/mynewt-mcumgr-cli, built from apache/mynewt-newtmgr `newtmgr/cli`)
//! with its connection profiles, output lines and exit statuses.
//!
//! Facts from newtmgr `4892d4d`: profiles live in `~/.mcumgr.cp.json`
//! (`mcumgr/mcumgr.go` `CfgFilename`), a JSON array of
//! `{"MyName", "MyType", "MyConnString"}` sorted by name and written with
//! 4-space indentation (`newtmgr/config/connprofile.go`); serial connection
//! strings take `dev`, `baud` (115200) and `mtu` (128)
//! (`newtmgr/config/serial_config.go`); `-t` 10 s and `-r` 1 try
//! (`newtmgr/cli/commands.go`); errors print `Error: <text>` on stderr and
//! exit 1 (`newtmgr/cli/usage.go`); `image list`, `image upload`, `reset`
//! and `echo` print what `newtmgr/cli/image.go`, `reset.go` and `echo.go`
//! print.
//!
//! Differences: uploads go one chunk at a time (mcumgr keeps up to `-w`
//! chunks in flight; the flash ends the same), and a failed upload exits
//! 1 after mcumgr's `Error: <rc>` line.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Parser;
use mcumgr_smp::client::Reply;
use mcumgr_smp::header::version;
use mcumgr_smp::image::{ImageStateReadRequest, ImageStateResponse};
use mcumgr_smp::os::{EchoRequest, ResetRequest};
use smp_serial_client::{Client, Config, Framing, Operation, MCUMGR_DEFAULT_MTU};

/// mcumgr's profile file in the home directory (`CfgFilename`).
const PROFILE_FILE: &str = ".mcumgr.cp.json";

/// mcumgr's command line (the serial subset).
#[derive(Debug, Parser)]
#[command(name = "mcumgr", about = "mcumgr helps you manage remote devices")]
struct Cli {
    /// connection profile to use
    #[arg(short = 'c', long = "conn", global = true)]
    conn: Option<String>,
    /// timeout in seconds (partial seconds allowed)
    #[arg(short = 't', long, global = true, default_value_t = 10.0)]
    timeout: f64,
    /// total number of tries in case of timeout
    #[arg(short = 'r', long, global = true, default_value_t = 1)]
    tries: u32,
    /// log level to use
    #[arg(short = 'l', long, global = true, default_value = "info")]
    loglevel: String,
    /// Connection type to use instead of using the profile's type
    #[arg(long, global = true)]
    conntype: Option<String>,
    /// Connection key-value pairs to use instead of using the profile's connstring
    #[arg(long, global = true)]
    connstring: Option<String>,
    /// Additional key-value pair to append to the connstring
    #[arg(long, global = true)]
    connextra: Option<String>,
    #[command(subcommand)]
    command: McumgrCommand,
}

#[derive(Debug, clap::Subcommand)]
enum McumgrCommand {
    /// Manage mcumgr connection profiles
    Conn {
        #[command(subcommand)]
        command: ConnCommand,
    },
    /// Manage images on a device
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Perform a soft reset of a device
    Reset,
    /// Send data to a device and display the echoed back data
    Echo { text: String },
    /// Display the mcumgr version number
    Version,
}

#[derive(Debug, clap::Subcommand)]
enum ConnCommand {
    /// Add a mcumgr connection profile
    Add {
        name: String,
        /// varname=value ...
        vars: Vec<String>,
    },
    /// Delete a mcumgr connection profile
    Delete { name: String },
    /// Show mcumgr connection profiles
    Show { name: Option<String> },
}

#[derive(Debug, clap::Subcommand)]
enum ImageCommand {
    /// Show images on a device
    List,
    /// Upload image to a device
    Upload {
        file: PathBuf,
        /// Don't send specific image erase command to start with
        #[arg(short = 'e', long, default_value_t = true)]
        noerase: bool,
        /// Only allow the upload if the new image's version is greater
        #[arg(short = 'u', long)]
        upgrade: bool,
        /// In a multi-image system, which image should be uploaded
        #[arg(short = 'n', long, default_value_t = 0)]
        image: i64,
        /// Set the maximum size for the window of outstanding chunks in transit
        #[arg(short = 'w', long, default_value_t = 5)]
        maxwinsize: u32,
    },
}

/// One stored profile (`ConnProfile`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Profile {
    name: String,
    kind: String,
    connstring: String,
}

/// Runs mcumgr's command line (argv\[0\] is the tool's name).
pub fn personality(argv: Vec<OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            eprintln!("Error: {}", first.trim_start_matches("error: "));
            return ExitCode::FAILURE;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {}", crate::one_line(&err));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        McumgrCommand::Conn { command } => return conn(command),
        McumgrCommand::Version => {
            outln!("mcumgr 0.0.0-dev");
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let upload = match &cli.command {
        McumgrCommand::Image {
            command: ImageCommand::Upload { file, image, .. },
        } => {
            if *image < 0 {
                bail!("Invalid image number");
            }
            Some(std::fs::read(file).with_context(|| format!("open {}", file.display()))?)
        }
        _ => None,
    };
    let (port, config) = connection(&cli)?;
    let mut client = Client::open(&port, config)?;
    let timeout = config.timeout;
    match cli.command {
        McumgrCommand::Image {
            command: ImageCommand::List,
        } => {
            let reply = client.request(&ImageStateReadRequest, Operation::ImageList, timeout)?;
            print_image_state(&reply);
        }
        McumgrCommand::Image {
            command: ImageCommand::Upload { file, image, .. },
        } => {
            let data = upload.unwrap_or_default();
            let number = u32::try_from(image).unwrap_or(0);
            let name = file.display().to_string();
            match super::upload_with_progress(&mut client, &data, number, &name) {
                Ok(()) => outln!("Done"),
                Err(
                    e @ (smp_serial_client::Error::Device { .. }
                    | smp_serial_client::Error::NotSupported { .. }),
                ) => {
                    let rc = match &e {
                        smp_serial_client::Error::Device { rc, .. } => *rc,
                        _ => 8,
                    };
                    outln!("Error: {rc}");
                    eprintln!("{e}");
                    return Ok(ExitCode::FAILURE);
                }
                Err(e) => return Err(e.into()),
            }
        }
        McumgrCommand::Reset => {
            // mcumgr prints Done whatever the rc (`ResetResult.Status` is 0)
            client.request(&ResetRequest::default(), Operation::Reset, timeout)?;
            outln!("Done");
        }
        McumgrCommand::Echo { text } => {
            let reply = client.request(&EchoRequest { d: text }, Operation::Echo, timeout)?;
            match reply {
                Reply::Ok(echo) => outln!("{}", echo.r),
                Reply::Rc(rc) => {
                    // mcumgr prints the empty payload of an error reply
                    outln!();
                    if rc.rc == 8 {
                        eprintln!(
                            "{}",
                            smp_serial_client::Error::NotSupported {
                                port: port.clone(),
                                operation: Operation::Echo,
                            }
                        );
                    }
                }
                Reply::GroupError(_) => outln!(),
            }
        }
        McumgrCommand::Conn { .. } | McumgrCommand::Version => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `imageStatePrintRsp` (`newtmgr/cli/image.go`).
fn print_image_state(reply: &Reply<ImageStateResponse>) {
    let list = match reply {
        Reply::Ok(list) => list,
        Reply::Rc(rc) => {
            outln!("Error: {}", rc.rc);
            return;
        }
        Reply::GroupError(e) => {
            outln!("Error: {}", e.rc);
            return;
        }
    };
    outln!("Images:");
    for img in &list.images {
        outln!(" image={} slot={}", img.image.unwrap_or(0), img.slot);
        outln!("    version: {}", img.version);
        outln!("    bootable: {}", img.bootable.unwrap_or(false));
        let flags: Vec<&str> = [
            (img.active, "active"),
            (img.confirmed, "confirmed"),
            (img.pending, "pending"),
            (img.permanent, "permanent"),
        ]
        .into_iter()
        .filter(|(set, _)| *set == Some(true))
        .map(|(_, name)| name)
        .collect();
        outln!("    flags: {}", flags.join(" "));
        match &img.hash {
            Some(hash) if !hash.is_empty() => outln!("    hash: {}", hex::encode(hash)),
            _ => outln!("    hash: Unavailable"),
        }
    }
    let split = list.split_status.unwrap_or(0);
    let name = match split {
        0 => "N/A",
        1 => "non-matching",
        2 => "matching",
        _ => "Unknown!",
    };
    outln!("Split status: {name} ({split})");
}

/// The port and settings of the profile (`-c`) overridden by
/// `--conntype`, `--connstring` and `--connextra` (`initConnProfile`).
fn connection(cli: &Cli) -> anyhow::Result<(String, Config)> {
    let mut profile = match &cli.conn {
        Some(name) => load_profiles()?
            .into_iter()
            .find(|p| &p.name == name)
            .with_context(|| format!("connection profile \"{name}\" doesn't exist"))?,
        None => Profile {
            name: "unnamed".into(),
            kind: String::new(),
            connstring: String::new(),
        },
    };
    if let Some(t) = &cli.conntype {
        if conn_type(t).is_none() {
            bail!("invalid conntype: \"{t}\"");
        }
        profile.kind = t.clone();
    }
    if let Some(s) = &cli.connstring {
        profile.connstring = s.clone();
    }
    if let Some(extra) = &cli.connextra {
        if !profile.connstring.is_empty() {
            profile.connstring.push(',');
        }
        profile.connstring.push_str(extra);
    }
    match conn_type(&profile.kind) {
        None => bail!("No connection type specified"),
        Some("serial" | "oic_serial") => {}
        Some(other) => bail!(
            "connection type {other} is not supported here; espboot's mcumgr speaks serial only"
        ),
    }
    let serial = parse_serial(&profile.connstring)?;
    let timeout = super::seconds(cli.timeout, "--timeout")?;
    let config = Config {
        baud: serial.baud,
        framing: Framing::mcumgr(serial.mtu)?,
        timeout,
        // mcumgr gives every request, the first upload chunk included, the
        // same timeout
        first_upload_timeout: timeout,
        tries: cli.tries.max(1),
        version: version::V1,
    };
    Ok((serial.dev, config))
}

/// mcumgr's connection type names (`connTypeNameMap`).
fn conn_type(name: &str) -> Option<&'static str> {
    [
        "serial",
        "oic_serial",
        "ble",
        "oic_ble",
        "bhd",
        "oic_bhd",
        "udp",
        "oic_udp",
        "oic_mtech",
    ]
    .into_iter()
    .find(|t| *t == name)
}

/// A serial connection string.
struct Serial {
    dev: String,
    baud: u32,
    mtu: usize,
}

/// `ParseSerialConnString`: comma-separated `key=value`; a lone token is
/// the device. Its messages print their argument as a one-element Go slice
/// (`[x]`), as mcumgr's do.
fn parse_serial(connstring: &str) -> anyhow::Result<Serial> {
    let mut serial = Serial {
        dev: String::new(),
        baud: 115_200,
        mtu: MCUMGR_DEFAULT_MTU,
    };
    for part in connstring.split(',') {
        let (key, value) = part.split_once('=').unwrap_or(("dev", part));
        match key {
            "dev" => serial.dev = value.to_owned(),
            "baud" => {
                serial.baud = value.parse().map_err(|_| {
                    anyhow::anyhow!("Invalid serial connstring; Invalid baud: [{value}]")
                })?;
            }
            "mtu" => {
                serial.mtu = value.parse().map_err(|_| {
                    anyhow::anyhow!("Invalid serial connstring; Invalid mtu: [{value}]")
                })?;
            }
            _ => bail!("Invalid serial connstring; Unrecognized key: [{key}]"),
        }
    }
    if serial.dev.is_empty() {
        bail!("Invalid serial connstring; no dev=PORT given");
    }
    Ok(serial)
}

fn profile_path() -> anyhow::Result<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .context("cannot find the home directory: HOME is not set")?;
    Ok(Path::new(&home).join(PROFILE_FILE))
}

/// The stored profiles (none when the file does not exist).
fn load_profiles() -> anyhow::Result<Vec<Profile>> {
    let path = profile_path()?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let bad = || {
        format!(
            "error reading connection profile config ({}): expected a JSON array of profiles",
            path.display()
        )
    };
    let value: serde_json::Value = serde_json::from_str(&text).with_context(bad)?;
    let entries = value.as_array().with_context(bad)?;
    let field = |v: &serde_json::Value, key: &str| {
        v.get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(entries
        .iter()
        .map(|v| Profile {
            name: field(v, "MyName"),
            // an unknown type reads as none (`UnmarshalJSON`)
            kind: conn_type(&field(v, "MyType"))
                .map(str::to_owned)
                .unwrap_or_else(|| "???".to_owned()),
            connstring: field(v, "MyConnString"),
        })
        .collect())
}

/// Writes the profiles as Go's `json.MarshalIndent(list, "", "    ")`
/// does: sorted by name, HTML-escaped strings, no final newline.
fn save_profiles(mut profiles: Vec<Profile>) -> anyhow::Result<()> {
    profiles.sort_by(|a, b| a.name.cmp(&b.name));
    let quote = |s: &str| {
        serde_json::to_string(s)
            .unwrap_or_default()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    };
    let text = if profiles.is_empty() {
        "[]".to_owned()
    } else {
        let items: Vec<String> = profiles
            .iter()
            .map(|p| {
                format!(
                    "    {{\n        \"MyName\": {},\n        \"MyType\": {},\n        \"MyConnString\": {}\n    }}",
                    quote(&p.name),
                    quote(&p.kind),
                    quote(&p.connstring)
                )
            })
            .collect();
        format!("[\n{}\n]", items.join(",\n"))
    };
    let path = profile_path()?;
    atomic_write::write_atomic(&path, text.as_bytes(), false)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn conn(command: &ConnCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConnCommand::Add { name, vars } => {
            let mut profile = Profile {
                name: name.clone(),
                kind: String::new(),
                connstring: String::new(),
            };
            for var in vars {
                let (key, value) = var.split_once('=').unwrap_or((var, ""));
                match key {
                    "type" => {
                        profile.kind = conn_type(value)
                            .with_context(|| format!("Invalid connection type: {value}"))?
                            .to_owned();
                    }
                    "connstring" => profile.connstring = value.to_owned(),
                    _ => bail!("Unknown variable {key}"),
                }
            }
            if profile.kind.is_empty() {
                bail!("Must specify a connection type");
            }
            let mut profiles = load_profiles()?;
            profiles.retain(|p| p.name != profile.name);
            profiles.push(profile);
            save_profiles(profiles)?;
            outln!("Connection profile {name} successfully added");
        }
        ConnCommand::Delete { name } => {
            let mut profiles = load_profiles()?;
            if !profiles.iter().any(|p| &p.name == name) {
                bail!("connection profile \"{name}\" doesn't exist");
            }
            profiles.retain(|p| &p.name != name);
            save_profiles(profiles)?;
            outln!("Connection profile {name} successfully deleted.");
        }
        ConnCommand::Show { name } => {
            let mut profiles = load_profiles()?;
            profiles.sort_by(|a, b| a.name.cmp(&b.name));
            let shown: Vec<&Profile> = profiles
                .iter()
                .filter(|p| name.as_ref().is_none_or(|n| &p.name == n))
                .collect();
            if shown.is_empty() {
                match name {
                    None => outln!("No connection profiles found!"),
                    Some(n) => outln!("No connection profiles found matching {n}"),
                }
            } else {
                outln!("Connection profiles: ");
                for p in shown {
                    outln!(
                        "  {}: type={}, connstring='{}'",
                        p.name,
                        p.kind,
                        p.connstring
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_parse_as_mcumgr_parses_them() {
        let s =
            parse_serial("dev=/dev/ttyUSB0,baud=115200,mtu=256").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (s.dev.as_str(), s.baud, s.mtu),
            ("/dev/ttyUSB0", 115_200, 256)
        );
        let s = parse_serial("/dev/ttyACM0").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.dev.as_str(), s.mtu), ("/dev/ttyACM0", 128));
        let e = parse_serial("dev=x,speed=9").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("Invalid serial connstring; Unrecognized key: [speed]")
        );
    }
}
