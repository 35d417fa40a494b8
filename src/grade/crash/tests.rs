use super::*;

fn cls(s: &str) -> Option<Signal> {
    classify(s, &s.to_ascii_lowercase())
}

#[test]
fn download_mode_banners_of_both_chips() {
    assert!(download_mode(
        "rst:0x1 (POWERON),boot:0x5 (DOWNLOAD(USB/UART0/1))"
    ));
    assert!(download_mode(
        "rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))"
    ));
    assert!(download_mode(
        " ets Jan  8 2013,rst cause:2, boot mode:(1,7)"
    ));
    assert!(!download_mode(
        "rst:0x1 (POWERON),boot:0xd (SPI_FAST_FLASH_BOOT)"
    ));
    assert!(!download_mode(
        " ets Jan  8 2013,rst cause:2, boot mode:(3,6)"
    ));
}

#[test]
fn boot_banners_of_both_chips() {
    assert_eq!(
        cls(" ets Jan  8 2013,rst cause:4, boot mode:(3,6)"),
        Some(Signal::Boot { cause: "4".into() })
    );
    assert_eq!(
        cls("rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)"),
        Some(Signal::Boot {
            cause: "SW_CPU_RESET".into()
        })
    );
    assert_eq!(cls("first rst of the day? no: plain text"), None);
}

#[test]
fn crash_kinds() {
    let kind = |s| match cls(s) {
        Some(Signal::Crash { kind, .. }) => kind,
        other => panic!("{s}: {other:?}"),
    };
    assert_eq!(kind("Exception (28):"), "exception");
    assert_eq!(
        kind("Fatal exception 28(LoadProhibitedCause):"),
        "exception"
    );
    assert_eq!(
        kind("Fatal exception:29 flag:2 (EXCEPTION) epc1:0x402242ff epc2:0x00000000"),
        "exception"
    );
    // The SDK's start-up report of a reset by the reset pin is no crash.
    assert_eq!(
        cls("Fatal exception:0 flag:6 (EXT_SYS_RST) epc1:0x00000000 epc2:0x00000000"),
        None
    );
    assert_eq!(kind("Soft WDT reset"), "soft-wdt");
    assert_eq!(
        kind("Guru Meditation Error: Core  1 panic'ed (LoadProhibited). Exception was unhandled."),
        "guru-meditation"
    );
    assert_eq!(kind("Brownout detector was triggered"), "brownout");
    assert!(app_output_before_banner(
        "I (437) cpu_start: Multicore app\u{1b}[0m ESP-ROM:esp32s3-20210327 Build:Mar 27 2021 \
         rst:0x10 (RTCWDT_RTC_RST),boot:0x2b (SPI_FAST_FLASH_BOOT)"
    ));
    assert!(!app_output_before_banner(
        "rst:0x10 (RTCWDT_RTC_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)"
    ));
    assert!(output_cut_by_banner(
        "count: 1, printing a long message, The quick browets Jun  8 2016 00:22:57"
    ));
    assert!(output_cut_by_banner(
        "Connecting to WiFi..ESP-ROM:esp32s3-20210327"
    ));
    assert!(!output_cut_by_banner("ets Jun  8 2016 00:22:57"));
    assert!(!output_cut_by_banner(
        "\u{fffd}\u{fffd}l ets Jun  8 2016 00:22:57"
    ));
    assert!(!output_cut_by_banner("~x ets Jun  8 2016 00:22:57"));
    assert!(!app_output_before_banner(
        "19:50:30.071 -> ESP-ROM:esp32s3-20210327"
    ));
    assert_eq!(kind("load:0xffffffff,len:-1"), "load-blank");
    assert_eq!(kind("\tload:0xffffffff,len:-1"), "load-blank");
    assert_eq!(
        kind("ASSERT_PARAM(576 0), in rwble.c at line 390"),
        "bt-assert"
    );
    assert_eq!(
        kind("ASSERT_ERR(KE_LIST_PATTERN), in ke_mem.c at line 1011"),
        "bt-assert"
    );
    assert_eq!(
        kind("abort() was called at PC 0x400d2b4f on core 1"),
        "abort"
    );
    assert_eq!(kind("Abort called"), "abort");
    assert_eq!(
        kind(
            "E (15123) task_wdt: Task watchdog got triggered. The following tasks did not reset the watchdog in time:"
        ),
        "task-wdt"
    );
}

#[test]
fn exception_reason_names_the_cause_and_a_null_pointer() {
    let block = vec![
        "epc1=0x40201e3c epc2=0x00000000 epc3=0x00000000 excvaddr=0x00000000 depc=0x00000000"
            .to_owned(),
    ];
    let r = describe("exception", "Exception (28):", &block);
    assert!(r.contains("Exception (28) LoadProhibited"), "{r}");
    assert!(r.contains("epc1=0x40201e3c"), "{r}");
    assert!(r.contains("null pointer"), "{r}");
}

#[test]
fn exception_names_follow_the_cores_table() {
    let name = |n| exception_name(n).map(|s| s.split(':').next().unwrap_or(s));
    assert_eq!(name(0), Some("IllegalInstruction"));
    assert_eq!(name(3), Some("LoadStoreError"));
    assert_eq!(name(6), Some("IntegerDivideByZero"));
    assert_eq!(name(7), Some("Reserved"));
    assert_eq!(name(9), Some("LoadStoreAlignment"));
    assert_eq!(name(20), Some("InstFetchProhibited"));
    assert_eq!(name(28), Some("LoadProhibited"));
    assert_eq!(name(29), Some("StoreProhibited"));
    assert_eq!(name(33), Some("Coprocessor1Disabled"));
    assert_eq!(name(40), None);
}
#[test]
fn guru_meditation_anywhere_in_a_wrapped_line() {
    // A terminal's line wrap glued the previous dump's tail on and padded the words apart.
    let line = "90648  RA      : 0x40390660  SP      : 0x3fcc3e00  GP      : 0x3Guru Meditation                                                                         Error: Core  0 panic'ed (Load access fault). Exception was unhandled.";
    assert!(matches!(
        cls(line),
        Some(Signal::Crash {
            kind: "guru-meditation",
            ..
        })
    ));
    let r = describe("guru-meditation", line, &[]);
    assert!(r.contains("(Load access fault)"), "{r}");
    assert!(!r.contains("RA"), "{r}");
    assert_eq!(cls("my guru meditation retreat starts"), None);
    // A paste cut right after the words is still the panic handler's headline.
    assert!(matches!(
        cls("Guru Meditation"),
        Some(Signal::Crash {
            kind: "guru-meditation",
            ..
        })
    ));
    assert_eq!(cls("Entering Guru Meditation"), None);
}

#[test]
fn old_guru_wording_names_the_cause() {
    let line = "Guru Meditation Error of type StoreProhibited occurred on core  0. Exception was unhandled.";
    let r = describe("guru-meditation", line, &[]);
    assert!(r.contains("Guru Meditation Error (StoreProhibited)"), "{r}");
}

#[test]
fn rom_cannot_load_the_bootloader() {
    for line in ["flash read err, 1000", "invalid header: 0xffffffff"] {
        let Some(Signal::Crash { kind, end }) = cls(line) else {
            panic!("{line}: not a crash");
        };
        assert_eq!(end, BlockEnd::Immediate);
        let r = describe(kind, line, &[]);
        assert!(r.contains("second-stage bootloader"), "{r}");
        assert!(r.contains(line), "{r}");
    }
    assert_eq!(cls("ets_main.c 371 "), None);
}

#[test]
fn a_bare_elf_sha_line_is_a_panic_tail_and_the_boot_logs_is_not() {
    assert!(panic_tail("ELF file SHA256: a5191f47", ""));
    assert!(!panic_tail(
        "I (245) cpu_start: ELF file SHA256:  0123456789abcdef...",
        ""
    ));
    assert!(!panic_tail(
        "I (98) app_init: ELF file SHA256:  4c9d6a1b2...",
        ""
    ));
}

#[test]
fn a_bare_rebooting_line_is_a_panic_tail_unless_an_update_just_succeeded() {
    // The panic handler's last line, at the top of a paste (a reboot follows).
    assert!(panic_tail("Rebooting...", ""));
    assert!(panic_tail(
        "Rebooting...",
        "I (281) cpu_start: Multicore app"
    ));
    // ESP8266HTTPUpdateServer and the OTA examples restart on purpose.
    assert!(!panic_tail("Rebooting...", "Update Success: 228624"));
    assert!(!panic_tail("Rebooting...", "I (9) ota: OTA Succeed"));
    // An app's own words around it are not the panic handler's line.
    assert!(!panic_tail("[I][app:102]: Rebooting safely...", ""));
    assert!(!panic_tail("Update done. Rebooting...", ""));
}

#[test]
fn an_esp8266_stack_row_without_its_header_is_a_headless_stack_dump() {
    let headless = |s: &str| match cls(s) {
        Some(Signal::Crash { kind, end }) => Some((kind, end)),
        _ => None,
    };
    assert_eq!(
        headless("3ffffb00:  9779906d 761b1521 f70f8096 4a472fe2  "),
        Some(("stack-dump", BlockEnd::StackEnd))
    );
    assert_eq!(
        headless("3fffff10:  00000000 00000001 402a180b 00000001"),
        Some(("stack-dump", BlockEnd::StackEnd))
    );
    // ESP-IDF's RISC-V panic handler's stack dump header, its register dump not pasted.
    assert_eq!(
        headless("Stack memory:"),
        Some(("panic-stack", BlockEnd::StackEnd))
    );
    // A RISC-V `Stack memory:` row (0x words), a hex dump of bytes, and a short row are not.
    assert_eq!(
        headless("3fca11b0: 0x3c0a570c 0x3fc8e600 0x00000000 0x00000001"),
        None
    );
    assert_eq!(headless("3ffffb00:  97 79 90 6d 76 1b 15 21"), None);
    assert_eq!(headless("3ffffb00:  9779906d 761b1521"), None);
}

#[test]
fn heap_corruption_asserts_and_stack_overflows() {
    let kind = |s| match cls(s) {
        Some(Signal::Crash { kind, .. }) => kind,
        other => panic!("{s}: {other:?}"),
    };
    assert_eq!(
        kind("CORRUPT HEAP: Bad head at 0x3ffeb398. Expected 0xabba1234 got 0x3ffe4364"),
        "heap-corrupt"
    );
    assert_eq!(
        kind("assert failed: multi_heap_free multi_heap_poisoning.c:253 (head != NULL)"),
        "abort"
    );
    assert_eq!(
        kind("***ERROR*** A stack overflow in task sys_evt has been detected."),
        "stack-overflow"
    );
    assert_eq!(
        kind("/esp-idf/components/freertos/./tasks.c:601 (xTaskGenericCreate)- assert failed!"),
        "abort"
    );
    let block =
        vec!["assert failed: multi_heap_free multi_heap_poisoning.c:253 (head != NULL)".to_owned()];
    let r = describe(
        "heap-corrupt",
        "CORRUPT HEAP: Bad head at 0x3ffeb398.",
        &block,
    );
    assert!(
        r.contains("heap is corrupt") && r.contains("multi_heap_free"),
        "{r}"
    );
}

#[test]
fn a_stack_canary_names_the_task_that_overflowed() {
    let block = vec![
        "Debug exception reason: Stack canary watchpoint triggered (loopTask) ".to_owned(),
        "PC      : 0x400d3254  PS      : 0x00060636".to_owned(),
    ];
    let r = describe(
        "guru-meditation",
        "Guru Meditation Error: Core  1 panic'ed (Unhandled debug exception)",
        &block,
    );
    assert!(r.contains("loopTask overflowed its stack"), "{r}");
    assert!(r.ends_with(HINT_BACKTRACE), "{r}");
}

#[test]
fn watchdog_reset_causes() {
    assert!(killed_by_watchdog("TG1WDT_SYS_RESET"));
    assert!(killed_by_watchdog("RTCWDT_SYS_RST"));
    assert!(killed_by_watchdog("4"));
    assert!(!killed_by_watchdog("RTCWDT_RTC_RESET"));
    assert!(!killed_by_watchdog("POWERON_RESET"));
    assert!(!killed_by_watchdog("SW_CPU_RESET"));
    assert!(reset_by_hand("POWERON_RESET"));
    assert!(reset_by_hand("1"));
    assert!(!reset_by_hand("RTCWDT_RTC_RESET"));
    assert!(!reset_by_hand("TG1WDT_SYS_RESET"));
}

#[test]
fn the_exception_decoders_output_alone_is_a_crash() {
    let line = "Exception 3: LoadStoreError: Processor internal physical address or data error during load or store";
    assert!(matches!(
        cls(line),
        Some(Signal::Crash {
            kind: "exception",
            end: BlockEnd::Immediate
        })
    ));
    let r = describe("exception", line, &[]);
    assert!(r.contains("Exception (3) LoadStoreError"), "{r}");
    assert!(matches!(
        cls("Decoding stack results"),
        Some(Signal::Crash {
            kind: "decoded-stack",
            ..
        })
    ));
    assert!(describe("decoded-stack", "Decoding stack results", &[]).contains("stack"));
    assert_eq!(cls("Exception handling: see the docs"), None);
}

#[test]
fn a_paste_that_starts_inside_an_esp8266_stack_dump_is_a_crash() {
    let stack = Some(Signal::Crash {
        kind: "stack-dump",
        end: BlockEnd::StackEnd,
    });
    assert_eq!(
        cls("3ffffa40:  00002020 4024813d 3fff3ee4 3fff0ff0  "),
        stack
    );
    assert_eq!(cls("3fff2160:  00000080 3fff5914 3fffb15c 4022c1c4"), stack);
    // Not a stack row: an ESP32 stack memory row, a register line, a hex dump of flash.
    assert_eq!(
        cls("3fc9a4f0: 0x00000000 0x3fc9a5a0 0x4200c2f4 0x3fc8f000"),
        None
    );
    assert_eq!(cls("40200000:  00000000 00000000 00000000 00000000"), None);
    assert_eq!(cls("3ffe8000:  00000000 00000000"), None);
}

#[test]
fn espcoredump_text_reports_name_the_task_cause_and_abort() {
    let start = "==================== ESP32 CORE DUMP START ====================";
    assert_eq!(
        cls(start),
        Some(Signal::Crash {
            kind: "core-dump-report",
            end: BlockEnd::ReportEnd
        })
    );
    assert!(core_dump_report(
        &"=============== ESP32S3 CORE DUMP START ==============".to_ascii_lowercase()
    ));
    // The panic handler's own line opens base64, read elsewhere.
    assert_eq!(
        cls("================= CORE DUMP START ================="),
        None
    );
    let block = |lines: &[&str]| lines.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    let abort = describe(
        "core-dump-report",
        start,
        &block(&[
            "Crashed task handle: 0x3ffe3958, name: 'wifi', GDB name: 'process 1073625432'",
            "exccause       0x1d (StoreProhibitedCause)",
            "pc             0x4002eae1       0x4002eae1 <panic_abort+21>",
        ]),
    );
    assert!(
        abort.contains("task 'wifi'")
            && abort.contains("<panic_abort+21>")
            && abort.contains("abort()")
            && abort.contains("not the bug"),
        "{abort}"
    );
    let wdt = describe(
        "core-dump-report",
        start,
        &block(&[
            "Crashed task handle: 0x3ffbbbf4, name: 'esp_timer', GDB name: 'process 1'",
            "exccause       0x45 (InterruptWDTTimoutCPU0)",
            "pc             0x4009903f          0x4009903f <xPortEnterCriticalTimeout+67>",
        ]),
    );
    assert!(
        wdt.contains("task 'esp_timer'")
            && wdt.contains("InterruptWDTTimoutCPU0")
            && !wdt.contains("abort()"),
        "{wdt}"
    );
    // A report cut before its registers still names the task; an unnamed cause is looked up.
    let bare = describe(
        "core-dump-report",
        start,
        &block(&[
            "exccause       0x0",
            "pc             0x3ffd3b70\t0x3ffd3b70",
        ]),
    );
    assert!(
        bare.contains("IllegalInstruction") && bare.contains("0x3ffd3b70"),
        "{bare}"
    );
    assert!(ends_block(
        BlockEnd::ReportEnd,
        "===================== ESP32 CORE DUMP END ====================="
    ));
}

#[test]
fn an_indented_stack_dump_is_a_crash_even_without_its_leading_arrows() {
    // esp8266/Arduino #4923: the paste indents every row, and Markdown ate the `>>>` of
    // `>>>stack>>>`.
    for line in [
        "            stack>>>",
        "            3fff3140: 00820000 00000082 3fffa7ec 4022f3d2",
        "  >>>stack>>>",
    ] {
        assert!(
            matches!(
                cls(line),
                Some(Signal::Crash {
                    kind: "stack-dump",
                    ..
                })
            ),
            "{line}"
        );
    }
    assert_eq!(cls("  3fff3140 is the address"), None);
}

#[test]
fn a_risc_v_register_dump_without_its_header_is_a_crash() {
    for row in [
        "MEPC    : 0x4200b6be  RA      : 0x4200b6a8  SP      : 0x3fc9a5d0  GP      : 0x3fc8e000",
        "MSTATUS : 0x00001881  MTVEC   : 0x40800003  MCAUSE  : 0x00000018  MTVAL   : 0x00000000",
    ] {
        assert_eq!(
            cls(row),
            Some(Signal::Crash {
                kind: "register-dump",
                end: BlockEnd::Backtrace
            }),
            "{row}"
        );
    }
    assert_eq!(cls("MEPC is the machine exception program counter"), None);
    assert_eq!(cls("I (5) app: MCAUSE register read back 0"), None);
}

#[test]
fn a_decoded_backtrace_says_abort_or_assert() {
    use crate::grade::{GradeConfig, Profile, grade_bytes};
    let r = grade_bytes(
        GradeConfig::new(Profile::Auto),
        b"Backtrace: 0x40088f9d:0x3ffbf6d0 0x40089315:0x3ffbf6f0 0x40089d1b:0x3ffbf710\n\
          0x40088f9d: invoke_abort at /esp-idf/components/esp32/panic.c:155\n\
          \n\
          0x40089315: abort at /esp-idf/components/esp32/panic.c:172\n\
          \n\
          0x40089d1b: xQueueGenericSend at /esp-idf/components/freertos/queue.c:729 (discriminator 5)\n\
          \n\
          0x400ef921: httpd_bind at /app/src/httpd.c:83\n",
    );
    assert_eq!(r.exit_code, 5, "{}", r.reason);
    assert!(
        r.reason.contains("abort() was called")
            && r.reason
                .contains("xQueueGenericSend (freertos/queue.c:729)")
            && r.reason.contains("called from httpd_bind"),
        "{}",
        r.reason
    );
    // esp-idf-monitor 1.x puts `--- ` before each decoded address; IDF 5's assert.
    let r = grade_bytes(
        GradeConfig::new(Profile::Auto),
        b"Backtrace: 0x4037a8fa:0x3fc9a2d0 0x40380d51:0x3fc9a2f0\n\
          --- 0x4037a8fa: panic_abort at /esp-idf/components/esp_system/panic.c:452\n\
          --- 0x40380d51: esp_system_abort at /esp-idf/components/esp_system/port/esp_system_chip.c:84\n\
          --- 0x4038663d: __assert_func at /esp-idf/components/newlib/assert.c:81\n\
          --- 0x42008a1c: app_main at /app/main/main.c:12\n\
          I (10) app: after\n",
    );
    assert!(
        r.reason.contains("an assert failed") && r.reason.contains("in app_main"),
        "{}",
        r.reason
    );
    // Decoded frames that are not abort()'s say nothing more than the bare Backtrace.
    let r = grade_bytes(
        GradeConfig::new(Profile::Auto),
        b"Backtrace: 0x400d1234:0x3ffb1f00\n\
          0x400d1234: loop() at /sketch/sketch.ino line 12\n",
    );
    assert!(
        r.reason.contains("not the message before it"),
        "{}",
        r.reason
    );
    assert_eq!(
        decoded_frame("0x400d1234: loop() at /sketch/sketch.ino line 12"),
        Some("loop")
    );
    assert_eq!(decoded_frame("0x3ffb1f00 is the stack"), None);
}

#[test]
fn a_nodemcu_lua_panic_is_a_crash_that_names_the_lua_error() {
    use crate::grade::{GradeConfig, Profile, Verdict, grade_bytes};
    let r = grade_bytes(
        GradeConfig::new(Profile::Auto),
        b"NodeMCU custom build by frightanic.com\n\
          PANIC: unprotected error in call to Lua API (init.lua:30: attempt to index global 'bit' (a nil value))\n\
          PANIC: unprotected error in call to Lua API (attempt to index a nil value)\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(
        r.reason.contains("PANIC") && r.reason.contains("init.lua:30"),
        "{}",
        r.reason
    );
    // Not a Lua panic: the words in prose, an error a pcall caught, another panic.
    for line in [
        "the sketch says PANIC: unprotected error in call to Lua API here",
        "lua: init.lua:30: attempt to index global 'bit' (a nil value)",
        "PANIC: out of memory",
    ] {
        assert!(
            !matches!(
                cls(line),
                Some(Signal::Crash {
                    kind: "lua-panic",
                    ..
                })
            ),
            "{line}"
        );
    }
}

#[test]
fn every_abort_reason_says_abort() {
    let q = "/esp-idf/components/freertos/./queue.c:719 (xQueueGenericSend)- assert failed!";
    let called = vec!["abort() was called at PC 0x4008e5fc on core 0".to_owned()];
    let r = describe("abort", q, &called);
    assert!(r.contains("xQueueGenericSend"), "{r}");
    assert!(
        r.contains("then `abort() was called at PC 0x4008e5fc on core 0`"),
        "{r}"
    );
    // ESP-IDF 4.4+ prints no abort line after its assert.
    let r = describe(
        "abort",
        "assert failed: xQueueGenericSend queue.c:832 (pxQueue)",
        &[],
    );
    assert!(r.contains("a failed assert calls abort()"), "{r}");
    let r = describe("abort", "Abort called", &[]);
    assert!(r.contains("abort()"), "{r}");
    // A headline that says it already is not said twice.
    let r = describe(
        "abort",
        "abort() was called at PC 0x400d66b9 on core 0",
        &called,
    );
    assert_eq!(r.matches("abort()").count(), 1, "{r}");
}

#[test]
fn rust_crashes_are_crashes_that_halt() {
    for line in [
        "Exception 'Store/AMO access fault' mepc=0x420036f6, mtval=0x00000000",
        "Exception occured 'LoadProhibited'",
        "!! A panic occured in 'src/main.rs', at line 54, column 5",
        "thread 'main' panicked at src/main.rs:10:5:",
    ] {
        match cls(line) {
            Some(Signal::Crash { kind, end }) => {
                assert!(kind.starts_with("rust-"), "{line}: {kind}");
                assert_eq!(end, BlockEnd::Halted, "{line}");
            }
            other => panic!("{line}: {other:?}"),
        }
    }
}
