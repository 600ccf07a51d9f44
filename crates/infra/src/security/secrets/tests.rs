use chrono::Utc;
use domain::endpoints::{EndpointHeaders, HttpMethod};

use super::*;

const A: [u8; KEY_LEN] = [7; KEY_LEN];
const B: [u8; KEY_LEN] = [9; KEY_LEN];

fn ring(primary: &str, keys: &[(&str, [u8; KEY_LEN])]) -> Keyring {
    Keyring::new(primary, keys.iter().map(|(id, k)| ((*id).to_owned(), *k))).unwrap()
}

fn endpoint(sealed: Option<SealedSecret>, org: OrganizationId, id: EndpointId) -> Endpoint {
    let now = Utc::now();
    Endpoint {
        id,
        organization_id: org,
        name: "Hook".into(),
        url: "https://example.com".into(),
        method: HttpMethod::Post,
        headers: EndpointHeaders::default(),
        sealed_secret: sealed,
        secret_hint: None,
        created_at: now,
        updated_at: now,
    }
}

#[test]
fn a_sealed_secret_names_its_key_and_opens_with_the_same_identity() {
    let keys = ring("a", &[("a", A)]);
    let sealed = keys
        .seal(b"sk_live_123", b"endpoints|secret|ept_1|org_1")
        .unwrap();
    assert!(sealed.starts_with("v1:a:"), "{sealed}");
    assert!(!sealed.contains("sk_live"));
    let again = keys
        .seal(b"sk_live_123", b"endpoints|secret|ept_1|org_1")
        .unwrap();
    assert_ne!(sealed, again, "every seal draws a fresh nonce");
    let opened = keys.open(&sealed, b"endpoints|secret|ept_1|org_1").unwrap();
    assert_eq!(opened.as_slice(), b"sk_live_123");
}

#[test]
fn another_identity_a_changed_byte_or_another_key_does_not_open() {
    let keys = ring("a", &[("a", A)]);
    let sealed = keys
        .seal(b"sk_live_123", b"endpoints|secret|ept_1|org_1")
        .unwrap();
    for aad in [
        b"endpoints|secret|ept_2|org_1".as_slice(),
        b"endpoints|secret|ept_1|org_2",
        b"webhooks|secret|ept_1|org_1",
    ] {
        assert_eq!(
            keys.open(&sealed, aad),
            Err(SecretError::Undecryptable { key_id: "a".into() })
        );
    }
    let mut body = STANDARD.decode(sealed.rsplit(':').next().unwrap()).unwrap();
    let last = body.len() - 1;
    body[last] ^= 1;
    let tampered = format!("v1:a:{}", STANDARD.encode(body));
    assert_eq!(
        keys.open(&tampered, b"endpoints|secret|ept_1|org_1"),
        Err(SecretError::Undecryptable { key_id: "a".into() })
    );
    let same_id_other_bytes = ring("a", &[("a", B)]);
    assert!(matches!(
        same_id_other_bytes.open(&sealed, b"endpoints|secret|ept_1|org_1"),
        Err(SecretError::Undecryptable { .. })
    ));
    let without_a = ring("b", &[("b", B)]);
    assert_eq!(
        without_a.open(&sealed, b"endpoints|secret|ept_1|org_1"),
        Err(SecretError::UnknownKey { key_id: "a".into() })
    );
}

#[test]
fn malformed_values_are_told_apart() {
    let keys = ring("a", &[("a", A)]);
    for bad in [
        "",
        "plain",
        "v2:a:AAAA",
        "v1::AAAA",
        "v1:a:",
        "v1:a:!!!",
        "v1:a:AAAA",
    ] {
        assert_eq!(keys.open(bad, b""), Err(SecretError::Malformed), "{bad}");
    }
}

#[test]
fn after_rotation_old_values_open_and_new_ones_use_the_primary() {
    let old = ring("a", &[("a", A)]);
    let sealed = old.seal(b"s", b"x").unwrap();
    let rotated = ring("b", &[("a", A), ("b", B)]);
    assert!(!rotated.is_under_primary(&sealed));
    assert_eq!(rotated.open(&sealed, b"x").unwrap().as_slice(), b"s");
    let fresh = rotated.seal(b"s", b"x").unwrap();
    assert!(fresh.starts_with("v1:b:") && rotated.is_under_primary(&fresh));
}

#[test]
fn an_endpoint_s_secret_is_bound_to_its_row_and_organization() {
    let keys = ring("a", &[("a", A)]);
    let (org, id) = (OrganizationId::new(), EndpointId::new());
    let secret = EndpointSecret::parse("sk_live_abcdefghijkl").unwrap();
    let sealed = seal_endpoint_secret(&keys, org, id, &secret).unwrap();
    let revealed = reveal(&keys, &endpoint(Some(sealed.clone()), org, id)).unwrap();
    assert_eq!(revealed.unwrap().expose(), "sk_live_abcdefghijkl");
    assert_eq!(reveal(&keys, &endpoint(None, org, id)).unwrap(), None);
    for (other_org, other_id) in [(org, EndpointId::new()), (OrganizationId::new(), id)] {
        let moved = endpoint(Some(sealed.clone()), other_org, other_id);
        assert!(matches!(
            reveal(&keys, &moved),
            Err(SecretError::Undecryptable { .. })
        ));
    }
    let rotated = ring("b", &[("a", A), ("b", B)]);
    let resealed = reseal_endpoint_secret(&rotated, &endpoint(Some(sealed), org, id))
        .unwrap()
        .unwrap();
    assert!(resealed.as_str().starts_with("v1:b:"));
    let only_b = ring("b", &[("b", B)]);
    let revealed = reveal(&only_b, &endpoint(Some(resealed), org, id)).unwrap();
    assert_eq!(revealed.unwrap().expose(), "sk_live_abcdefghijkl");
}

#[test]
fn debug_shows_key_ids_never_keys() {
    let keys = ring("a", &[("a", A), ("b", B)]);
    let shown = format!("{keys:?}");
    assert!(
        shown.contains("\"a\"") && shown.contains("\"b\""),
        "{shown}"
    );
    assert!(!shown.contains(&STANDARD.encode(A)), "{shown}");
    assert!(!shown.contains("7, 7"), "{shown}");
}

fn scratch_file() -> std::path::PathBuf {
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).unwrap();
    std::env::temp_dir()
        .join(format!("groundwork-keyring-{}", u64::from_le_bytes(tag)))
        .join("secrets.key")
}

#[test]
fn without_keys_development_generates_one_private_key_and_reuses_it() {
    let path = scratch_file();
    let settings = SecretsSettings {
        generated_key_file: path.clone(),
        ..SecretsSettings::default()
    };
    let first = Keyring::from_settings(&settings, false).unwrap();
    assert_eq!(first.primary_id(), GENERATED_KEY_ID);
    let sealed = first.seal(b"s", b"x").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let second = Keyring::from_settings(&settings, false).unwrap();
    assert_eq!(second.open(&sealed, b"x").unwrap().as_slice(), b"s");
    std::fs::write(&path, "not a key").unwrap();
    assert!(matches!(
        Keyring::from_settings(&settings, false),
        Err(KeyringError::KeyFile { .. })
    ));
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn production_refuses_to_start_without_keys() {
    let path = scratch_file();
    let settings = SecretsSettings {
        generated_key_file: path.clone(),
        ..SecretsSettings::default()
    };
    let err = Keyring::from_settings(&settings, true).unwrap_err();
    assert!(matches!(err, KeyringError::MissingInProduction));
    assert!(err.to_string().contains("secrets.keys"), "{err}");
    assert!(!path.exists(), "production never generates a key");
}

#[test]
fn configured_keys_build_the_ring() {
    let settings = SecretsSettings {
        keys: [("a", A), ("b", B)]
            .into_iter()
            .map(|(id, k)| (id.to_owned(), STANDARD.encode(k)))
            .collect(),
        primary: Some("b".into()),
        ..SecretsSettings::default()
    };
    let keys = Keyring::from_settings(&settings, true).unwrap();
    assert_eq!(keys.primary_id(), "b");
    assert_eq!(keys.key_ids().collect::<Vec<_>>(), ["a", "b"]);
    assert!(!valid_key_id("B") && !valid_key_id("a:b") && !valid_key_id(""));
    assert!(valid_key_id("key_2025-01"));
}
