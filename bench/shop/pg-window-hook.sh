#!/usr/bin/env bash
# PostgreSQL's counters at the edges of a measured window (checkout_load -window-hook):
#
#   bench/shop/pg-window-hook.sh URL PREFIX start|end
#
# writes PREFIX.pg-start.txt / PREFIX.pg-end.txt (table, database and WAL counters, for deltas;
# pg_stat_wal is the whole cluster's: wal_sync counts the WAL flushes, 0 with fsync=off, and
# their time in µs is 0 unless track_wal_io_timing is on);
# when pg_stat_statements is installed, `start` resets it and `end` writes its statements to
# PREFIX.statements.tsv (calls, plan and execution time, rows, query).
set -euo pipefail
url=$1 prefix=$2 phase=$3

psql "$url" -XAt -F'|' -c "
  SELECT 'table', relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, n_dead_tup,
         n_live_tup, autovacuum_count + vacuum_count
    FROM pg_stat_user_tables
   WHERE relname IN ('books', 'store_meta', 'carts', 'cart_items', 'orders', 'order_lines',
                     'order_events', 'users', 'refresh_tokens')
  UNION ALL
  SELECT 'db', datname, xact_commit, xact_rollback, tup_returned, tup_fetched, blks_hit,
         blks_read, deadlocks
    FROM pg_stat_database WHERE datname = current_database()
  UNION ALL
  SELECT 'wal', 'cluster', wal_records, wal_fpi, wal_bytes::bigint, wal_write, wal_sync,
         (wal_sync_time * 1000)::bigint, wal_buffers_full
    FROM pg_stat_wal" > "$prefix.pg-$phase.txt"

have_pgss=$(psql "$url" -XAtc "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
[[ $have_pgss == 1 ]] || exit 0
if [[ $phase == start ]]; then
  psql "$url" -XAtc 'SELECT pg_stat_statements_reset()' > /dev/null
else
  psql "$url" -XAt -F$'\t' -c "
    SELECT calls, round(total_plan_time::numeric, 2), round(total_exec_time::numeric, 2), rows,
           regexp_replace(query, '\s+', ' ', 'g')
      FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     ORDER BY total_plan_time + total_exec_time DESC" > "$prefix.statements.tsv"
fi
