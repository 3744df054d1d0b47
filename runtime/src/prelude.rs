//! What a handler author needs, in one import:
//!
//! ```
//! use rasura::prelude::*;
//!
//! #[action(query, roles = ["user"])]
//! async fn hello(ctx: Ctx) -> Result<String, ActionError> {
//!     Ok(format!("hello {}", ctx.identity().user_id().unwrap_or("stranger")))
//! }
//! ```

pub use crate::context::Ctx;
pub use crate::custom_types::CustomType;
pub use crate::error::{ActionError, EventError};
pub use crate::protocol::{Cron, Event, Operation, Scheduled};
pub use crate::service::Service;
pub use rasura_macros::{CustomType, action, cron, event, handler, scheduled};
