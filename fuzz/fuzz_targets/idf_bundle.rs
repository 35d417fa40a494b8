//! The ESP-IDF certificate bundle decoder (`x509_crt_bundle`, both layouts). Whatever decodes
//! must encode back to a bundle that decodes to the same entries.
#![no_main]

use espcheck::codegen::idf_bundle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((layout, entries)) = idf_bundle::decode(data) {
        if let Ok(again) = idf_bundle::encode_entries(entries.clone(), layout) {
            let (layout2, back) = idf_bundle::decode(&again).expect("re-encoded bundle decodes");
            assert_eq!(layout2, layout);
            let mut a = entries;
            a.sort_by(|x, y| x.subject_der.cmp(&y.subject_der));
            assert_eq!(back, a);
        }
    }
});
