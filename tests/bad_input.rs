//! Every broken input: exit 2, one `error:` line naming the archive (then only `caused by:`
//! lines), never a panic — for each subcommand that opens archives.

use crate::common;

use crate::common::malformed;
use crate::common::{assert_clean_error, run, Fixture};

fn refused_everywhere(fx: &Fixture) {
    let name = fx.file_name();
    for cmd in [
        &["inspect", "--json"][..],
        &["inspect"],
        &["history"],
        &["verify"],
    ] {
        let mut a: Vec<&std::ffi::OsStr> = vec![cmd[0].as_ref(), fx.arg().as_os_str()];
        a.extend(cmd[1..].iter().map(std::ffi::OsStr::new));
        let r = run(&a);
        assert_clean_error(&r, &name);
    }
}

#[test]
fn random_bytes() {
    refused_everywhere(&malformed::not_a_tar());
}

#[test]
fn empty_file() {
    refused_everywhere(&malformed::empty_file());
}

#[test]
fn truncated_in_the_middle_of_a_layer() {
    refused_everywhere(&malformed::truncated());
}

#[test]
fn neither_manifest_json_nor_index_json() {
    refused_everywhere(&malformed::no_manifest());
}

#[test]
fn config_blob_missing() {
    refused_everywhere(&malformed::missing_config());
}

#[test]
fn layer_blob_missing() {
    refused_everywhere(&malformed::missing_layer());
}

#[test]
fn manifest_json_not_json() {
    refused_everywhere(&malformed::manifest_not_json());
}

#[test]
fn config_not_json() {
    refused_everywhere(&malformed::config_not_json());
}

#[test]
fn layer_path_escaping_the_archive() {
    refused_everywhere(&malformed::layer_path_escape());
}

#[test]
fn helm_chart_artifact_is_not_an_image() {
    refused_everywhere(&malformed::helm_chart());
}

#[test]
fn index_without_the_host_platform() {
    refused_everywhere(&malformed::no_host_platform());
}

#[test]
fn index_without_the_requested_platform() {
    let fx = common::fixtures::multi_platform();
    let r = run(args![
        "inspect",
        fx.arg(),
        "--platform",
        "linux/riscv64",
        "--json"
    ]);
    assert_clean_error(&r, &fx.file_name());
    let fx = malformed::no_host_platform();
    let r = run(args!["history", fx.arg(), "--platform", "linux/arm64/v8"]);
    assert_clean_error(&r, &fx.file_name());
}

#[test]
fn nonexistent_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("no-such-image.tar");
    let r = run(args!["inspect", p, "--json"]);
    assert_clean_error(&r, "no-such-image.tar");
}

#[test]
fn empty_directory_is_not_a_layout() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty-layout");
    std::fs::create_dir(&p).unwrap();
    let r = run(args!["inspect", p, "--json"]);
    assert_clean_error(&r, "empty-layout");
}

#[test]
fn random_bytes_on_stdin() {
    let fx = malformed::not_a_tar();
    let r = common::run_with_stdin(args!["inspect", "-", "--json"], Some(fx.bytes()));
    assert_eq!(r.code, 2, "{r}");
    assert!(!r.stderr.contains("panicked"), "{r}");
    assert_eq!(
        r.stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{r}"
    );
}

#[test]
fn bad_platform_syntax() {
    let fx = common::fixtures::multi_platform();
    let r = run(args!["inspect", fx.arg(), "--platform", "linux", "--json"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(!r.stderr.contains("panicked"), "{r}");
}

#[test]
fn error_messages_carry_no_raw_binary() {
    // Archive content ends up in messages (names, parser complaints); it must be escaped so a
    // hostile archive cannot write control sequences or invalid UTF-8 to the terminal.
    let mut offenders = Vec::new();
    for fx in [
        malformed::not_a_tar(),
        malformed::truncated(),
        malformed::no_manifest(),
        malformed::manifest_not_json(),
        malformed::config_not_json(),
        malformed::layer_path_escape(),
        malformed::helm_chart(),
    ] {
        let r = run(args!["inspect", fx.arg(), "--json"]);
        let text = std::str::from_utf8(&r.stderr_bytes);
        let clean =
            text.is_ok_and(|t| !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
        if !clean {
            offenders.push(format!(
                "{}: {:?}",
                fx.file_name(),
                String::from_utf8_lossy(&r.stderr_bytes)
            ));
        }
    }
    assert!(
        offenders.is_empty(),
        "raw bytes on stderr:\n{}",
        offenders.join("\n")
    );
}

/// An xz layer (Docker never wrote one, some tools do) is refused by every command for what it
/// is — an unsupported compression — and not as a corrupt tar (extract and the explore commands
/// read layers through another pipeline than inspect, which lost the error's type).
#[test]
fn an_xz_layer_is_an_unsupported_compression_everywhere() {
    use crate::common::layer::{Compression, LayerSpec};
    use crate::common::sandbox::{image_of, Format};
    let mut xz = vec![0xfd, b'7', b'z', b'X', b'Z', 0x00];
    xz.extend(std::iter::repeat(0x5a).take(600));
    let fx = image_of(
        "xz-layer.tar",
        vec![LayerSpec::from_tar(xz, Compression::None)],
        Format::Oci,
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("dest");
    let archive = fx.arg();
    let cases: Vec<Vec<&std::ffi::OsStr>> = vec![
        vec!["inspect".as_ref(), archive.as_os_str()],
        vec!["verify".as_ref(), archive.as_os_str()],
        vec!["extract".as_ref(), archive.as_os_str(), dest.as_os_str()],
        vec!["ls".as_ref(), archive.as_os_str()],
        vec!["diff".as_ref(), archive.as_os_str()],
        vec!["waste".as_ref(), archive.as_os_str()],
    ];
    for a in cases {
        let r = run(&a);
        let line = r
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("");
        let all = format!("{line} {}", r.stderr);
        assert!(
            all.contains("xz-compressed layers are not supported") && !line.contains("corrupt"),
            "{:?}: {r}",
            a[0]
        );
        assert_ne!(r.code, 0, "{:?}: {r}", a[0]);
    }
    assert!(!dest.exists(), "nothing left behind");
}
