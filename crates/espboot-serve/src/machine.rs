//! The device behind the serial line: the device directory's flash and
//! eFuses in memory, the chip's registers, and the saving of what changed.
//!
//! Flash writes use the same model as `espboot sim write`
//! ([`espboot_sim::flash::SimFlash`] erase-then-program, with its
//! operation counters; encryption with the chip's key through
//! [`espboot_sim::chip::fuses::manual_encrypt_crypt`]). Reads return the
//! physical bytes. eFuse-controller registers go through
//! [`esp_efuse::controller::EfuseController`], the model espefuse's
//! register traffic is tested against, everything else through
//! [`Registers`].

use std::path::{Path, PathBuf};

use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
use esp_efuse::controller::EfuseController;
use esp_efuse::{DownloadMode, Efuses};
use esp_image::Chip;
use espboot_sim::device::{Device, DeviceDir};
use flash_sim::flash::FlashError;

use crate::regs::{RegEffect, Registers};
use crate::ServeError;

/// The device and its chip state.
pub struct Machine {
    dir: PathBuf,
    /// The locked device directory, held while the machine lives so that no
    /// `sim` command changes the device under a running server; `None` for
    /// a machine that is never saved (tests).
    store: Option<DeviceDir>,
    /// The device (flash, settings, eFuses).
    pub device: Device,
    /// The chip.
    pub chip: Chip,
    /// Non-eFuse registers.
    pub regs: Registers,
    efuse_ctrl: EfuseController,
    efuses: Efuses,
    flash_dirty: bool,
    efuses_dirty: bool,
    /// A download-mode change from an eFuse read command, not yet acted on.
    download_mode_change: Option<DownloadMode>,
    /// eFuse blocks programmed since the last [`take_programmed`](Self::take_programmed).
    programmed: Vec<usize>,
    /// eFuse program commands that burned something, since the start.
    programs: u32,
}

impl Machine {
    /// Opens and locks the device directory `dir` and loads its device.
    pub fn load(dir: &Path) -> Result<Self, ServeError> {
        let store = DeviceDir::open(dir)?;
        let device = store.load()?;
        let mut machine = Self::unsaved(dir, device)?;
        machine.store = Some(store);
        Ok(machine)
    }

    /// A machine running `device` that [`save`](Self::save) never writes.
    pub fn unsaved(dir: &Path, mut device: Device) -> Result<Self, ServeError> {
        let target = device.settings.target;
        let chip = espboot_sim::chip::modelled(target).ok_or_else(|| ServeError::NotAChip {
            dir: dir.to_path_buf(),
            target: target.name(),
        })?;
        let efuses = device
            .efuses
            .take()
            .unwrap_or_else(|| espboot_sim::chip::new_efuses(chip));
        let flash_size = device.settings.map.flash_size;
        Ok(Machine {
            dir: dir.to_path_buf(),
            store: None,
            device,
            chip,
            regs: Registers::new(chip, flash_size),
            efuse_ctrl: EfuseController::new(chip),
            efuses,
            flash_dirty: false,
            efuses_dirty: false,
            download_mode_change: None,
            programmed: Vec::new(),
            programs: 0,
        })
    }

    /// The device directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The chip's eFuses.
    pub fn efuses(&self) -> &Efuses {
        &self.efuses
    }

    /// Lends the eFuses to the device for `f` (power-on, recovery), which
    /// may burn them (the port's first boot). Flash changes are the
    /// caller's to report ([`Machine::mark_flash_dirty`]).
    pub fn with_device<T>(&mut self, f: impl FnOnce(&mut Device) -> T) -> T {
        let before = self.efuses.register_image().to_vec();
        self.device.efuses = Some(self.efuses.clone());
        let out = f(&mut self.device);
        if let Some(efuses) = self.device.efuses.take() {
            if efuses.register_image() != before.as_slice() {
                self.efuses_dirty = true;
            }
            self.efuses = efuses;
        }
        out
    }

    /// Marks the flash as changed (after [`Machine::with_device`]).
    pub fn mark_flash_dirty(&mut self) {
        self.flash_dirty = true;
    }

    /// Flash size in bytes.
    pub fn flash_size(&self) -> u32 {
        self.device.settings.map.flash_size
    }

    /// The sector containing `address`.
    pub fn sector_of(&self, address: u32) -> std::ops::Range<u32> {
        let g = self.device.flash.geometry();
        g.sector(g.sector_index(address.min(self.flash_size().saturating_sub(1))))
    }

    /// The flash program granularity.
    pub fn write_size(&self) -> u32 {
        self.device.flash.geometry().write_size()
    }

    /// A chip reset: registers to their reset values, the ROM reads the
    /// eFuses (download mode, ESP32's UART_DOWNLOAD_DIS).
    pub fn reset_chip(&mut self) {
        self.regs = Registers::new(self.chip, self.flash_size());
        self.efuse_ctrl.reset(&self.efuses);
        self.download_mode_change = None;
    }

    /// The download mode the ROM runs in.
    pub fn download_mode(&self) -> DownloadMode {
        self.efuse_ctrl.download_mode()
    }

    /// A download-mode change an eFuse read command made since the last
    /// call.
    pub fn take_download_mode_change(&mut self) -> Option<DownloadMode> {
        self.download_mode_change.take()
    }

    /// The eFuse blocks a program command burned since the last call, in
    /// order (a block burned twice shows twice).
    pub fn take_programmed(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.programmed)
    }

    /// How many eFuse program commands burned something since the start.
    pub fn programs(&self) -> u32 {
        self.programs
    }

    /// Reads a register (eFuse controller first).
    pub fn read_reg(&self, address: u32) -> u32 {
        self.efuse_ctrl
            .read(&self.efuses, address)
            .unwrap_or_else(|| self.regs.read(address))
    }

    /// Writes a register.
    pub fn write_reg(&mut self, address: u32, value: u32) -> RegEffect {
        if let Some(event) = self.efuse_ctrl.write(&mut self.efuses, address, value) {
            if event.should_save() {
                self.efuses_dirty = true;
            }
            if event.download_mode.is_some() {
                self.download_mode_change = event.download_mode;
            }
            if !event.programmed.is_empty() {
                self.programs += 1;
            }
            self.programmed.extend_from_slice(&event.programmed);
            return RegEffect::None;
        }
        self.regs.write(address, value)
    }

    /// Erases the sectors covering `from..to` (clamped to the flash).
    pub fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let to = to.min(self.flash_size());
        if from >= to {
            return Ok(());
        }
        let start = self.sector_of(from).start;
        let end = self.sector_of(to - 1).end;
        self.flash_dirty = true;
        self.device.flash.erase(start, end)
    }

    /// Programs `data` at `address` (NOR: the cells must be erased), padded
    /// with the erased value to the program granularity on both ends.
    pub fn program(&mut self, address: u32, data: &[u8]) -> Result<(), FlashError> {
        if data.is_empty() {
            return Ok(());
        }
        let align = self.write_size().max(1);
        let erased = self.device.flash.geometry().erased_value();
        let start = address - address % align;
        let mut buf = vec![erased; (address - start) as usize];
        buf.extend_from_slice(data);
        buf.resize(buf.len().div_ceil(align as usize) * align as usize, erased);
        let room = (self.flash_size().saturating_sub(start)) as usize;
        buf.truncate(room);
        self.flash_dirty = true;
        self.device.flash.write(start, &buf)
    }

    /// `len` physical bytes at `address` (zeros past the end of the flash).
    pub fn read(&mut self, address: u32, len: u32) -> Vec<u8> {
        let mut out = vec![0u8; len as usize];
        let size = self.flash_size();
        if address < size {
            let n = (size - address).min(len) as usize;
            if self.device.flash.read(address, &mut out[..n]).is_err() {
                out.fill(0);
            }
        }
        out
    }

    /// Whether anything is unsaved.
    pub fn dirty(&self) -> bool {
        self.flash_dirty || self.efuses_dirty
    }

    /// Saves what changed, atomically (temporary file and rename).
    pub fn save(&mut self) -> Result<(), ServeError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        if self.flash_dirty {
            store.save_flash(&self.device.flash)?;
            self.flash_dirty = false;
        }
        if self.efuses_dirty {
            store.save_efuses(&self.efuses)?;
            self.efuses_dirty = false;
        }
        Ok(())
    }
}
