-- OrleansWs on PostgreSQL: cluster membership and grain state for Orleans' ADO.NET providers
-- (Microsoft.Orleans.Clustering.AdoNet, Microsoft.Orleans.Persistence.AdoNet, invariant "Npgsql").
--
-- Those providers keep no SQL of their own: at startup they read named queries from the table
-- OrleansQuery and run them with fixed parameter names (@DeploymentId, @GrainIdN0, ...) and fixed result
-- column names ("Version", "PayloadBinary", ...). This file creates our tables and stores our queries
-- under those names. It is idempotent: an OrleansWs silo applies it at every start (under an advisory
-- lock, so silos starting together do not race), and `psql -f` applies it by hand just as well.

CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey  varchar(64) PRIMARY KEY,
    QueryText text NOT NULL
);

-- One row per cluster: the membership table's version, which every membership change bumps atomically.
CREATE TABLE IF NOT EXISTS ows_cluster (
    cluster_id text PRIMARY KEY,
    version    integer NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- One row per silo incarnation (address, port and generation identify it).
CREATE TABLE IF NOT EXISTS ows_cluster_member (
    cluster_id      text NOT NULL REFERENCES ows_cluster (cluster_id) ON DELETE CASCADE,
    address         text NOT NULL,
    port            integer NOT NULL,
    generation      integer NOT NULL,
    silo_name       text NOT NULL,
    host_name       text NOT NULL,
    status          integer NOT NULL,
    proxy_port      integer NOT NULL,
    suspect_times   text,
    start_time      timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (cluster_id, address, port, generation)
);

-- Grain state, one row per (service, grain type, grain id). Version is the optimistic-concurrency etag;
-- a peer's row is deleted when its state is cleared after close, so the table holds live peers only.
CREATE TABLE IF NOT EXISTS ows_grain_state (
    service_id  text NOT NULL,
    grain_type  text NOT NULL,
    id_n0       bigint NOT NULL,
    id_n1       bigint NOT NULL,
    id_string   text NOT NULL,
    version     integer NOT NULL,
    payload     bytea,
    modified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, grain_type, id_n0, id_n1, id_string)
);

-- Bumps a cluster's membership version if it is still p_version and the silo's row exists (p_silo_exists)
-- or does not; answers the cluster id when it did. Inserts and updates of silo rows go through it.
CREATE OR REPLACE FUNCTION ows_bump_version(p_cluster text, p_version integer, p_address text, p_port integer,
                                            p_generation integer, p_silo_exists boolean)
RETURNS TABLE (cluster text)
LANGUAGE sql AS $f$
    UPDATE ows_cluster SET version = version + 1, changed_at = now()
    WHERE ows_cluster.cluster_id = p_cluster AND ows_cluster.version = p_version
      AND EXISTS (SELECT 1 FROM ows_cluster_member m
                  WHERE m.cluster_id = p_cluster AND m.address = p_address
                    AND m.port = p_port AND m.generation = p_generation) = p_silo_exists
    RETURNING ows_cluster.cluster_id
$f$;

-- The membership rows as the provider reads them: all silos (p_address NULL) or one. The cluster row is
-- left-joined so that a cluster without that silo, or without any, still answers its version.
CREATE OR REPLACE FUNCTION ows_membership(p_cluster text, p_address text, p_port integer, p_generation integer)
RETURNS TABLE ("Version" integer, "Address" text, "Port" integer, "Generation" integer, "SiloName" text,
               "HostName" text, "Status" integer, "ProxyPort" integer, "SuspectTimes" text,
               "StartTime" timestamptz, "IAmAliveTime" timestamptz)
LANGUAGE sql STABLE AS $f$
    SELECT c.version, m.address, m.port, m.generation, m.silo_name, m.host_name, m.status, m.proxy_port,
           m.suspect_times, m.start_time, m.i_am_alive_time
    FROM ows_cluster c
    LEFT JOIN ows_cluster_member m ON m.cluster_id = c.cluster_id
        AND (p_address IS NULL OR (m.address = p_address AND m.port = p_port AND m.generation = p_generation))
    WHERE c.cluster_id = p_cluster
$f$;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Membership. Every query that changes silo rows bumps ows_cluster.version (only if it still equals the
-- version the silo read, @Version) in the same statement as the change, and answers one boolean row.
('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO ows_cluster (cluster_id, version) VALUES (@DeploymentId, 0)
    ON CONFLICT (cluster_id) DO NOTHING
    RETURNING 1)
SELECT EXISTS (SELECT 1 FROM created)
$q$),

('InsertMembershipKey', $q$
WITH bumped AS (
    SELECT cluster FROM ows_bump_version(@DeploymentId, @Version, @Address::text, @Port, @Generation, false)),
inserted AS (
    INSERT INTO ows_cluster_member (cluster_id, address, port, generation, silo_name, host_name, status,
                                    proxy_port, start_time, i_am_alive_time)
    SELECT cluster, @Address::text, @Port, @Generation, @SiloName, @HostName, @Status,
           @ProxyPort, @StartTime, @IAmAliveTime
    FROM bumped
    RETURNING 1)
SELECT EXISTS (SELECT 1 FROM inserted)
$q$),

('UpdateMembershipKey', $q$
WITH bumped AS (
    SELECT cluster FROM ows_bump_version(@DeploymentId, @Version, @Address::text, @Port, @Generation, true)),
updated AS (
    UPDATE ows_cluster_member m
    SET status = @Status, suspect_times = @SuspectTimes::text, i_am_alive_time = @IAmAliveTime
    FROM bumped
    WHERE m.cluster_id = bumped.cluster AND m.address = @Address::text
      AND m.port = @Port AND m.generation = @Generation
    RETURNING 1)
SELECT EXISTS (SELECT 1 FROM updated)
$q$),

('UpdateIAmAlivetimeKey', $q$
UPDATE ows_cluster_member SET i_am_alive_time = @IAmAliveTime
WHERE cluster_id = @DeploymentId AND address = @Address::text AND port = @Port AND generation = @Generation
$q$),

('MembershipReadAllKey', $q$
SELECT * FROM ows_membership(@DeploymentId, NULL, NULL, NULL)
$q$),

('MembershipReadRowKey', $q$
SELECT * FROM ows_membership(@DeploymentId, @Address::text, @Port, @Generation)
$q$),

('GatewaysQueryKey', $q$
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
FROM ows_cluster_member
WHERE cluster_id = @DeploymentId AND status = @Status AND proxy_port > 0
$q$),

('DeleteMembershipTableEntriesKey', $q$
DELETE FROM ows_cluster WHERE cluster_id = @DeploymentId
$q$),

-- Only silos that are no longer active: an active silo with a stale heartbeat is for the
-- membership protocol to judge, not for housekeeping.
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM ows_cluster_member
WHERE cluster_id = @DeploymentId AND i_am_alive_time < @IAmAliveTime AND status <> 3
$q$),

-- Grain state. A write answers the new version, or no row when @GrainStateVersion is not the stored
-- version (the provider then raises InconsistentStateException): an insert only when the grain holds
-- no etag, an update only of the version it read.
('ReadFromStorageKey', $q$
SELECT payload AS "PayloadBinary", version AS "Version"
FROM ows_grain_state
WHERE service_id = @ServiceId AND grain_type = @GrainTypeString AND id_n0 = @GrainIdN0
  AND id_n1 = @GrainIdN1 AND id_string = coalesce(@GrainIdExtensionString::text, '')
$q$),

('WriteToStorageKey', $q$
WITH updated AS (
    UPDATE ows_grain_state
    SET payload = @PayloadBinary, version = version + 1, modified_at = now()
    WHERE service_id = @ServiceId AND grain_type = @GrainTypeString AND id_n0 = @GrainIdN0
      AND id_n1 = @GrainIdN1 AND id_string = coalesce(@GrainIdExtensionString::text, '')
      AND version = @GrainStateVersion::integer
    RETURNING version),
inserted AS (
    INSERT INTO ows_grain_state (service_id, grain_type, id_n0, id_n1, id_string, version, payload)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, coalesce(@GrainIdExtensionString::text, ''),
           1, @PayloadBinary
    WHERE @GrainStateVersion::integer IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version)
SELECT version AS "NewGrainStateVersion" FROM updated
UNION ALL
SELECT version FROM inserted
$q$),

('ClearStorageKey', $q$
UPDATE ows_grain_state
SET payload = NULL, version = version + 1, modified_at = now()
WHERE service_id = @ServiceId AND grain_type = @GrainTypeString AND id_n0 = @GrainIdN0
  AND id_n1 = @GrainIdN1 AND id_string = coalesce(@GrainIdExtensionString::text, '')
  AND version = @GrainStateVersion::integer
RETURNING version
$q$),

-- Answers the deleted version + 1, which the provider reads as "cleared" before it drops the etag.
('DeleteStorageKey', $q$
DELETE FROM ows_grain_state
WHERE service_id = @ServiceId AND grain_type = @GrainTypeString AND id_n0 = @GrainIdN0
  AND id_n1 = @GrainIdN1 AND id_string = coalesce(@GrainIdExtensionString::text, '')
  AND version = @GrainStateVersion::integer
RETURNING version + 1
$q$)

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
