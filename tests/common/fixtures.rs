//! The named fixture variants. Each builds its archive into a fresh temporary directory and
//! returns a [`Fixture`] holding the expectations computed while building.

use serde_json::json;

use super::image::{build_image, empty_step, standard_spec, step, BuiltImage, HistSpec, ImageSpec};
use super::layer::{gzip, rich_entries, sized_entries, zstd, Compression, LayerSpec};
use super::layouts::{
    add_image, docker25_items, docker_legacy_items, index_value, oci_items, put_blob,
    ref_annotation, Blobs, LegacyOpts, OCI_INDEX,
};
use super::tarball::{items_to_tar, Entry};
use super::{Fixture, Platform};

const NONE3: [Compression; 3] = [Compression::None; 3];

pub fn legacy_bytes(images: &[BuiltImage], opts: LegacyOpts) -> Vec<u8> {
    items_to_tar(&docker_legacy_items(images, opts))
}

fn expects(images: &[BuiltImage]) -> Vec<super::ImageExpect> {
    images.iter().map(|i| i.expect.clone()).collect()
}

/// Legacy `docker save`: three uncompressed layers, history with empty-layer steps.
pub fn legacy() -> Fixture {
    let img = build_image(&standard_spec("strata-test:legacy", NONE3));
    let bytes = legacy_bytes(std::slice::from_ref(&img), LegacyOpts::default());
    Fixture::new_file("legacy.tar", &bytes, "docker-save", vec![img.expect])
}

/// Legacy `docker save` where layer 2 has the same bytes as layer 1 and is stored as a tar
/// symlink `../<id1>/layer.tar`, as docker dedupes identical layers.
pub fn legacy_dedupe() -> Fixture {
    let same = || LayerSpec::new(sized_entries("cache", "marker", 12), Compression::None);
    let spec = ImageSpec::new(
        "dedupe:latest",
        vec![
            LayerSpec::new(rich_entries("dedupe", false), Compression::None),
            same(),
            same(),
        ],
        vec![
            step(
                "2023-05-01T10:00:00Z",
                "/bin/sh -c #(nop) ADD file:feedface in / ",
            ),
            step(
                "2023-05-01T10:01:00Z",
                "RUN /bin/sh -c mkdir -p /cache && echo marker",
            ),
            empty_step("2023-05-01T10:01:30Z", "ENV A=1"),
            step(
                "2023-05-01T10:02:00Z",
                "RUN /bin/sh -c mkdir -p /cache && echo marker",
            ),
        ],
    );
    let img = build_image(&spec);
    assert_eq!(img.layers[1].expect.digest, img.layers[2].expect.digest);
    let bytes = legacy_bytes(
        std::slice::from_ref(&img),
        LegacyOpts {
            dedupe_symlink: true,
            ..Default::default()
        },
    );
    Fixture::new_file("dedupe.tar", &bytes, "docker-save", vec![img.expect])
}

/// Docker 25+ `docker save`: OCI layout + manifest.json, layers uncompressed at their diffID.
pub fn docker25() -> Fixture {
    let mut images = vec![build_image(&standard_spec("strata-test:v25", NONE3))];
    let items = docker25_items(&mut images);
    Fixture::new_file(
        "docker25.tar",
        &items_to_tar(&items),
        "docker-save+oci",
        expects(&images),
    )
}

/// One OCI image whose layers are gzip, zstd and uncompressed, referenced as `mixed:1.0`.
fn oci_mixed_items() -> (Vec<super::tarball::Item>, Vec<BuiltImage>) {
    let mut img = build_image(&standard_spec(
        "mixed:1.0",
        [Compression::Gzip, Compression::Zstd, Compression::None],
    ));
    let mut blobs = Blobs::new();
    let mut desc = add_image(&mut blobs, &mut img);
    ref_annotation(&mut desc, "mixed:1.0");
    (oci_items(&blobs, &index_value(vec![desc])), vec![img])
}

pub fn oci_dir_mixed() -> Fixture {
    let (items, images) = oci_mixed_items();
    Fixture::new_dir("mixed-layout", &items, "oci-layout", expects(&images))
}

pub fn oci_tar_mixed() -> Fixture {
    let (items, images) = oci_mixed_items();
    Fixture::new_file(
        "mixed-oci.tar",
        &items_to_tar(&items),
        "oci-layout",
        expects(&images),
    )
}

/// Builds a single-image OCI tar from `spec`, referenced by its first tag.
pub fn oci_tar_of(name: &str, spec: &ImageSpec) -> Fixture {
    let mut img = build_image(spec);
    let mut blobs = Blobs::new();
    let mut desc = add_image(&mut blobs, &mut img);
    ref_annotation(&mut desc, &spec.tags[0]);
    Fixture::new_file(
        name,
        &items_to_tar(&oci_items(&blobs, &index_value(vec![desc]))),
        "oci-layout",
        vec![img.expect],
    )
}

fn two_step_history() -> Vec<HistSpec> {
    vec![
        step("2023-05-01T09:00:00Z", "ADD rootfs.tar /"),
        empty_step("2023-05-01T09:00:01Z", "ENV X=1"),
        step("2023-05-01T09:10:00Z", "COPY . /srv"),
    ]
}

/// An uncompressed blob whose descriptor says tar+gzip: compression must be sniffed as none.
pub fn oci_mislabelled() -> Fixture {
    let spec = ImageSpec::new(
        "mislabelled:1",
        vec![
            LayerSpec::new(rich_entries("label", false), Compression::None)
                .labelled("application/vnd.oci.image.layer.v1.tar+gzip"),
            LayerSpec::new(sized_entries("srv", "index.html", 300), Compression::Gzip),
        ],
        two_step_history(),
    );
    oci_tar_of("mislabelled.tar", &spec)
}

/// An estargz-like layer: one gzip stream whose decompressed bytes are a tar followed by a
/// table of contents after the end-of-archive blocks. The diffID covers all of it.
pub fn estargz() -> Fixture {
    let toc = br#"{"version":1,"entries":[{"name":"srv/","type":"dir"},{"name":"srv/index.html","type":"reg","size":300}]}"#;
    let mut trailing = toc.to_vec();
    trailing.extend_from_slice(b"\0\0\0\0\0\0\0\0STARGZ-FOOTER");
    let spec = ImageSpec::new(
        "estargz:1",
        vec![
            LayerSpec::new(rich_entries("esgz", false), Compression::Gzip),
            LayerSpec::new(sized_entries("srv", "index.html", 300), Compression::Gzip)
                .with_trailing(&trailing),
        ],
        two_step_history(),
    );
    oci_tar_of("estargz.tar", &spec)
}

/// A gzip layer written as two concatenated gzip members.
pub fn multi_member_gzip() -> Fixture {
    let spec = ImageSpec::new(
        "multimember:1",
        vec![
            LayerSpec::new(rich_entries("mm", true), Compression::Gzip).multi_member(),
            LayerSpec::new(sized_entries("srv", "big.bin", 70_000), Compression::Gzip)
                .multi_member(),
        ],
        two_step_history(),
    );
    oci_tar_of("multimember.tar", &spec)
}

/// The legacy docker-save archive, itself compressed: `.tar.gz` or `.tar.zst`.
pub fn outer_compressed(c: Compression) -> Fixture {
    let img = build_image(&standard_spec("strata-test:outer", NONE3));
    let tar = legacy_bytes(std::slice::from_ref(&img), LegacyOpts::default());
    let (name, bytes) = match c {
        Compression::Gzip => ("outer.tar.gz", gzip(&tar)),
        Compression::Zstd => ("outer.tar.zst", zstd(&tar)),
        Compression::None => ("outer.tar", tar),
    };
    Fixture::new_file(name, &bytes, "docker-save", vec![img.expect])
}

/// Two images in one legacy docker-save, tagged `two:a` and `two:b`, sharing their base layer.
pub fn two_images_images() -> Vec<BuiltImage> {
    let base = || LayerSpec::new(rich_entries("shared-base", false), Compression::None);
    let a = ImageSpec::new(
        "two:a",
        vec![
            base(),
            LayerSpec::new(sized_entries("a", "a.txt", 100), Compression::None),
        ],
        vec![
            step("2023-05-01T08:00:00Z", "ADD base /"),
            empty_step("2023-05-01T08:00:01Z", "ENV V=a"),
            step("2023-05-01T08:05:00Z", "COPY a.txt /a/"),
        ],
    );
    let mut b = a.clone();
    b.tags = vec!["two:b".into()];
    b.layers[1] = LayerSpec::new(sized_entries("b", "b.txt", 2000), Compression::None);
    b.history = vec![
        step("2023-05-01T08:00:00Z", "ADD base /"),
        step("2023-05-01T08:06:00Z", "COPY b.txt /b/"),
    ];
    vec![build_image(&a), build_image(&b)]
}

pub fn two_images() -> Fixture {
    let images = two_images_images();
    assert_eq!(
        images[0].layers[0].expect.digest,
        images[1].layers[0].expect.digest
    );
    Fixture::new_file(
        "two.tar",
        &legacy_bytes(&images, LegacyOpts::default()),
        "docker-save",
        expects(&images),
    )
}

fn platform_image(p: Platform, salt: &str) -> BuiltImage {
    let mut spec = ImageSpec::new(
        "multi:latest",
        vec![
            LayerSpec::new(rich_entries(salt, false), Compression::Gzip),
            LayerSpec::new(
                sized_entries("opt", &format!("{salt}.bin"), 777),
                Compression::Gzip,
            ),
        ],
        two_step_history(),
    );
    spec.platform = p;
    build_image(&spec)
}

/// index.json → one nested image index (ref `multi:latest`) → per-platform manifests with the
/// platform in their descriptors. Images are in descriptor order.
pub fn multi_platform_with(platforms: &[Platform], name: &str) -> Fixture {
    let mut blobs = Blobs::new();
    let mut images = Vec::new();
    let mut descs = Vec::new();
    for p in platforms {
        let salt = format!(
            "{}-{}",
            p.architecture,
            p.variant.clone().unwrap_or_default()
        );
        let mut img = platform_image(p.clone(), &salt);
        let mut desc = add_image(&mut blobs, &mut img);
        let mut plat = json!({"os": p.os, "architecture": p.architecture});
        if let Some(v) = &p.variant {
            plat["variant"] = json!(v);
        }
        desc["platform"] = plat;
        descs.push(desc);
        images.push(img.expect);
    }
    let (d, n) = put_blob(&mut blobs, serde_json::to_vec(&index_value(descs)).unwrap());
    let mut top = json!({"mediaType": OCI_INDEX, "digest": d, "size": n});
    ref_annotation(&mut top, "multi:latest");
    let items = oci_items(&blobs, &index_value(vec![top]));
    Fixture::new_file(name, &items_to_tar(&items), "oci-layout", images)
}

/// [`multi_platform`] as Docker 25+ `docker save` names a multi-platform image of its
/// containerd store: the full name in `io.containerd.image.name` on the index.json entry (which
/// is the nested index), the tag alone as `ref.name`. Docker's containerd store loads it under
/// that name; a bare `ref.name` like `multi:latest` it keeps unreachable.
pub fn multi_platform_docker_named() -> Fixture {
    let fx = multi_platform();
    let bytes = fx.bytes();
    let mut ar = tar::Archive::new(&bytes[..]);
    let mut items = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if e.header().entry_type().is_dir() {
            items.push(super::tarball::Item::Dir(path));
            continue;
        }
        if path == "index.json" {
            let mut index: serde_json::Value = serde_json::from_slice(&data).unwrap();
            index["manifests"][0]["annotations"] = json!({
                "io.containerd.image.name": "docker.io/library/multi:latest",
                "org.opencontainers.image.ref.name": "latest",
            });
            data = serde_json::to_vec(&index).unwrap();
        }
        items.push(super::tarball::Item::File(path, data));
    }
    let mut images = fx.images.clone();
    for img in &mut images {
        img.tags = vec!["docker.io/library/multi:latest".into(), "latest".into()];
    }
    Fixture::new_file(
        "multi-named.tar",
        &items_to_tar(&items),
        "oci-layout",
        images,
    )
}

pub fn multi_platform() -> Fixture {
    multi_platform_with(
        &[
            Platform::linux("amd64", None),
            Platform::linux("arm64", Some("v8")),
        ],
        "multi.tar",
    )
}

/// The committed `testdata/hello.tar`: small, uncompressed (so its bytes do not depend on a
/// compressor version), legacy docker-save, history with an empty-layer step.
pub fn hello_image() -> BuiltImage {
    let spec = ImageSpec::new(
        "hello:latest",
        vec![
            LayerSpec::new(
                vec![
                    Entry::dir("bin"),
                    Entry::file("bin/hello", "#!/bin/sh\necho \"hello from strata\"\n"),
                    Entry::symlink("bin/hi", "hello"),
                    Entry::dir("etc"),
                    Entry::file("etc/hello.conf", "greeting=hello\n"),
                ],
                Compression::None,
            ),
            LayerSpec::new(
                vec![
                    Entry::dir("usr"),
                    Entry::dir("usr/share"),
                    Entry::file("usr/share/greeting.txt", "hello world\n"),
                ],
                Compression::None,
            ),
            LayerSpec::new(
                vec![
                    Entry::dir("etc"),
                    Entry::file("etc/.wh.hello.conf", Vec::new()),
                ],
                Compression::None,
            ),
        ],
        vec![
            step(
                "2023-05-01T11:00:00Z",
                "/bin/sh -c #(nop) ADD file:5a1e7a8c0ffee in / ",
            )
            .comment("base"),
            empty_step(
                "2023-05-01T11:00:01Z",
                "/bin/sh -c #(nop)  ENV GREETING=hello",
            ),
            step(
                "2023-05-01T11:10:00Z",
                "COPY greeting.txt /usr/share/greeting.txt # buildkit",
            ),
            step(
                "2023-05-01T11:20:00Z",
                "RUN /bin/sh -c rm /etc/hello.conf # buildkit",
            ),
            empty_step("2023-05-01T11:20:01Z", "CMD [\"/bin/hello\"]"),
        ],
    );
    build_image(&spec)
}

pub fn hello_bytes() -> Vec<u8> {
    legacy_bytes(&[hello_image()], LegacyOpts::default())
}

pub fn committed_hello_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/hello.tar")
}

/// History cells docker renders specially: times at/before 2000 and missing times (N/A), a
/// tab, wide characters at the truncation point, and CREATED BY of exactly 45 and 46 columns.
pub const CJK_CREATED_BY: &str =
    "LABEL desc=日本語の説明文がとても長いのでここで切り詰められるはずです";
pub const EXACTLY_45: &str = "RUN echo 012345678901234567890123456789012345";
pub const EXACTLY_46: &str = "RUN echo 0123456789012345678901234567890123456";

pub fn odd_history() -> Fixture {
    assert_eq!(EXACTLY_45.len(), 45);
    assert_eq!(EXACTLY_46.len(), 46);
    let spec = ImageSpec::new(
        "odd:history",
        vec![
            LayerSpec::new(sized_entries("a", "one", 1), Compression::None),
            LayerSpec::new(sized_entries("b", "big", 999_600), Compression::None),
            LayerSpec::new(
                sized_entries("c", "c", 63_900_000 / 1000),
                Compression::None,
            ),
        ],
        vec![
            step("1970-01-01T00:00:00Z", "ADD one /a/"),
            empty_step("1999-12-31T23:59:59Z", "/bin/sh -c echo\tdone"),
            step("2000-01-01T00:00:01Z", EXACTLY_45),
            empty_step("2001-02-03T04:05:06Z", CJK_CREATED_BY).no_created(),
            step("2010-06-15T08:00:00Z", EXACTLY_46).comment("a comment"),
        ],
    );
    let img = build_image(&spec);
    Fixture::new_file(
        "odd-history.tar",
        &legacy_bytes(std::slice::from_ref(&img), LegacyOpts::default()),
        "docker-save",
        vec![img.expect],
    )
}
