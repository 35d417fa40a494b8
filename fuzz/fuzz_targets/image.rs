//! The ESP image parser (`rom::image`), the sim-image settings reader and the partition table
//! parser: anything a user passes to `flash`/`sim image --read`, or the board finds in flash.
#![no_main]

use espcheck::rom::{Chip, image, partition};
use espcheck::sim::image as sim_image;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for chip in Chip::ALL {
        if let Ok(img) = image::parse(data, chip) {
            assert!(img.len <= data.len(), "image claims more bytes than it has");
            let _ = img.checksum_ok() && img.digest_ok();
            let _ = sim_image::settings_of(&img);
        }
        let _ = sim_image::read(data, chip);
    }
    let _ = partition::parse(data);
});
