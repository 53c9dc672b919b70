use super::KINDS;

/// The JSON contract lists every kind a finding can have.
#[test]
fn every_kind_is_documented() {
    let readme = include_str!("../../../README.md");
    for (kind, _) in KINDS {
        assert!(
            readme.contains(&format!("`{kind}`")),
            "README lacks `{kind}`"
        );
    }
}
