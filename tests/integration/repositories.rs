//! Soft delete, restore, purge, constraint-name error mapping and units of work,
//! through the repositories, on real databases.

use chrono::{Duration, Utc};
use domain::error::ConflictKind;
use domain::{
    DomainError, Email, MemberRole, NewMember, NewOrganization, OrganizationId, PersonName,
    PlanKey, Slug, UserId,
};
use groundwork_tests::fixtures::new_user;
use groundwork_tests::on_both_databases;
use groundwork_tests::{Backend, TestDb};
use infra::Database;
use infra::repositories::{
    ClientInfo, MemberRepository, OrganizationRepository, SessionRepository, UserRepository,
};

async fn database(backend: Backend) -> (TestDb, Database) {
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;
    (db, Database::from_connection(conn))
}

fn new_org(slug: &str) -> NewOrganization {
    NewOrganization {
        name: PersonName::parse("Acme").unwrap(),
        slug: Slug::parse(slug).unwrap(),
        plan: PlanKey::free(),
    }
}

fn conflict_of(
    result: Result<impl std::fmt::Debug, DomainError>,
) -> (ConflictKind, &'static str, &'static str) {
    match result {
        Err(DomainError::Conflict(c)) => (c.kind, c.field, c.code),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn is_not_found(result: &Result<impl std::fmt::Debug, DomainError>) -> bool {
    matches!(result, Err(DomainError::NotFound { .. }))
}

async fn a_soft_deleted_row_is_hidden_from_default_reads(backend: Backend) {
    let (_db, database) = database(backend).await;
    let users = UserRepository::new(database.conn());
    let user = users.insert(new_user("ada@example.com")).await.unwrap();

    users.soft_delete(user.id).await.unwrap();

    assert!(is_not_found(&users.find(user.id).await));
    assert!(is_not_found(&users.find_by_email(&user.email).await));
    let with_deleted = users.find_with_deleted(user.id).await.unwrap();
    assert!(with_deleted.deleted_at.is_some());
    let only_deleted = users.only_deleted().await.unwrap();
    assert_eq!(
        only_deleted.iter().map(|u| u.id).collect::<Vec<_>>(),
        [user.id]
    );
    assert!(
        is_not_found(&users.soft_delete(user.id).await),
        "deleting twice"
    );
}

async fn a_restored_row_is_live_again(backend: Backend) {
    let (_db, database) = database(backend).await;
    let orgs = OrganizationRepository::new(database.conn());
    let org = orgs.insert(new_org("acme")).await.unwrap();
    orgs.soft_delete(org.id).await.unwrap();

    let restored = orgs.restore(org.id).await.unwrap();

    assert_eq!(restored.id, org.id);
    assert_eq!(restored.deleted_at, None);
    assert_eq!(orgs.find(org.id).await.unwrap().slug.as_str(), "acme");
    assert!(orgs.only_deleted().await.unwrap().is_empty());
    assert!(
        is_not_found(&orgs.restore(org.id).await),
        "restoring a live row"
    );
    assert!(
        is_not_found(&orgs.restore(OrganizationId::new()).await),
        "restoring nothing"
    );
}

async fn a_deleted_unique_value_can_be_reused_and_then_blocks_restore(backend: Backend) {
    let (_db, database) = database(backend).await;
    let users = UserRepository::new(database.conn());
    let orgs = OrganizationRepository::new(database.conn());
    let old_user = users.insert(new_user("ada@example.com")).await.unwrap();
    let old_org = orgs.insert(new_org("acme")).await.unwrap();
    users.soft_delete(old_user.id).await.unwrap();
    orgs.soft_delete(old_org.id).await.unwrap();

    let new_user_row = users.insert(new_user("ada@example.com")).await;
    let new_org_row = orgs.insert(new_org("acme")).await;

    assert!(
        new_user_row.is_ok(),
        "a deleted email is free again: {new_user_row:?}"
    );
    assert!(
        new_org_row.is_ok(),
        "a deleted slug is free again: {new_org_row:?}"
    );
    assert_eq!(
        conflict_of(users.restore(old_user.id).await),
        (ConflictKind::Unique, "email", "EMAIL_TAKEN")
    );
    assert_eq!(
        conflict_of(orgs.restore(old_org.id).await),
        (ConflictKind::Unique, "slug", "SLUG_TAKEN")
    );
    assert!(
        users
            .find_with_deleted(old_user.id)
            .await
            .unwrap()
            .deleted_at
            .is_some(),
        "still deleted"
    );
}

async fn purge_removes_only_rows_deleted_before_the_cutoff(backend: Backend) {
    let (_db, database) = database(backend).await;
    let users = UserRepository::new(database.conn());
    let live = users.insert(new_user("live@example.com")).await.unwrap();
    let deleted = users.insert(new_user("gone@example.com")).await.unwrap();
    users.soft_delete(deleted.id).await.unwrap();

    let none = users
        .purge_deleted_before(Utc::now() - Duration::hours(1))
        .await
        .unwrap();
    let purged = users
        .purge_deleted_before(Utc::now() + Duration::seconds(1))
        .await
        .unwrap();

    assert_eq!(none, 0, "nothing was deleted an hour ago");
    assert_eq!(purged, 1);
    assert!(is_not_found(&users.find_with_deleted(deleted.id).await));
    assert!(
        users.find(live.id).await.is_ok(),
        "live rows are never purged"
    );
}

async fn unique_violations_name_the_field(backend: Backend) {
    let (_db, database) = database(backend).await;
    let users = UserRepository::new(database.conn());
    let orgs = OrganizationRepository::new(database.conn());
    let members = MemberRepository::new(database.conn());
    let user = users.insert(new_user("ada@example.com")).await.unwrap();
    let org = orgs.insert(new_org("acme")).await.unwrap();
    let membership = NewMember {
        organization_id: org.id,
        user_id: user.id,
        role: MemberRole::Owner,
    };
    members.insert(membership.clone()).await.unwrap();

    assert_eq!(
        conflict_of(users.insert(new_user("ADA@example.com")).await),
        (ConflictKind::Unique, "email", "EMAIL_TAKEN")
    );
    assert_eq!(
        conflict_of(orgs.insert(new_org("acme")).await),
        (ConflictKind::Unique, "slug", "SLUG_TAKEN")
    );
    assert_eq!(
        conflict_of(members.insert(membership).await),
        (ConflictKind::Unique, "userId", "ALREADY_MEMBER")
    );
}

async fn foreign_key_violations_name_the_missing_reference(backend: Backend) {
    let (_db, database) = database(backend).await;
    let users = UserRepository::new(database.conn());
    let orgs = OrganizationRepository::new(database.conn());
    let members = MemberRepository::new(database.conn());
    let user = users.insert(new_user("ada@example.com")).await.unwrap();
    let org = orgs.insert(new_org("acme")).await.unwrap();

    let no_org = members
        .insert(NewMember {
            organization_id: OrganizationId::new(),
            user_id: user.id,
            role: MemberRole::Member,
        })
        .await;
    let no_user = members
        .insert(NewMember {
            organization_id: org.id,
            user_id: UserId::new(),
            role: MemberRole::Member,
        })
        .await;

    assert_eq!(
        conflict_of(no_org),
        (
            ConflictKind::MissingReference,
            "organizationId",
            "ORGANIZATION_NOT_FOUND"
        )
    );
    assert_eq!(
        conflict_of(no_user),
        (ConflictKind::MissingReference, "userId", "USER_NOT_FOUND")
    );
}

async fn a_unit_of_work_spans_repositories_and_rolls_back_as_one(backend: Backend) {
    let (_db, database) = database(backend).await;
    let owner = UserRepository::new(database.conn())
        .insert(new_user("owner@example.com"))
        .await
        .unwrap();

    // A unit of work whose last step fails: nothing of it remains.
    let uow = database.begin().await.unwrap();
    let org = OrganizationRepository::new(uow.conn())
        .insert(new_org("acme"))
        .await
        .unwrap();
    MemberRepository::new(uow.conn())
        .insert(NewMember {
            organization_id: org.id,
            user_id: owner.id,
            role: MemberRole::Owner,
        })
        .await
        .unwrap();
    let late = UserRepository::new(uow.conn())
        .insert(new_user("owner@example.com"))
        .await;
    assert!(late.is_err(), "the late step must fail");
    drop(uow);

    assert!(is_not_found(
        &OrganizationRepository::new(database.conn())
            .find(org.id)
            .await
    ));

    // The same unit of work, committed: all of it is there.
    let uow = database.begin().await.unwrap();
    let org = OrganizationRepository::new(uow.conn())
        .insert(new_org("acme"))
        .await
        .unwrap();
    let member = MemberRepository::new(uow.conn())
        .insert(NewMember {
            organization_id: org.id,
            user_id: owner.id,
            role: MemberRole::Owner,
        })
        .await
        .unwrap();
    uow.commit().await.unwrap();

    assert!(
        OrganizationRepository::new(database.conn())
            .find(org.id)
            .await
            .is_ok()
    );
    assert_eq!(
        MemberRepository::new(database.conn())
            .find(member.id)
            .await
            .unwrap()
            .role,
        MemberRole::Owner
    );
}

/// The read that authenticates an organization read: the session, its user and
/// the user's membership there, in one statement. Every way of not being in the
/// organization still finds the session, with no membership.
async fn a_session_is_read_with_its_membership_in_one_organization(backend: Backend) {
    // Arrange: Ada is a member of acme; of beta she was, and beta's organization
    // is deleted; gamma she never joined; of delta she left.
    let (_db, database) = database(backend).await;
    let now = Utc::now();
    let conn = database.conn();
    let ada = UserRepository::new(conn)
        .insert(new_user("ada@example.com"))
        .await
        .unwrap();
    let orgs = OrganizationRepository::new(conn);
    let members = MemberRepository::new(conn);
    let join = async |slug| {
        let org = orgs.insert(new_org(slug)).await.unwrap();
        let member = members
            .insert(NewMember {
                organization_id: org.id,
                user_id: ada.id,
                role: MemberRole::Admin,
            })
            .await
            .unwrap();
        (org, member)
    };
    let (acme, acme_member) = join("acme").await;
    let (beta, _) = join("beta").await;
    let (delta, delta_member) = join("delta").await;
    let gamma = orgs.insert(new_org("gamma")).await.unwrap();
    orgs.soft_delete(beta.id).await.unwrap();
    members.soft_delete(delta_member.id).await.unwrap();
    let sessions = SessionRepository::at(conn, now);
    let session = sessions
        .create(
            ada.id,
            "hash-of-ada".to_owned(),
            ClientInfo::default(),
            &Default::default(),
        )
        .await
        .unwrap();
    let find = |org: OrganizationId| sessions.find_with_user_and_membership("hash-of-ada", org);

    // Act + Assert
    let acme_id = acme.id;
    let (found, user, membership) = find(acme_id).await.unwrap().expect("the session");
    assert_eq!((found.id, user.id), (session.id, ada.id));
    let (org, member) = membership.expect("Ada's membership of acme");
    assert_eq!((org, member), (acme, acme_member));
    for (why, org) in [
        ("a deleted organization", beta.id),
        ("an organization never joined", gamma.id),
        ("a membership that ended", delta.id),
        ("an organization that does not exist", OrganizationId::new()),
    ] {
        let (found, _, membership) = find(org).await.unwrap().expect("the session");
        assert_eq!(found.id, session.id, "{why}");
        assert!(membership.is_none(), "{why}: {membership:?}");
    }
    assert!(
        sessions
            .find_with_user_and_membership("no-such-hash", acme_id)
            .await
            .unwrap()
            .is_none()
    );
}

on_both_databases!(
    a_session_is_read_with_its_membership_in_one_organization,
    a_soft_deleted_row_is_hidden_from_default_reads,
    a_restored_row_is_live_again,
    a_deleted_unique_value_can_be_reused_and_then_blocks_restore,
    purge_removes_only_rows_deleted_before_the_cutoff,
    unique_violations_name_the_field,
    foreign_key_violations_name_the_missing_reference,
    a_unit_of_work_spans_repositories_and_rolls_back_as_one,
);

/// A writer that waits out SQLite's busy timeout is told "unavailable" (503),
/// not "internal error" (500): the condition is transient.
#[actix_web::test]
async fn a_write_blocked_past_the_sqlite_busy_timeout_is_unavailable() {
    use migration::sea_orm_migration::sea_orm::{
        ConnectOptions, ConnectionTrait, TransactionTrait,
    };

    let db = TestDb::migrated(Backend::Sqlite).await;
    let holder = db.connect().await;
    let lock = holder.begin().await.unwrap();
    lock.execute_unprepared(
        "INSERT INTO waitlist_entries (email, role) VALUES ('held@example.com', 'employee')",
    )
    .await
    .unwrap();
    let mut options = ConnectOptions::new(db.url().to_owned());
    options.map_sqlx_sqlite_opts(|o| o.busy_timeout(std::time::Duration::from_millis(100)));
    let impatient = sea_orm::Database::connect(options).await.unwrap();

    let result = infra::repositories::WaitlistRepository::new(&impatient)
        .add(domain::NewWaitlistEntry {
            email: Email::parse("blocked@example.com").unwrap(),
            role: domain::WaitlistRole::Employee,
        })
        .await;

    assert!(
        matches!(result, Err(DomainError::Unavailable)),
        "{result:?}"
    );
    lock.rollback().await.unwrap();
}
