//! Arbitrary docker `manifest.json`, OCI index/manifest/config documents (nested indexes,
//! several images, platforms, `--image`/`--platform` selection), written out as an OCI layout
//! directory, a tar or a tar.gz (see `strata_fuzz::Bundle`), opened through the same entry point
//! the CLI uses (`Image::open`), then checked and its layers scanned. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use strata::archive::parse_platform;
use strata::image::{Check, Image};
use strata_fuzz::{scratch, Bundle};

fuzz_target!(|data: &[u8]| {
    let bundle = Bundle::parse(data);
    // The documents alone, through the oci-spec types strata uses.
    for (_, content) in &bundle.files {
        let _ = serde_json::from_slice::<ImageIndex>(content);
        let _ = serde_json::from_slice::<ImageManifest>(content);
        let _ = serde_json::from_slice::<ImageConfiguration>(content);
    }
    let dir = scratch();
    let path = bundle.write(dir.path());
    let platform = bundle
        .platform
        .as_deref()
        .and_then(|p| parse_platform(p).ok());
    let Ok(image) = Image::open(&path, bundle.image.as_deref(), platform.as_ref()) else {
        return;
    };
    let _ = image.diff_ids_from_config();
    let stats = image.scan_each();
    let ok: Vec<_> = stats
        .iter()
        .filter_map(|s| s.as_ref().ok())
        .cloned()
        .collect();
    for (layer, s) in image.layers.iter().zip(&stats) {
        match s {
            Ok(s) => {
                let _ = Check::of_layer(layer, &s.measured, "");
            }
            Err(e) => {
                let _ = Check::of_failed_layer(layer, e);
                let _ = e.to_string();
            }
        }
    }
    if ok.len() == image.layers.len() {
        let _ = image.layer_checks(&ok);
        let sizes: Vec<u64> = ok.iter().map(|s| s.size).collect();
        let history = image.config.history().clone().unwrap_or_default();
        let mut ids = vec![image.config_digest.clone()];
        ids.extend(image.parent_ids.iter().cloned());
        let _ = strata::history::align(&history, &sizes, &ids, false);
    }
});
