use rasura::policy::{Acl, Resource};
use rasura::{action, ActionError, Ctx};

rasura::permissions! {
    /// What can be done to a video.
    pub enum VideoPermission { Update, Delete }
}

struct Video;

impl Resource for Video {
    type Permission = VideoPermission;
    fn acl(&self) -> Acl<'_, VideoPermission> {
        Acl::new().allow("role:admin", VideoPermission::Update)
    }
}

fn not_a_requirement(role: &str) -> bool {
    role == "admin"
}

#[action(roles = ["user"], require = not_a_requirement)]
async fn guarded(ctx: Ctx) -> Result<String, ActionError> {
    ctx.authorize(&Video, VideoPermission::Updat)?;
    Ok(String::new())
}

fn main() {}
