//! Frames a tail call removed from the stack, found as gdb finds them (its "tailcall frames"):
//! when a caller's call site, at the return address the unwind found, calls a function other
//! than the one its callee frame is in, and that function's DWARF lists exactly one tail call to
//! the callee, the tail-calling function was a frame in between. Nothing on the stack records it;
//! the compiler's call-site entries (`DW_TAG_call_site`, GCC's `DW_TAG_GNU_call_site`) do.

use gimli::{AttributeValue, UnitRef};

use super::{Reader, Symbols};

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

/// The return address of the frame a tail call hid between a callee frame (its function starts
/// at `callee`) and the caller that returns to `ret`; `None` when the caller called the callee
/// itself, or the DWARF does not say one way.
pub(super) fn between(symbols: &Symbols<'_>, callee: u64, ret: u64) -> Option<u64> {
    let ctx = symbols.dwarf.as_ref()?;
    let unit = ctx
        .find_dwarf_and_unit(ret.checked_sub(1)?)
        .skip_all_loads()?;
    let mut entries = unit.entries();
    let mut target = None;
    while let Ok(Some(die)) = entries.next_dfs() {
        if let Some((at, to, _)) = call_site(symbols, unit, die)
            && at == ret
        {
            target = to;
            break;
        }
    }
    let target = target?;
    if target == callee {
        return None;
    }
    // The target's own tail calls to the callee.
    let unit = ctx.find_dwarf_and_unit(target).skip_all_loads()?;
    let mut entries = unit.entries();
    let mut depth = None;
    let mut found = Vec::new();
    while let Ok(Some(die)) = entries.next_dfs() {
        match depth {
            None => {
                let starts_here = die.tag() == gimli::DW_TAG_subprogram
                    && die
                        .attr_value(gimli::DW_AT_low_pc)
                        .and_then(|v| unit.attr_address(v).ok().flatten())
                        == Some(target);
                if starts_here {
                    depth = Some(die.depth());
                }
            }
            Some(d) if die.depth() <= d => break,
            Some(_) => {
                if let Some((at, Some(to), true)) = call_site(symbols, unit, die)
                    && to == callee
                {
                    found.push(at);
                }
            }
        }
    }
    match found.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}
