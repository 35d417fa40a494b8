//! Pseudo-terminals: the one the virtual board sits on (a non-blocking master for the board, and a
//! slave fd the board keeps open itself so the master never sees EIO between clients), and the
//! local end of an RFC 2217 bridge ([`super::remote`]).

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::pty::{PtyMaster, grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::termios::{self, BaudRate, SetArg};

/// Both ends of the pty.
#[derive(Debug)]
pub struct Pty {
    pub master: PtyMaster,
    /// Held open for the board's whole life (and used to read the host's line settings).
    pub slave: File,
    /// `/dev/pts/N`.
    pub slave_path: PathBuf,
}

/// Open a pty pair: raw slave at 115200, non-blocking master.
pub fn open() -> std::io::Result<Pty> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let slave_path = PathBuf::from(ptsname_r(&master)?);
    fcntl(master.as_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    let slave = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_NOCTTY)
        .open(&slave_path)?;
    let mut t = termios::tcgetattr(slave.as_fd())?;
    termios::cfmakeraw(&mut t);
    termios::cfsetspeed(&mut t, BaudRate::B115200)?;
    termios::tcsetattr(slave.as_fd(), SetArg::TCSANOW, &t)?;
    clear_exclusive(&slave);
    Ok(Pty {
        master,
        slave,
        slave_path,
    })
}

mod sys {
    nix::ioctl_none_bad!(tiocnxcl, nix::libc::TIOCNXCL);
    nix::ioctl_read_bad!(tcgets2, nix::libc::TCGETS2, nix::libc::termios2);
}

/// Clear TIOCEXCL on the pty. Clients that open ports exclusively (the `serialport` crate does)
/// and then die without closing leave it set, and every later non-root open fails with EBUSY.
#[allow(unsafe_code)] // Two argument-checked ioctls on an fd this module owns; nix has no safe wrapper.
pub fn clear_exclusive(slave: &File) {
    // SAFETY: TIOCNXCL takes no argument; the fd is open for the lifetime of `slave`.
    let _ = unsafe { sys::tiocnxcl(slave.as_raw_fd()) };
}

/// The baud rate the host has set on its end, as the board's UART "sees" it (custom rates such
/// as 74880 included, which plain termios cannot report). `fd` is the slave, or the master: on
/// Linux a pty master's termios requests act on its slave.
#[allow(unsafe_code)] // See `clear_exclusive`.
pub fn host_baud(fd: &impl AsRawFd) -> Option<u32> {
    let mut t = std::mem::MaybeUninit::<nix::libc::termios2>::zeroed();
    // SAFETY: TCGETS2 fills a `termios2`, which `t` is; the caller holds `fd` open.
    let r = unsafe { sys::tcgets2(fd.as_raw_fd(), t.as_mut_ptr()) };
    // SAFETY: zero-initialised plain-old-data, filled in by the kernel on success.
    let t = unsafe { t.assume_init() };
    r.ok().map(|_| t.c_ospeed).filter(|&s| s > 0)
}
