//! Moving the loader to a faster line: CHANGE_BAUDRATE, then a probe at the new speed; when the
//! probe fails (a USB bridge or cable that cannot keep up), step down 921600 → 460800 → 115200
//! and say so.

use std::time::Duration;

use espflash::command::{Command, CommandType};
use espflash::connection::Connection;

use super::{Line, Progress, one_line};
use crate::rom::chip::CHIP_DETECT_MAGIC_REG;

/// The rate every loader starts at.
pub const ROM_BAUD: u32 = 115_200;
/// The flashing default (esptool's and espflash's `--baud` for writing).
pub const DEFAULT_FLASH_BAUD: u32 = 460_800;
/// The standard steps tried after a failed rate, fastest first.
const STEPS: [u32; 2] = [921_600, 460_800];
/// How long the probe at a new rate waits.
const PROBE: Duration = Duration::from_millis(500);

/// The rates to try for `asked`, fastest first: `asked`, then the standard steps below it. Empty
/// when `asked` is the loader's own rate (nothing to change).
pub fn ladder(asked: u32) -> Vec<u32> {
    if asked == ROM_BAUD {
        return Vec::new();
    }
    let mut rates = vec![asked];
    rates.extend(STEPS.into_iter().filter(|&s| s < asked && s > ROM_BAUD));
    rates
}

/// One register read within [`PROBE`] (espflash's `read_reg` would wait its own 3 s).
fn probe(conn: &mut Connection) -> Result<(), espflash::Error> {
    conn.with_timeout(PROBE, |c| {
        c.command(Command::ReadReg {
            address: CHIP_DETECT_MAGIC_REG,
        })
    })
    .map(|_| ())
}

/// Ask the loader for `rate`, follow on the host side, and check the line with a register read.
fn try_rate(
    conn: &mut Connection,
    line: Line<'_>,
    stub: bool,
    from: u32,
    rate: u32,
) -> Result<(), String> {
    // A host UART that cannot run at `rate` says so before the board is asked to switch.
    line.set_baud(conn, rate)
        .and_then(|()| line.set_baud(conn, from))
        .map_err(|e| {
            format!(
                "this port cannot run at {rate} baud ({})",
                one_line(&e.to_string())
            )
        })?;
    // The stubs take (new, old); the ROMs take (new, 0).
    let prior = if stub { from } else { 0 };
    conn.with_timeout(CommandType::ChangeBaudrate.timeout(), |c| {
        c.command(Command::ChangeBaudrate {
            new_baud: rate,
            prior_baud: prior,
        })
    })
    .map_err(|e| one_line(&e.to_string()))?;
    line.set_baud(conn, rate)
        .map_err(|e| one_line(&e.to_string()))?;
    // The loader switches after its reply; let it, and drop what crossed meanwhile.
    std::thread::sleep(Duration::from_millis(50));
    let _ = conn.flush();
    probe(conn).map_err(|_| format!("no answer at the new rate within {} ms", PROBE.as_millis()))
}

/// Move the loader (ROM or stub) from `ROM_BAUD` to `asked`, or to the fastest step below it that
/// answers, each failed rate reported through `progress`. Returns the rate the line ends at; an
/// error when the loader was lost on the way (no rate answers any more).
pub(super) fn raise(
    conn: &mut Connection,
    line: Line<'_>,
    stub: bool,
    asked: u32,
    progress: &mut dyn Progress,
) -> Result<u32, String> {
    // A stub an interrupted flash left running may already be at the rate (see `sync`).
    let now = conn.baud().unwrap_or(ROM_BAUD);
    if now == asked {
        return Ok(now);
    }
    if now != ROM_BAUD && lower(conn, line, now, ROM_BAUD).is_err() {
        return Err(format!(
            "the stub at {now} baud did not come back to {ROM_BAUD}"
        ));
    }
    let rates = ladder(asked);
    for (i, &rate) in rates.iter().enumerate() {
        let reason = match try_rate(conn, line, stub, ROM_BAUD, rate) {
            Ok(()) => return Ok(rate),
            Err(reason) => reason,
        };
        let next = rates.get(i + 1).copied().unwrap_or(ROM_BAUD);
        progress.note(&format!(
            "flashing at {rate} baud failed ({reason}); stepping down to {next}"
        ));
        // The loader either did not switch, or did and the line cannot carry `rate`: bring it
        // back to the loader's own rate from whichever side still reaches it.
        if !back(conn, line, stub, ROM_BAUD) && !back(conn, line, stub, rate) {
            return Err(format!(
                "the loader stopped answering after the switch to {rate} baud"
            ));
        }
    }
    Ok(ROM_BAUD)
}

/// Move a running stub from `from` to `to` (the monitor rate, before it starts the app), so the
/// command that starts the app crosses at the speed the port then listens at.
pub(super) fn lower(
    conn: &mut Connection,
    line: Line<'_>,
    from: u32,
    to: u32,
) -> Result<(), String> {
    if from == to {
        return Ok(());
    }
    try_rate(conn, line, true, from, to)
}

/// With the host at `host`, bring the loader to `ROM_BAUD` and check it answers there.
fn back(conn: &mut Connection, line: Line<'_>, stub: bool, host: u32) -> bool {
    if line.set_baud(conn, host).is_err() {
        return false;
    }
    let _ = conn.flush();
    if host == ROM_BAUD {
        return probe(conn).is_ok();
    }
    try_rate(conn, line, stub, host, ROM_BAUD).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_steps_down_through_the_standard_rates() {
        assert_eq!(ladder(921_600), [921_600, 460_800]);
        assert_eq!(ladder(460_800), [460_800]);
        assert_eq!(ladder(2_000_000), [2_000_000, 921_600, 460_800]);
        assert_eq!(ladder(230_400), [230_400]);
        assert!(ladder(115_200).is_empty());
    }
}
