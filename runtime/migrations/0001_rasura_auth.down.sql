DROP TABLE IF EXISTS rasura_auth.revoked_token;
DROP TABLE IF EXISTS rasura_auth.refresh_token;
DROP TABLE IF EXISTS rasura_auth.role_mapping;
DROP SCHEMA IF EXISTS rasura_auth;
