//! Progress reporting for flashing, as a trait the front end implements (an indicatif bar in the
//! CLI, nothing in tests).

/// Flashing progress. Blocks are the loader's data packets (0x400 bytes on the ROMs).
pub trait Progress {
    /// A named step begins (connecting, detecting, erasing, ...).
    fn step(&mut self, what: &str);
    /// A region of `blocks` blocks at `addr` starts.
    fn begin(&mut self, addr: u32, blocks: usize);
    /// `done` blocks of the current region are written.
    fn advance(&mut self, done: usize);
    /// The region is being verified.
    fn verifying(&mut self);
    /// The region is done.
    fn finish(&mut self);
    /// A line for the user (a slower path taken, a rate stepped down), said once.
    fn note(&mut self, _line: &str) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn step(&mut self, _: &str) {}
    fn begin(&mut self, _: u32, _: usize) {}
    fn advance(&mut self, _: usize) {}
    fn verifying(&mut self) {}
    fn finish(&mut self) {}
}

/// espflash's callbacks, forwarded.
pub(super) struct Adapter<'a>(pub &'a mut dyn Progress);

impl espflash::target::ProgressCallbacks for Adapter<'_> {
    fn init(&mut self, addr: u32, total: usize) {
        self.0.begin(addr, total);
    }
    fn update(&mut self, current: usize) {
        self.0.advance(current);
    }
    fn verifying(&mut self) {
        self.0.verifying();
    }
    fn finish(&mut self, _skipped: bool) {
        self.0.finish();
    }
}
