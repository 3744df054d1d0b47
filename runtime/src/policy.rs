//! Access policies: who may do what to which resource.
//!
//! - A [`Caller`]'s **principals** come from its session: `role:<x-hasura-role>`,
//!   `user:<x-hasura-user-id>`, one per configured session variable (`x-hasura-school-id: 7` →
//!   `school:7`, see [`PrincipalVariables`]), `everyone`, `authenticated` (when there is a user
//!   id), plus any a handler adds with [`Caller::with_principal`].
//! - **Permissions** are Rust items (an enum declared with [`crate::permissions!`], or any type
//!   implementing [`Permission`]), so an unknown permission is a compile error.
//! - A resource returns its [`Acl`] ([`Resource::acl`], as Wriveted's `__acl__`): entries of
//!   `Allow|Deny`, a principal, a permission and an optional condition over the caller (and,
//!   by borrowing `self`, the resource). A matching `Deny` wins over any `Allow`; no matching
//!   `Allow` denies.
//!
//! Policies are plain values, unit-testable with no server and no database:
//!
//! ```
//! use rasura::policy::{Acl, Caller, Principal, Resource};
//! use rasura::{context::Identity, protocol::SessionVariables};
//!
//! rasura::permissions! {
//!     /// What can be done to a video.
//!     pub enum VideoPermission { Read, Update, Delete }
//! }
//!
//! struct Video { region: String }
//!
//! impl Resource for Video {
//!     type Permission = VideoPermission;
//!     fn acl(&self) -> Acl<'_, VideoPermission> {
//!         Acl::new()
//!             .allow(Principal::role("admin"), VideoPermission::Update)
//!             .allow(Principal::role("admin"), VideoPermission::Delete)
//!             .allow_if(Principal::role("manager"), VideoPermission::Update, |caller| {
//!                 caller.var("x-hasura-region") == Some(self.region.as_str())
//!             })
//!     }
//! }
//!
//! let session = |json| Identity::new(serde_json::from_str::<SessionVariables>(json).unwrap());
//! let manager = session(r#"{"x-hasura-role":"manager","x-hasura-region":"eu"}"#);
//! let video = Video { region: "eu".into() };
//! assert!(Caller::new(&manager).is_allowed(&video, VideoPermission::Update));
//! assert!(!Caller::new(&manager).is_allowed(&video, VideoPermission::Delete));
//! let elsewhere = Video { region: "us".into() };
//! assert!(!Caller::new(&manager).is_allowed(&elsewhere, VideoPermission::Update));
//! ```

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;

use crate::context::Identity;
use crate::error::{ActionError, EventError};
use crate::security::jwt::VerifiedClaims;

/// A principal an ACL entry names: `kind:value` (`role:admin`, `user:42`, `school:7`), or
/// `everyone` / `authenticated`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Principal(Cow<'static, str>);

impl Principal {
    /// Every caller.
    pub const EVERYONE: Principal = Principal(Cow::Borrowed("everyone"));
    /// Every caller with an `x-hasura-user-id`.
    pub const AUTHENTICATED: Principal = Principal(Cow::Borrowed("authenticated"));

    /// `kind:value`.
    pub fn new(kind: &str, value: impl fmt::Display) -> Self {
        Self(Cow::Owned(format!("{kind}:{value}")))
    }

    /// `role:<role>`.
    pub fn role(role: &str) -> Self {
        Self::new("role", role)
    }

    /// `user:<id>`.
    pub fn user(id: impl fmt::Display) -> Self {
        Self::new("user", id)
    }

    /// A principal spelled out (`"role:admin"`), without allocating.
    pub const fn from_static(principal: &'static str) -> Self {
        Self(Cow::Borrowed(principal))
    }

    /// The principal as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&'static str> for Principal {
    fn from(principal: &'static str) -> Self {
        Self::from_static(principal)
    }
}

impl From<String> for Principal {
    fn from(principal: String) -> Self {
        Self(Cow::Owned(principal))
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A permission: a Rust item, compared by value. Declare an enum of them with
/// [`crate::permissions!`], or implement this for your own type.
pub trait Permission: Copy + Eq + fmt::Debug + Send + Sync + 'static {
    /// The permission's name, for the audit trail (`update`).
    fn name(&self) -> &'static str;
}

/// Declares an enum of permissions and implements [`Permission`] for it (each variant's name
/// is its audit name).
///
/// ```
/// rasura::permissions! {
///     /// What can be done to a school.
///     pub enum SchoolPermission { Read, Update, ManageStaff }
/// }
/// use rasura::policy::Permission;
/// assert_eq!(SchoolPermission::ManageStaff.name(), "ManageStaff");
/// ```
#[macro_export]
macro_rules! permissions {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $crate::policy::Permission for $name {
            fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($variant),)+
                }
            }
        }
    };
}

/// Whether an entry grants or refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants the permission (unless a matching `Deny` exists).
    Allow,
    /// Refuses the permission, whatever else allows it.
    Deny,
}

/// A condition over the caller; it may borrow the resource (`'r`).
type Condition<'r> = Box<dyn Fn(&Caller<'_>) -> bool + Send + Sync + 'r>;

/// One ACL entry: effect, principal, permission and an optional condition.
pub struct AclEntry<'r, P> {
    effect: Effect,
    principal: Principal,
    permission: P,
    condition: Option<Condition<'r>>,
}

impl<P: Permission> AclEntry<'_, P> {
    /// Allow or Deny.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// The principal it names.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The permission it covers.
    pub fn permission(&self) -> P {
        self.permission
    }

    /// Whether it has a condition.
    pub fn is_conditional(&self) -> bool {
        self.condition.is_some()
    }

    /// Whether it applies to this caller and permission (principal held, condition true).
    fn applies(&self, caller: &Caller<'_>, permission: P) -> bool {
        self.permission == permission
            && caller.has_principal(&self.principal)
            && self
                .condition
                .as_ref()
                .is_none_or(|condition| condition(caller))
    }
}

impl<P: Permission> fmt::Debug for AclEntry<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AclEntry")
            .field("effect", &self.effect)
            .field("principal", &self.principal)
            .field("permission", &self.permission)
            .field("conditional", &self.condition.is_some())
            .finish()
    }
}

/// An access-control list: entries checked together, deny overriding allow, no match denying.
pub struct Acl<'r, P> {
    entries: Vec<AclEntry<'r, P>>,
}

impl<P: Permission> Default for Acl<'_, P> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<'r, P: Permission> Acl<'r, P> {
    /// An empty list (denies everything).
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(
        mut self,
        effect: Effect,
        principal: impl Into<Principal>,
        permission: P,
        condition: Option<Condition<'r>>,
    ) -> Self {
        self.entries.push(AclEntry {
            effect,
            principal: principal.into(),
            permission,
            condition,
        });
        self
    }

    /// `Allow principal permission`.
    pub fn allow(self, principal: impl Into<Principal>, permission: P) -> Self {
        self.entry(Effect::Allow, principal, permission, None)
    }

    /// `Allow principal permission` when `condition` holds for the caller.
    pub fn allow_if(
        self,
        principal: impl Into<Principal>,
        permission: P,
        condition: impl Fn(&Caller<'_>) -> bool + Send + Sync + 'r,
    ) -> Self {
        self.entry(
            Effect::Allow,
            principal,
            permission,
            Some(Box::new(condition)),
        )
    }

    /// `Deny principal permission`: wins over any `Allow`.
    pub fn deny(self, principal: impl Into<Principal>, permission: P) -> Self {
        self.entry(Effect::Deny, principal, permission, None)
    }

    /// `Deny principal permission` when `condition` holds for the caller.
    pub fn deny_if(
        self,
        principal: impl Into<Principal>,
        permission: P,
        condition: impl Fn(&Caller<'_>) -> bool + Send + Sync + 'r,
    ) -> Self {
        self.entry(
            Effect::Deny,
            principal,
            permission,
            Some(Box::new(condition)),
        )
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[AclEntry<'r, P>] {
        &self.entries
    }

    /// Whether `caller` has `permission`: some applicable `Allow` and no applicable `Deny`.
    pub fn allows(&self, caller: &Caller<'_>, permission: P) -> bool {
        let mut allowed = false;
        for entry in &self.entries {
            if entry.applies(caller, permission) {
                match entry.effect {
                    Effect::Deny => return false,
                    Effect::Allow => allowed = true,
                }
            }
        }
        allowed
    }
}

impl<P: Permission> fmt::Debug for Acl<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.entries).finish()
    }
}

/// Something with an ACL: a loaded row, a file, an organisation.
pub trait Resource {
    /// Its permissions.
    type Permission: Permission;

    /// Its access-control list (conditions may borrow `self`).
    fn acl(&self) -> Acl<'_, Self::Permission>;
}

/// Which session variables become principals, and under which kind
/// (`x-hasura-school-id` → `school`). From `RASURA_PRINCIPAL_VARIABLES`, a comma-separated list
/// of `variable=kind` or just `variable` (the kind is then the name between `x-hasura-` and
/// `-id`: `x-hasura-school-id` → `school`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalVariables {
    entries: Vec<(String, String)>,
}

impl PrincipalVariables {
    /// None.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `variable` (a session variable, case-insensitive) as the principal kind `kind`.
    pub fn with(mut self, variable: &str, kind: &str) -> Self {
        self.entries
            .push((variable.to_ascii_lowercase(), kind.to_owned()));
        self
    }

    /// Parses `RASURA_PRINCIPAL_VARIABLES`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut variables = Self::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (variable, kind) = match item.split_once('=') {
                Some((variable, kind)) => (variable.trim(), kind.trim().to_owned()),
                None => {
                    let kind = item
                        .to_ascii_lowercase()
                        .strip_prefix("x-hasura-")
                        .map(|rest| rest.strip_suffix("-id").unwrap_or(rest).to_owned())
                        .ok_or_else(|| {
                            format!(
                                "`{item}`: a session variable starts with `x-hasura-`; \
                                 or write `variable=kind`"
                            )
                        })?;
                    (item, kind)
                }
            };
            if !variable.to_ascii_lowercase().starts_with("x-hasura-") {
                return Err(format!(
                    "`{variable}`: a session variable starts with `x-hasura-`"
                ));
            }
            let valid_kind = !kind.is_empty()
                && kind
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid_kind {
                return Err(format!(
                    "`{item}`: the principal kind must be letters, digits, `_` or `-`"
                ));
            }
            if RESERVED_KINDS.contains(&kind.as_str()) {
                return Err(format!(
                    "`{item}`: `{kind}` is reserved (a session variable must not make `{kind}:…` principals)"
                ));
            }
            variables = variables.with(variable, &kind);
        }
        Ok(variables)
    }

    /// The configured `(variable, kind)` pairs.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(v, k)| (v.as_str(), k.as_str()))
    }
}

/// Principal kinds Rasura derives itself; a session variable may not claim them.
const RESERVED_KINDS: &[&str] = &["role", "user", "everyone", "authenticated"];

/// The caller as policies see it: session variables, verified claims and principals.
#[derive(Clone)]
pub struct Caller<'a> {
    identity: &'a Identity,
    claims: Option<&'a VerifiedClaims>,
    principals: Vec<Principal>,
}

impl<'a> Caller<'a> {
    /// The caller of a session, with the principals `everyone`, `role:…`, `user:…` and
    /// `authenticated` (no session-variable principals; see [`Caller::with_variables`]).
    pub fn new(identity: &'a Identity) -> Self {
        let mut principals = vec![Principal::EVERYONE];
        if let Some(role) = identity.role() {
            principals.push(Principal::role(role));
        }
        if let Some(user) = identity.user_id() {
            principals.push(Principal::AUTHENTICATED);
            principals.push(Principal::user(user));
        }
        Self {
            identity,
            claims: None,
            principals,
        }
    }

    /// Adds a principal per configured session variable the caller has.
    pub fn with_variables(mut self, variables: &PrincipalVariables) -> Self {
        for (variable, kind) in variables.entries() {
            if let Some(value) = self.identity.get(variable) {
                self.principals.push(Principal::new(kind, value));
            }
        }
        self
    }

    /// Attaches the verified JWT claims (a `jwt` action's).
    pub fn with_claims(mut self, claims: Option<&'a VerifiedClaims>) -> Self {
        self.claims = claims;
        self
    }

    /// Adds a principal the handler derived (a team membership it loaded, …).
    pub fn with_principal(mut self, principal: impl Into<Principal>) -> Self {
        self.principals.push(principal.into());
        self
    }

    /// `x-hasura-role`.
    pub fn role(&self) -> Option<&'a str> {
        self.identity.role()
    }

    /// `x-hasura-user-id`.
    pub fn user_id(&self) -> Option<&'a str> {
        self.identity.user_id()
    }

    /// A session variable (case-insensitive); `None` when the caller does not have it.
    pub fn var(&self, name: &str) -> Option<&'a str> {
        self.identity.get(name)
    }

    /// The verified token's claims, for a `jwt` action.
    pub fn claims(&self) -> Option<&'a VerifiedClaims> {
        self.claims
    }

    /// The roles the caller may take: the token's `x-hasura-allowed-roles` when verified, else
    /// the session's role.
    pub fn roles(&self) -> Vec<&'a str> {
        match self.claims {
            Some(claims) => claims.allowed_roles.iter().map(String::as_str).collect(),
            None => self.role().into_iter().collect(),
        }
    }

    /// Whether the caller holds at least one of `roles` (the session's role, or any role of
    /// its verified token).
    pub fn has_any_role(&self, roles: &[&str]) -> bool {
        self.roles().iter().any(|r| roles.contains(r))
    }

    /// The principals it holds.
    pub fn principals(&self) -> &[Principal] {
        &self.principals
    }

    /// Whether it holds `principal`.
    pub fn has_principal(&self, principal: &Principal) -> bool {
        self.principals.contains(principal)
    }

    /// Whether `resource`'s ACL gives it `permission`.
    pub fn is_allowed<R: Resource + ?Sized>(
        &self,
        resource: &R,
        permission: R::Permission,
    ) -> bool {
        resource.acl().allows(self, permission)
    }
}

impl fmt::Debug for Caller<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The role and a count only: principals carry session values (personal data).
        f.debug_struct("Caller")
            .field("role", &self.role())
            .field("principals", &self.principals.len())
            .finish_non_exhaustive()
    }
}

/// A handler-level requirement (`#[action(require = f)]`): a predicate over the caller, run
/// in the pipeline before the input is parsed.
pub type Requirement = fn(&Caller<'_>) -> bool;

/// The caller may not do this: 403 `access-denied`, with a message that never says which rule
/// matched or what the resource holds. (Not a `std::error::Error`, so that `?` in an event
/// handler makes it the permanent 403 below rather than a retried 500.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDenied {
    permission: &'static str,
}

impl AccessDenied {
    /// A denial of `permission` (its name is kept for the audit trail, not sent).
    pub fn new(permission: &'static str) -> Self {
        Self { permission }
    }

    /// The permission refused.
    pub fn permission(&self) -> &'static str {
        self.permission
    }
}

impl fmt::Display for AccessDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("access denied")
    }
}

impl From<AccessDenied> for ActionError {
    fn from(_: AccessDenied) -> Self {
        ActionError::new(StatusCode::FORBIDDEN, "access-denied", "access denied")
    }
}

impl From<AccessDenied> for EventError {
    /// Permanent: 403 without `Retry-After` (a redelivery would be denied again).
    fn from(_: AccessDenied) -> Self {
        EventError::new("access denied")
            .with_status(StatusCode::FORBIDDEN)
            .with_code("access-denied")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::SessionVariables;

    crate::permissions! {
        enum Perm { Read, Update, Delete }
    }

    fn identity(json: &str) -> Identity {
        Identity::new(serde_json::from_str::<SessionVariables>(json).unwrap())
    }

    struct School {
        id: i32,
    }

    impl Resource for School {
        type Permission = Perm;
        fn acl(&self) -> Acl<'_, Perm> {
            Acl::new()
                .allow("role:admin", Perm::Update)
                .allow(Principal::new("school", self.id), Perm::Update)
                .allow(Principal::new("school", self.id), Perm::Read)
                .deny("role:student", Perm::Update)
        }
    }

    fn variables() -> PrincipalVariables {
        PrincipalVariables::parse("x-hasura-school-id").unwrap()
    }

    #[test]
    fn allow_by_role_and_by_variable_principal() {
        let admin = identity(r#"{"x-hasura-role":"admin"}"#);
        assert!(Caller::new(&admin).is_allowed(&School { id: 7 }, Perm::Update));
        let educator = identity(r#"{"x-hasura-role":"educator","x-hasura-school-id":"7"}"#);
        let caller = Caller::new(&educator).with_variables(&variables());
        assert!(caller.has_principal(&Principal::new("school", 7)));
        assert!(caller.is_allowed(&School { id: 7 }, Perm::Update));
        assert!(!caller.is_allowed(&School { id: 8 }, Perm::Update));
    }

    #[test]
    fn deny_wins_even_with_a_matching_allow() {
        let student = identity(r#"{"x-hasura-role":"student","x-hasura-school-id":"7"}"#);
        let caller = Caller::new(&student).with_variables(&variables());
        assert!(!caller.is_allowed(&School { id: 7 }, Perm::Update));
        // The deny covers `update` only.
        assert!(caller.is_allowed(&School { id: 7 }, Perm::Read));
    }

    #[test]
    fn no_matching_entry_denies() {
        let admin = identity(r#"{"x-hasura-role":"admin"}"#);
        assert!(!Caller::new(&admin).is_allowed(&School { id: 7 }, Perm::Delete));
        assert!(!Acl::<Perm>::new().allows(&Caller::new(&admin), Perm::Read));
    }

    struct Video {
        region: String,
    }

    impl Resource for Video {
        type Permission = Perm;
        fn acl(&self) -> Acl<'_, Perm> {
            Acl::new().allow("role:admin", Perm::Update).allow_if(
                "role:manager",
                Perm::Update,
                |caller| caller.var("x-hasura-region") == Some(self.region.as_str()),
            )
        }
    }

    #[test]
    fn attribute_condition_over_caller_and_resource() {
        let video = Video {
            region: "eu".into(),
        };
        let same = identity(r#"{"x-hasura-role":"manager","x-hasura-region":"eu"}"#);
        let other = identity(r#"{"x-hasura-role":"manager","x-hasura-region":"us"}"#);
        let missing = identity(r#"{"x-hasura-role":"manager"}"#);
        assert!(Caller::new(&same).is_allowed(&video, Perm::Update));
        assert!(!Caller::new(&other).is_allowed(&video, Perm::Update));
        assert!(!Caller::new(&missing).is_allowed(&video, Perm::Update));
    }

    #[test]
    fn conditional_deny_applies_only_when_its_condition_holds() {
        let acl = Acl::new().allow(Principal::EVERYONE, Perm::Read).deny_if(
            Principal::EVERYONE,
            Perm::Read,
            |c| c.var("x-hasura-banned") == Some("true"),
        );
        let fine = identity(r#"{"x-hasura-role":"user"}"#);
        let banned = identity(r#"{"x-hasura-role":"user","x-hasura-banned":"true"}"#);
        assert!(acl.allows(&Caller::new(&fine), Perm::Read));
        assert!(!acl.allows(&Caller::new(&banned), Perm::Read));
    }

    #[test]
    fn principals_from_the_session() {
        let user = identity(r#"{"x-hasura-role":"user","x-hasura-user-id":"42"}"#);
        let caller = Caller::new(&user).with_principal(Principal::new("team", "blue"));
        let names: Vec<&str> = caller.principals().iter().map(Principal::as_str).collect();
        assert_eq!(
            names,
            [
                "everyone",
                "role:user",
                "authenticated",
                "user:42",
                "team:blue"
            ]
        );
        let anonymous = identity(r#"{"x-hasura-role":"anonymous"}"#);
        assert!(!Caller::new(&anonymous).has_principal(&Principal::AUTHENTICATED));
    }

    #[test]
    fn principal_variables_parse() {
        let v = PrincipalVariables::parse("x-hasura-school-id, X-Hasura-Org=organisation").unwrap();
        let entries: Vec<_> = v.entries().collect();
        assert_eq!(
            entries,
            [
                ("x-hasura-school-id", "school"),
                ("x-hasura-org", "organisation")
            ]
        );
        assert!(PrincipalVariables::parse("school-id").is_err());
        assert!(PrincipalVariables::parse("x-hasura-a=bad kind").is_err());
        // A session variable may not forge Rasura's own principals.
        assert!(PrincipalVariables::parse("x-hasura-team=role").is_err());
        assert!(PrincipalVariables::parse("x-hasura-user-id").is_err());
        assert_eq!(
            PrincipalVariables::parse("").unwrap(),
            PrincipalVariables::new()
        );
    }

    #[test]
    fn at_least_one_role() {
        let manager = identity(r#"{"x-hasura-role":"manager"}"#);
        assert!(Caller::new(&manager).has_any_role(&["admin", "manager"]));
        assert!(!Caller::new(&manager).has_any_role(&["admin"]));
    }

    #[test]
    fn denial_is_hasura_format_403_without_details() {
        let e = ActionError::from(AccessDenied::new("update"));
        assert_eq!(e.status(), StatusCode::FORBIDDEN);
        assert_eq!(e.code(), "access-denied");
        assert_eq!(e.message(), "access denied");
        let e = EventError::from(AccessDenied::new("update"));
        assert_eq!(e.status(), StatusCode::FORBIDDEN);
        assert_eq!(e.retry_after_secs(), None);
        assert_eq!(Perm::Update.name(), "Update");
    }
}
