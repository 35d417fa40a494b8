//! The `--rules` TOML file of `grade`/`watch`: any text a user writes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut rules = espcheck::grade::Rules::new();
        let _ = rules.add_toml(text);
    }
});
