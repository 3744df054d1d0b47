//! The framework's own tables: versioned SQL migrations shipped inside this package.
//!
//! Each capability that needs tables (identity today: `rasura_auth`) owns a [`Migration`] in
//! [`MIGRATIONS`]. A service applies the ones it uses at start-up ([`apply`]) when a database is
//! configured: under a Postgres advisory lock, so replicas starting at once apply each migration
//! exactly once, and recorded in `rasura.schema_migrations`. Teams that apply every schema change
//! with the Hasura CLI write them out instead ([`export`], `<service> migrations export --dir
//! hasura/migrations/default`); each exported `up.sql` records its own version, so the service
//! then finds nothing to apply.
//!
//! Every statement is idempotent (`IF NOT EXISTS`): a migration applied by hand before its
//! version was recorded applies again without error.

use std::path::{Path, PathBuf};

use sqlx::PgPool;

/// One versioned migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Its version, increasing (recorded in `rasura.schema_migrations`).
    pub version: i64,
    /// A short name (the capability).
    pub name: &'static str,
    /// The SQL that applies it (idempotent).
    pub up: &'static str,
    /// The SQL that reverts it (used by exported Hasura CLI migrations only).
    pub down: &'static str,
}

/// The identity tables: `rasura_auth.role_mapping`, `refresh_token`, `revoked_token`.
pub const AUTH: Migration = Migration {
    version: 1,
    name: "rasura_auth",
    up: include_str!("../migrations/0001_rasura_auth.up.sql"),
    down: include_str!("../migrations/0001_rasura_auth.down.sql"),
};

/// Every migration the framework ships, in version order.
pub const MIGRATIONS: &[Migration] = &[AUTH, AUDIT, DELIVERIES];

/// `rasura_audit.event`: the persistent audit trail (`RASURA_AUDIT_DATABASE=true`).
pub const AUDIT: Migration = Migration {
    version: 2,
    name: "rasura_audit",
    up: include_str!("../migrations/0002_rasura_audit.up.sql"),
    down: include_str!("../migrations/0002_rasura_audit.down.sql"),
};

/// `rasura.processed_delivery`: deliveries whose effects committed (`ctx.once`).
pub const DELIVERIES: Migration = Migration {
    version: 3,
    name: "rasura_deliveries",
    up: include_str!("../migrations/0003_rasura_deliveries.up.sql"),
    down: include_str!("../migrations/0003_rasura_deliveries.down.sql"),
};

/// The advisory lock key held while migrating (`"rasura"` in ASCII, then 1).
const LOCK_KEY: i64 = 0x7261_7375_7261_0001;

/// Creates the version table (run under the lock: concurrent `CREATE … IF NOT EXISTS` can
/// still collide in Postgres).
const VERSION_TABLE: &str = "CREATE SCHEMA IF NOT EXISTS rasura;
CREATE TABLE IF NOT EXISTS rasura.schema_migrations (
    version bigint PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);";

/// Hasura CLI migration versions are millisecond timestamps; Rasura's start at a fixed one so an
/// exported directory sorts after a project's first migrations and stays stable between exports.
const EXPORT_VERSION_BASE: i64 = 1_764_547_200_000;

/// Applies the `migrations` not yet recorded, in version order, each in its own transaction,
/// holding an advisory lock for the whole run. Returns the versions it applied.
pub async fn apply(pool: &PgPool, migrations: &[Migration]) -> Result<Vec<i64>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    let result = apply_locked(&mut conn, migrations).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await;
    if unlocked.is_err() {
        // A session-level lock lives as long as the connection: never return it to the pool.
        conn.close_on_drop();
    }
    result
}

async fn apply_locked(
    conn: &mut sqlx::PgConnection,
    migrations: &[Migration],
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::raw_sql(VERSION_TABLE).execute(&mut *conn).await?;
    let done: Vec<i64> = sqlx::query_scalar("SELECT version FROM rasura.schema_migrations")
        .fetch_all(&mut *conn)
        .await?;
    let mut pending: Vec<&Migration> = migrations
        .iter()
        .filter(|m| !done.contains(&m.version))
        .collect();
    pending.sort_by_key(|m| m.version);
    let mut applied = Vec::new();
    for m in pending {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::raw_sql(m.up).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO rasura.schema_migrations (version, name) VALUES ($1, $2)")
            .bind(m.version)
            .bind(m.name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        applied.push(m.version);
    }
    Ok(applied)
}

/// The versions recorded in `rasura.schema_migrations` (empty when the table does not exist).
pub async fn applied(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("SELECT to_regclass('rasura.schema_migrations') IS NOT NULL")
            .fetch_one(pool)
            .await?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM rasura.schema_migrations ORDER BY version")
        .fetch_all(pool)
        .await
}

/// Writes `migrations` as Hasura CLI migrations under `dir` (for example
/// `hasura/migrations/default`): `<version>_<name>/up.sql` and `down.sql`. Each `up.sql` also
/// records the version in `rasura.schema_migrations`, so a service started afterwards applies
/// nothing twice. Returns the directories written; existing files are overwritten.
pub fn export(dir: &Path, migrations: &[Migration]) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for m in migrations {
        let target = dir.join(format!("{}_{}", EXPORT_VERSION_BASE + m.version, m.name));
        std::fs::create_dir_all(&target)?;
        let up = format!(
            "-- Exported by Rasura (migration {version}, {name}); do not edit: re-export instead.\n\
             {VERSION_TABLE}\n\n{up}\n\
             INSERT INTO rasura.schema_migrations (version, name) VALUES ({version}, '{name}')\n    \
             ON CONFLICT (version) DO NOTHING;\n",
            version = m.version,
            name = m.name,
            up = m.up.trim_end(),
        );
        let down = format!(
            "{down}\nDELETE FROM rasura.schema_migrations WHERE version = {version};\n",
            down = m.down.trim_end(),
            version = m.version,
        );
        std::fs::write(target.join("up.sql"), up)?;
        std::fs::write(target.join("down.sql"), down)?;
        written.push(target);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_and_names_are_identifiers() {
        let mut last = 0;
        for m in MIGRATIONS {
            assert!(m.version > last, "{} is out of order", m.name);
            last = m.version;
            assert!(m.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(!m.up.trim().is_empty() && !m.down.trim().is_empty());
        }
    }

    #[test]
    fn export_writes_hasura_cli_directories_that_record_their_version() {
        let dir = std::env::temp_dir().join(format!("rasura-mig-{}", uuid::Uuid::new_v4()));
        let written = export(&dir, MIGRATIONS).unwrap();
        assert_eq!(written.len(), MIGRATIONS.len());
        let first = &written[0];
        assert_eq!(
            first.file_name().unwrap().to_str().unwrap(),
            "1764547200001_rasura_auth"
        );
        let up = std::fs::read_to_string(first.join("up.sql")).unwrap();
        assert!(up.contains("CREATE TABLE IF NOT EXISTS rasura_auth.role_mapping"));
        assert!(up.contains("VALUES (1, 'rasura_auth')"));
        let down = std::fs::read_to_string(first.join("down.sql")).unwrap();
        assert!(down.contains("DROP SCHEMA IF EXISTS rasura_auth"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
