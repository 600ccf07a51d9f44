//! The dependency direction `api -> app -> infra -> domain`: `domain` depends on
//! no database or web crate, `infra` on no web crate and no use case, `app` on no
//! web crate.

use std::path::Path;

/// The names in a manifest's `[dependencies]` table.
fn dependencies(crate_dir: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("Cargo.toml");
    let manifest =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    manifest
        .lines()
        .skip_while(|line| line.trim() != "[dependencies]")
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('['))
        .filter_map(|line| line.split(['=', '.']).next())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty() && !name.starts_with('#'))
        .collect()
}

fn assert_none_of(crate_dir: &str, forbidden: &[&str]) {
    let deps = dependencies(crate_dir);
    assert!(
        !deps.is_empty(),
        "{crate_dir} lists no dependencies: the parser is broken"
    );
    for dep in &deps {
        assert!(
            !forbidden.iter().any(|f| dep.starts_with(f)),
            "{crate_dir} depends on {dep}"
        );
    }
}

#[test]
fn domain_depends_on_no_database_or_web_crate() {
    assert_none_of(
        "crates/domain",
        &[
            "sea-orm",
            "sea-query",
            "sqlx",
            "actix",
            "awc",
            "tokio",
            "hyper",
            "infra",
            "app",
            "seed",
            "api",
            "migration",
        ],
    );
}

#[test]
fn infra_depends_on_no_web_crate() {
    assert_none_of(
        "crates/infra",
        &["actix", "awc", "hyper", "utoipa", "app", "seed", "api"],
    );
}

#[test]
fn app_depends_on_no_web_crate() {
    assert_none_of(
        "crates/app",
        &["actix", "awc", "hyper", "utoipa", "seed", "api"],
    );
}
