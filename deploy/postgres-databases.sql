-- Distributed mode: one database per component, owned by the role the postgres image creates
-- (POSTGRES_USER). deploy/compose.yaml mounts this file into /docker-entrypoint-initdb.d/, so it runs
-- once, when the data volume is first initialised; the embedded service uses POSTGRES_DB (hallmark).
-- For a server you run yourself: psql -U <admin role> -f deploy/postgres-databases.sql
-- (then ALTER DATABASE ... OWNER TO the role Hallmark logs in as).
CREATE DATABASE hallmark_applications;
CREATE DATABASE hallmark_audits;
CREATE DATABASE hallmark_decisions;
CREATE DATABASE hallmark_registry;
CREATE DATABASE hallmark_projections;
