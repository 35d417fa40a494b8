//! ESP8266_RTOS_SDK's panic handler: after the registers it dumps the stack of the task that
//! crashed, `Task stack [ppT] stack from [3fff17d8] to [3fff1fd4], total [2048] size`, then rows
//! of words. A paste that holds only that dump still shows a crash.

/// The task of a `Task stack [NAME] stack from [start] to [end], total [N] size` line.
pub(super) fn task(t: &str) -> Option<&str> {
    let rest = t.trim_start().strip_prefix("Task stack [")?;
    let (name, after) = rest.split_once(']')?;
    let after = after.trim_start();
    (after.starts_with("stack from [") && after.contains("] to [") && name.len() <= 32)
        .then_some(name)
}

/// The reason for a crash seen only by its task stack dump.
pub(super) fn describe(headline: &str) -> String {
    let task = task(headline).unwrap_or("?");
    // `ppT` and `pmT` are the Wi-Fi driver's own tasks: a crash there is in the SDK's Wi-Fi.
    let whose = if matches!(task, "ppT" | "pmT" | "rtT") {
        " (the Wi-Fi driver's own task)"
    } else {
        ""
    };
    format!(
        "the board crashed: the log shows ESP8266_RTOS_SDK's panic handler dumping the stack of \
         task `{task}`{whose} (`{}`), but not the panic's first lines (Guru Meditation, \
         registers, backtrace); capture from before the dump to see which exception",
        headline.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_task_stack_dump_line() {
        assert_eq!(
            task("Task stack [ppT] stack from [3fff17d8] to [3fff1fd4], total [2048] size"),
            Some("ppT")
        );
        assert_eq!(
            task("  Task stack [main] stack from [3fff0000] to [3fff1000], total [4096] size"),
            Some("main")
        );
        // A task list or a stack report from an app is not the panic handler's dump.
        for line in [
            "Task stack [ppT] high water mark: 312",
            "Task stack size: 2048",
            "I (123) app: Task stack [main] free 1024",
            "Task stack [",
        ] {
            assert_eq!(task(line), None, "{line}");
        }
        let why =
            describe("Task stack [ppT] stack from [3fff17d8] to [3fff1fd4], total [2048] size");
        assert!(why.contains("`ppT` (the Wi-Fi driver's own task)"), "{why}");
    }
}
