//! `inspect` shows the image, not only its layers: the runtime config (text block and JSON
//! `image.config` in the OCI names), the OS version, and the annotations of the manifest and of
//! the index entry naming it.

use serde_json::json;

use crate::common::image::{assemble, step, ImageSpec};
use crate::common::layer::{build_layer, sized_entries, Compression, LayerSpec};
use crate::common::layouts::{
    add_image_with_manifest, index_value, manifest_value, oci_items, Blobs,
};
use crate::common::tarball::items_to_tar;
use crate::common::{run, run_json, Fixture};

/// An OCI layout whose config sets every runtime field and whose manifest and index entry
/// carry annotations.
fn configured() -> Fixture {
    let spec = ImageSpec::new(
        "configured:1",
        vec![LayerSpec::new(
            sized_entries("app", "bin", 10),
            Compression::Gzip,
        )],
        vec![step("2023-05-01T12:00:00Z", "COPY app /app")],
    );
    let mut layers: Vec<_> = spec.layers.iter().map(build_layer).collect();
    let config = json!({
        "architecture": "amd64", "os": "windows", "os.version": "10.0.17763.1",
        "created": "2023-05-01T12:00:00Z",
        "config": {
            "User": "app", "WorkingDir": "/app", "Env": ["PATH=/bin", "MODE=prod"],
            "Entrypoint": ["/app/bin"], "Cmd": ["--serve"],
            "ExposedPorts": {"8080/tcp": {}}, "Volumes": {"/data": {}},
            "Labels": {"maintainer": "ops"}, "StopSignal": "SIGINT",
            "Healthcheck": {"Test": ["CMD", "/app/bin", "--check"], "Interval": 10_000_000_000u64, "Retries": 2}
        },
        "rootfs": {"type": "layers", "diff_ids": [layers[0].expect.diff_id]},
        "history": [{"created": "2023-05-01T12:00:00Z", "created_by": "COPY app /app"}]
    });
    let mut img = assemble(&spec, serde_json::to_vec(&config).unwrap(), &mut layers);
    let mut manifest = manifest_value(&img);
    manifest["annotations"] = json!({"org.opencontainers.image.source": "https://example.com/app"});
    let mut blobs = Blobs::new();
    let mut desc = add_image_with_manifest(&mut blobs, &mut img, manifest);
    desc["annotations"] = json!({"org.opencontainers.image.ref.name": "configured:1"});
    Fixture::new_file(
        "configured.tar",
        &items_to_tar(&oci_items(&blobs, &index_value(vec![desc]))),
        "oci-layout",
        vec![img.expect],
    )
}

#[test]
fn json_has_the_config_in_oci_names_os_version_and_annotations() {
    let fx = configured();
    let v = run_json(args!["inspect", fx.arg(), "--json"]);
    let img = &v["image"];
    assert_eq!(
        img["config"],
        json!({
            "User": "app", "WorkingDir": "/app", "Env": ["PATH=/bin", "MODE=prod"],
            "Entrypoint": ["/app/bin"], "Cmd": ["--serve"],
            "ExposedPorts": {"8080/tcp": {}}, "Volumes": {"/data": {}},
            "Labels": {"maintainer": "ops"}, "StopSignal": "SIGINT",
            "Healthcheck": {"Test": ["CMD", "/app/bin", "--check"], "Interval": 10_000_000_000u64, "Retries": 2}
        })
    );
    assert_eq!(img["os_version"], "10.0.17763.1");
    assert_eq!(
        img["annotations"],
        json!({
            "manifest": {"org.opencontainers.image.source": "https://example.com/app"},
            "index": {"org.opencontainers.image.ref.name": "configured:1"}
        })
    );
}

#[test]
fn text_has_a_compact_config_block() {
    let fx = configured();
    let r = run(args!["inspect", fx.arg()]);
    assert_eq!(r.code, 0, "{r}");
    let want = "Platform: windows/amd64 (os.version 10.0.17763.1)\n";
    assert!(r.stdout.contains(want), "{r}");
    let want = "Config:\n\
                \x20 Entrypoint:  [\"/app/bin\"]\n\
                \x20 Cmd:         [\"--serve\"]\n\
                \x20 Env:         PATH=/bin\n\
                \x20              MODE=prod\n\
                \x20 WorkingDir:  /app\n\
                \x20 User:        app\n\
                \x20 Ports:       8080/tcp\n\
                \x20 Volumes:     /data\n\
                \x20 Labels:      maintainer=ops\n\
                \x20 StopSignal:  SIGINT\n\
                \x20 Healthcheck: CMD /app/bin --check (interval 10s, retries 2)\n\
                Annotations:\n\
                \x20 manifest:    org.opencontainers.image.source=https://example.com/app\n\
                \x20 index:       org.opencontainers.image.ref.name=configured:1\n";
    assert!(r.stdout.contains(want), "{r}");
}
