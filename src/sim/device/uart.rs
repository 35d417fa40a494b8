//! Time on the board's serial line, sans-IO: a UART moves one byte per 10 bit-times (start, 8
//! data, stop) at the line's baud, and nothing moves while the chip is busy erasing or programming
//! flash. The runtime asks a [`LineClock`] how many bytes may cross now and tells it what crossed.

use std::time::{Duration, Instant};

/// Whether the virtual board keeps UART and flash time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pacing {
    /// Bytes take 10 bit-times at the current baud; erase and program take NOR flash time.
    #[default]
    Real,
    /// Everything as fast as the pty moves it (for tests that do not measure time).
    Off,
}

impl std::str::FromStr for Pacing {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "real" => Ok(Pacing::Real),
            "off" => Ok(Pacing::Off),
            _ => Err(format!("unknown pacing {s:?} (real or off)")),
        }
    }
}

/// How much idle time a line may "save up": a burst after a pause is not faster than the line.
const SLACK: Duration = Duration::from_millis(20);

/// One direction of the line.
#[derive(Debug, Default)]
pub struct LineClock {
    /// When the line is free for the next byte.
    free_at: Option<Instant>,
}

/// The time one byte takes at `baud` (10 bits per byte).
pub fn byte_time(baud: u32) -> Duration {
    Duration::from_nanos(10_000_000_000 / u64::from(baud.max(1)))
}

impl LineClock {
    fn free(&mut self, now: Instant) -> Instant {
        let floor = now.checked_sub(SLACK).unwrap_or(now);
        let free = self.free_at.unwrap_or(floor).max(floor);
        self.free_at = Some(free);
        free
    }

    /// How many bytes may cross at `now`.
    pub fn allowance(&mut self, now: Instant, baud: u32) -> usize {
        let free = self.free(now);
        if free >= now {
            return 0;
        }
        let bt = byte_time(baud).as_nanos().max(1);
        ((now - free).as_nanos() / bt) as usize
    }

    /// `n` bytes crossed at `now`.
    pub fn spend(&mut self, now: Instant, baud: u32, n: usize) {
        let free = self.free(now);
        self.free_at = Some(free + byte_time(baud) * n as u32);
    }

    /// The chip is busy for `d` from `now`: nothing crosses until then.
    pub fn hold(&mut self, now: Instant, d: Duration) {
        let free = self.free(now).max(now);
        self.free_at = Some(free + d);
    }

    /// How long until the next byte may cross (zero if one may now).
    pub fn wait(&mut self, now: Instant, baud: u32) -> Duration {
        let free = self.free(now) + byte_time(baud);
        free.saturating_duration_since(now)
    }
}

/// NOR flash timing of the virtual board's W25Q32-class chip (datasheet typicals): a 4 KiB sector
/// erase 45 ms, a 256-byte page program 0.7 ms.
pub const SECTOR_ERASE: Duration = Duration::from_millis(45);
pub const PAGE_PROGRAM: Duration = Duration::from_micros(700);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_moves_a_byte_per_ten_bit_times() {
        let t0 = Instant::now();
        let mut c = LineClock::default();
        // A fresh line has the slack: 20 ms at 115200 is 230 bytes.
        assert_eq!(c.allowance(t0, 115_200), 230);
        c.spend(t0, 115_200, 230);
        assert_eq!(c.allowance(t0, 115_200), 0);
        // One second later, at most the slack again, not a second's worth.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(c.allowance(t1, 115_200), 230);
        assert_eq!(c.allowance(t1, 921_600), 1843);
        c.hold(t1, Duration::from_millis(45));
        assert_eq!(c.allowance(t1 + Duration::from_millis(44), 115_200), 0);
        assert!(c.allowance(t1 + Duration::from_millis(46), 115_200) >= 10);
        assert_eq!(byte_time(115_200), Duration::from_nanos(86_805));
    }
}
