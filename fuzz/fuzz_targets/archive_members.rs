//! A whole archive (gzip members each holding one tar entry): listing, single-member reads, the
//! TOC check against the listing and the manifest, as `tierctl inspect` and `rebuild-catalog` do.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tier::archive::{Manifest, list_members, read_member};
use tier::pipeline::describe_archive;
use tier::types::ObjectKey;

fuzz_target!(|data: &[u8]| {
    let _ = read_member(data);
    if let Ok(key) =
        "archives/fuzz/0/00000000000000000000-00000000000000000000-00000000.0000000000000000.tar.gz"
            .parse::<ObjectKey>()
    {
        let _ = describe_archive(&key, data);
    }
    let Ok(listing) = list_members(data) else {
        return;
    };
    if let Some(last) = listing.members.last() {
        if let Ok(slice) = last.range.slice_of(data, 0) {
            if let Ok(bytes) = tier::archive::read_entry(slice, last) {
                let _ = Manifest::decode(&bytes);
            }
        }
    }
});
