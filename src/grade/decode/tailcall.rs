//! Frames a tail call removed from the stack, found as gdb finds them (its "tailcall frames"):
//! when a caller's call site, at the return address the unwind found, calls a function other
//! than the one its callee frame is in, and that function's DWARF lists exactly one tail call to
//! the callee, the tail-calling function was a frame in between. Nothing on the stack records it;
//! the compiler's call-site entries (`DW_TAG_call_site`, GCC's `DW_TAG_GNU_call_site`) do. They
//! are indexed in one pass over the DWARF, the first time an unwind asks.

use std::collections::HashMap;

use gimli::{AttributeValue, UnitRef};

use super::{Reader, Symbols};

/// Every call site of an ELF, by what gdb's tailcall search asks.
#[derive(Debug, Default)]
pub(super) struct CallSites {
    /// Return address → the called function's first address (when the DWARF says).
    by_return: HashMap<u64, u64>,
    /// A function's first address → its tail calls: (the call's return address, the function
    /// it jumps to).
    tail_calls: HashMap<u64, Vec<(u64, u64)>>,
}

impl CallSites {
    pub(super) fn index(dwarf: &gimli::Dwarf<Reader<'_>>, symbols: &Symbols<'_>) -> Self {
        let mut sites = CallSites::default();
        let mut headers = dwarf.units();
        while let Ok(Some(header)) = headers.next() {
            let Ok(unit) = dwarf.unit(header) else {
                continue;
            };
            let unit = unit.unit_ref(dwarf);
            let mut entries = unit.entries();
            // The innermost subprogram being read: (its depth, its first address).
            let mut function: Option<(isize, u64)> = None;
            while let Ok(Some(die)) = entries.next_dfs() {
                if function.is_some_and(|(d, _)| die.depth() <= d) {
                    function = None;
                }
                if die.tag() == gimli::DW_TAG_subprogram {
                    if let Some(start) = die
                        .attr_value(gimli::DW_AT_low_pc)
                        .and_then(|v| unit.attr_address(v).ok().flatten())
                    {
                        function = Some((die.depth(), start));
                    }
                    continue;
                }
                let Some((ret, target, tail)) = call_site(symbols, unit, die) else {
                    continue;
                };
                if let Some(target) = target {
                    sites.by_return.insert(ret, target);
                    if let (true, Some((_, start))) = (tail, function) {
                        sites
                            .tail_calls
                            .entry(start)
                            .or_default()
                            .push((ret, target));
                    }
                }
            }
        }
        sites
    }

    /// The return address of the frame a tail call hid between a callee frame (its function
    /// starts at `callee`) and the caller that returns to `ret`; `None` when the caller called
    /// the callee itself, or the DWARF does not say one way.
    pub(super) fn between(&self, callee: u64, ret: u64) -> Option<u64> {
        let &target = self.by_return.get(&ret)?;
        if target == callee {
            return None;
        }
        let mut to_callee = self
            .tail_calls
            .get(&target)?
            .iter()
            .filter(|(_, to)| *to == callee);
        match (to_callee.next(), to_callee.next()) {
            (Some(&(at, _)), None) => Some(at),
            _ => None,
        }
    }
}

/// Where the function a call site names starts: its DIE's `low_pc`, or for a declaration (the
/// function is defined in another unit) the symbol table's function of that name.
fn entry_address<'d>(
    symbols: &Symbols<'_>,
    unit: UnitRef<'_, Reader<'d>>,
    origin: AttributeValue<Reader<'d>>,
) -> Option<u64> {
    let AttributeValue::UnitRef(offset) = origin else {
        return None;
    };
    let die = unit.entry(offset).ok()?;
    if let Some(low) = die.attr_value(gimli::DW_AT_low_pc) {
        return unit.attr_address(low).ok().flatten();
    }
    let name = die
        .attr_value(gimli::DW_AT_linkage_name)
        .or_else(|| die.attr_value(gimli::DW_AT_name))?;
    let name = unit.attr_string(name).ok()?;
    let name = std::str::from_utf8(name.slice()).ok()?;
    symbols.function_named(name)
}

/// A call site's return address, target, and whether it is a tail call.
fn call_site<'d>(
    symbols: &Symbols<'_>,
    unit: UnitRef<'_, Reader<'d>>,
    die: &gimli::DebuggingInformationEntry<Reader<'d>>,
) -> Option<(u64, Option<u64>, bool)> {
    if !matches!(
        die.tag(),
        gimli::DW_TAG_call_site | gimli::DW_TAG_GNU_call_site
    ) {
        return None;
    }
    let ret = die
        .attr_value(gimli::DW_AT_call_return_pc)
        .or_else(|| die.attr_value(gimli::DW_AT_low_pc))?;
    let ret = unit.attr_address(ret).ok().flatten()?;
    let target = die
        .attr_value(gimli::DW_AT_call_origin)
        .or_else(|| die.attr_value(gimli::DW_AT_abstract_origin))
        .and_then(|o| entry_address(symbols, unit, o));
    let tail = [gimli::DW_AT_call_tail_call, gimli::DW_AT_GNU_tail_call]
        .iter()
        .any(|&a| matches!(die.attr_value(a), Some(AttributeValue::Flag(true))));
    Some((ret, target, tail))
}
