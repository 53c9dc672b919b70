//! A whole fuzzed image extracted into a temp dir: the input is either the bytes of an archive
//! (a docker save or OCI tar, possibly gzip/zstd-compressed, mutated from a small valid one) or
//! a bundle (see `strata_fuzz::Bundle`: an OCI layout or docker save as text sections). It is
//! opened and extracted as `strata extract` does (top-down, then in order if strata asks), and
//! nothing outside the destination may change: a sentinel directory beside it, holding a file,
//! a directory and a symlink, is compared before and after. No panic, whatever the bytes.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use strata::extract::dir_sink::{needs_in_order, DirSink};
use strata::extract::fs::Root;
use strata::extract::merge::{merge, merge_with, Order};
use strata::image::Image;
use strata_fuzz::rootfs::{read_tree, Tree};
use strata_fuzz::{is_bundle, scratch, Bundle};

fn sentinel(base: &Path) -> Tree {
    let s = base.join("sentinel");
    std::fs::create_dir_all(s.join("etc")).unwrap();
    std::fs::write(s.join("etc/passwd"), b"root:x:0:0::/root:/bin/sh\n").unwrap();
    let _ = std::os::unix::fs::symlink("etc", s.join("link"));
    read_tree(&s)
}

fn listing(dir: &Path) -> Vec<std::ffi::OsString> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    v.sort();
    v
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch();
    let base = dir.path().join("work");
    std::fs::create_dir(&base).unwrap();
    let before = sentinel(dir.path());
    let input = dir.path().join("input");
    std::fs::create_dir(&input).unwrap();
    let path = if is_bundle(data) {
        Bundle::parse(data).write(&input)
    } else {
        let p = input.join("image.tar");
        std::fs::write(&p, data).unwrap();
        p
    };
    let top_listing = listing(dir.path());
    if let Ok(image) = Image::open_random_access(&path, None, None) {
        if let Some(top) = image.layers.len().checked_sub(1) {
            let dest = base.join("dest");
            std::fs::create_dir(&dest).unwrap();
            let mut sink = DirSink::for_extract(Root::open(&dest).unwrap(), false);
            match merge(
                &image,
                top,
                &mut sink,
                &strata::extract::limits::Limits::default(),
            ) {
                Err(e) if needs_in_order(&e) => {
                    drop(sink);
                    std::fs::remove_dir_all(&dest).unwrap();
                    std::fs::create_dir(&dest).unwrap();
                    let mut sink = DirSink::for_extract(Root::open(&dest).unwrap(), true);
                    if let Err(e) = merge_with(
                        &image,
                        top,
                        &mut sink,
                        Order::InOrder,
                        &strata::extract::limits::Limits::default(),
                    ) {
                        strata_fuzz::assert_no_internal_error(&e);
                    }
                }
                Err(e) => strata_fuzz::assert_no_internal_error(&e),
                Ok(_) => {}
            }
            // Whatever was extracted is walkable without following anything out of it.
            let _ = read_tree(&dest);
        }
    }
    let beside: Vec<_> = listing(&base).into_iter().filter(|n| n != "dest").collect();
    assert!(beside.is_empty(), "created beside DEST: {beside:?}");
    assert_eq!(
        listing(dir.path()),
        top_listing,
        "something was created beside the work dir"
    );
    assert_eq!(
        sentinel_tree(dir.path()),
        before,
        "the sentinel beside DEST changed"
    );
});

fn sentinel_tree(base: &Path) -> Tree {
    read_tree(&base.join("sentinel"))
}
