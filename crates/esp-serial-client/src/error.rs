//! What can go wrong talking to a device, naming the port and the operation.

use esp_rom_protocol::response::Status;

/// What went wrong, naming the port and the operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The port could not be opened (esptool 5.6.0 `loader.py`'s text,
    /// then the serial library's reason in parentheses, on one line).
    #[error("Could not open {port}, the port is busy or doesn't exist. (could not open port {port}: {source})")]
    Open {
        /// The port.
        port: String,
        /// Why.
        source: serialport::Error,
    },
    /// Reading, writing or setting lines on the port failed.
    #[error("{port}: {operation} failed: {source}")]
    Io {
        /// The port.
        port: String,
        /// The operation.
        operation: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// Setting DTR/RTS failed.
    #[error("{port}: {operation} failed: {source}")]
    Lines {
        /// The port.
        port: String,
        /// The operation.
        operation: &'static str,
        /// Why.
        source: serialport::Error,
    },
    /// No valid reply in time.
    #[error("{port}: {operation}: timed out waiting for a reply")]
    Timeout {
        /// The port.
        port: String,
        /// The operation.
        operation: &'static str,
    },
    /// The device stopped taking data: a write did not finish within
    /// [`SERIAL_WRITE_TIMEOUT`].
    #[error("{port}: {operation}: timed out writing to the port (the device stopped reading)")]
    WriteTimeout {
        /// The port.
        port: String,
        /// The operation.
        operation: &'static str,
    },
    /// `--after soft-reset` with the flasher stub running (esptool
    /// `soft_reset`: only the ESP8266's stub can).
    #[error("{port}: Soft resetting is currently only supported on ESP8266")]
    SoftResetFromStub {
        /// The port.
        port: String,
    },
    /// Every connection attempt failed.
    #[error("{port}: failed to connect to an Espressif device after {attempts} attempts: no serial data received")]
    Connect {
        /// The port.
        port: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The device answered with a failure status.
    #[error("{port}: {operation} failed: {}", status.describe())]
    Device {
        /// The port.
        port: String,
        /// The operation.
        operation: &'static str,
        /// The status the device sent.
        status: Status,
    },
    /// The device's reply is malformed (wrong length, wrong encoding).
    #[error("{port}: {operation}: malformed reply ({what})")]
    Malformed {
        /// The port.
        port: String,
        /// The operation.
        operation: &'static str,
        /// What is wrong.
        what: &'static str,
    },
    /// The ROM loader lacks a command only the stub has (esptool
    /// `NotImplementedInROMError`).
    #[error("{port}: {chip} ROM does not support function {function}.")]
    RomUnsupported {
        /// The port.
        port: String,
        /// esptool's chip name.
        chip: &'static str,
        /// esptool's function name.
        function: &'static str,
    },
    /// The stub did not greet after MEM_END.
    #[error("{port}: Failed to start stub flasher. There was no response.")]
    StubNoGreeting {
        /// The port.
        port: String,
    },
    /// Flash MD5 after a write or in verify differs from the data's.
    #[error("{port}: {operation}: MD5 of file does not match data in flash (file {expected}, flash {actual})")]
    DigestMismatch {
        /// The port.
        port: String,
        /// The operation.
        operation: &'static str,
        /// MD5 of the data, hex.
        expected: String,
        /// MD5 the device reported, hex.
        actual: String,
    },
    /// An argument the device cannot take (unaligned erase, a range
    /// beyond 4 GiB).
    #[error("{port}: {operation}: {what}")]
    BadRequest {
        /// The port.
        port: String,
        /// The operation.
        operation: &'static str,
        /// What is wrong.
        what: &'static str,
    },
    /// The chip is none esptool knows.
    #[error("{port}: unexpected chip id value {magic:#010x}")]
    UnknownChip {
        /// The port.
        port: String,
        /// The magic word or chip id read.
        magic: u32,
    },
}

impl Error {
    /// Whether the device stopped answering or the port went away (an I/O
    /// error on the port, no reply, a write the device stopped reading, no
    /// reply to a reconnection), as opposed to a device that answered with
    /// a refusal or nonsense: the operation may be retried on a device that
    /// is back.
    pub fn is_connection_lost(&self) -> bool {
        matches!(
            self,
            Error::Io { .. }
                | Error::Lines { .. }
                | Error::Timeout { .. }
                | Error::WriteTimeout { .. }
                | Error::Connect { .. }
        )
    }

    /// esptool's own text for a failure status the device sent
    /// (`FatalError.WithResult`: "Failed to OP (result was CODE: TEXT)"),
    /// for commands whose error line scripts compare; `None` for other
    /// errors.
    pub fn esptool_result_text(&self) -> Option<String> {
        match self {
            Error::Device {
                operation,
                status: Status::Error(code),
                ..
            } => Some(format!(
                "Failed to {operation} (result was {code:04X}: {})",
                Status::Error(*code).describe()
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vanished_port_or_silence_is_a_lost_connection_and_a_refusal_is_not() {
        let port = || "/dev/pts/7".to_owned();
        let lost = [
            Error::Io {
                port: port(),
                operation: "read register",
                source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
            },
            Error::Timeout {
                port: port(),
                operation: "read register",
            },
            Error::WriteTimeout {
                port: port(),
                operation: "write register",
            },
            Error::Connect {
                port: port(),
                attempts: 7,
            },
        ];
        for e in &lost {
            assert!(e.is_connection_lost(), "{e}");
        }
        let answered = [
            Error::Device {
                port: port(),
                operation: "write register",
                status: Status::Error(0x05),
            },
            Error::Malformed {
                port: port(),
                operation: "read register",
                what: "wrong length",
            },
        ];
        for e in &answered {
            assert!(!e.is_connection_lost(), "{e}");
        }
    }
}
