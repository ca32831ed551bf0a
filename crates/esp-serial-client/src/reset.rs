//! esptool's reset strategies as data: the DTR/RTS line changes and waits,
//! in order, exactly as esptool 5.6.0 makes them (`esptool/reset.py`'s
//! `ClassicReset`, `UnixTightReset`, `USBJTAGSerialReset`, `HardReset`,
//! which call `esp_pylib/serial_reset.py`; serial.md §1.4). The client
//! plays them on the port through [`ModemLines`]; tests record them with a
//! fake port and compare them with esptool's, no hardware needed.
//!
//! The line values follow pyserial's convention (true = asserted, which
//! drives the pin LOW on the usual auto-reset circuit: DTR drives IO0, RTS
//! drives EN). Two details of esptool are kept on purpose:
//! - every RTS write is followed by a write of the current DTR level
//!   (`set_rts`: a Windows `usbser.sys` workaround esptool applies
//!   everywhere), so the recorded sequence carries it too;
//! - the "tight" sequences set both lines in one `TIOCMSET` ioctl
//!   ([`Step::DtrRts`]), avoiding the invalid intermediate pairs. The
//!   sequences record that step as esptool makes it; the client's port
//!   plays it as two writes (DTR, then RTS), see `control::PortLines`.

use std::time::Duration;

/// esptool's default `reset_delay` (`DEFAULT_RESET_DELAY` = 0.05 s,
/// `esp_pylib/serial_reset.py`).
pub const RESET_DELAY: Duration = Duration::from_millis(50);

/// The longer delay of esptool's second try of each sequence
/// (`extra_delay = DEFAULT_RESET_DELAY + 0.5`, `loader.py`
/// `_construct_reset_strategy_sequence`).
pub const EXTRA_RESET_DELAY: Duration = Duration::from_millis(550);

/// How long the bootloader resets hold EN low before releasing it
/// (`enter_boot_delay=0.1`, `reset.py`).
const ENTER_BOOT_DELAY: Duration = Duration::from_millis(100);

/// The USB-Serial-JTAG sequence's wait between phases
/// (`usb_jtag_bootloader_reset` `settle_delay=0.1`).
const USB_JTAG_SETTLE: Duration = Duration::from_millis(100);

/// Espressif's USB vendor id (`ESPRESSIF_VID`, `esp_pylib/constants.py`).
pub const ESPRESSIF_VID: u16 = 0x303A;

/// The USB product id of the chips' USB-Serial-JTAG peripheral
/// (`USB_JTAG_SERIAL_PID`, `esp_pylib/constants.py`).
pub const USB_JTAG_SERIAL_PID: u16 = 0x1001;

/// USB bridges with always-on hardware flow control, whose reset sequences
/// skip the trailing IO0 release (`HARDWARE_FLOW_CONTROL_VID_PIDS`: the
/// SiLabs CP2102C).
pub const HARDWARE_FLOW_CONTROL_IDS: [UsbIds; 1] = [UsbIds {
    vid: 0x10C4,
    pid: 0xEA64,
}];

/// A port's USB vendor and product id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsbIds {
    /// Vendor id.
    pub vid: u16,
    /// Product id.
    pub pid: u16,
}

impl UsbIds {
    /// Whether the port is a bridge with hardware flow control
    /// (`uses_hardware_flow_control`).
    pub fn flow_control(self) -> bool {
        HARDWARE_FLOW_CONTROL_IDS.contains(&self)
    }

    /// Whether the port is a chip's USB-Serial-JTAG peripheral; esptool's
    /// reset choice looks at the product id only (`loader.py`
    /// `_construct_reset_strategy_sequence`).
    pub fn is_usb_jtag_serial(self) -> bool {
        self.pid == USB_JTAG_SERIAL_PID
    }
}

/// One step of a reset sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Set DTR (true = asserted; drives IO0 low).
    Dtr(bool),
    /// Set RTS (true = asserted; drives EN low).
    Rts(bool),
    /// Set both in one `TIOCMSET` ioctl (`set_dtr_rts`).
    DtrRts {
        /// DTR.
        dtr: bool,
        /// RTS.
        rts: bool,
    },
    /// Wait.
    Wait(Duration),
}

impl Step {
    /// esptool's custom-reset notation of the step (`D1`, `R0`, `U1,0`,
    /// `W0.1`), which the recorded-sequence tests compare.
    pub fn notation(self) -> String {
        let bit = |b: bool| if b { 1 } else { 0 };
        match self {
            Step::Dtr(b) => format!("D{}", bit(b)),
            Step::Rts(b) => format!("R{}", bit(b)),
            Step::DtrRts { dtr, rts } => format!("U{},{}", bit(dtr), bit(rts)),
            Step::Wait(d) => format!("W{}", d.as_secs_f64()),
        }
    }
}

/// Builds a sequence the way `esp_pylib`'s primitives write the lines,
/// tracking DTR for the write that follows every RTS change.
struct Builder {
    steps: Vec<Step>,
    dtr: bool,
}

impl Builder {
    fn new(dtr: bool) -> Builder {
        Builder {
            steps: Vec::new(),
            dtr,
        }
    }
    fn dtr(&mut self, level: bool) -> &mut Self {
        self.dtr = level;
        self.steps.push(Step::Dtr(level));
        self
    }
    /// `set_rts`: RTS, then DTR re-written with its current level.
    fn rts(&mut self, level: bool) -> &mut Self {
        self.steps.push(Step::Rts(level));
        self.steps.push(Step::Dtr(self.dtr));
        self
    }
    /// `set_dtr_rts`: an ioctl behind pyserial's back, so the DTR level
    /// pyserial re-writes after an RTS change is not updated.
    fn both(&mut self, dtr: bool, rts: bool) -> &mut Self {
        self.steps.push(Step::DtrRts { dtr, rts });
        self
    }
    fn wait(&mut self, d: Duration) -> &mut Self {
        self.steps.push(Step::Wait(d));
        self
    }
}

/// Asserted (pin LOW) and released (pin HIGH), as `esp_pylib` names them.
const LOW: bool = true;
const HIGH: bool = false;

/// `classic_bootloader_reset`: IO0 high with EN low, 100 ms, IO0 low with
/// EN high, `reset_delay`, IO0 high (skipped with flow control).
pub fn classic(dtr_now: bool, reset_delay: Duration, flow_control: bool) -> Vec<Step> {
    let mut b = Builder::new(dtr_now);
    b.dtr(HIGH).rts(LOW).wait(ENTER_BOOT_DELAY);
    b.dtr(LOW).rts(HIGH).wait(reset_delay);
    if !flow_control {
        b.dtr(HIGH);
    }
    b.steps
}

/// `unix_tight_bootloader_reset`: the same pulse with both lines set
/// together, plus esptool's trailing single DTR write.
pub fn unix_tight(dtr_now: bool, reset_delay: Duration, flow_control: bool) -> Vec<Step> {
    let mut b = Builder::new(dtr_now);
    b.both(HIGH, HIGH).both(LOW, LOW).both(HIGH, LOW);
    b.wait(ENTER_BOOT_DELAY).both(LOW, HIGH).wait(reset_delay);
    if !flow_control {
        b.both(HIGH, HIGH).dtr(HIGH);
    }
    b.steps
}

/// `usb_jtag_bootloader_reset`: the pulse train the USB-Serial-JTAG
/// peripheral decodes into "reset into download mode".
pub fn usb_jtag(dtr_now: bool) -> Vec<Step> {
    let mut b = Builder::new(dtr_now);
    b.rts(HIGH).dtr(HIGH).wait(USB_JTAG_SETTLE);
    b.dtr(LOW).rts(HIGH).wait(USB_JTAG_SETTLE);
    b.rts(LOW).dtr(HIGH).rts(LOW).wait(USB_JTAG_SETTLE);
    b.dtr(HIGH).rts(HIGH);
    b.steps
}

/// `HardReset` (`hard_reset`): EN pulsed low, 100 ms on a UART bridge;
/// 200 ms and 200 ms after on the chip's own USB (`uses_usb`). With flow
/// control esptool's fixed variant (it also clears the tty's HUPCL flag,
/// which a line sequence cannot show).
pub fn hard_reset(dtr_now: bool, uses_usb: bool, flow_control: bool) -> Vec<Step> {
    let mut b = Builder::new(dtr_now);
    if flow_control {
        let hold = Duration::from_millis(100);
        b.dtr(HIGH)
            .rts(LOW)
            .wait(hold)
            .dtr(LOW)
            .wait(hold)
            .rts(HIGH);
        return b.steps;
    }
    let (hold, after) = if uses_usb {
        (Duration::from_millis(200), Duration::from_millis(200))
    } else {
        (Duration::from_millis(100), Duration::ZERO)
    };
    b.rts(LOW).wait(hold).rts(HIGH);
    if !after.is_zero() {
        b.wait(after);
    }
    b.steps
}

/// `--before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Before {
    /// Reset into the bootloader with the DTR/RTS circuit (or the
    /// USB-Serial-JTAG sequence when the port is one).
    DefaultReset,
    /// The USB-Serial-JTAG sequence whatever the port.
    UsbReset,
    /// Leave the lines alone; sync.
    NoReset,
    /// Leave the lines alone; do not sync either.
    NoResetNoSync,
}

impl Before {
    /// The reset sequences esptool tries, one per connection attempt,
    /// cycling (`_construct_reset_strategy_sequence` on a POSIX host):
    /// the USB-Serial-JTAG sequence on that peripheral or with
    /// `usb-reset`; otherwise the tight sequence, then with the longer
    /// delay, then the classic one with both delays. `dtr_now` is the DTR
    /// level before the first step (pyserial opens with it asserted).
    pub fn strategies(self, usb: Option<UsbIds>, dtr_now: bool) -> Vec<Vec<Step>> {
        match self {
            Before::NoReset | Before::NoResetNoSync => Vec::new(),
            Before::UsbReset => vec![usb_jtag(dtr_now)],
            Before::DefaultReset if usb.is_some_and(UsbIds::is_usb_jtag_serial) => {
                vec![usb_jtag(dtr_now)]
            }
            Before::DefaultReset => {
                let fc = usb.is_some_and(UsbIds::flow_control);
                vec![
                    unix_tight(dtr_now, RESET_DELAY, fc),
                    unix_tight(dtr_now, EXTRA_RESET_DELAY, fc),
                    classic(dtr_now, RESET_DELAY, fc),
                    classic(dtr_now, EXTRA_RESET_DELAY, fc),
                ]
            }
        }
    }
}

/// What a reset sequence is played on: a serial port's modem lines, or a
/// recorder in tests.
pub trait ModemLines {
    /// Sets DTR.
    fn set_dtr(&mut self, level: bool) -> std::io::Result<()>;
    /// Sets RTS.
    fn set_rts(&mut self, level: bool) -> std::io::Result<()>;
    /// Sets both lines at once.
    fn set_dtr_rts(&mut self, dtr: bool, rts: bool) -> std::io::Result<()>;
    /// Waits.
    fn wait(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Plays `steps` on `lines`, stopping at the first line write that fails.
pub fn play(steps: &[Step], lines: &mut dyn ModemLines) -> std::io::Result<()> {
    for step in steps {
        match *step {
            Step::Dtr(level) => lines.set_dtr(level)?,
            Step::Rts(level) => lines.set_rts(level)?,
            Step::DtrRts { dtr, rts } => lines.set_dtr_rts(dtr, rts)?,
            Step::Wait(d) => lines.wait(d),
        }
    }
    Ok(())
}

/// A [`ModemLines`] that records what it is told (for tests and for
/// `--trace`-style inspection).
#[derive(Debug, Default)]
pub struct Recorder {
    /// The steps played, waits included.
    pub steps: Vec<Step>,
}

impl ModemLines for Recorder {
    fn set_dtr(&mut self, level: bool) -> std::io::Result<()> {
        self.steps.push(Step::Dtr(level));
        Ok(())
    }
    fn set_rts(&mut self, level: bool) -> std::io::Result<()> {
        self.steps.push(Step::Rts(level));
        Ok(())
    }
    fn set_dtr_rts(&mut self, dtr: bool, rts: bool) -> std::io::Result<()> {
        self.steps.push(Step::DtrRts { dtr, rts });
        Ok(())
    }
    fn wait(&mut self, d: Duration) {
        self.steps.push(Step::Wait(d));
    }
}

/// The notation of a whole sequence, `|`-separated (esptool's
/// `--custom-reset-sequence` form).
pub fn notation(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| s.notation())
        .collect::<Vec<_>>()
        .join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_reset_holds_io0_low_while_en_rises() {
        let seq = classic(true, RESET_DELAY, false);
        assert_eq!(
            notation(&seq),
            "D0|R1|D0|W0.1|D1|R0|D1|W0.05|D0",
            "IO0 high + EN low, wait, IO0 low + EN high, wait, IO0 high"
        );
        // flow control skips the trailing IO0 release
        assert_eq!(classic(true, RESET_DELAY, true).len(), seq.len() - 1);
        assert!(Before::NoReset.strategies(None, true).is_empty());
    }

    #[test]
    fn usb_jtag_port_gets_the_usb_sequence_and_played_steps_are_recorded() {
        let usb = UsbIds {
            vid: ESPRESSIF_VID,
            pid: USB_JTAG_SERIAL_PID,
        };
        let s = Before::DefaultReset.strategies(Some(usb), true);
        assert_eq!(s, vec![usb_jtag(true)]);
        let uart = Before::DefaultReset.strategies(None, true);
        assert_eq!(uart.len(), 4);
        let mut rec = Recorder::default();
        play(&uart[0], &mut rec).unwrap();
        assert_eq!(rec.steps, uart[0]);
    }
}
