-- Applied only where the timescaledb extension is available. migrate_data keeps rows written
-- while the database was plain PostgreSQL.
CREATE EXTENSION IF NOT EXISTS timescaledb;

SELECT create_hypertable('uplinks', by_range('received_at', INTERVAL '7 days'),
                         if_not_exists => true, migrate_data => true);
SELECT create_hypertable('receptions', by_range('received_at', INTERVAL '7 days'),
                         if_not_exists => true, migrate_data => true);
SELECT create_hypertable('measurements', by_range('time', INTERVAL '7 days'),
                         if_not_exists => true, migrate_data => true);
SELECT create_hypertable('device_events', by_range('time', INTERVAL '30 days'),
                         if_not_exists => true, migrate_data => true);

ALTER TABLE uplinks SET (timescaledb.compress, timescaledb.compress_segmentby = 'dev_eui',
                         timescaledb.compress_orderby = 'received_at DESC, f_cnt');
ALTER TABLE receptions SET (timescaledb.compress, timescaledb.compress_segmentby = 'dev_eui',
                            timescaledb.compress_orderby = 'received_at DESC');
ALTER TABLE measurements SET (timescaledb.compress,
                              timescaledb.compress_segmentby = 'dev_eui, quantity',
                              timescaledb.compress_orderby = 'time DESC, channel');
