//! MCUboot serial recovery on the recovery UART: the existing state
//! machine ([`mcumgr_smp::recovery::Recovery`]) over the existing device
//! under recovery ([`espboot_sim::recovery_device::SimRecoveryDevice`]),
//! one [`Recovery`] per power-on in recovery mode.

use std::time::Duration;

use espboot_sim::config::SerialRecovery;
use espboot_sim::recovery_device::SimRecoveryDevice;
use mcumgr_smp::header::{group, image_id};
use mcumgr_smp::recovery::{Dropped, Event, Recovery};

use crate::machine::Machine;

/// What the bootloader flashed on the device does at a recovery boot.
pub enum Entry {
    /// Serial recovery is built in: serve it.
    Recovery(RecoverySession),
    /// No serial recovery in the bootloader (or no valid bootloader): it
    /// boots normally; the reason, for the log.
    NotBuiltIn(String),
}

/// Serial recovery of one power-on.
pub struct RecoverySession {
    recovery: Recovery,
    /// The bootloader's recovery settings.
    pub settings: SerialRecovery,
}

/// What one chunk of client bytes produced.
pub struct RecoveryOutput {
    /// Bytes to send back.
    pub bytes: Vec<u8>,
    /// The device resets after this delay (SMP reset).
    pub reset_after: Option<Duration>,
    /// A request other than an upload chunk was answered: save before the
    /// reply goes out (upload chunks are saved when the line goes idle).
    pub save_point: bool,
    /// Input that produced no request, and why (for `--trace`: a client
    /// that waits for a reply to dropped input only times out).
    pub dropped: Vec<Dropped>,
}

/// Enters recovery if the flashed bootloader has it.
pub fn enter(machine: &mut Machine) -> Entry {
    let found = machine.with_device(|device| {
        SimRecoveryDevice::new(device).map(|r| (r.serial_recovery(), r.recovery_config()))
    });
    match found {
        Ok((settings, config)) if settings.enabled => Entry::Recovery(RecoverySession {
            recovery: Recovery::new(config),
            settings,
        }),
        Ok(_) => Entry::NotBuiltIn(
            "the bootloader is built without CONFIG_ESP_MCUBOOT_SERIAL".to_owned(),
        ),
        Err(e) => Entry::NotBuiltIn(e.to_string()),
    }
}

impl RecoverySession {
    /// Feeds client bytes through the recovery.
    pub fn on_bytes(&mut self, machine: &mut Machine, bytes: &[u8]) -> RecoveryOutput {
        let recovery = &mut self.recovery;
        let output = machine.with_device(|device| match SimRecoveryDevice::new(device) {
            Ok(mut target) => Some(recovery.on_bytes(bytes, &mut target)),
            Err(_) => None,
        });
        match output {
            Some(output) => {
                if output.flash_changed {
                    machine.mark_flash_dirty();
                }
                let mut save_point = false;
                let mut dropped = Vec::new();
                for event in recovery.take_events() {
                    match event {
                        Event::Request { header, .. }
                            if !(header.group == group::IMAGE && header.id == image_id::UPLOAD) =>
                        {
                            save_point = true;
                        }
                        Event::Dropped(why) => dropped.push(why),
                        _ => {}
                    }
                }
                RecoveryOutput {
                    bytes: output.bytes,
                    reset_after: output.reset_after,
                    save_point,
                    dropped,
                }
            }
            // the bootloader vanished under us (cannot happen through SMP)
            None => RecoveryOutput {
                bytes: Vec::new(),
                reset_after: None,
                save_point: false,
                dropped: Vec::new(),
            },
        }
    }
}
