DROP TABLE IF EXISTS rasura_audit.event;
DROP SCHEMA IF EXISTS rasura_audit;
