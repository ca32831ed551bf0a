//! `espboot recover --port P …`: MCUboot serial recovery through
//! `smp-serial-client` (image list, upload, reset, echo), and the `mcumgr`
//! and `smpmgr` personalities over the same client.

pub mod mcumgr;
pub mod smpmgr;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::progress::{Progress, Unit};
use anyhow::Context;
use smp_serial_client::{Client, Config, Framing};

/// Arguments of `espboot recover`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Serial port of the device's serial recovery (a device or a PTY path).
    #[arg(short = 'p', long)]
    port: String,
    /// Baud rate.
    #[arg(short = 'b', long, default_value_t = 115_200)]
    baud: u32,
    /// Encoded bytes per request frame, as mcumgr's connection string
    /// `mtu=` (lines of mtu-4 base64 characters, messages of mtu*3/4-13
    /// bytes).
    #[arg(long, default_value_t = 256)]
    mtu: usize,
    /// Seconds to wait for each reply.
    #[arg(short = 't', long, default_value_t = 3.0)]
    timeout: f64,
    /// Attempts per request when the device does not answer.
    #[arg(short = 'r', long, default_value_t = 3)]
    tries: u32,
    #[command(subcommand)]
    command: RecoverCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RecoverCommand {
    /// List the images the bootloader accepts (image state read).
    List,
    /// Upload a signed image to the primary slot.
    Upload {
        /// The signed image.
        file: PathBuf,
        /// Image number (multi-image builds).
        #[arg(short = 'n', long, default_value_t = 0)]
        image: u32,
    },
    /// Reset the device.
    Reset,
    /// Ask the device to echo TEXT (not in the Espressif port's build).
    Echo {
        /// The text.
        text: String,
    },
}

/// Seconds as a timeout, refusing what is not a positive finite number.
pub(crate) fn seconds(value: f64, option: &str) -> anyhow::Result<Duration> {
    if !(value.is_finite() && value > 0.0) {
        anyhow::bail!("{option}: expected a positive number of seconds, got {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

/// The image file's bytes, the error naming the file.
pub(crate) fn read_image(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("cannot read image file {}", file.display()))
}

/// Uploads with a progress bar.
pub(crate) fn upload_with_progress(
    client: &mut Client,
    image: &[u8],
    image_number: u32,
    name: &str,
) -> Result<(), smp_serial_client::Error> {
    let bar = Progress::new(Unit::Bytes, Some(image.len() as u64), name);
    let result = client.upload(image, image_number, &mut |done, _| {
        bar.set_position(u64::from(done));
    });
    match &result {
        Ok(()) => bar.finish(),
        Err(_) => bar.abandon(),
    }
    result
}

/// Runs `espboot recover`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = Config {
        baud: args.baud,
        framing: Framing::mcumgr(args.mtu)?,
        timeout: seconds(args.timeout, "--timeout")?,
        tries: args.tries.max(1),
        ..Config::default()
    };
    // read the file before touching the port
    let upload = match &args.command {
        RecoverCommand::Upload { file, .. } => Some(read_image(file)?),
        _ => None,
    };
    let mut client = Client::open(&args.port, config)?;
    match args.command {
        RecoverCommand::List => {
            let list = client.image_list()?;
            if list.images.is_empty() {
                outln!("No images on {}.", args.port);
            }
            for image in &list.images {
                outln!("{}", describe_image(image));
            }
        }
        RecoverCommand::Upload { file, image } => {
            let data = upload.unwrap_or_default();
            let name = file.file_name().map_or_else(
                || file.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            upload_with_progress(&mut client, &data, image, &name)?;
            outln!(
                "Uploaded {} ({} bytes) to image {image}'s primary slot through {}.",
                file.display(),
                data.len(),
                args.port
            );
        }
        RecoverCommand::Reset => {
            client.reset()?;
            outln!("Reset requested on {}.", args.port);
        }
        RecoverCommand::Echo { text } => outln!("{}", client.echo(&text)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per listed image: number, slot, version, state flags, hash.
fn describe_image(image: &mcumgr_smp::image::ImageState) -> String {
    let mut line = format!(
        "image {} slot {}: version {}",
        image.image.unwrap_or(0),
        image.slot,
        image.version
    );
    let flags: Vec<&str> = [
        (image.bootable, "bootable"),
        (image.active, "active"),
        (image.confirmed, "confirmed"),
        (image.pending, "pending"),
        (image.permanent, "permanent"),
    ]
    .into_iter()
    .filter(|(set, _)| *set == Some(true))
    .map(|(_, name)| name)
    .collect();
    if !flags.is_empty() {
        line.push_str(&format!(" [{}]", flags.join(" ")));
    }
    if let Some(hash) = &image.hash {
        line.push_str(" hash ");
        line.push_str(&hex::encode(hash));
    }
    line
}
