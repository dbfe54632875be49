-- Distributed mode: one database per component, owned by the role the postgres image creates
-- (POSTGRES_USER). deploy/compose.yaml mounts this file into /docker-entrypoint-initdb.d/, so it runs
-- once, when the data volume is first initialised; the embedded service uses POSTGRES_DB (hallmark).
-- For a server you run yourself: psql -U <admin role> -f deploy/postgres-databases.sql
-- (then ALTER DATABASE ... OWNER TO the role Hallmark logs in as).
-- hallmark_people is the people vault (the persons' keys, ADR 0011), which every component reaches:
-- each sets HALLMARK_PEOPLE_DBNAME=hallmark_people. On a volume initialised before it existed, create
-- it by hand (the script runs on an empty volume only):
--   docker compose -f deploy/compose.yaml exec postgres psql -U hallmark -c 'CREATE DATABASE hallmark_people'
CREATE DATABASE hallmark_applications;
CREATE DATABASE hallmark_audits;
CREATE DATABASE hallmark_decisions;
CREATE DATABASE hallmark_registry;
CREATE DATABASE hallmark_projections;
CREATE DATABASE hallmark_people;
