//! Access policies on the example's resources, as the systems Rasura replaces write them:
//!
//! - **videos** (the Cerbos example): admins may update and delete any video; a manager may
//!   update only videos of their own region (`x-hasura-region`), an attribute condition over
//!   the caller and the resource;
//! - **schools** (Wriveted's ACLs): `Allow role:admin update`, `Allow school:{id} update` (the
//!   principal derived from the session variable `x-hasura-school-id`, see [`configure`]),
//!   `Deny role:student update`, which wins even when the school id matches.
//!
//! The handlers load the row with `ctx.db()` (a missing one is 404 `not-exists`) and check the
//! policy with `ctx.authorize`, which answers 403 `access-denied` without saying why.

use rasura::db::sqlx;
use rasura::policy::{Acl, Principal, Resource};
use rasura::{ActionError, Ctx, action};

pub use crate::hasura::actions::{DeleteVideoArgs, UpdateSchoolArgs, UpdateVideoArgs};
pub use crate::hasura::types::{DeletedOutput, School, Video};

/// The session variables the example's policies use as principals.
pub fn configure(service: rasura::Service) -> rasura::Service {
    service.with_principal_variable("x-hasura-school-id", "school")
}

rasura::permissions! {
    /// What can be done to a video.
    pub enum VideoPermission {
        /// Change its title.
        Update,
        /// Remove it.
        Delete,
    }
}

rasura::permissions! {
    /// What can be done to a school.
    pub enum SchoolPermission {
        /// Change its name.
        Update,
    }
}

impl Resource for Video {
    type Permission = VideoPermission;

    fn acl(&self) -> Acl<'_, VideoPermission> {
        Acl::new()
            .allow("role:admin", VideoPermission::Update)
            .allow("role:admin", VideoPermission::Delete)
            .allow_if("role:manager", VideoPermission::Update, |caller| {
                caller.var("x-hasura-region") == Some(self.region.as_str())
            })
    }
}

impl Resource for School {
    type Permission = SchoolPermission;

    fn acl(&self) -> Acl<'_, SchoolPermission> {
        Acl::new()
            .allow("role:admin", SchoolPermission::Update)
            .allow(Principal::new("school", self.id), SchoolPermission::Update)
            .deny("role:student", SchoolPermission::Update)
    }
}

async fn load_video(ctx: &Ctx, id: i32) -> Result<Video, ActionError> {
    let row: Option<(i32, String, String)> =
        sqlx::query_as("SELECT id, title, region FROM public.video WHERE id = $1")
            .bind(id)
            .fetch_optional(ctx.db()?)
            .await?;
    let (id, title, region) = row.ok_or_else(|| ActionError::not_found("no such video"))?;
    Ok(Video { id, title, region })
}

/// Renames a video: admins, and managers of the video's region.
#[action(mutation, roles = ["admin", "manager", "user"])]
pub async fn update_video(ctx: Ctx, input: UpdateVideoArgs) -> Result<Video, ActionError> {
    let mut video = load_video(&ctx, input.id).await?;
    ctx.authorize(&video, VideoPermission::Update)?;
    sqlx::query("UPDATE public.video SET title = $2 WHERE id = $1")
        .bind(video.id)
        .bind(&input.title)
        .execute(ctx.db()?)
        .await?;
    video.title = input.title;
    Ok(video)
}

/// Deletes a video: admins only.
#[action(mutation, roles = ["admin", "manager", "user"])]
pub async fn delete_video(ctx: Ctx, input: DeleteVideoArgs) -> Result<DeletedOutput, ActionError> {
    let video = load_video(&ctx, input.id).await?;
    ctx.authorize(&video, VideoPermission::Delete)?;
    sqlx::query("DELETE FROM public.video WHERE id = $1")
        .bind(video.id)
        .execute(ctx.db()?)
        .await?;
    Ok(DeletedOutput { id: video.id })
}

/// Renames a school: admins and the school's own educators; never students.
#[action(mutation, roles = ["admin", "educator", "student"])]
pub async fn update_school(ctx: Ctx, input: UpdateSchoolArgs) -> Result<School, ActionError> {
    let row: Option<(i32, String)> =
        sqlx::query_as("SELECT id, name FROM public.school WHERE id = $1")
            .bind(input.id)
            .fetch_optional(ctx.db()?)
            .await?;
    let (id, name) = row.ok_or_else(|| ActionError::not_found("no such school"))?;
    let mut school = School { id, name };
    ctx.authorize(&school, SchoolPermission::Update)?;
    sqlx::query("UPDATE public.school SET name = $2 WHERE id = $1")
        .bind(school.id)
        .bind(&input.name)
        .execute(ctx.db()?)
        .await?;
    school.name = input.name;
    Ok(school)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rasura::context::Identity;
    use rasura::policy::{Caller, PrincipalVariables};

    fn identity(json: &str) -> Identity {
        Identity::new(serde_json::from_str(json).unwrap())
    }

    fn video(region: &str) -> Video {
        Video {
            id: 1,
            title: "t".into(),
            region: region.into(),
        }
    }

    #[test]
    fn video_policy() {
        let admin = identity(r#"{"x-hasura-role":"admin"}"#);
        let manager_eu = identity(r#"{"x-hasura-role":"manager","x-hasura-region":"eu"}"#);
        let manager = identity(r#"{"x-hasura-role":"manager"}"#);
        let user = identity(r#"{"x-hasura-role":"user","x-hasura-region":"eu"}"#);
        let eu = video("eu");
        assert!(Caller::new(&admin).is_allowed(&eu, VideoPermission::Delete));
        assert!(Caller::new(&manager_eu).is_allowed(&eu, VideoPermission::Update));
        assert!(!Caller::new(&manager_eu).is_allowed(&video("us"), VideoPermission::Update));
        assert!(!Caller::new(&manager_eu).is_allowed(&eu, VideoPermission::Delete));
        assert!(!Caller::new(&manager).is_allowed(&eu, VideoPermission::Update));
        assert!(!Caller::new(&user).is_allowed(&eu, VideoPermission::Update));
    }

    #[test]
    fn school_policy() {
        let variables = PrincipalVariables::new().with("x-hasura-school-id", "school");
        let caller = |json| identity(json);
        let school = School {
            id: 7,
            name: "s".into(),
        };
        let educator = caller(r#"{"x-hasura-role":"educator","x-hasura-school-id":"7"}"#);
        let other = caller(r#"{"x-hasura-role":"educator","x-hasura-school-id":"8"}"#);
        let student = caller(r#"{"x-hasura-role":"student","x-hasura-school-id":"7"}"#);
        let allowed = |i: &Identity| {
            Caller::new(i)
                .with_variables(&variables)
                .is_allowed(&school, SchoolPermission::Update)
        };
        assert!(allowed(&educator));
        assert!(!allowed(&other));
        assert!(!allowed(&student));
        assert!(allowed(&caller(r#"{"x-hasura-role":"admin"}"#)));
    }
}
