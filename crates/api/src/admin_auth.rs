//! [`AdminUser`]: the caller of a `/v1/admin/...` route, a signed-in platform admin.
//!
//! The check is an extractor (over [`Caller`]) so that it runs before any
//! handler code and reads the user the session check has just loaded: no extra
//! query, and no handler can forget it. The rule itself is
//! [`PlatformAdmin::verify`] in the domain, and the admin services take its
//! proof, so they cannot be reached without it either.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use app::Context;
use app::sessions::Principal;
use domain::admin::{PlatformAdmin, platform_admin_required};
use infra::Database;

use crate::auth::Caller;
use crate::error::ApiError;

/// A platform admin with a session. A handler that takes it answers 401
/// (`UNAUTHENTICATED`) without valid credentials, and 403
/// (`PLATFORM_ADMIN_REQUIRED`) for anyone else: a user who is not a platform
/// admin, or an API key (a key is never one).
#[derive(Clone, Debug)]
pub struct AdminUser {
    /// The proof the admin services ask for.
    pub admin: PlatformAdmin,
    /// The request, acted by the admin.
    pub ctx: Context,
    /// The database to serve the request with (see [`Caller::db`]).
    pub db: Database,
}

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, &mut Payload::None);
        Box::pin(async move {
            let Caller { principal, ctx, db } = caller.await?;
            let admin = match principal {
                Principal::User(auth) => PlatformAdmin::verify(&auth.user)?,
                Principal::ApiKey(_) => return Err(platform_admin_required().into()),
            };
            Ok(Self { admin, ctx, db })
        })
    }
}
